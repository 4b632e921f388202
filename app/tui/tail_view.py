"""TailView: how a LiveTail (app/tui/live_tail.py) paints its rows: a header line, then one line a row,
each drawn (app/tui/tail_line.py) only when it is first visible and then cached, already padded, cropped
and filtered. LiveTail adds the table's interface (adding rows, the cursor's keys and clicks, messages).

- only visible lines are drawn, so a tick costs about one screenful of new rows however many arrived
  (rows scrolled past are never drawn); the cached cells and lines of evicted rows are pruned in one
  pass once there are more than a screenful;
- zebra striping follows the row's sequence number, not its position, so evicting old rows does not
  repaint the rows that stay;
- a table with a plain box (no border, padding or tint: put those on a container) hands its cached lines
  to the compositor as they are, skipping Textual's per-line styles pass;
- more rows only resize the scrollbar (no layout pass); only a wider cell invalidates the cached lines.
"""
from __future__ import annotations

from rich.style import Style
from textual.geometry import Region, Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from ..service.interpreter_sharing import give_way
from .tail_line import PAD, StackedStyles, draw_cells, finish_line
from .tail_rows import TailRows
from .tail_scrollbar import TailScrollBar


class TailView(ScrollView):
    """A TailRows painted under a fixed header, the row at `_cursor` in the cursor's style."""

    COMPONENT_CLASSES = {"live-tail--header", "live-tail--even-row", "live-tail--cursor"}

    def __init__(self, *, formatter=None, zebra_stripes: bool = True, name: str | None = None,
                 id: str | None = None, classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.formatter = formatter  # item -> cells, for rows added with add_items
        self.zebra_stripes = zebra_stripes
        self._rows = TailRows()
        self._cursor = 0
        self._lines: dict[tuple[str, bool], tuple] = {}  # (row key, under cursor) -> (shape, line)
        self._header: tuple | None = None  # (shape, line)
        self._stacked = StackedStyles()  # a cell's style over its line's
        self._paint: tuple[int, int, int] | None = None  # (width, scroll_x, scroll_y) during a paint
        self._paint_styles: dict | None = None  # see _line_styles

    @property
    def _cells(self) -> dict[str, tuple]:
        """Row key -> the row's cells, for the rows whose cells were made (the tests look at what is kept)."""
        return self._rows.cells

    def _row_cells(self, key: str) -> tuple:
        cells, wider = self._rows.row_cells(key, self.formatter)
        if wider:
            self._changed(widths=True)  # lines drawn before this one were narrower: draw again
        return cells

    def _drop(self, n: int) -> None:
        """Remove the first `n` rows in one pass (the cursor keeps pointing at the same row if it stays)."""
        self._cursor = max(0, self._cursor - self._rows.drop(n))
        if self._rows.prune(max(self.size.height, 32)):  # over a screenful cached: some rows are gone
            seq = self._rows.seq
            self._lines = {line: entry for line, entry in self._lines.items() if line[0] in seq}

    # -- painting ----------------------------------------------------------------------------
    @property
    def vertical_scrollbar(self) -> TailScrollBar:
        """Textual's own property, creating a TailScrollBar instead (app/tui/tail_scrollbar.py)."""
        if self._vertical_scrollbar is None:
            bar = TailScrollBar(vertical=True, name="vertical", thickness=self.scrollbar_size_vertical)
            bar.display = False
            self._vertical_scrollbar = bar
            self.app._start_widget(self, bar)
        return self._vertical_scrollbar

    def _changed(self, widths: bool = False) -> None:
        if widths:
            self._lines.clear()
            self._header = None
        total = sum(c.width + 2 * PAD for c in self._rows.columns)
        self._resize(Size(total, len(self._rows.keys) + 1))  # +1: the header line
        self.refresh()

    def _resize(self, size: Size) -> None:
        """Set the scrollable size. More rows under a vertical scrollbar already shown change only that
        scrollbar, so they skip the screen's layout pass (which setting `virtual_size` asks for: ~8-12 ms
        a tick while the tail grows to its cap, bench/); Textual sizes widgets the same way when it knows
        no layout is needed. Any other change (columns wider, the first scrollbar) lays the screen out."""
        old = self.virtual_size
        if size == old:
            return
        grows = size.width == old.width and size.height > old.height  # so neither scrollbar comes or goes
        if not (grows and self.show_vertical_scrollbar and hasattr(self, "_scroll_update")):
            self.virtual_size = size
            return
        self.set_reactive(TailView.virtual_size, size)
        self._scroll_update(size)  # the scrollbars' window and the scroll limits

    def _refresh_row(self, index: int) -> None:
        y = index - int(self.scroll_y) + 1
        if 1 <= y < self.size.height:
            self.refresh(Region(0, y, self.size.width, 1))

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._lines.clear()
        self._header = None
        self._paint_styles = None

    def _line_styles(self) -> dict:
        """The line styles (header; row by zebra parity and cursor), resolved once per theme and focus
        state rather than on every paint."""
        focused = self.has_focus
        cached = self._paint_styles
        if cached is not None and cached["focused"] == focused:
            return cached
        base = self.rich_style
        even = self.get_component_rich_style("live-tail--even-row") if self.zebra_stripes else Style()
        cursor = self.get_component_rich_style("live-tail--cursor")
        self._paint_styles = cached = {
            "focused": focused, "base": base,
            "header": base + self.get_component_rich_style("live-tail--header"),
            (False, False): base, (True, False): base + even,
            (False, True): base + cursor, (True, True): base + even + cursor,
        }
        return cached

    def render_lines(self, crop: Region) -> list[Strip]:
        """Our lines as they are, through the app's line filters, when the table's own box is plain (no
        border, padding, outline, tint, hatch or opacity): Textual's styles pass would copy every line into
        two new strips on every repaint (~half of the tail's paint at 200 rows a tick, see bench/). A row's
        line is drawn, padded and filtered in one go and cached, so a row scrolled up costs nothing.
        A styled box takes Textual's own path. Put a border on a container around the table."""
        self._paint = self._view()  # once per paint, not per line
        try:
            if not self._plain_box():
                return super().render_lines(crop)
            width = self._paint[0]
            filters = tuple(self.get_line_filters())
            background = self.background_colors[1]
            lines = [self._line(y, filters, background) for y in crop.line_range]
        finally:
            self._paint = None
        x1, x2 = crop.column_span
        return lines if (x1, x2) == (0, width) else [line.crop(x1, x2) for line in lines]

    def _plain_box(self) -> bool:
        styles = self.styles
        return (not any(edge[0] for edge in styles.border) and not any(edge[0] for edge in styles.outline)
                and not any(styles.padding) and not styles.tint.a and self.opacity == 1.0
                and styles.text_opacity == 1.0 and not (styles.has_rule("hatch") and styles.hatch != "none"))

    def _view(self) -> tuple[int, int, int]:
        return self.scrollable_content_region.width, int(self.scroll_x), int(self.scroll_y)

    def render_line(self, y: int) -> Strip:
        """Line `y` for Textual's styles pass (which applies the line filters itself)."""
        return self._line(y, (), None)

    def _line(self, y: int, filters: tuple, background) -> Strip:
        give_way()  # a waiting gateway thread runs between lines, not after the whole repaint
        styles = self._line_styles()
        width, scroll_x, scroll_y = self._paint or self._view()
        shape = (width, scroll_x, filters, background)
        rows = self._rows
        if y == 0:
            if self._header is None or self._header[0] != shape:
                segments, length = draw_cells(rows.columns, [c.label for c in rows.columns], styles["header"],
                                              self._stacked.over)
                self._header = (shape, finish_line(segments, length, shape, styles["base"], rows.columns))
            return self._header[1]
        index = scroll_y + y - 1
        if index >= len(rows.keys):
            return finish_line([], 0, shape, styles["base"], rows.columns)
        key, under_cursor = rows.keys[index], index == self._cursor
        cached = self._lines.get((key, under_cursor))
        if cached is not None and cached[0] == shape:
            return cached[1]  # drawn, padded, cropped and filtered for this shape before
        cells = self._row_cells(key)  # first: it may widen the columns this line is drawn with
        segments, length = draw_cells(rows.columns, cells, styles[(rows.seq[key] % 2 == 1, under_cursor)],
                                      self._stacked.over)
        strip = finish_line(segments, length, shape, styles["base"], rows.columns)
        self._lines[(key, under_cursor)] = (shape, strip)
        return strip
