"""StatusHeader: the two always-visible lines at the top of every live screen.

listen address, uptime, badges (READ-ONLY, ATTACHED, PAUSED), a failed view or DISCONNECTED; then
req/s, errors, p50/p95, in flight, spend today and this month, event-loop lag.

Cost: the header changes on every console tick. As a Static, each change went through Textual's content
pipeline (Content, wrapping, formatting: ~0.5 ms a tick, the most of any widget after the request tail,
bench/). Here each line is rendered once per change into a Strip (rich segments, padded to the width) and
`render_line` hands it out. The header is two lines and never resizes: a gauge that does not fit is left
out whole (at 80 columns with a long currency, the loop lag), and a long first line (an error message)
ends in an ellipsis.
"""
from __future__ import annotations

from rich.segment import Segment
from rich.text import Text
from textual.strip import Strip
from textual.widget import Widget

from .state import ConsoleState
from .widgets import fmt_ms, fmt_uptime

NARROW = 100  # below this many columns the gauges use compact labels that fit 80


def _gauge(text: str, style: str = "") -> Text:
    """A gauge styled by a span, not the base style: Text equality (the no-repaint check) compares spans."""
    return Text(text) if not style else Text.assemble((text, style))


def header_lines(state: ConsoleState, badges: list[str], narrow: bool) -> tuple[Text, list[Text]]:
    """The first line, and the gauges of the second (fitted to the width by `fit_gauges`)."""
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
    err = s.get("error_pct", 0.0)
    lag = s.get("loop_lag_ms", 0.0)
    p50, p95 = fmt_ms(s.get("p50_ms")), fmt_ms(s.get("p95_ms"))
    money = state.money
    gauges = [
        _gauge(f"{s.get('rps', 0):.1f} req/s"),
        _gauge(f"err {err:.1f}%", "red" if err >= 5 else ""),
        _gauge(f"p50/95 {p50.removesuffix('ms')}/{p95}" if narrow else f"p50 {p50} p95 {p95}"),
        _gauge(f"{'fly' if narrow else 'in flight'} {s.get('in_flight', 0)}"),
        _gauge(f"{'day' if narrow else 'today'} {money(s.get('spend_today_micro_usd', 0))}"),
        _gauge(f"{'mo' if narrow else 'month'} {money(s.get('spend_month_micro_usd', 0))}"),
        _gauge(f"lag {fmt_ms(lag)}", "yellow" if lag >= 20 else ""),
    ]
    return line1, gauges


def fit_gauges(gauges: list[Text], width: int, sep: str) -> Text:
    """The gauges that fit in `width`, in order; the first that does not fit and those after it are left
    out whole, never cut."""
    line = Text()
    for gauge in gauges:
        gap = sep if line else ""
        if line.cell_len + len(gap) + gauge.cell_len > width:
            break
        line.append(gap)
        line.append_text(gauge)
    return line


class StatusHeader(Widget):
    DEFAULT_CSS = """
    StatusHeader { height: 2; background: $panel; color: $text; padding: 0 1; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._shown: tuple[Text, list[Text]] = (Text(), [])  # what show() was given, before fitting
        self.lines: tuple[Text, Text] = (Text(), Text())  # as last painted
        self._strips: tuple[int, list[Strip]] | None = None  # (content width, a strip a line)

    @property
    def plain(self) -> str:
        """What the header says, without styles (as last painted)."""
        return "\n".join(line.plain for line in self.lines)

    def show(self, state: ConsoleState, badges: list[str]) -> None:
        width = self.size.width
        shown = header_lines(state, badges, narrow=bool(width) and width < NARROW)
        if shown == self._shown:  # Text compares text and spans: an unchanged header costs no repaint
            return
        self._shown = shown
        self._strips = None
        self.refresh()

    def render_line(self, y: int) -> Strip:
        width = self.content_size.width
        if self._strips is None or self._strips[0] != width:
            console, base = self.app.console, self.rich_style
            line1, gauges = self._shown
            line1 = line1.copy()
            line1.truncate(width, overflow="ellipsis")
            self.lines = (line1, fit_gauges(gauges, width, " " if self.size.width < NARROW else "  "))
            strips = [Strip(list(Segment.apply_style(line.render(console), base))).adjust_cell_length(width, base)
                      for line in self.lines]
            self._strips = (width, strips)
        strips = self._strips[1]
        return strips[y] if y < len(strips) else Strip.blank(width, self.rich_style)
