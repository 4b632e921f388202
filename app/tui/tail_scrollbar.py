"""The live tail's vertical scrollbar, drawn straight into strips and kept until it changes.

Textual's ScrollBar renders a Rich renderable through the widget's styles pass on every refresh. The tail
grows by a few rows each tick, so its scrollbar is refreshed every tick: measured with the console on
the requests screen at 50 req/s (bench/, the Claude Code request), that was ~1.8 ms of the console's
~7.5 ms of painting a tick, the largest part after the tail itself. TailScrollBar draws the same bar
(Textual's ScrollBarRender.render_bar: same glyphs, colours and click targets) as one strip a line,
through the app's line filters, and reuses the strips while the bar's geometry and colours stay the
same (a full tail at its cap, following new rows, draws the same bar every tick).
"""
from __future__ import annotations

from math import ceil

from rich.segment import Segment
from textual.geometry import Region
from textual.scrollbar import ScrollBar, ScrollBarRender
from textual.strip import Strip


class TailScrollBar(ScrollBar):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._drawn: tuple[tuple, list[Strip]] | None = None

    def _colors(self):
        """(track, thumb) colours as ScrollBar.render picks them (grabbed, hovered or at rest)."""
        styles = self.parent.styles
        if self.grabbed:
            background, color = styles.scrollbar_background_active, styles.scrollbar_color_active
        elif self.mouse_over:
            background, color = styles.scrollbar_background_hover, styles.scrollbar_color_hover
        else:
            background, color = styles.scrollbar_background, styles.scrollbar_color
        if background.a < 1:
            background = self.parent.background_colors[0] + background
        return background, background + color

    def render_lines(self, crop: Region) -> list[Strip]:
        if self.parent is None or not self.vertical or self.screen.styles.scrollbar_color.a == 0:
            return super().render_lines(crop)
        background, color = self._colors()
        height, thickness = self.size.height, self.size.width
        window = self.window_size if self.window_size < self.window_virtual_size else 0
        filters = tuple(self.get_line_filters())
        base = self.rich_style  # the widget's colours under the bar's, as the styles pass puts them
        key = (height, thickness, ceil(self.window_virtual_size), ceil(window), self.position, background, color,
               base, filters)
        if self._drawn is None or self._drawn[0] != key:
            bar = ScrollBarRender.render_bar(size=height, virtual_size=ceil(self.window_virtual_size),
                                             window_size=ceil(window), position=self.position, thickness=thickness,
                                             vertical=True, back_color=background.rich_color,
                                             bar_color=color.rich_color)
            under = self.background_colors[1]
            strips = []
            for segment in bar.segments:  # vertical: one segment a line
                segments = [Segment(segment.text, base + segment.style)]
                for line_filter in filters:
                    segments = line_filter.apply(segments, under)
                strips.append(Strip(segments, thickness))
            self._drawn = (key, strips)
        lines = self._drawn[1][crop.y:crop.bottom]
        x1, x2 = crop.column_span
        return lines if (x1, x2) == (0, thickness) else [line.crop(x1, x2) for line in lines]
