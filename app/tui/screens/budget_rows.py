"""A budget as Budgets-table cells and detail text (pure; unit-tested through the screen).

Amounts in the table are compact (₹12,346 · ₹1.2M) so the columns never grow; the detail line has the
exact figures. Values that drift every poll just because time passes are shown coarsely (burn rate to
3 significant digits, the projected run-out to the quarter hour), since a changed cell costs a repaint.

"At this rate" uses the same rate as Burn/day (budget_status.py has the rule). A run-out date more than
FAR_DAYS after the budget's `as_of`, or in another year, shows its year ("runs out 17 May 2027"); a
budget whose rate shows as nothing ("–") never gets a run-out date. A budget that refused requests in the
last hour (`refused_recent`) says "blocking: N refused" in red, whatever its % used.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import lru_cache

from rich.text import Text

from ..request_detail import zone
from ..widgets import bar
from .budget_layout import Layout

EXHAUSTED = "EXHAUSTED"
FAR_DAYS = 183  # a run-out date further away than this (or in another year) shows its year


def row_key(b: dict) -> str:
    key = f"{b.get('level')}:{b.get('entity')}:{b.get('period')}"
    return key + ":rolling" if b.get("rolling") else key


def group_key(level: str) -> str:
    return f"group:{level}"


def _parse(ts) -> datetime | None:
    if not ts:
        return None
    try:
        dt = datetime.fromisoformat(str(ts).replace("Z", "+00:00"))
    except ValueError:
        return None
    return dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)


def compact_money(value: float, symbol: str) -> str:
    """At most 7 characters plus the symbol's extra width: ₹0.4821 ₹482.10 ₹12,346 ₹123.4k ₹12.35M."""
    sign = "-" if value < 0 else ""
    v = abs(value)
    if v == 0:
        body = "0.00"
    elif v < 1:
        body = f"{v:.2f}" if abs(v * 100 - round(v * 100)) < 1e-6 else f"{v:.4f}"  # ₹0.50, ₹0.0021
    elif v < 999.995:
        body = f"{v:.2f}"
    elif v < 99_999.5:
        body = f"{v:,.0f}"
    elif v < 999_950:
        body = f"{v / 1e3:.1f}k"
    elif v < 999_950_000:
        body = f"{v / 1e6:.2f}M" if v < 9_999_500 else f"{v / 1e6:.1f}M"
    else:
        body = f"{v / 1e9:.1f}B"
    return f"{sign}{symbol}{body}"


def rate_money(value: float, symbol: str) -> str:
    """A burn rate to 3 significant digits (₹1.23 ₹12.3 ₹123 ₹1,234 ₹12.3k): it drifts every poll as
    time passes, and a cell that changes costs a table repaint."""
    v = abs(value)
    if v >= 999.5:
        return compact_money(float(f"{value:.3g}"), symbol)
    sign = "-" if value < 0 else ""
    if v and v < 0.00995:  # never "₹0.00" for a rate that is not zero: ₹0.0023
        return f"{sign}{symbol}{v:.4f}" if v >= 0.00005 else f"<{symbol}0.0001"
    return f"{sign}{symbol}{v:.2f}" if v < 1 else f"{sign}{symbol}{v:.3g}"


