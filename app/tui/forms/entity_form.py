"""The create / edit form for a customer, team or virtual key.

The form validates locally first (numbers, periods, routing text, provider names against the gateway's
providers) and shows every message under its field at once, with the focus on the first failing field;
a message goes as soon as its field is edited. Then it shows a diff of what changes and asks y/n; then
the source validates with the config file's rules and its field errors (paths such as
``budgets[0].period``) land under the right input. The form closes only when the source accepted the
change; `esc` on a form with changes asks before throwing them away.

An expiry typed without a UTC offset is in the config's timezone (the rule of the YAML and the admin
API); the form shows and sends it with the offset, so the diff is never ambiguous.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone, tzinfo

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
from .entity_text import FIELDS, KIND_LABEL, RATE_FIELDS, RATE_SHORT, display_fields, error_slot, patch_of
from ..request_detail import zone
from .field_text import (FieldError, expiry_example, expiry_text, parse_count, parse_expires, parse_globs, parse_name,
                         read_timestamp, zone_name)
from .field_widgets import BudgetRow, FieldErrorLine, RuleRow, labelled_field
from .routing_text import format_fallbacks, parse_fallbacks, unknown_provider_problems
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
        self.checked: dict[Widget, object] = {}  # every input's value when the messages on screen were made

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
        """An edited field's message is out of date: it goes now (the next save checks everything again).
        Only when the value really differs from the one checked: a change event can arrive after the save
        that it preceded, and must not wipe the message that save just made."""
        control = event.control
        if control in self.checked and self.checked[control] == control.value:
            return
        for line in self.error_lines_of(control):
            line.show("")

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        report_worker_error(self, event)

    # -- errors ----------------------------------------------------------------------------------
    def clear_errors(self) -> None:
        for line in self.query(FieldErrorLine):
            line.show("")

    def errors(self) -> dict[str, str]:
        """Every message on screen, by slot id (rows as budgets[i] / routing[i]); for tests and people."""
        out = {}
        for i, row in enumerate(self.query(BudgetRow)):
            if msg := row.error_line.message:
                out[f"budgets[{i}]"] = msg
        for i, row in enumerate(self.query(RuleRow)):
            if msg := row.error_line.message:
                out[f"routing[{i}]"] = msg
        for line in self.query(".field-error").results(FieldErrorLine):
            if line.id and line.message:
                out[line.id.removeprefix("err-")] = line.message
        return out

    def error_lines_of(self, control: Widget) -> list[FieldErrorLine]:
        """The lines whose message is about `control`: its own (or its row's and the row list's), and the
        form-wide one ("nothing changed", a refusal without a field)."""
        lines = [self.query_one("#form-error", FieldErrorLine)]
        row = next((a for a in control.ancestors_with_self if isinstance(a, (BudgetRow, RuleRow))), None)
        if row is not None:
            lines.append(row.error_line)
            lines.extend(self.query("#err-budgets" if isinstance(row, BudgetRow) else "#err-routing")
                         .results(FieldErrorLine))
        elif control.id:
            lines.extend(self.query(f"#err-{control.id}").results(FieldErrorLine))
        return lines

    def error_place(self, path: str, message: str) -> tuple[FieldErrorLine, str]:
        """The line under the input that `path` (as the source reports it) refers to, and the text there."""
        field, index, rest = error_slot(path)
        rows = {"budgets": BudgetRow, "routing": RuleRow}
        if field in rows and index is not None:
            found = list(self.query(rows[field]))
            if index < len(found):
                return found[index].error_line, f"{rest}: {message}" if rest else message
        rate_labels = dict(RATE_FIELDS)
        if field == "rate_limit" and rest in rate_labels:
            return self.query_one(f"#err-{rest}", FieldErrorLine), f"{rate_labels[rest]}: {message}"
        detail = (f"item {index + 1}" + (f" {rest}" if rest else "")) if index is not None else rest
        text = f"{detail}: {message}" if detail else message
        slot = "form-error" if field == "name" and not self.creating else field
        line = next(iter(self.query(f"#err-{slot}").results(FieldErrorLine)), None) if slot else None
        if line is None:
            line = self.query_one("#form-error", FieldErrorLine)
            text = f"{path}: {message}" if path and path != "(top level)" else message
        return line, text

    def field_of(self, path: str) -> Widget | None:
        """The input that `path` is about (to focus it), or None when no single input is."""
        field, index, rest = error_slot(path)
        rows = {"budgets": BudgetRow, "routing": RuleRow}
        if field in rows:
            found = list(self.query(rows[field]))
            return found[index].input_of(rest) if index is not None and index < len(found) else None
        widget_id = rest.split(".")[0] if field == "rate_limit" else field
        if not widget_id.isidentifier():
            return None
        return next(iter(self.query(f"#{widget_id}").results((Input, Select, Checkbox))), None)

    def show_error(self, path: str, message: str) -> Widget:
        """Put one message under the input that `path` refers to; returns where."""
        line, text = self.error_place(path, message)
        line.show(text)
        return line

    def show_errors(self, problems: list[tuple[str, str]]) -> None:
        """Show every message at once (several for one line each on a row of their own), then put the
        focus on the first failing field in form order, so fixing starts where the eye does."""
        texts: dict[FieldErrorLine, list[str]] = {}
        for path, message in problems:
            line, text = self.error_place(path, message)
            texts.setdefault(line, []).append(text)
        for line, lines in texts.items():
            line.show("\n".join(lines))
        order = self.inputs()
        self.checked = {w: w.value for w in order}
        failing = [w for w in (self.field_of(path) for path, _ in problems) if w is not None and w in order]
        if failing:
            first = min(failing, key=order.index)
            self.call_after_refresh(first.focus)  # focusing scrolls it into view
        elif texts:
            self.call_after_refresh(next(iter(texts)).scroll_visible, animate=False)

    # -- reading the form ----------------------------------------------------------------------------
    def collect(self, providers: set[str] | None = None) -> dict:
        """The entity as the form now says; raises FieldError after showing every problem at once.
        `providers`: the gateway's provider names, to check routing targets and fallbacks (None: unknown)."""
        problems: list[tuple[str, str]] = []
        data: dict = {}
        fields = FIELDS[self.kind]

        def take(slot: str, fn):
            try:
                return fn()
            except FieldError as exc:
                problems.append((f"{slot}.{exc.part}" if exc.part else slot, str(exc)))
                return None

        if self.creating:
            data["name"] = take("name", lambda: parse_name(self.query_one("#name", Input).value))
        else:
            data["name"] = self.original["name"]
        for field in ("team", "customer"):
            if field in fields:
                value = self.query_one(f"#{field}", Select).value
                data[field] = None if value is Select.NULL else value
        budgets = []
        for i, row in enumerate(self.query(BudgetRow)):
            budgets.append(take(f"budgets[{i}]", row.value))
        data["budgets"] = budgets
        rl = {}
        for key, _ in RATE_FIELDS:
            value = take(f"rate_limit.{key}", lambda key=key: parse_count(self.query_one(f"#{key}", Input).value))
            if value is not None:
                rl[key] = value
        data["rate_limit"] = rl or None
        if "allowed_models" in fields:
            data["allowed_models"] = take("allowed_models", lambda: parse_globs(self.query_one("#allowed_models",
                                                                                              Input).value))
        if "routing" in fields:
            data["routing"] = [take(f"routing[{i}]", row.value) for i, row in enumerate(self.query(RuleRow))]
            data["fallbacks"] = take("fallbacks", lambda: parse_fallbacks(self.query_one("#fallbacks", Input).value))
            if providers is not None:
                problems.extend(unknown_provider_problems(data["routing"], data["fallbacks"], providers))
        if "active" in fields:
            data["active"] = self.query_one("#active", Checkbox).value
            data["expires_at"] = take("expires_at", lambda: self.checked_expiry(self.query_one("#expires_at", Input).value))
        if problems:
            self.show_errors(problems)
            raise FieldError(f"{len(problems)} field(s) need attention")
        return data

    def checked_expiry(self, text: str) -> str | None:
        """The typed expiry, refused when it is a new time already past (the key would be refused at once);
        an expiry left as it was stays, past or not."""
        value = parse_expires(text, self.zone)
        if value is None:
            return None
        when = datetime.fromisoformat(value)
        before = (self.original or {}).get("expires_at")
        if when <= datetime.now(timezone.utc) and not (before and read_timestamp(before, self.zone) == when):
            raise FieldError("that time has passed: the key would be refused at once (leave empty for never)")
        return value

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

    @work(exclusive=True, group="form-save", exit_on_error=False)
    async def _save(self) -> None:
        self.clear_errors()
        providers = await self.provider_names() if "routing" in FIELDS[self.kind] else None
        try:
            data = self.collect(providers)
        except FieldError:
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
        if not await self.app.push_screen_wait(DiffConfirm(title, rows, note)):
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
