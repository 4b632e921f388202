"""TailTable: a DataTable for append-mostly live feeds (the request tail, the failover feed)."""
from __future__ import annotations

from textual.coordinate import Coordinate
from textual.widgets import DataTable


class _PaintStyles:
    """A component's styles with `rich_style` computed once (see TailTable.get_component_styles)."""

    __slots__ = ("_styles", "rich_style")

    def __init__(self, styles):
        self._styles = styles
        self.rich_style = styles.rich_style

    def __getattr__(self, name):
        return getattr(self._styles, name)


class TailTable(DataTable):
    """A DataTable for append-mostly live feeds (the request tail, the failover feed).

    Stock DataTable keys every cached cell render on `_update_count`, which `add_row` bumps: one
    appended row re-renders every visible cell (~300 at 120×40, ~40 ms, more on a busy box — all
    of it loop stall for the gateway). Appends do not change existing rows, so this table keys cell
    renders on a generation that only non-append changes bump (clear, remove, update, sort, columns,
    `drop_oldest`) plus the cell width (auto-width columns that grow re-render). It also computes
    the widget's and its components' rich styles once per paint instead of once per line/row.
    Same pixels as DataTable (tests/test_tui_live_screens.py compares screenshots); falls back to
    stock behaviour if Textual's internals change shape.
    """

    _generation = 0
    _paint_styles: dict | None = None

    def _bump(self) -> None:
        self._generation += 1

    def _render_cell(self, *args, **kwargs):
        width = kwargs.get("width", args[3] if len(args) > 3 else None)
        real = getattr(self, "_update_count", None)
        if not isinstance(real, int) or width is None:
            return super()._render_cell(*args, **kwargs)
        self._update_count = (self._generation, width)  # the cache key's "version" for this call
        try:
            return super()._render_cell(*args, **kwargs)
        finally:
            self._update_count = real

    # every change except appending rows invalidates cached cells
    def clear(self, columns: bool = False):
        self._bump()
        return super().clear(columns)

    def remove_row(self, row_key) -> None:
        self._bump()
        super().remove_row(row_key)

    def remove_column(self, column_key) -> None:
        self._bump()
        super().remove_column(column_key)

    def add_column(self, *args, **kwargs):
        self._bump()
        return super().add_column(*args, **kwargs)

    def update_cell(self, *args, **kwargs) -> None:
        self._bump()
        super().update_cell(*args, **kwargs)

    def sort(self, *args, **kwargs):
        self._bump()
        return super().sort(*args, **kwargs)

    def drop_oldest(self, n: int) -> None:
        """Remove the first `n` rows. `DataTable.remove_row` rebuilds the row index per call (O(rows)
        each, ~850 ms for 200 of 5000 rows); this does the same bookkeeping once for the batch (upstream
        has no bulk removal yet, Textual #5273). Falls back to `remove_row` if the internals differ."""
        n = min(n, self.row_count)
        if n <= 0:
            return
        try:
            from textual._two_way_dict import TwoWayDict
            locations, rows, data = self._row_locations, self.rows, self._data
            new_rows, updated = self._new_rows, self._updated_cells
        except (ImportError, AttributeError):
            for key in [self.coordinate_to_cell_key(Coordinate(i, 0)).row_key for i in range(n)]:
                self.remove_row(key)
            return
        self._bump()
        ordered = [locations.get_key(i) for i in range(len(rows))]
        dropped = set(ordered[:n])
        self._row_locations = TwoWayDict({key: i for i, key in enumerate(ordered[n:])})
        for key in dropped:
            del rows[key]
            del data[key]
        new_rows.difference_update(dropped)
        if updated:
            self._updated_cells = {cell for cell in updated if cell.row_key not in dropped}
        self._require_update_dimensions = True
        self._update_count += 1
        self.cursor_coordinate = self.cursor_coordinate  # re-validated against the new row count
        self.hover_coordinate = self.hover_coordinate
        self.check_idle()
        self.refresh(layout=True)

    # styles computed once per paint, not per line
    def render_lines(self, crop):
        self._paint_styles = {}
        try:
            return super().render_lines(crop)
        finally:
            self._paint_styles = None

    @property
    def rich_style(self):
        cache = self._paint_styles
        if cache is None:
            return super().rich_style
        style = cache.get(None)
        if style is None:
            style = cache[None] = super().rich_style
        return style

    def get_component_styles(self, *names: str):
        cache = self._paint_styles
        if cache is None:
            return super().get_component_styles(*names)
        styles = cache.get(names)
        if styles is None:
            styles = cache[names] = _PaintStyles(super().get_component_styles(*names))
        return styles