def _rounded_eta(ts: str) -> str:
    """A projected run-out instant rounded up to the next quarter hour (a projection, not a timestamp;
    and a cell that changes every poll costs a table repaint)."""
    dt = _parse(ts)
    if dt is None:
        return ts
    minutes = (dt.minute // 15 + (1 if (dt.minute % 15 or dt.second or dt.microsecond) else 0)) * 15
    return (dt.replace(minute=0, second=0, microsecond=0) + timedelta(minutes=minutes)).isoformat()


def period_text(b: dict, compact: bool = False) -> str:
    if b.get("rolling"):
        return "Rolling" if compact else f"Rolling {b.get('period', '')}"
    return str(b.get("label") or b.get("period") or "")


def resets_text(b: dict, tz, with_time: bool) -> str:
    """`01 Dec 00:00` (local, from resets_at_local) or `rolling 5h`."""
    if b.get("rolling"):
        return f"rolling {b.get('period', '')}"
    return _reset_label(b.get("resets_at_local"), b.get("resets_at"), tz, with_time)


@lru_cache(maxsize=256)  # budgets share a handful of reset instants; strptime is slow
def _reset_label(local: str | None, utc: str | None, tz, with_time: bool) -> str:
    fmt = "%d %b %H:%M" if with_time else "%d %b"
    if local:
        try:
            return datetime.strptime(str(local)[:16], "%Y-%m-%d %H:%M").strftime(fmt)
        except ValueError:
            pass
    dt = _parse(utc)
    return dt.astimezone(tz).strftime(fmt) if dt else "–"


@lru_cache(maxsize=1024)
def _local_label(ts: str, tz, fmt: str) -> str | None:
    dt = _parse(ts)
    return dt.astimezone(tz).strftime(fmt) if dt else None


def pct_style(pct: float) -> str:
    return "green" if pct < 75 else ("yellow" if pct < 90 else "red")


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[:max(0, width - 1)] + "…"


@dataclass(frozen=True)
class Context:
    """Everything besides the budget dict that a row's cells depend on."""
    symbol: str
    per_usd: float
    tz_name: str | None


def _amounts(b: dict, ctx: Context) -> tuple[float, float, float, float]:
    """(spent, limit, reserved, remaining) in the display currency."""
    if b.get("limit_micro_usd") is not None:
        scale = ctx.per_usd / 1_000_000
        spent = (b.get("spent_micro_usd") or 0) * scale
        limit = b["limit_micro_usd"] * scale
        reserved = (b.get("reserved_micro_usd") or 0) * scale
        return spent, limit, reserved, limit - spent - reserved
    spent, limit, reserved = (float(b.get(k) or 0) for k in ("spent", "limit", "reserved"))
    return spent, limit, reserved, float(b.get("remaining", limit - spent - reserved))


def refused(b: dict) -> int:
    """Requests the budget refused in the last hour (0 from a gateway that does not report it)."""
    try:
        return int(b.get("refused_recent") or 0)
    except (TypeError, ValueError):
        return 0


def _count(n: int) -> str:
    return str(n) if n < 1000 else (f"{n / 1000:.1f}k" if n < 99_950 else f"{n // 1000}k")


def blocking_text(n: int, width: int | None = None) -> str:
    text = f"blocking: {_count(n)} refused"
    return text if width is None or len(text) <= width else f"blocking ×{_count(n)}"


def _far(runs_out: str, as_of: str | None, tz) -> bool:
    """Is the run-out date worth its year: more than FAR_DAYS after `as_of`, or in another (local) year?"""
    end, start = _parse(runs_out), _parse(as_of)
    if end is None or start is None:
        return False  # no reference instant (an older gateway, scripted data): as before, no year
    return end - start > timedelta(days=FAR_DAYS) or end.astimezone(tz).year != start.astimezone(tz).year


def runs_out_label(b: dict, tz, with_time: bool = True, width: int | None = None) -> str | None:
    """"runs out 24 Dec 14:30" / "runs out 17 May 2027", or None when the budget has no run-out date (or
    its burn rate is nothing, which cannot run anything out)."""
    if not b.get("runs_out_at") or float(b.get("burn_rate_per_day") or 0) <= 0:
        return None
    eta = _rounded_eta(str(b["runs_out_at"]))
    if _far(eta, b.get("as_of"), tz):
        text = f"runs out {_local_label(eta, tz, '%d %b %Y')}"
        return text if width is None or len(text) <= width else f"by {_local_label(eta, tz, '%d %b %Y')}"
    return f"runs out {_local_label(eta, tz, '%d %b %H:%M' if with_time else '%d %b')}"


def outlook(b: dict, tz, long: bool, with_time: bool = True, width: int | None = None) -> Text:
    """At this rate: "runs out 24 Dec 14:30", "won't run out before reset", "exhausted", or (it refused
    requests in the last hour) "blocking: 3 refused"."""
    pct = float(b.get("used_pct") or 0)
    n = refused(b)
    if n:
        return Text(blocking_text(n, width), style="bold red")
    if b.get("limit_micro_usd") is not None:  # exact; the display amount rounds a sub-cent remainder to 0
        remaining = b["limit_micro_usd"] - (b.get("spent_micro_usd") or 0) - (b.get("reserved_micro_usd") or 0)
    else:
        remaining = b.get("remaining")
    if pct >= 100 or (remaining is not None and remaining <= 0):
        return Text("exhausted", style="bold red")
    runs_out = runs_out_label(b, tz, with_time, width)
    if runs_out is not None:
        return Text(runs_out, style="yellow")
    if b.get("rolling"):
        return Text("won't run out", style="green")
    return Text("won't run out before reset" if long else "won't run out", style="green")


def row_cells(b: dict, layout: Layout, ctx: Context) -> tuple[Text, ...]:
    """The cells of one budget row, as rich Text (literal: an entity named "[red]" stays literal)."""
    tz = zone(ctx.tz_name)
    pct = float(b.get("used_pct") or 0)
    spent, limit, _reserved, remaining = _amounts(b, ctx)
    exhausted = pct >= 100
    out: list[Text] = []
    for column, width in zip(layout.columns, layout.widths):
        if column == "entity":
            out.append(Text(_clip(str(b.get("entity", "")), width),
                            style="bold red" if exhausted or refused(b) else ""))
        elif column == "period":
            out.append(Text(_clip(period_text(b, layout.compact), width)))
        elif column == "used":
            cell = Text()
            if exhausted:
                cell.append(EXHAUSTED.center(layout.bar)[:layout.bar], style="bold white on red")
            else:
                cell.append_text(bar(pct, layout.bar))
            shown = f"{pct:.1f}%" if layout.pct >= 6 and pct < 1000 else (f"{pct:.0f}%" if pct < 1000 else ">999%")
            cell.append(" " + shown.rjust(layout.pct), style=pct_style(pct) + (" bold" if exhausted else ""))
            out.append(cell)
        elif column == "spent":
            sep = "/" if layout.compact else " / "
            out.append(Text(f"{compact_money(spent, ctx.symbol)}{sep}{compact_money(limit, ctx.symbol)}",
                            justify="right"))
        elif column == "remaining":
            out.append(Text(compact_money(remaining, ctx.symbol), justify="right",
                            style="bold red" if remaining <= 0 else ""))
        elif column == "resets":
            out.append(Text(resets_text(b, tz, layout.resets_time), style="dim" if b.get("rolling") else ""))
        elif column == "burn":
            burn = float(b.get("burn_rate_per_day") or 0)
            out.append(Text(rate_money(burn, ctx.symbol) if burn else "–", justify="right"))
        elif column == "outlook":
            outlook_w = layout.width("outlook")
            out.append(outlook(b, tz, layout.long_outlook, with_time=outlook_w >= 21, width=outlook_w))
    return tuple(out)


def group_cells(title: str, layout: Layout) -> tuple[Text, ...]:
    """A group header row: "Teams" in the entity column, the rest empty."""
    return (Text(_clip(title, layout.widths[0]), style="bold underline"), *(Text("") for _ in layout.columns[1:]))


def group_summary(title: str, budgets: list[dict], money) -> Text:
    """The detail line when the cursor is on a group header."""
    out = Text(f"{title}: {len(budgets)} budget{'s' if len(budgets) != 1 else ''}", style="bold")
    exhausted = sum(1 for b in budgets if float(b.get("used_pct") or 0) >= 100)
    hot = sum(1 for b in budgets if 90 <= float(b.get("used_pct") or 0) < 100)
    warm = sum(1 for b in budgets if 75 <= float(b.get("used_pct") or 0) < 90)
    blocking = sum(1 for b in budgets if refused(b))
    for n, label, style in ((blocking, "blocking", "bold red"), (exhausted, "exhausted", "bold red"),
                            (hot, "≥ 90%", "red"), (warm, "≥ 75%", "yellow")):
        if n:
            out.append(" · ")
            out.append(f"{n} {label}", style=style)
    top = max(budgets, key=lambda b: float(b.get("used_pct") or 0), default=None)
    if top is not None:
        out.append(f" · highest: {top.get('entity')} {period_text(top)} {float(top.get('used_pct') or 0):.1f}%")
    return out


def same_cell(a: Text, b: Text) -> bool:
    """Text equality that also compares the base style and justification (rich's == ignores them)."""
    return a == b and a.style == b.style and a.justify == b.justify


def detail_text(b: dict, ctx: Context, money) -> Text:
    """The highlighted budget in full: exact amounts, local reset time, burn rate, outlook."""
    tz = zone(ctx.tz_name)
    pct = float(b.get("used_pct") or 0)
    out = Text()
    out.append(f"{b.get('level')} {b.get('entity')}", style="bold")
    n = refused(b)
    if n:  # first: the detail line is two rows high and its end may be cut off
        out.append(f" · blocking: {n} request{'s' if n != 1 else ''} refused in the last hour", style="bold red")
    out.append(f" · {period_text(b)}: ")
    spent_m, limit_m = b.get("spent_micro_usd"), b.get("limit_micro_usd")
    if limit_m is not None:
        remaining_m = limit_m - (spent_m or 0) - (b.get("reserved_micro_usd") or 0)
        out.append(f"{money(spent_m or 0, 2)} of {money(limit_m, 2)} spent ")
        out.append(f"({pct:.1f}%)", style=pct_style(pct))
        if b.get("reserved_micro_usd"):
            out.append(f", {money(b['reserved_micro_usd'], 2)} held")
        out.append(f", {money(remaining_m, 2)} left", style="bold red" if remaining_m <= 0 else "")
    else:
        out.append(str(b.get("text") or ""))
    if b.get("rolling"):
        out.append(f" · rolling {b.get('period')} window")
    elif b.get("resets_at_local"):
        out.append(f" · resets {b['resets_at_local']}")
    burn = float(b.get("burn_rate_per_day") or 0)
    exact = f"{ctx.symbol}{burn:,.2f}" if burn >= 0.00995 or not burn else f"{ctx.symbol}{burn:.4f}"
    out.append(f" · {exact}/day{_basis(b) if burn else ''} · at this rate: ")  # exact here; rounded in the table
    out.append_text(outlook({**b, "refused_recent": 0} if n else b, tz, long=True))
    return out


def _basis(b: dict) -> str:
    """What the rate was measured over: " (last 42 min)" or " (window average)"."""
    basis = b.get("burn_rate_basis")
    if basis == "recent":
        minutes = max(1, round(float(b.get("burn_rate_span_s") or 0) / 60))
        return f" (last {minutes} min)" if minutes < 59 else " (last hour)"
    if basis == "window":
        return " (window average)"
    return ""


def make_matcher(text: str):
    """`/` filter: case-insensitive substring of the entity; a leading `!` inverts. None when empty."""
    text = text.strip()
    invert = text.startswith("!")
    needle = (text[1:] if invert else text).strip().lower()
    if not needle:
        return None
    return lambda b: (needle in str(b.get("entity", "")).lower()) != invert


class KeyedText(Text):
    """An entity cell that knows its row key, so `DataTable.sort(key=...)` can order rows by our own
    order (group, then name or % used) through the public API."""

    def __init__(self, text: Text, key: str):
        super().__init__(text.plain, style=text.style, justify=text.justify, overflow=text.overflow,
                         no_wrap=text.no_wrap, end=text.end)
        self._spans = list(text.spans)
        self.row_key = key
