"""LiveTail: a row table for a fast live feed (the request tail), drawn with Textual's line API.

Why not DataTable: a DataTable does work per row it holds (row heights, column widths, a layout pass
on every append) and re-renders every visible cell whenever rows shift. At 500 requests/s the tail gains
~250 rows per console tick and all visible rows are new, so that work landed on the gateway's event loop
as 50–100 ms stalls (bench/ "console running", 2026-11-26). Here:

- the rows are a `TailRows` (app/tui/tail_rows.py): appending a row is two list appends and one dict
  entry, rows added with `add_items` are turned into cells (by the table's `formatter`) only when first
  drawn, evicting the oldest rows is two slice deletions and one dict removal a row; column widths grow
  to fit the rows drawn so far (like DataTable's auto width);
- `TailView` (app/tui/tail_view.py) paints them: only visible lines are drawn, each cached per row
  already padded, cropped and filtered (app/tui/tail_line.py), and a growing table resizes only its
  scrollbar, with no layout pass;
- this module is the table's interface: columns and rows in, the row cursor, keys, clicks, messages.

Keys: up/down, page up/down, home, `enter` selects; a click moves the cursor, a click on the cursor's
row selects it. The first column stays put when the table scrolls sideways.
"""
from __future__ import annotations

from textual.binding import Binding
from textual.message import Message

from .tail_view import TailView


class _RowMessage(Message):
    def __init__(self, tail: LiveTail, cursor_row: int, row_key: str) -> None:
        super().__init__()
        self.tail, self.cursor_row, self.row_key = tail, cursor_row, row_key

    @property
    def control(self) -> LiveTail:
        return self.tail


class LiveTail(TailView, can_focus=True):
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

    # -- columns and rows (kept in a TailRows, app/tui/tail_rows.py) ---------------------------
    def add_column(self, label: str, *, key: str | None = None) -> str:
        key = self._rows.add_column(label, key)
        self._changed(widths=True)
        return key

    def add_row(self, *cells, key: str) -> str:
        """Append a row of cells (TailCell, rich Text or str). A key already present raises ValueError."""
        self._rows.extend(((key, None),))
        self._changed(widths=self._rows.set_cells(key, cells))
        return key

    def add_items(self, pairs, *, cap: int | None = None) -> None:
        """Append (key, item) rows whose cells `formatter(item)` makes when a row is first drawn or read,
        then drop the oldest rows beyond `cap`; one size update and one refresh for the lot (a full
        table keeps its size, so a steady tail never costs the screen a layout pass)."""
        self._rows.extend(pairs)
        if cap is not None and len(self._rows) > cap:
            self._drop(len(self._rows) - cap)
        self._changed()

    def __contains__(self, key: object) -> bool:
        return key in self._rows

    def item(self, key: str):
        """The item a row was added with (`add_items`), or None for a row added as cells; KeyError if absent."""
        return self._rows.item(key)

    def items(self) -> list:
        """Every row's item, oldest first."""
        return list(self._rows.items)

    def clear(self, columns: bool = False) -> None:
        self._rows.clear(columns)  # the drawn lines go in _changed(widths=True)
        self._cursor = 0
        self._changed(widths=True)
        self.scroll_to(0, 0, animate=False, immediate=True)

    @property
    def row_count(self) -> int:
        return len(self._rows)

    def row_key_at(self, index: int) -> str:
        return self._rows.keys[index]

    def get_row(self, key: str) -> tuple:
        if key not in self._rows:
            raise KeyError(key)
        return self._row_cells(key)

    def get_row_at(self, index: int) -> tuple:
        return self._row_cells(self._rows.keys[index])

    def get_row_index(self, key: str) -> int:
        return self._rows.index(key)

    # -- cursor --------------------------------------------------------------------------------
    @property
    def cursor_row(self) -> int:
        return self._cursor

    @property
    def cursor_key(self) -> str | None:
        return self._rows.keys[self._cursor] if self._rows.keys else None

    def move_cursor(self, *, row: int, animate: bool = False) -> None:
        if not self._rows.keys:
            return
        row = max(0, min(row, len(self._rows.keys) - 1))
        old, self._cursor = self._cursor, row
        if old < len(self._rows.keys):
            self._refresh_row(old)
        self._refresh_row(row)
        self._scroll_to_row(row, animate)
        self.post_message(self.RowHighlighted(self, row, self._rows.keys[row]))

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
        if self._rows.keys:
            self._scroll_to_row(min(self._cursor, len(self._rows.keys) - 1), False)

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
        self.move_cursor(row=len(self._rows.keys) - 1)

    def action_select_cursor(self) -> None:
        if self._rows.keys:
            self.post_message(self.RowSelected(self, self._cursor, self._rows.keys[self._cursor]))

    def on_click(self, event) -> None:
        offset = event.get_content_offset(self)
        if offset is None or offset.y < 1:
            return
        row = int(self.scroll_y) + offset.y - 1
        if row >= len(self._rows.keys):
            return
        if row == self._cursor:
            self.action_select_cursor()
        else:
            self.move_cursor(row=row)
