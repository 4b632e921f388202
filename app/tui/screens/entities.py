"""Keys (6), Teams (7), Customers (8) and Providers (9): sortable, filterable tables with forms.

Data: each screen re-fetches its list from the source at most every REFETCH_S seconds while it is
visible (in a worker: the loop never blocks), and at once after a change. Rows are keyed by name, so
the cursor stays on the same entity across refreshes, sorts and filters; unchanged cells are not
touched (no flicker). `select_name(name)` (ctrl+p "jump to", `:key NAME`) moves the cursor to a row.

Keys: `/` filter (`!` inverts), `s` next sort column (`S` reverses; or click a header), `y` copy the
name (OSC 52), `n` new, `e`/enter edit, `d` disable/enable, `r` rotate, `delete` delete. In read-only
mode every change is hidden from the footer and does nothing.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Input
from textual.worker import Worker

from ...service.console_source import SourceError
from ..app import MUTATING_ACTIONS
from ..confirm import Confirm
from ..forms import (FORM_OF_KIND, KIND_LABEL, KeyValueModal, Notice, ProviderSecretForm, budgets_text, rate_text,
                     report_worker_error)
from .base import LiveScreen

REFETCH_S = 2.0
MODELS_WIDTH = 18


@dataclass
class Column:
    label: str
    key: str
    cell: Callable[[dict], Any]
    sort: Callable[[dict], Any]


def pct_style(pct: float) -> str:
    return "green" if pct < 75 else ("yellow" if pct < 90 else "bold red")


def used_pct(item: dict) -> float | None:
    status = item.get("budget_status") or []
    return max((s.get("used_pct") or 0.0 for s in status), default=None)


def budgets_cell(item: dict, symbol: str) -> Text:
    budgets = item.get("budgets") or []
    if not budgets:
        return Text("–", style="dim")
    text = Text(budgets_text(budgets, symbol))
    pct = used_pct(item)
    if pct is not None:
        text.append(f" {pct:.0f}%", style=pct_style(pct))
    return text


def _lower(value) -> str:
    return str(value or "").lower()


def _expired(item: dict) -> bool:
    raw = item.get("expires_at")
    if not raw:
        return False
    try:
        when = datetime.fromisoformat(raw)
    except ValueError:
        return False
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return when <= datetime.now(timezone.utc)


def active_cell(item: dict) -> Text:
    if item.get("active") is False:
        return Text("off", style="bold red")
    if _expired(item):
        return Text("expired", style="red")
    if item.get("usable") is False:
        return Text("unusable", style="yellow")
    return Text("on", style="green")


def models_cell(item: dict) -> Text:
    models = item.get("allowed_models")
    if not models:
        return Text("all", style="dim")
    text = ", ".join(models)
    return Text(text if len(text) <= MODELS_WIDTH else text[:MODELS_WIDTH - 1] + "…")


def source_cell(item: dict) -> Text:
    src = item.get("source") or "config"
    return Text(src, style="cyan" if src == "api" else "dim")


def dash(value) -> Text | str:
    return str(value) if value else Text("–", style="dim")


TABLE_BINDINGS = [
    Binding("slash", "open_filter", "Filter", id="entity-filter"),
    Binding("s", "sort", "Sort", show=False, id="entity-sort"),
    Binding("S", "reverse_sort", "Reverse sort", show=False, id="entity-reverse-sort"),
    Binding("y", "copy_name", "Copy name", show=False, id="entity-copy"),
    Binding("escape", "clear_filter", "Clear filter", show=False, id="entity-clear-filter"),
]
NEW_EDIT = [Binding("n", "new", "New", id="entity-new"), Binding("e", "edit", "Edit", id="entity-edit")]
DELETE = [Binding("delete", "delete", "Delete", key_display="del", id="entity-delete")]


class _TableScreen(LiveScreen):
    """A live, sortable, filterable table of named things."""

    TITLE = ""
    NUMBER = ""
    KIND = ""
    REFETCH_S = REFETCH_S
    HINT = "/ filter · s sort · y copy"
    DEFAULT_CSS = """
    _TableScreen #entity-table { height: 1fr; border: round $primary; }
    _TableScreen #entity-table:focus { border: round $accent; }
    _TableScreen #entity-filter { dock: bottom; height: 1; border: none; padding: 0 1; display: none; }
    _TableScreen #entity-filter.-open { display: block; }
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
        items.sort(key=lambda it: (sort_col.sort(it), _lower(it.get("name"))), reverse=self.sort_reverse)
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
        return True


