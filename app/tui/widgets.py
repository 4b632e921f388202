"""Small shared widgets: the always-visible status header and a budget bar renderer."""
from __future__ import annotations

from rich.text import Text
from textual.widgets import DataTable, Static
from textual.widgets.data_table import CellDoesNotExist

from .state import ConsoleState


def fmt_ms(value) -> str:
    return "–" if value is None else (f"{value:.0f}ms" if value >= 10 else f"{value:.1f}ms")


def fmt_uptime(seconds: float) -> str:
    s = int(seconds)
    d, s = divmod(s, 86400)
    h, s = divmod(s, 3600)
    m, s = divmod(s, 60)
    return f"{d}d{h:02d}h" if d else (f"{h}h{m:02d}m" if h else f"{m}m{s:02d}s")


class StatusHeader(Static):
    """listen address, uptime, req/s, errors, p50/p95, in flight, spend today/month, loop lag, badges."""

    DEFAULT_CSS = """
    StatusHeader { height: 2; background: $panel; color: $text; padding: 0 1; }
    """

    def show(self, state: ConsoleState, badges: list[str]) -> None:
        s = state.overview.get("summary") or {}
        line1 = Text()
        line1.append("bifrost-tui ", style="bold")
        line1.append(state.overview.get("listen") or "", style="cyan")
        line1.append(f"  up {fmt_uptime(s.get('uptime_s', 0))}")
        for badge in badges:
            line1.append(f"  {badge}", style="bold reverse")
        if not state.connected:
            line1.append(f"  DISCONNECTED: {state.error}", style="bold red")
        elif state.error:  # one view failed to refresh; the others are live
            line1.append(f"  ⚠ {state.error}", style="bold yellow")
        line2 = Text()
        err = s.get("error_pct", 0.0)
        lag = s.get("loop_lag_ms", 0.0)
        narrow = self.size.width and self.size.width < 100  # 80 columns: the compact form keeps every gauge
        sep = " " if narrow else "  "
        line2.append(f"{s.get('rps', 0):.1f} req/s{sep}")
        line2.append(f"err {err:.1f}%{sep}", style="red" if err >= 5 else "")
        if narrow:
            line2.append(f"p50/95 {fmt_ms(s.get('p50_ms'))}/{fmt_ms(s.get('p95_ms'))}{sep}")
        else:
            line2.append(f"p50 {fmt_ms(s.get('p50_ms'))} p95 {fmt_ms(s.get('p95_ms'))}{sep}")
        line2.append(f"{'fly' if narrow else 'in flight'} {s.get('in_flight', 0)}{sep}")
        line2.append(f"{'day' if narrow else 'today'} {state.money(s.get('spend_today_micro_usd', 0))}{sep}")
        line2.append(f"{'mo' if narrow else 'month'} {state.money(s.get('spend_month_micro_usd', 0))}{sep}")
        line2.append(f"lag {fmt_ms(lag)}", style="yellow" if lag >= 20 else "")
        self.update(Text("\n").join([line1, line2]), layout=False)  # two lines, full width: never resizes


def bar(pct: float, width: int) -> Text:
    """A burn-down bar: green below 75%, yellow below 90%, red from 90% (and when over)."""
    pct = max(0.0, pct)
    filled = min(width, round(width * min(pct, 100.0) / 100))
    style = "green" if pct < 75 else ("yellow" if pct < 90 else "red")
    text = Text("█" * filled, style=style)
    text.append("░" * (width - filled), style="grey37")
    return text


def cursor_row_key(table: DataTable) -> str | None:
    """The row key under a table's cursor, or None for an empty table."""
    if not table.row_count:
        return None
    try:
        return table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
    except CellDoesNotExist:
        return None
