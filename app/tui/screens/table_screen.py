"""TableScreen: a live, sortable, filterable table of named things (the base of the Keys, Teams,
Customers and Providers screens; see entities.py)."""
from __future__ import annotations

import asyncio
import time

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Input
from textual.worker import Worker

from ..app import MUTATING_ACTIONS
from ..forms.entity_text import KIND_LABEL
from ..forms.worker_errors import report_worker_error
from .base import LiveScreen
from .entity_rows import Column, lower_text

REFETCH_S = 2.0
TABLE_BINDINGS = [
    Binding("slash", "open_filter", "Filter", id="entity-filter"),
    Binding("s", "sort", "Sort", show=False, id="entity-sort"),
    Binding("S", "reverse_sort", "Reverse sort", show=False, id="entity-reverse-sort"),
    Binding("y", "copy_name", "Copy name", show=False, id="entity-copy"),
    Binding("escape", "clear_filter", "Clear filter", show=False, id="entity-clear-filter"),
]


class TableScreen(LiveScreen):
    """A live, sortable, filterable table of named things."""

    TITLE = ""
    NUMBER = ""
    KIND = ""
    REFETCH_S = REFETCH_S
    FILTER_BOX = "entity-filter"
    HINT = "/ filter · s sort · y copy"
    DEFAULT_CSS = """
    TableScreen #entity-table { height: 1fr; border: round $primary; }
    TableScreen #entity-table:focus { border: round $accent; }
    TableScreen #entity-filter { dock: bottom; height: 1; border: none; padding: 0 1; display: none; }
    TableScreen #entity-filter.-open { display: block; }
    """
    BINDINGS = []  # each screen lists its own, in footer order (base-class bindings would come first)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.items: dict[str, dict] = {}
        self.aux: dict[str, list[dict]] = {}
        self._cells: dict[str, tuple] = {}
        self._order: list[str] = []
        self.sort_column = 0
        self.sort_reverse = False
        self._columns_dirty = True
        self._filter_text = ""
        self._loaded_at = float("-inf")
        self._loading = False
        self._loaded = False
        self.load_ended = asyncio.Event()  # set after every load, fetched or failed (the palette waits on it)
        self._pending_select: str | None = None
        self._load_error: str | None = None

    # -- layout ------------------------------------------------------------------------------------
    def compose_body(self) -> ComposeResult:
        table = DataTable(id="entity-table", cursor_type="row", zebra_stripes=True)
        table.fixed_columns = 1
        yield table
        yield Input(placeholder="filter by name, team, customer… (!text inverts; enter applies, esc clears)",
                    id="entity-filter")

    def on_mount(self) -> None:
        self.render_rows()
        self.table.focus()
        self.reload()

    @property
    def table(self) -> DataTable:
        return self.query_one("#entity-table", DataTable)

    @property
    def symbol(self) -> str:
        return self.state.currency_symbol

    def columns(self) -> list[Column]:
        raise NotImplementedError

    def search_text(self, item: dict) -> str:
        return " ".join(str(item.get(f) or "") for f in ("name", "team", "customer", "type"))

    # -- data ----------------------------------------------------------------------------------------
    async def fetch(self) -> list[dict]:
        return await self.source.entities(self.KIND)

    def refresh_data(self, state) -> None:
        if not self._loading and time.monotonic() - self._loaded_at >= self.REFETCH_S:
            self.reload()

    def reload(self, select: str | None = None) -> None:
        """Fetch the list now (in a worker), then redraw; `select` moves the cursor to that row after."""
        if select:
            self._pending_select = select
        self._loading = True
        self.run_worker(self._load, group="entity-load", exclusive=True, exit_on_error=False)

    async def _load(self) -> None:
        try:
            items = await self.fetch()
            self._load_error = None
        except Exception as exc:  # a lost remote gateway: keep the last rows, say so in the title
            self._load_error = str(exc) or type(exc).__name__
            items = None
        finally:
            self._loading = False
            self._loaded_at = time.monotonic()
        if items is not None:
            self.items = {item["name"]: item for item in items}
            self._loaded = True
        if self.is_mounted:
            self.render_rows()
        self.load_ended.set()

    async def loaded(self, timeout: float = 5.0) -> bool:
        """Whether the table holds a list (waiting for the first load, at most `timeout` seconds)."""
        if not self._loaded:
            try:
                await asyncio.wait_for(self.load_ended.wait(), timeout)
            except asyncio.TimeoutError:
                pass
        return self._loaded

    # -- rendering ---------------------------------------------------------------------------------------
    def matcher(self):
        text = self._filter_text.strip()
        invert = text.startswith("!")
        needle = (text[1:] if invert else text).strip().lower()
        if not needle:
            return None
        return lambda item: (needle in self.search_text(item).lower()) != invert

    def render_rows(self) -> None:
        table = self.table
        cols = self.columns()
        match = self.matcher()
        items = [it for it in self.items.values() if match is None or match(it)]
        sort_col = cols[min(self.sort_column, len(cols) - 1)]
        items.sort(key=lambda it: (sort_col.sort(it), lower_text(it.get("name"))), reverse=self.sort_reverse)
        rows = [(it["name"], tuple(c.cell(it) for c in cols)) for it in items]
        names = [name for name, _ in rows]
        if not self._columns_dirty and names == self._order:
            for name, cells in rows:
                old = self._cells.get(name)
                if old == cells:
                    continue
                for col, before, after in zip(cols, old or (), cells):
                    if before != after:
                        table.update_cell(name, col.key, after, update_width=True)
        else:
            keep = self.current_name()
            if self._columns_dirty:
                table.clear(columns=True)
                for i, col in enumerate(cols):
                    label = Text(col.label)
                    if i == self.sort_column:
                        label.append(" ▼" if self.sort_reverse else " ▲", style="bold")
                    table.add_column(label, key=col.key)
                self._columns_dirty = False
            else:
                table.clear()
            for name, cells in rows:
                table.add_row(*cells, key=name)
            if keep in names:
                table.move_cursor(row=names.index(keep), animate=False)
        self._cells = dict(rows)
        self._order = names
        if self._pending_select and self._loaded:
            name, self._pending_select = self._pending_select, None
            self.select_name(name)
        self.update_title()

    def update_title(self) -> None:
        table = self.table
        title = Text(f"{self.TITLE} [{self.NUMBER}]", style="bold")
        title.append(f"  {table.row_count:,} of {len(self.items):,}" if self._filter_text else
                     f"  {len(self.items):,}")
        if self._filter_text:
            title.append("  filter ")
            title.append(self._filter_text, style="bold yellow")
        cols = self.columns()
        col = cols[min(self.sort_column, len(cols) - 1)]
        title.append(f"  sort {col.label} {'▼' if self.sort_reverse else '▲'}", style="dim")
        if self._load_error:
            title.append(f"  ⚠ {self._load_error}", style="bold red")
        elif not self._loaded:
            title.append("  loading…", style="dim")
        table.border_title = title
        hint = self.HINT
        if getattr(self.app, "readonly", False):
            hint = "/ filter · s sort · y copy · READ-ONLY"
        table.border_subtitle = hint

    # -- selection -----------------------------------------------------------------------------------
    def current_name(self) -> str | None:
        """The name on the cursor row (None before the table exists or when it is empty)."""
        tables = self.query("#entity-table").results(DataTable)
        table = next(tables, None)
        if table is None or not table.row_count:
            return None
        try:
            return table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        except Exception:
            return None

    def select_name(self, name: str) -> bool:
        """Move the cursor to `name` (clearing a filter that hides it); before the first load, remember it."""
        if not self.is_mounted or not self._loaded:
            self._pending_select = name
            return False
        if name not in self.items:
            self.notify(f"no {KIND_LABEL.get(self.KIND, self.KIND)} named {name!r}", severity="warning", timeout=3)
            return False
        if name not in self._order:
            self.set_filter("")
        table = self.table
        table.move_cursor(row=self._order.index(name), animate=False)
        table.focus()
        return True

    # -- filter / sort / copy ------------------------------------------------------------------------------
    def action_open_filter(self) -> None:
        box = self.query_one("#entity-filter", Input)
        box.add_class("-open")
        box.value = self._filter_text
        box.focus()

    def filtering(self) -> bool:
        return bool(self._filter_text) or super().filtering()

    def action_clear_filter(self) -> None:
        box = self.query_one("#entity-filter", Input)
        box.remove_class("-open")
        box.value = ""
        self.set_filter("")
        self.table.focus()

    @on(Input.Changed, "#entity-filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.set_filter(event.value)

    @on(Input.Submitted, "#entity-filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        self.set_filter(event.value)
        event.input.remove_class("-open")
        self.table.focus()

    def set_filter(self, text: str) -> None:
        text = text.strip()
        if text != self._filter_text:
            self._filter_text = text
            self.render_rows()

    def set_sort(self, column: int, reverse: bool = False) -> None:
        self.sort_column, self.sort_reverse = column, reverse
        self._columns_dirty = True
        self.render_rows()

    def action_sort(self) -> None:
        """`s`: sort by the next column (ascending)."""
        self.set_sort((self.sort_column + 1) % len(self.columns()))

    def action_reverse_sort(self) -> None:
        self.set_sort(self.sort_column, not self.sort_reverse)

    @on(DataTable.HeaderSelected, "#entity-table")
    def _header(self, event: DataTable.HeaderSelected) -> None:
        event.stop()
        column = event.column_index
        self.set_sort(column, not self.sort_reverse if column == self.sort_column else False)

    def action_copy_name(self) -> None:
        name = self.current_name()
        if name:
            self.app.copy_to_clipboard(name)
            self.notify(f"copied {name}", timeout=2)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        report_worker_error(self, event)

    # -- read-only -------------------------------------------------------------------------------------
    @property
    def readonly(self) -> bool:
        return bool(getattr(self.app, "readonly", False))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in MUTATING_ACTIONS and self.readonly:
            return False  # hidden from the footer, and the key does nothing
        return super().check_action(action, parameters)