class _EntityScreen(_TableScreen):
    """Keys, teams and customers: new / edit / delete through forms, each change confirmed."""

    HINT = "n new · e edit · del delete · / filter · s sort · y copy"
    BINDINGS = []

    @property
    def label(self) -> str:
        return KIND_LABEL[self.KIND]

    @on(DataTable.RowSelected, "#entity-table")
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_edit()

    def action_new(self) -> None:
        if not self.readonly:
            self._form_flow(None)

    def action_edit(self) -> None:
        name = self.current_name()
        if name and not self.readonly:
            self._form_flow(name)

    def action_delete(self) -> None:
        name = self.current_name()
        if name and not self.readonly:
            self._delete_flow(name)

    @work(group="entity-action", exclusive=True, exit_on_error=False)
    async def _form_flow(self, name: str | None) -> None:
        try:
            teams = [t["name"] for t in await self.source.entities("team")] if self.KIND == "virtual_key" else []
            customers = [c["name"] for c in await self.source.entities("customer")] if self.KIND != "customer" else []
            original = None
            if name is not None:
                original = next((e for e in await self.source.entities(self.KIND) if e["name"] == name), None)
                if original is None:
                    self.notify(f"{self.label} {name} no longer exists", severity="warning")
                    self.reload()
                    return
        except Exception as exc:
            self.notify(f"cannot open the form: {exc}", severity="error")
            return
        form = FORM_OF_KIND[self.KIND](original, teams=teams, customers=customers, symbol=self.symbol)
        saved = await self.app.push_screen_wait(form)
        if saved is None:
            return
        entity_name = saved.entity.get("name", name)
        if saved.key_value:
            await self.app.push_screen_wait(KeyValueModal(entity_name, saved.key_value,
                                                          base_url=self.state.overview.get("listen") or ""))
        self.notify(f"{'created' if name is None else 'saved'} {self.label} {entity_name}", timeout=3)
        self.reload(select=entity_name)

    @work(group="entity-action", exclusive=True, exit_on_error=False)
    async def _delete_flow(self, name: str) -> None:
        question = Text(f"Delete {self.label} {name}? ")
        question.append("Its budgets stop applying; spend already logged stays in the request log.", style="dim")
        if not await self.app.push_screen_wait(Confirm(question)):
            return
        try:
            await self.source.delete(self.KIND, name)
        except SourceError as exc:
            await self.app.push_screen_wait(Notice(f"Cannot delete {self.label} {name}", str(exc)))
            return
        self.notify(f"deleted {self.label} {name}", timeout=3)
        self.reload()


