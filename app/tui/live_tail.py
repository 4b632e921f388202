"""LiveTail: a row table for a fast live feed (the request tail), drawn with Textual's line API.

Why not DataTable: a DataTable does work per row it holds (row heights, column widths, a layout pass
on every append) and re-renders every visible cell whenever rows shift. At 500 requests/s the tail gains
~250 rows per console tick and all visible rows are new, so that work landed on the gateway's event loop
as 50–100 ms stalls (bench/ "console running", 2026-11-26). Here:

- appending a row is two list appends and one dict entry: no layout pass (a growing table resizes
  only its scrollbar); rows added with `add_items`
  are turned into cells (by the table's `formatter`) only when first drawn, so a burst of 250 rows
  formats about 40; evicting the oldest rows is two slice deletions and one dict removal a row (the
  cached cells and lines of evicted rows are pruned in one pass once there are more than a screenful);
- only visible lines are drawn, each cached per row already padded, cropped and filtered, so a tick
  costs about one screenful of new rows however many arrived (rows scrolled past are never drawn);
- zebra striping follows the row's sequence number, not its position, so evicting old rows does not
  repaint the rows that stay;
- a table with a plain box (no border, padding or tint: put those on a container) hands its cached lines
  to the compositor as they are, skipping Textual's per-line styles pass;
- column widths grow to fit the rows drawn so far (like DataTable's auto width); only a wider cell
  invalidates the cache.

Keys: up/down, page up/down, home, `enter` selects; a click moves the cursor, a click on the cursor's
row selects it. The first column stays put when the table scrolls sideways.
"""
from __future__ import annotations

from dataclasses import dataclass

from rich.console import Console
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.binding import Binding
from textual.geometry import Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from ..service.interpreter_sharing import give_way
from .tail_cell import TailCell
from .tail_scrollbar import TailScrollBar

PAD = 1  # blank cells either side of every column


@dataclass(slots=True)
class _Column:
    key: str
    label: Text
    width: int


class _RowMessage(Message):
    def __init__(self, tail: LiveTail, cursor_row: int, row_key: str) -> None:
        super().__init__()
        self.tail, self.cursor_row, self.row_key = tail, cursor_row, row_key

    @property
    def control(self) -> LiveTail:
        return self.tail


