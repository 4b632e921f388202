"""How a LiveTail (app/tui/live_tail.py) draws one line, a row's or the header's: its cells padded to the
column widths over the line's style (`draw_cells`), then scrolled sideways with the first column fixed,
cut or padded to the table's width and through the app's line filters (`finish_line`), as one Strip.

- unstyled text and padding run together into one segment (a plain row is one segment, not four a
  cell), and the line's length is known, so nothing downstream measures the text again;
- padding, cropping and each filter would each have made another Strip: `finish_line` makes one;
- a cell's own style on top of the line's is combined once per pair (`StackedStyles`).
"""
from __future__ import annotations

from rich.console import Console
from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip

PAD = 1  # blank cells either side of every column
STACKED_MAX = 512  # combined styles kept (themes and cursor states come and go)


class StackedStyles:
    """A line's style with a cell's style on top, made once per pair."""

    def __init__(self) -> None:
        self._combined: dict[tuple, Style] = {}  # (line style, cell style) -> both

    def over(self, style: Style, cell_style: Style | str) -> Style:
        combined = self._combined.get((style, cell_style))
        if combined is None:
            top = Style.parse(cell_style) if isinstance(cell_style, str) else cell_style
            combined = self._combined[(style, cell_style)] = style + top
            if len(self._combined) > STACKED_MAX:  # stay small
                self._combined.clear()
                self._combined[(style, cell_style)] = combined
        return combined


def draw_cells(columns, cells, style: Style, over) -> tuple[list[Segment], int]:
    """One full line's segments and cell length: every column (`TailColumn`) padded to its width, the
    cells' own styles over `style` (`over(style, cell_style)`). The widths already fit every cell."""
    segments: list[Segment] = []
    run = ""  # text in the line's own style, not yet a segment
    pad = " " * PAD
    length = 0
    for column, cell in zip(columns, cells):
        width = column.width
        length += width + 2 * PAD
        gap = width - cell.cell_len  # >= 0: widths grow to fit every drawn row and the header
        right = cell.justify == "right"
        run += pad + " " * gap if right else pad
        pieces = cell.render(_CONSOLE) if cell.spans else ((cell.plain, cell.style),)
        for piece in pieces:  # (text, style) pairs or Segments
            text, piece_style = piece[0], piece[1]
            if piece_style:
                if run:
                    segments.append(Segment(run, style))
                segments.append(Segment(text, over(style, piece_style)))
                run = ""
            else:
                run += text
        run += pad if right else " " * gap + pad
    if run:
        segments.append(Segment(run, style))
    return segments, length


def finish_line(segments: list[Segment], length: int, shape: tuple, base: Style, columns) -> Strip:
    """The line at the table's width, scrolled and through the filters: `shape` is (width, scroll_x,
    line filters, background); `base` pads a short line. One Strip, where padding, cropping and each
    filter would each have made another."""
    width, scroll_x, filters, background = shape
    if (scroll_x and columns) or length > width:
        cropped = scrolled(Strip(segments, length), width, scroll_x, columns)
        segments, length = list(cropped), cropped.cell_length
    if length < width:
        segments.append(Segment(" " * (width - length), base))
    for line_filter in filters:
        segments = line_filter.apply(segments, background)
    return Strip(segments, width)


def scrolled(strip: Strip, width: int, scroll_x: int, columns) -> Strip:
    """Keep the first column fixed and scroll the others by scroll_x; cut to the width."""
    if scroll_x and columns:
        fixed = columns[0].width + 2 * PAD
        strip = Strip.join([strip.crop(0, fixed), strip.crop(fixed + scroll_x, strip.cell_length)])
    return strip.crop(0, width) if strip.cell_length > width else strip


_CONSOLE = Console(width=10_000, color_system=None, force_terminal=False, legacy_windows=False)  # for Text.render
