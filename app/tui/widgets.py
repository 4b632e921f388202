"""Small shared formatters: milliseconds, uptime, a budget bar, the cursor row of a DataTable."""
from __future__ import annotations

from rich.text import Text
from textual.widgets import DataTable
from textual.widgets.data_table import CellDoesNotExist


def fmt_ms(value) -> str:
    return "–" if value is None else (f"{value:.0f}ms" if value >= 10 else f"{value:.1f}ms")


def fmt_uptime(seconds: float) -> str:
    s = int(seconds)
    d, s = divmod(s, 86400)
    h, s = divmod(s, 3600)
    m, s = divmod(s, 60)
    return f"{d}d{h:02d}h" if d else (f"{h}h{m:02d}m" if h else f"{m}m{s:02d}s")


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