class LiveTail(ScrollView, can_focus=True):
    """Rows of cells (TailCell or rich Text) under a fixed header; a row cursor; appends and bulk eviction
    are cheap."""

    DEFAULT_CSS = """
    LiveTail {
        background: $surface;
        color: $foreground;
        & > .live-tail--header { text-style: bold; background: $panel; color: $foreground; }
        & > .live-tail--even-row { background: $surface-lighten-1 50%; }
        & > .live-tail--cursor {
            background: $block-cursor-blurred-background;
            color: $block-cursor-blurred-foreground;
            text-style: $block-cursor-blurred-text-style;
        }
        &:focus > .live-tail--cursor {
            background: $block-cursor-background;
            color: $block-cursor-foreground;
            text-style: $block-cursor-text-style;
        }
        &:dark > .live-tail--even-row { background: $surface-darken-1 40%; }
    }
    """
    COMPONENT_CLASSES = {"live-tail--header", "live-tail--even-row", "live-tail--cursor"}
    BINDINGS = [
        Binding("up", "cursor_up", "Up", show=False),
        Binding("down", "cursor_down", "Down", show=False),
        Binding("pageup", "page_up", "Page up", show=False),
        Binding("pagedown", "page_down", "Page down", show=False),
        Binding("home", "first", "First", show=False),
        Binding("end", "last", "Last", show=False),
        Binding("enter", "select_cursor", "Select", show=False),
    ]

    class RowHighlighted(_RowMessage):
        """The cursor moved to `cursor_row` (row `row_key`)."""

    class RowSelected(_RowMessage):
        """`enter` (or a click on the cursor's row) on row `row_key`."""

    def __init__(self, *, formatter=None, zebra_stripes: bool = True, name: str | None = None,
                 id: str | None = None, classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.formatter = formatter  # item -> cells, for rows added with add_items
        self.zebra_stripes = zebra_stripes
        self._columns: list[_Column] = []
        self._keys: list[str] = []  # row keys, oldest first
        self._items: list = []  # the row's item, aligned with _keys (None for rows added as cells)
        self._seq: dict[str, int] = {}  # row key -> sequence number (zebra parity survives eviction)
        self._first_seq = 0  # sequence number of _keys[0]: a row's index is its seq minus this
        self._next_seq = 0
        self._cells: dict[str, tuple] = {}  # row key -> cells, built on first use for items
        self._cursor = 0
        self._lines: dict[tuple[str, bool], tuple] = {}  # (row key, under cursor) -> (shape, line)
        self._header: tuple | None = None  # (shape, line)
        self._combined: dict[tuple, Style] = {}  # (line style, cell style) -> both, see _over
        self._paint: tuple[int, int, int] | None = None  # (width, scroll_x, scroll_y) during a paint
        self._paint_styles: dict | None = None  # see _line_styles

    # -- columns and rows ----------------------------------------------------------------------
    def add_column(self, label: str, *, key: str | None = None) -> str:
        text = Text(label)
        self._columns.append(_Column(key or label, text, text.cell_len))
        self._changed(widths=True)
        return key or label

    def add_row(self, *cells, key: str) -> str:
        """Append a row of cells (TailCell, rich Text or str). A key already present raises ValueError."""
        self._extend(((key, None),))
        self._cells[key] = tuple(c if isinstance(c, (TailCell, Text)) else TailCell(str(c)) for c in cells)
        self._changed(widths=self._fit(self._cells[key]))
        return key

    def add_items(self, pairs, *, cap: int | None = None) -> None:
        """Append (key, item) rows whose cells `formatter(item)` makes when a row is first drawn or read,
        then drop the oldest rows beyond `cap`; one size update and one refresh for the lot (a full
        table keeps its size, so a steady tail never costs the screen a layout pass)."""
        self._extend(pairs)
        if cap is not None and len(self._keys) > cap:
            self._drop(len(self._keys) - cap)
        self._changed()

    def _extend(self, pairs) -> None:
        """Append (key, item) rows; this loop runs for every request the console sees."""
        keys, items, seq = self._keys, self._items, self._seq
        n = self._next_seq
        try:
            for key, item in pairs:
                if key in seq:
                    raise ValueError(f"duplicate row key {key!r}")
                keys.append(key)
                items.append(item)
                seq[key] = n
                n += 1
        finally:
            self._next_seq = n

    def __contains__(self, key: object) -> bool:
        return key in self._seq

    def item(self, key: str):
        """The item a row was added with (`add_items`), or None for a row added as cells; KeyError if absent."""
        return self._items[self._seq[key] - self._first_seq]

    def items(self) -> list:
        """Every row's item, oldest first."""
        return list(self._items)

    def _fit(self, cells: tuple) -> bool:
        """Widen columns to fit `cells`; True if any grew."""
        wider = False
        for column, cell in zip(self._columns, cells):
            width = cell.cell_len
            if width > column.width:
                column.width, wider = width, True
        return wider

    def _row_cells(self, key: str) -> tuple:
        cells = self._cells.get(key)
        if cells is None:
            cells = self._cells[key] = tuple(self.formatter(self.item(key)))
            if self._fit(cells):
                self._changed(widths=True)  # lines drawn before this one were narrower: draw again
        return cells

    def _drop(self, n: int) -> None:
        """Remove the first `n` rows in one pass (the cursor keeps pointing at the same row if it stays)."""
        n = min(n, len(self._keys))
        seq = self._seq
        for key in self._keys[:n]:
            del seq[key]
        del self._keys[:n], self._items[:n]
        self._first_seq += n
        self._cursor = max(0, self._cursor - n)
        if len(self._cells) > max(self.size.height, 32):  # over a screenful cached: some rows are gone
            self._cells = {key: cells for key, cells in self._cells.items() if key in seq}
            self._lines = {line: entry for line, entry in self._lines.items() if line[0] in seq}

    def clear(self, columns: bool = False) -> None:
        self._keys.clear()
        self._items.clear()
        self._cells.clear()  # the drawn lines go in _changed(widths=True)
        self._seq.clear()
        self._first_seq = self._next_seq
        self._cursor = 0
        if columns:
            self._columns.clear()
        self._changed(widths=True)
        self.scroll_to(0, 0, animate=False, immediate=True)

    @property
    def row_count(self) -> int:
        return len(self._keys)

    def row_key_at(self, index: int) -> str:
        return self._keys[index]

    def get_row(self, key: str) -> tuple:
        if key not in self._seq:
            raise KeyError(key)
        return self._row_cells(key)

    def get_row_at(self, index: int) -> tuple:
        return self._row_cells(self._keys[index])

    def get_row_index(self, key: str) -> int:
        if key not in self._seq:
            raise KeyError(key)
        return self._seq[key] - self._first_seq  # rows are in sequence order, without gaps

    # -- cursor --------------------------------------------------------------------------------
    @property
    def cursor_row(self) -> int:
        return self._cursor

    @property
    def cursor_key(self) -> str | None:
        return self._keys[self._cursor] if self._keys else None

    def move_cursor(self, *, row: int, animate: bool = False) -> None:
        if not self._keys:
            return
        row = max(0, min(row, len(self._keys) - 1))
        old, self._cursor = self._cursor, row
        if old < len(self._keys):
            self._refresh_row(old)
        self._refresh_row(row)
        self._scroll_to_row(row, animate)
        self.post_message(self.RowHighlighted(self, row, self._keys[row]))

    def _scroll_to_row(self, row: int, animate: bool) -> None:
        if not self.size.height:  # not laid out yet: once it is, on_resize brings the cursor into view
            return
        body = max(1, self.scrollable_content_region.height - 1)  # lines below the header
        top = int(self.scroll_y)
        if row < top:
            self.scroll_to(y=row, animate=animate, immediate=not animate, force=True)
        elif row >= top + body:
            self.scroll_to(y=row - body + 1, animate=animate, immediate=not animate, force=True)

    def on_resize(self) -> None:
        if self._keys:
            self._scroll_to_row(min(self._cursor, len(self._keys) - 1), False)

    def action_cursor_up(self) -> None:
        self.move_cursor(row=self._cursor - 1)

    def action_cursor_down(self) -> None:
        self.move_cursor(row=self._cursor + 1)

    def action_page_up(self) -> None:
        self.move_cursor(row=self._cursor - max(1, self.scrollable_content_region.height - 2))

    def action_page_down(self) -> None:
        self.move_cursor(row=self._cursor + max(1, self.scrollable_content_region.height - 2))

    def action_first(self) -> None:
        self.move_cursor(row=0)

    def action_last(self) -> None:
        self.move_cursor(row=len(self._keys) - 1)

    def action_select_cursor(self) -> None:
        if self._keys:
            self.post_message(self.RowSelected(self, self._cursor, self._keys[self._cursor]))

    def on_click(self, event) -> None:
        offset = event.get_content_offset(self)
        if offset is None or offset.y < 1:
            return
        row = int(self.scroll_y) + offset.y - 1
        if row >= len(self._keys):
            return
        if row == self._cursor:
            self.action_select_cursor()
        else:
            self.move_cursor(row=row)

    # -- drawing -------------------------------------------------------------------------------
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
        total = sum(c.width + 2 * PAD for c in self._columns)
        self._resize(Size(total, len(self._keys) + 1))  # +1: the header line
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
        self.set_reactive(LiveTail.virtual_size, size)
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
        if y == 0:
            if self._header is None or self._header[0] != shape:
                segments, length = self._draw([c.label for c in self._columns], styles["header"])
                self._header = (shape, self._finish(segments, length, shape, styles["base"]))
            return self._header[1]
        index = scroll_y + y - 1
        if index >= len(self._keys):
            return self._finish([], 0, shape, styles["base"])
        key, under_cursor = self._keys[index], index == self._cursor
        cached = self._lines.get((key, under_cursor))
        if cached is not None and cached[0] == shape:
            return cached[1]  # drawn, padded, cropped and filtered for this shape before
        cells = self._row_cells(key)  # first: it may widen the columns this line is drawn with
        segments, length = self._draw(cells, styles[(self._seq[key] % 2 == 1, under_cursor)])
        strip = self._finish(segments, length, shape, styles["base"])
        self._lines[(key, under_cursor)] = (shape, strip)
        return strip

    def _draw(self, cells, style: Style) -> tuple[list[Segment], int]:
        """One full line's segments and cell length: every column padded to its width, cells' own styles
        over `style`. Unstyled text and padding run together into one segment (a plain row is one segment,
        not four a cell), and the length is known, so nothing downstream measures the text again."""
        segments: list[Segment] = []
        run = ""  # text in the line's own style, not yet a segment
        pad = " " * PAD
        length = 0
        for column, cell in zip(self._columns, cells):
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
                    segments.append(Segment(text, self._over(style, piece_style)))
                    run = ""
                else:
                    run += text
            run += pad if right else " " * gap + pad
        if run:
            segments.append(Segment(run, style))
        return segments, length

    def _finish(self, segments: list[Segment], length: int, shape: tuple, base: Style) -> Strip:
        """The line at the table's width, scrolled and through the filters (`shape`): one Strip, where
        padding, cropping and each filter would each have made another."""
        width, scroll_x, filters, background = shape
        if (scroll_x and self._columns) or length > width:
            cropped = self._scrolled(Strip(segments, length), width, scroll_x)
            segments, length = list(cropped), cropped.cell_length
        if length < width:
            segments.append(Segment(" " * (width - length), base))
        for line_filter in filters:
            segments = line_filter.apply(segments, background)
        return Strip(segments, width)

    def _over(self, style: Style, cell_style: Style | str) -> Style:
        """`style` with a cell's style on top, made once per pair."""
        combined = self._combined.get((style, cell_style))
        if combined is None:
            top = Style.parse(cell_style) if isinstance(cell_style, str) else cell_style
            combined = self._combined[(style, cell_style)] = style + top
            if len(self._combined) > 512:  # themes and cursor states come and go: stay small
                self._combined.clear()
                self._combined[(style, cell_style)] = combined
        return combined

    def _scrolled(self, strip: Strip, width: int, scroll_x: int) -> Strip:
        """Keep the first column fixed and scroll the others by scroll_x; cut to the width."""
        if scroll_x and self._columns:
            fixed = self._columns[0].width + 2 * PAD
            strip = Strip.join([strip.crop(0, fixed), strip.crop(fixed + scroll_x, strip.cell_length)])
        return strip.crop(0, width) if strip.cell_length > width else strip


_CONSOLE = Console(width=10_000, color_system=None, force_terminal=False, legacy_windows=False)  # for Text.render
