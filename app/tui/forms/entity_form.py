"""The create / edit form for a customer, team or virtual key.

The form reads its inputs and validates them locally first (entity_input.py: numbers, periods, routing
text, provider names against the gateway's providers, a past expiry) and shows every message under its
field at once, with the focus on the first failing field; a message goes as soon as its field is edited.
Then it shows a diff of what changes (with a warning when an allowed_models pattern matches no model the
gateway knows) and asks y/n; then the source validates with the config file's rules and its field errors
(paths such as ``budgets[0].period``) land under the right input. The form closes only when the source
accepted the change; `esc` on a form with changes asks before throwing them away.

An expiry typed without a UTC offset is in the config's timezone (the rule of the YAML and the admin
API); the form shows and sends it with the offset, so the diff is never ambiguous.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timezone, tzinfo

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import Button, Checkbox, Footer, Input, Label, Select, Static
from textual.worker import Worker

from ...service.console_source import SourceError
from ..confirm import Confirm
from ..diff_view import NOTHING, DiffConfirm, diff_rows
from ..request_detail import zone
from .entity_input import EntityInput, allowed_models_note, read_entity
from .entity_text import FIELDS, KIND_LABEL, RATE_FIELDS, RATE_SHORT, display_fields, patch_of
from .field_messages import FieldMessages
from .field_text import expiry_example, expiry_text, zone_name
from .field_widgets import BudgetRow, FieldErrorLine, RuleRow, labelled_field
from .routing_text import format_fallbacks
from .worker_errors import report_worker_error


@dataclass
class Saved:
    entity: dict
    key_value: str | None = None  # a new virtual key's value (create only), shown once by the caller


class EntityForm(ModalScreen[Saved | None]):
    """Create (original None) or edit a customer, team or virtual key."""

    KIND = ""
    DEFAULT_CSS = """
    EntityForm { align: center middle; }
    EntityForm #form { width: 100; max-width: 100%; height: auto; max-height: 100%;
                       border: thick $accent; background: $surface; padding: 0 1; }
    EntityForm #form-title { text-style: bold; height: 2; }
    EntityForm #form-body { height: auto; }
    EntityForm #form-buttons { height: 1; margin-top: 1; }
    EntityForm #form-buttons Button { width: auto; min-width: 10; margin-right: 2; }
    EntityForm #form-buttons #form-hint { width: 1fr; color: $text-muted; text-align: right; }
    EntityForm .field { height: 1; }
    EntityForm .field-label { width: 15; color: $text-muted; }
    EntityForm .field Input, EntityForm .field Select { width: 1fr; }
    EntityForm .field-error { padding-left: 15; }
    EntityForm .section { height: 1; margin-top: 1; }
    EntityForm .section Label { width: 15; color: $text-muted; }
    EntityForm .section .section-help { width: 1fr; color: $text-muted; }
    EntityForm .list { height: auto; padding-left: 15; }
    EntityForm .add-row { height: 1; padding-left: 15; }
    EntityForm .add-row Button { width: auto; min-width: 10; }
    EntityForm .rate { margin-top: 1; }
    EntityForm .rate .rate-label { width: auto; color: $text-muted; margin-right: 1; }
    EntityForm .rate Input { margin-right: 2; }
    EntityForm .after-routing { margin-top: 1; }
    EntityForm #active { width: auto; margin-right: 3; }
    EntityForm #expires-label { width: auto; margin-right: 1; color: $text-muted; }
    EntityForm #form-error { padding-left: 0; margin-top: 1; }
    """
    BINDINGS = [Binding("ctrl+s", "save", "Save", priority=True, id="form-save"),
                Binding("escape", "cancel", "Cancel", id="form-cancel")]

    def __init__(self, original: dict | None = None, *, teams: list[str] = (), customers: list[str] = (),
                 symbol: str = "$", kind: str | None = None, timezone_name: str | None = None):
        super().__init__()
        self.kind = kind or self.KIND
        self.original = original
        self.teams = list(teams)
        self.customers = list(customers)
        self.symbol = symbol
        self.timezone_name = timezone_name  # None: the config's, from the console's last overview
        self.zone: tzinfo = timezone.utc
        self.opened_with: list = []  # every input's value as the form opened (esc asks if they changed)
        self.messages = FieldMessages(self, creating=original is None)

    @property
    def creating(self) -> bool:
        return self.original is None

    @property
    def label(self) -> str:
        return KIND_LABEL[self.kind]

    # -- layout --------------------------------------------------------------------------------
    def config_zone(self) -> tzinfo:
        """The config's timezone: an expiry typed without an offset means a time there, and a stored one
        is shown there. From the console's last overview (polled before any screen opens a form)."""
        state = getattr(self.app, "state", None)
        return zone(self.timezone_name or (state.overview.get("timezone") if state is not None else None))

    def compose(self) -> ComposeResult:
        o = self.original or {}
        self.zone = self.config_zone()
        title = f"New {self.label}" if self.creating else f"Edit {self.label} {o.get('name')}"
        with Vertical(id="form"):
            yield Static(Text(title), id="form-title")
            with VerticalScroll(id="form-body"):
                yield from self.compose_fields()
            with Horizontal(id="form-buttons"):
                yield Button("Save ^s", variant="primary", id="form-save", compact=True)
                yield Button("Cancel esc", id="form-cancel", compact=True)
                yield Static("you see a diff before saving", id="form-hint")
        yield Footer(compact=True)  # this dialog's keys, not those of the screen below

    def compose_fields(self) -> ComposeResult:
        o = self.original or {}
        fields = FIELDS[self.kind]
        if self.creating:
            yield from labelled_field("Name", Input(placeholder=f"{self.label} name, e.g. dev-pranay", id="name",
                                            compact=True), slot="name")
        if "team" in fields:
            yield from labelled_field("Team", self._select("team", self.teams, o.get("team")), slot="team")
        if "customer" in fields:
            yield from labelled_field("Customer", self._select("customer", self.customers, o.get("customer")),
                              slot="customer")
        with Horizontal(classes="section"):
            yield Label("Budgets")
            yield Static(f"limit in {self.symbol.strip() or 'the display currency'} per day/week/month/year, "
                         "or a rolling Nh/Nd window", classes="section-help")
        with Vertical(id="budget-list", classes="list"):
            for b in o.get("budgets") or []:
                yield BudgetRow(b, self.symbol)
        with Horizontal(classes="add-row"):
            yield Button("+ budget", id="add-budget", compact=True)
        yield FieldErrorLine(id="err-budgets", classes="field-error")
        rl = o.get("rate_limit") or {}
        with Horizontal(classes="field rate"):
            yield Label("Rate limit", classes="field-label")
            for key, label in RATE_FIELDS:
                value = rl.get(key)
                yield Label(RATE_SHORT[key], classes="rate-label")
                yield Input("" if value is None else str(value), placeholder="–", id=key, compact=True,
                            tooltip=f"{label} (empty = no limit)")
        for key, _ in RATE_FIELDS:  # one line each: every bad limit is reported, each clears on its own
            yield FieldErrorLine(id=f"err-{key}", classes="field-error")
        if "allowed_models" in fields:
            yield from labelled_field("Allowed models", Input(", ".join(o.get("allowed_models") or []),
                                                      placeholder="all models; or globs: claude-sonnet-4*, claude-haiku-*",
                                                      id="allowed_models", compact=True), slot="allowed_models")
        if "routing" in fields:
            with Horizontal(classes="section"):
                yield Label("Routing" if self.kind == "virtual_key" else "Routing default")
                yield Static("when (empty = every request) → provider[:model][*weight], …",
                             classes="section-help")
            with Vertical(id="rule-list", classes="list"):
                for rule in o.get("routing") or []:
                    yield RuleRow(rule)
            with Horizontal(classes="add-row"):
                yield Button("+ rule", id="add-rule", compact=True)
            yield FieldErrorLine(id="err-routing", classes="field-error")
            yield from labelled_field("Fallbacks", Input(format_fallbacks(o.get("fallbacks")),
                                                 placeholder="in order: bedrock, openai:gpt-4o",
                                                 id="fallbacks", compact=True), slot="fallbacks")
        if "active" in fields:
            with Horizontal(classes="field after-routing"):
                yield Label("Active", classes="field-label")
                yield Checkbox("active", o.get("active", True) is not False, id="active", compact=True)
                yield Label("Expires at", id="expires-label")
                zone = zone_name(self.zone)
                yield Input(expiry_text(o.get("expires_at"), self.zone),
                            placeholder=f"never; or {expiry_example(self.zone)} ({zone})", id="expires_at",
                            compact=True, tooltip=f"a time without a UTC offset is in {zone}, the config's timezone")
            yield FieldErrorLine(id="err-active", classes="field-error")
            yield FieldErrorLine(id="err-expires_at", classes="field-error")
        yield FieldErrorLine(id="form-error", classes="field-error")

    def on_resize(self) -> None:
        # the fields scroll; the title and the buttons stay (border 2 + title 2 + buttons 2)
        self.query_one("#form-body").styles.max_height = max(3, self.size.height - 6)

    def _select(self, field: str, names: list[str], current: str | None) -> Select:
        names = list(names)
        if current and current not in names:
            names.append(current)
        return Select([(n, n) for n in names], value=current if current else Select.NULL, allow_blank=True,
                      prompt="(none)", id=field, compact=True)

    def on_mount(self) -> None:
        first = self.query("#name").first() if self.creating else None
        (first or self.query(Input).first()).focus()
        self.opened_with = self.field_values()

    def inputs(self) -> list[Widget]:
        """Every input, select and checkbox in form order, rows included."""
        return list(self.query_one("#form-body").query("Input, Select, Checkbox"))

    def field_values(self) -> list:
        """Every input's value in form order (a row added or removed changes the list): compared with how
        the form opened to tell whether there is anything to lose."""
        return [w.value for w in self.inputs()]

    @property
    def edited(self) -> bool:
        return self.field_values() != self.opened_with

    # -- rows ------------------------------------------------------------------------------------
    @on(Button.Pressed, "#add-budget")
    async def _add_budget(self, event: Button.Pressed) -> None:
        event.stop()
        row = BudgetRow(None, self.symbol)
        self.query_one("#err-budgets", FieldErrorLine).show("")
        await self.query_one("#budget-list").mount(row)
        row.query_one(".budget-limit", Input).focus()

    @on(Button.Pressed, "#add-rule")
    async def _add_rule(self, event: Button.Pressed) -> None:
        event.stop()
        row = RuleRow(None)
        self.query_one("#err-routing", FieldErrorLine).show("")
        await self.query_one("#rule-list").mount(row)
        row.query_one(".rule-when", Input).focus()

    @on(Button.Pressed, ".budget-remove, .rule-remove")
    async def _remove_row(self, event: Button.Pressed) -> None:
        event.stop()
        row = next((a for a in event.button.ancestors if isinstance(a, (BudgetRow, RuleRow))), None)
        if row is not None:
            await row.remove()

    @on(Button.Pressed, "#form-save")
    def _save_button(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_save()

    @on(Button.Pressed, "#form-cancel")
    def _cancel_button(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_cancel()

    def action_cancel(self) -> None:
        """Close; with changes, only once the operator says they may go (esc is one key from losing a
        long edit)."""
        if not self.edited:
            self.dismiss(None)
            return

        def answered(discard: bool | None) -> None:
            if discard:
                self.dismiss(None)

        self.app.push_screen(Confirm("Discard your changes?", yes="Discard (y)", no="Keep editing (n)"), answered)

    @on(Input.Changed)
    @on(Select.Changed)
    @on(Checkbox.Changed)
    def _field_edited(self, event: Input.Changed | Select.Changed | Checkbox.Changed) -> None:
        """An edited field's message is out of date: it goes now (unless the value is the one just checked)."""
        self.messages.edited(event.control)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        report_worker_error(self, event)

    # -- messages (field_messages.py: which line a path is about, what to focus) -----------------------
    def clear_errors(self) -> None:
        self.messages.clear()

    def errors(self) -> dict[str, str]:
        """Every message on screen, by slot id (rows as budgets[i] / routing[i]); for tests and people."""
        return self.messages.on_screen()

    def show_errors(self, problems: list[tuple[str, str]]) -> None:
        """Every message at once under its input; the focus on the first failing field in form order."""
        self.messages.show(problems, self.inputs())

    # -- reading the form ----------------------------------------------------------------------------
    def typed(self) -> EntityInput:
        """Every input as it is now, rows included (what entity_input.read_entity reads)."""
        fields = FIELDS[self.kind]

        def text(widget_id: str) -> str:
            return self.query_one(f"#{widget_id}", Input).value

        def choice(widget_id: str) -> str | None:
            value = self.query_one(f"#{widget_id}", Select).value
            return None if value is Select.NULL else value

        return EntityInput(
            self.kind, name=text("name") if self.creating else "",
            team=choice("team") if "team" in fields else None,
            customer=choice("customer") if "customer" in fields else None,
            budgets=[row.typed() for row in self.query(BudgetRow)],
            rate_limit={key: text(key) for key, _ in RATE_FIELDS},
            allowed_models=text("allowed_models") if "allowed_models" in fields else "",
            routing=[row.typed() for row in self.query(RuleRow)] if "routing" in fields else [],
            fallbacks=text("fallbacks") if "routing" in fields else "",
            active=self.query_one("#active", Checkbox).value if "active" in fields else True,
            expires_at=text("expires_at") if "active" in fields else "")

    # -- saving ----------------------------------------------------------------------------------
    def action_save(self) -> None:
        self._save()

    async def provider_names(self) -> set[str] | None:
        """The gateway's providers now (one may have been added since the form opened), to flag an unknown
        one under its field before the diff; None when the source cannot say: it checks again on save."""
        try:
            return {p["name"] for p in await self.app.source.providers()}
        except Exception:  # noqa: BLE001 - only an early check: the source's own still runs
            return None

    async def model_names(self) -> list[str] | None:
        """The models the gateway knows now, for the note on allowed_models patterns that match none;
        None when the source cannot say (then no note: it is only a warning)."""
        try:
            return await self.app.source.models()
        except Exception:  # noqa: BLE001 - a note, never a reason not to save
            return None

    @work(exclusive=True, group="form-save", exit_on_error=False)
    async def _save(self) -> None:
        self.clear_errors()
        providers = await self.provider_names() if "routing" in FIELDS[self.kind] else None
        data, problems = read_entity(self.typed(), original=self.original, symbol=self.symbol, zone=self.zone,
                                     providers=providers)
        if problems:
            self.show_errors(problems)
            return
        if self.creating:
            payload = {k: v for k, v in data.items() if v is not None}
            old_fields: dict[str, str] = {}
        else:
            payload = patch_of(self.kind, self.original, data)
            if not payload:
                self.show_errors([("", "nothing changed")])
                return
            old_fields = display_fields(self.kind, self.original, self.symbol, self.zone)
        new_fields = display_fields(self.kind, data, self.symbol, self.zone)
        rows = diff_rows(old_fields, new_fields)
        if self.creating:
            rows = [r for r in rows if r[2] != NOTHING]
            title = f"Create {self.label} {data['name']}?"
            note = "The key's value is shown once after saving." if self.kind == "virtual_key" else ""
        else:
            title = f"Save changes to {self.label} {data['name']}?"
            note = "Takes effect at once; spend already counted is kept."
        patterns = payload.get("allowed_models")
        warning = allowed_models_note(patterns, await self.model_names() if patterns else None)
        if not await self.app.push_screen_wait(DiffConfirm(title, rows, note, warning)):
            return
        source = self.app.source
        try:
            if self.creating:
                entity, value = await source.create(self.kind, payload)
            else:
                entity, value = await source.update(self.kind, data["name"], payload), None
        except SourceError as exc:
            if exc.fields:
                self.show_errors([(f.get("path", ""), f.get("message", "")) for f in exc.fields])
            else:
                self.show_errors([("name" if "already exists" in str(exc) and self.creating else "", str(exc))])
            return
        self.dismiss(Saved(entity, value))


class KeyForm(EntityForm):
    KIND = "virtual_key"


class TeamForm(EntityForm):
    KIND = "team"


class CustomerForm(EntityForm):
    KIND = "customer"


FORM_OF_KIND = {"virtual_key": KeyForm, "team": TeamForm, "customer": CustomerForm}