class KeysScreen(_EntityScreen):
    TITLE = "Keys"
    NUMBER = "6"
    KIND = "virtual_key"
    HINT = "n new · e edit · d disable · r rotate · del delete · / filter · s sort · y copy"
    BINDINGS = [*NEW_EDIT, Binding("d", "disable", "Disable", id="key-disable"),
                Binding("r", "rotate", "Rotate", id="key-rotate"), *DELETE, *TABLE_BINDINGS]

    def columns(self) -> list[Column]:
        sym = self.symbol
        return [
            Column("name", "name", lambda k: k["name"], lambda k: _lower(k["name"])),
            Column("team", "team", lambda k: dash(k.get("team")), lambda k: _lower(k.get("team"))),
            Column("customer", "customer", lambda k: dash(k.get("customer")), lambda k: _lower(k.get("customer"))),
            Column("active", "active", active_cell, lambda k: active_cell(k).plain),
            Column("budgets", "budgets", lambda k: budgets_cell(k, sym), lambda k: used_pct(k) or -1.0),
            Column("rate limit", "rate", lambda k: rate_text(k.get("rate_limit")) or Text("–", style="dim"),
                   lambda k: (k.get("rate_limit") or {}).get("requests_per_minute") or 0),
            Column("models", "models", models_cell, lambda k: ", ".join(k.get("allowed_models") or [])),
            Column("source", "source", source_cell, lambda k: k.get("source") or "config"),
        ]

    def action_disable(self) -> None:
        name = self.current_name()
        if name and not self.readonly:
            self._disable_flow(name)

    def action_rotate(self) -> None:
        name = self.current_name()
        if name and not self.readonly:
            self._rotate_flow(name)

    @work(group="entity-action", exclusive=True, exit_on_error=False)
    async def _disable_flow(self, name: str) -> None:
        item = self.items.get(name) or {}
        enable = item.get("active") is False
        if enable:
            question = Text(f"Enable key {name}? Requests with it are accepted again at once.")
        else:
            question = Text(f"Disable key {name}? ")
            question.append("Requests with it get 403 at once; its budgets and spend are kept.", style="dim")
        if not await self.app.push_screen_wait(Confirm(question)):
            return
        try:
            await self.source.update(self.KIND, name, {"active": enable})
        except SourceError as exc:
            await self.app.push_screen_wait(Notice(f"Cannot {'enable' if enable else 'disable'} key {name}",
                                                   str(exc)))
            return
        self.notify(f"{'enabled' if enable else 'disabled'} key {name}", timeout=3)
        self.reload(select=name)

    @work(group="entity-action", exclusive=True, exit_on_error=False)
    async def _rotate_flow(self, name: str) -> None:
        question = Text(f"Rotate key {name}? ")
        question.append("The current value stops working at once; the new value is shown once.", style="dim")
        if not await self.app.push_screen_wait(Confirm(question)):
            return
        try:
            _, value = await self.source.rotate_key(name)
        except SourceError as exc:
            await self.app.push_screen_wait(Notice(f"Cannot rotate key {name}", str(exc)))
            return
        await self.app.push_screen_wait(KeyValueModal(name, value, rotated=True,
                                                      base_url=self.state.overview.get("listen") or ""))
        del value
        self.reload(select=name)


class TeamsScreen(_EntityScreen):
    BINDINGS = [*NEW_EDIT, *DELETE, *TABLE_BINDINGS]
    TITLE = "Teams"
    NUMBER = "7"
    KIND = "team"

    async def fetch(self) -> list[dict]:
        teams = await self.source.entities("team")
        self.aux["keys"] = await self.source.entities("virtual_key")
        return teams

    def key_count(self, team: dict) -> int:
        return sum(1 for k in self.aux.get("keys", ()) if k.get("team") == team["name"])

    def columns(self) -> list[Column]:
        sym = self.symbol
        return [
            Column("name", "name", lambda t: t["name"], lambda t: _lower(t["name"])),
            Column("customer", "customer", lambda t: dash(t.get("customer")), lambda t: _lower(t.get("customer"))),
            Column("budgets", "budgets", lambda t: budgets_cell(t, sym), lambda t: used_pct(t) or -1.0),
            Column("rate limit", "rate", lambda t: rate_text(t.get("rate_limit")) or Text("–", style="dim"),
                   lambda t: (t.get("rate_limit") or {}).get("requests_per_minute") or 0),
            Column("keys", "keys", lambda t: str(self.key_count(t)), self.key_count),
            Column("source", "source", source_cell, lambda t: t.get("source") or "config"),
        ]


