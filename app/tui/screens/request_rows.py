"""A finished request as a row of the Requests tail (its `/` filter is app/tui/request_filter.py)."""
from __future__ import annotations

from ..request_detail import compact, local_time, model_text, prompt_tokens, status_label
from ..tail_cell import TailCell
from ..widgets import fmt_ms

# provider last: below 100 columns it is the one that scrolls off (fixed "time" column stays)
COLUMNS = (("time", "time"), ("key", "key"), ("model", "model"), ("status", "status"), ("in/out", "tokens"),
           ("cost", "cost"), ("latency", "latency"), ("ttft", "ttft"), ("provider", "provider"))
NARROW = 100  # below this many columns model names drop their "claude-" prefix


def row_cells(r: dict, tz, money, short: bool = False) -> tuple:
    """Every cell as a TailCell: the data's text as it is (no markup: a key named "[red]" stays literal),
    made printable and measured once."""
    fields = getattr(r, "fields", None)
    if fields is not None:  # a RequestRow view (app/service/request_row.py): its dict, read ~25 times here
        r = fields()
    cost = r.get("cost_micro_usd")
    if cost is None or r.get("priced") is False:
        cost_cell = TailCell("?", "yellow", "right")
    else:
        cost_cell = TailCell(money(cost), justify="right")
    model = model_text(r)
    if short:
        model = model.replace("claude-", "")
    return (TailCell(local_time(r.get("ts"), tz)), TailCell(r.get("key") or "–"),
            TailCell(model, "cyan") if "→" in model else TailCell(model), TailCell(*status_label(r)),
            TailCell(f"{compact(prompt_tokens(r))}/{compact(r.get('output_tokens'))}", justify="right"), cost_cell,
            TailCell(fmt_ms(r.get("latency_ms")), justify="right"), TailCell(fmt_ms(r.get("ttft_ms")), justify="right"),
            TailCell(r.get("provider") or "–"))
