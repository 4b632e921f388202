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

from rich.text import Text
from textual import on, work
from textual.binding import Binding
from textual.widgets import DataTable

from ...service.console_source import SourceError
from ..confirm import Confirm
from ..forms.entity_form import FORM_OF_KIND
from ..forms.entity_text import KIND_LABEL, rate_text
from ..forms.key_value import KeyValueModal
from ..forms.notice import Notice
from ..forms.provider_secret_form import ProviderSecretForm
from .entity_rows import (Column, active_cell, budgets_cell, circuits_cell, dash, lower_text, models_cell,
                          source_cell, used_pct)
from .table_screen import TABLE_BINDINGS, TableScreen

NEW_EDIT = [Binding("n", "new", "New", id="entity-new"), Binding("e", "edit", "Edit", id="entity-edit")]
DELETE = [Binding("delete", "delete", "Delete", key_display="del", id="entity-delete")]


class _EntityScreen(TableScreen):
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

    team_customers: dict = {}  # team -> its customer, replaced (never changed) by each fetch

    async def fetch(self) -> list[dict]:
        keys = await self.source.entities("virtual_key")
        self.team_customers = {t.get("name"): t.get("customer") for t in await self.source.entities("team")}
        return keys

    def customer_of(self, key: dict) -> str | None:
        """The customer whose budgets the key's requests count against: its own, else its team's."""
        return key.get("customer") or self.team_customers.get(key.get("team"))

    def columns(self) -> list[Column]:
        sym = self.symbol
        return [
            Column("name", "name", lambda k: k["name"], lambda k: lower_text(k["name"])),
            Column("team", "team", lambda k: dash(k.get("team")), lambda k: lower_text(k.get("team"))),
            Column("customer", "customer", lambda k: dash(self.customer_of(k)), lambda k: lower_text(self.customer_of(k))),
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
            Column("name", "name", lambda t: t["name"], lambda t: lower_text(t["name"])),
            Column("customer", "customer", lambda t: dash(t.get("customer")), lambda t: lower_text(t.get("customer"))),
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
            Column("name", "name", lambda c: c["name"], lambda c: lower_text(c["name"])),
            Column("budgets", "budgets", lambda c: budgets_cell(c, sym), lambda c: used_pct(c) or -1.0),
            Column("rate limit", "rate", lambda c: rate_text(c.get("rate_limit")) or Text("–", style="dim"),
                   lambda c: (c.get("rate_limit") or {}).get("requests_per_minute") or 0),
            Column("teams", "teams", lambda c: str(self.team_count(c)), self.team_count),
            Column("keys", "keys", lambda c: str(self.key_count(c)), self.key_count),
            Column("source", "source", source_cell, lambda c: c.get("source") or "config"),
        ]


class ProvidersScreen(TableScreen):
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
            Column("provider", "name", lambda p: p["name"], lambda p: lower_text(p["name"])),
            Column("type", "type", lambda p: p.get("type") or "", lambda p: lower_text(p.get("type"))),
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