class CustomersScreen(_EntityScreen):
    BINDINGS = [*NEW_EDIT, *DELETE, *TABLE_BINDINGS]
    TITLE = "Customers"
    NUMBER = "8"
    KIND = "customer"

    async def fetch(self) -> list[dict]:
        customers = await self.source.entities("customer")
        self.aux["teams"] = await self.source.entities("team")
        self.aux["keys"] = await self.source.entities("virtual_key")
        return customers

    def team_count(self, customer: dict) -> int:
        return sum(1 for t in self.aux.get("teams", ()) if t.get("customer") == customer["name"])

    def key_count(self, customer: dict) -> int:
        """Keys billed to the customer: directly, or through one of its teams."""
        teams = {t["name"] for t in self.aux.get("teams", ()) if t.get("customer") == customer["name"]}
        return sum(1 for k in self.aux.get("keys", ())
                   if k.get("customer") == customer["name"] or (k.get("team") in teams))

    def columns(self) -> list[Column]:
        sym = self.symbol
        return [
            Column("name", "name", lambda c: c["name"], lambda c: _lower(c["name"])),
            Column("budgets", "budgets", lambda c: budgets_cell(c, sym), lambda c: used_pct(c) or -1.0),
            Column("rate limit", "rate", lambda c: rate_text(c.get("rate_limit")) or Text("–", style="dim"),
                   lambda c: (c.get("rate_limit") or {}).get("requests_per_minute") or 0),
            Column("teams", "teams", lambda c: str(self.team_count(c)), self.team_count),
            Column("keys", "keys", lambda c: str(self.key_count(c)), self.key_count),
            Column("source", "source", source_cell, lambda c: c.get("source") or "config"),
        ]


CIRCUIT_STYLE = {"closed": "green", "half-open": "yellow", "half_open": "yellow", "open": "bold red", "bad": "bold red"}


def circuits_cell(provider: dict) -> Text:
    circuits = provider.get("circuits") or []
    if not circuits:
        return Text("–", style="dim")
    text = Text()
    for i, c in enumerate(circuits):
        if i:
            text.append(" · ")
        state = str(c.get("state") or "?")
        text.append(f"{c.get('key')} ")
        text.append(state, style=CIRCUIT_STYLE.get(state, "yellow"))
        if c.get("retry_in_s"):
            text.append(f" {c['retry_in_s']:.0f}s")
        elif c.get("failures"):
            text.append(f" ({c['failures']} fail)", style="dim")
    return text


class ProvidersScreen(_TableScreen):
    """Providers: health, circuits per key, budget use; `k` stores a provider key in the OS keyring."""

    TITLE = "Providers"
    NUMBER = "9"
    KIND = "provider"
    REFETCH_S = 0.5  # circuits change quickly; the local source answers from memory
    HINT = "k set API key · / filter · s sort · y copy"
    BINDINGS = [Binding("k", "set_secret", "Set API key", id="provider-set-secret"), *TABLE_BINDINGS]

    async def fetch(self) -> list[dict]:
        providers = self.state.overview.get("providers")
        return providers if providers is not None else await self.source.providers()

    def columns(self) -> list[Column]:
        sym = self.symbol

        def mode(p: dict) -> Text:
            return Text(" SIMULATED ", style="bold black on yellow") if p.get("simulated") else Text("live")

        def yes(value: bool) -> Text:
            return Text("yes", style="green") if value else Text("no", style="bold red")

        return [
            Column("provider", "name", lambda p: p["name"], lambda p: _lower(p["name"])),
            Column("type", "type", lambda p: p.get("type") or "", lambda p: _lower(p.get("type"))),
            Column("mode", "mode", mode, lambda p: bool(p.get("simulated"))),
            Column("available", "available", lambda p: yes(p.get("available")), lambda p: bool(p.get("available"))),
            Column("served", "served", lambda p: yes(p.get("served")), lambda p: bool(p.get("served"))),
            Column("keys", "keys", lambda p: ", ".join(p.get("keys") or []) or Text("–", style="dim"),
                   lambda p: ", ".join(p.get("keys") or [])),
            Column("circuits", "circuits", circuits_cell,
                   lambda p: sum(c.get("state") != "closed" for c in p.get("circuits") or [])),
            Column("budget", "budget", lambda p: budgets_cell(p, sym), lambda p: used_pct(p) or -1.0),
        ]

    def action_set_secret(self) -> None:
        if not self.readonly:
            self._secret_flow(self.current_name())

    @work(group="entity-action", exclusive=True, exit_on_error=False)
    async def _secret_flow(self, provider: str | None) -> None:
        providers = list(self.items.values())
        if not providers:
            self.notify("no providers configured", severity="warning")
            return
        reference = await self.app.push_screen_wait(ProviderSecretForm(providers, provider))
        if reference:
            self.notify(f"stored in the OS keyring; reference it in the config as {reference}", timeout=8)

