"""The console's forms: create and edit keys, teams and customers; store a provider key in the OS
keyring; show a new key's value once.

Every form validates locally first (numbers, periods, routing text) and shows each message under its
field; then it shows a diff of what changes and asks y/n; then the source validates with the config
file's rules and its field errors (paths such as ``budgets[0].period``) land under the right input.
The form closes only when the source accepted the change. Secrets are never shown in clear, never
logged and never kept after a form closes.

Routing is edited as compact text, parsed into the API's structures:

- a rule's condition: ``model=claude-sonnet-4* max_input_tokens=2000 tools=false header.x-team=web*``
  (empty: every request);
- its targets: ``anthropic:claude-haiku-4-5-20251001*80, bedrock*20`` (``provider[:model][*weight]``);
- fallbacks: ``bedrock, openai:gpt-4o`` (``provider[:model]``).
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from itertools import count

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import Button, Checkbox, Input, Label, Select, Static
from textual.worker import Worker, WorkerState

from ..core.config import ROLLING_PERIOD, WHEN_FIELDS
from ..service.console_source import SourceError
from .diff_view import NOTHING, DiffConfirm, diff_rows

log = logging.getLogger("bifrost.console")
KEYRING_SERVICE = "bifrost-tui"
PERIODS = (("day (1d)", "1d"), ("week (1w)", "1w"), ("month (1M)", "1M"), ("year (1Y)", "1Y"))
PERIOD_SUFFIX = {"1d": "d", "1w": "w", "1M": "M", "1Y": "Y"}
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
KIND_LABEL = {"virtual_key": "key", "team": "team", "customer": "customer"}
FIELDS = {
    "customer": ("name", "budgets", "rate_limit"),
    "team": ("name", "customer", "budgets", "rate_limit", "routing", "fallbacks"),
    "virtual_key": ("name", "team", "customer", "budgets", "rate_limit", "allowed_models", "routing", "fallbacks",
                    "active", "expires_at"),
}
RATE_FIELDS = (("requests_per_minute", "requests/min"), ("tokens_per_minute", "tokens/min"),
               ("max_concurrent", "max concurrent"))
RATE_SHORT = {"requests_per_minute": "req/min", "tokens_per_minute": "tok/min", "max_concurrent": "concurrent"}
BOOL_WORDS = {"true": True, "yes": True, "on": True, "1": True, "false": False, "no": False, "off": False, "0": False}


class FieldError(ValueError):
    """A value a person typed that cannot be used; str() says why, for the line under the field."""


# -- text codecs (pure) ---------------------------------------------------------------------------------
def _number(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


def parse_amount(text: str, symbol: str = "") -> int | float:
    """A budget limit in the display currency: ``25000``, ``25,000``, ``₹25,000.50``; at least 0."""
    raw = text.strip()
    if symbol:
        raw = raw.replace(symbol.strip(), "")
    raw = raw.replace(",", "").replace("_", "").strip()
    if not raw:
        raise FieldError("required: an amount in the display currency")
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise FieldError(f"expected an amount such as 25000; got {text.strip()!r}") from None
    if not value.is_finite():
        raise FieldError(f"expected an amount such as 25000; got {text.strip()!r}")
    if value < 0:
        raise FieldError(f"a limit cannot be negative; got {text.strip()}")
    return _number(value)


def parse_count(text: str) -> int | None:
    """An optional whole number above 0 (rate limits): ``60``, ``100,000``, ``100k``, ``2m``; empty = none."""
    raw = text.strip().lower().replace(",", "").replace("_", "")
    if not raw:
        return None
    scale = 1
    if raw[-1] in "km":
        scale, raw = (1000 if raw[-1] == "k" else 1_000_000), raw[:-1]
    try:
        value = Decimal(raw) * scale
    except InvalidOperation:
        raise FieldError(f"expected a whole number such as 60 or 100k; got {text.strip()!r}") from None
    if not value.is_finite() or value != value.to_integral_value():
        raise FieldError(f"expected a whole number; got {text.strip()!r}")
    if value <= 0:
        raise FieldError(f"expected a whole number above 0 (empty = no limit); got {text.strip()}")
    return int(value)


def parse_globs(text: str) -> list[str] | None:
    """Comma-separated model names or globs; empty = every model."""
    items = [part.strip() for part in text.split(",")]
    items = [i for i in items if i]
    for item in items:
        if any(c.isspace() for c in item):
            raise FieldError(f"separate models with commas; {item!r} contains a space")
    return items or None


def _when_value(key: str, raw: str):
    kind = WHEN_FIELDS[key]
    if kind is str:
        if not raw:
            raise FieldError(f"{key}: expected a value after =")
        return raw
    if kind is bool:
        if raw.lower() not in BOOL_WORDS:
            raise FieldError(f"{key}: expected true or false; got {raw!r}")
        return BOOL_WORDS[raw.lower()]
    if kind is int:
        try:
            return int(raw.replace(",", "").replace("_", ""))
        except ValueError:
            raise FieldError(f"{key}: expected a whole number; got {raw!r}") from None
    try:  # Decimal: budget_used_pct_above
        return _number(Decimal(raw))
    except InvalidOperation:
        raise FieldError(f"{key}: expected a number; got {raw!r}") from None


def parse_when(text: str) -> dict:
    """``model=claude-sonnet-4* max_input_tokens=2000 tools=false header.x-team=web*`` → the API's `when`."""
    when: dict = {}
    for token in text.split():
        key, sep, raw = token.partition("=")
        if not sep:
            raise FieldError(f"expected condition=value; got {token!r} (e.g. model=claude-sonnet-4*)")
        if key.startswith("header."):
            name = key[len("header."):]
            if not name or not raw:
                raise FieldError(f"expected header.NAME=GLOB; got {token!r}")
            when.setdefault("header", {})[name] = raw
            continue
        if key not in WHEN_FIELDS or key == "header":
            known = ", ".join(k for k in WHEN_FIELDS if k != "header")
            raise FieldError(f"unknown condition {key!r}; use {known} or header.NAME")
        if key in when:
            raise FieldError(f"{key} is given twice")
        when[key] = _when_value(key, raw)
    return when


def _word(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def format_when(when: dict | None) -> str:
    parts = []
    for key, value in (when or {}).items():
        if key == "header" and isinstance(value, dict):
            parts.extend(f"header.{name}={glob}" for name, glob in value.items())
        else:
            parts.append(f"{key}={_word(value)}")
    return " ".join(parts)


def _target(item: str, weighted: bool) -> dict:
    weight = None
    if weighted:
        m = re.fullmatch(r"(.*)\*\s*(\S+)", item)
        if m and not m.group(2).endswith("*"):
            item, raw = m.group(1).strip(), m.group(2)
            if not raw.isdigit() or int(raw) <= 0:
                raise FieldError(f"{item}: a weight is a whole number above 0; got {raw!r}")
            weight = int(raw)
    provider, sep, model = item.partition(":")
    provider, model = provider.strip(), model.strip()
    if not provider:
        raise FieldError(f"expected provider[:model]{'[*weight]' if weighted else ''}; got {item!r}")
    if sep and not model:
        raise FieldError(f"{provider}: a model name is expected after ':'")
    if any(c.isspace() for c in provider + model):
        raise FieldError(f"separate targets with commas; got {item!r}")
    out: dict = {"provider": provider}
    if model:
        out["model"] = model
    if weighted:
        out["weight"] = weight or 1
    return out


def parse_targets(text: str) -> list[dict]:
    """``anthropic:claude-haiku-4-5-20251001*80, bedrock*20`` → [{provider, model?, weight}]."""
    items = [part.strip() for part in text.split(",")]
    if not any(items):
        raise FieldError("a rule needs at least one target: provider[:model][*weight]")
    out = []
    for i, item in enumerate(items, 1):
        if not item:
            raise FieldError(f"target {i} is empty (two commas in a row?)")
        out.append(_target(item, weighted=True))
    return out


def format_targets(targets: list[dict] | None) -> str:
    targets = targets or []
    parts = []
    for t in targets:
        text = t.get("provider", "")
        if t.get("model"):
            text += f":{t['model']}"
        weight = t.get("weight", 1)
        if len(targets) > 1 or weight != 1:
            text += f"*{weight}"
        parts.append(text)
    return ", ".join(parts)


def parse_fallbacks(text: str) -> list[dict]:
    """``bedrock, openai:gpt-4o`` → [{provider, model?}], tried in order."""
    out = []
    for i, item in enumerate(part.strip() for part in text.split(",")):
        if not item:
            if text.strip():
                raise FieldError(f"fallback {i + 1} is empty (two commas in a row?)")
            continue
        if "*" in item and ":" not in item:
            raise FieldError(f"{item}: fallbacks are tried in order and take no weight")
        out.append(_target(item, weighted=False))
    return out


def format_fallbacks(fallbacks: list[dict] | None) -> str:
    return ", ".join(t["provider"] + (f":{t['model']}" if t.get("model") else "") for t in fallbacks or [])


def parse_expires(text: str) -> str | None:
    raw = text.strip()
    if not raw:
        return None
    try:
        datetime.fromisoformat(raw)
    except ValueError:
        raise FieldError(f"expected an ISO 8601 time such as 2026-12-31T23:59:00+05:30; got {raw!r}") from None
    return raw


def parse_name(text: str) -> str:
    name = text.strip()
    if not name:
        raise FieldError("required: a name")
    if not NAME_RE.match(name):
        raise FieldError("use letters, digits, '.', '_' and '-' (the name appears in URLs and the key)")
    return name


def money(amount, symbol: str) -> str:
    value = Decimal(str(amount))
    return f"{symbol}{value:,.0f}" if value == value.to_integral_value() else f"{symbol}{value:,.2f}"


def budget_text(b: dict, symbol: str) -> str:
    period = b.get("period", "")
    if b.get("rolling"):
        return f"{money(b.get('limit', 0), symbol)}/{period} rolling"
    return f"{money(b.get('limit', 0), symbol)}/{PERIOD_SUFFIX.get(period, period)}"


def budgets_text(budgets: list[dict] | None, symbol: str) -> str:
    return " · ".join(budget_text(b, symbol) for b in budgets or [])


def compact_number(n: int) -> str:
    if n >= 1_000_000 and n % 100_000 == 0:
        return f"{n / 1_000_000:g}M"
    if n >= 1000 and n % 100 == 0:
        return f"{n / 1000:g}k"
    return f"{n:,}"


def rate_text(rl: dict | None) -> str:
    rl = rl or {}
    parts = []
    if rl.get("requests_per_minute"):
        parts.append(f"{compact_number(rl['requests_per_minute'])} rpm")
    if rl.get("tokens_per_minute"):
        parts.append(f"{compact_number(rl['tokens_per_minute'])} tpm")
    if rl.get("max_concurrent"):
        parts.append(f"{rl['max_concurrent']} conc")
    return " · ".join(parts)


def display_fields(kind: str, data: dict | None, symbol: str) -> dict[str, str]:
    """An entity as the diff shows it: one line of text per field (absent = not set)."""
    data = data or {}
    out: dict[str, str] = {}
    for field in FIELDS[kind]:
        value = data.get(field)
        if field == "budgets":
            for i, b in enumerate(value or []):
                out[f"budget {i + 1}"] = budget_text(b, symbol)
        elif field == "rate_limit":
            for key, label in RATE_FIELDS:
                if (value or {}).get(key) is not None:
                    out[label] = f"{value[key]:,}"
        elif field == "allowed_models":
            out["allowed models"] = ", ".join(value) if value else "all models"
        elif field == "routing":
            for i, rule in enumerate(value or []):
                out[f"routing rule {i + 1}"] = (f"{format_when(rule.get('when')) or '(every request)'} → "
                                                f"{format_targets(rule.get('targets'))}")
        elif field == "fallbacks":
            if value:
                out["fallbacks"] = format_fallbacks(value)
        elif field == "active":
            out["active"] = "yes" if value is not False else "no"
        elif field == "expires_at":
            out["expires at"] = value or "never"
        elif value is not None:
            out[field] = str(value)
    return out


def _norm(value):
    """For comparing an entity's stored field with a form value: none/empty alike, 2000 == 2000.0."""
    if isinstance(value, dict):
        value = {k: _norm(v) for k, v in value.items()}
        value = {k: v for k, v in value.items() if v is not None}
        return value or None
    if isinstance(value, list):
        return [_norm(v) for v in value] or None
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def patch_of(kind: str, old: dict, new: dict) -> dict:
    """The fields whose value changes (None clears a field)."""
    return {f: new.get(f) for f in FIELDS[kind] if f != "name" and _norm(old.get(f)) != _norm(new.get(f))}


FIELD_PATH = re.compile(r"^([A-Za-z_]+)(?:\[(\d+)\])?(?:\.(.*))?$")


def error_slot(path: str) -> tuple[str, int | None, str]:
    """``budgets[0].period`` → ("budgets", 0, "period"); ``team`` → ("team", None, "")."""
    m = FIELD_PATH.match(path or "")
    if not m:
        return "", None, path or ""
    index = int(m.group(2)) if m.group(2) is not None else None
    return m.group(1), index, m.group(3) or ""


def report_worker_error(node, event: Worker.StateChanged) -> None:
    """A worker that failed unexpectedly: log it (to the log file, never the terminal) and say so.
    The console shares its process with the gateway, so a bug here must not end the app."""
    worker = event.worker
    if event.state == WorkerState.ERROR and worker.error is not None:
        log.error("console task %s failed", worker.name,
                  exc_info=(type(worker.error), worker.error, worker.error.__traceback__))
        node.notify(f"{worker.name or 'task'} failed: {type(worker.error).__name__}: {worker.error}",
                    severity="error", timeout=8)


# -- widgets ------------------------------------------------------------------------------------------
_ids = count(1)


class FieldErrorLine(Static):
    """The message under a field; hidden while empty."""

    DEFAULT_CSS = """
    FieldErrorLine { color: $text-error; display: none; height: auto; }
    FieldErrorLine.-shown { display: block; }
    """

    def show(self, message: str) -> None:
        self.update(Text(message))
        self.set_class(bool(message), "-shown")

    @property
    def message(self) -> str:
        return str(self.content) if self.has_class("-shown") else ""


class BudgetRow(Vertical):
    """One budget: limit, a calendar period or a rolling window (Nh/Nd), remove; its error below."""

    DEFAULT_CSS = """
    BudgetRow { height: auto; }
    BudgetRow > Horizontal { height: 1; }
    BudgetRow .budget-limit { width: 16; margin-right: 1; }
    BudgetRow .budget-period { width: 16; margin-right: 1; }
    BudgetRow .budget-rolling { width: auto; margin-right: 1; }
    BudgetRow .budget-window { width: 10; margin-right: 1; display: none; }
    BudgetRow.-rolling .budget-window { display: block; }
    BudgetRow.-rolling .budget-period { display: none; }
    BudgetRow .budget-remove { min-width: 5; width: 5; }
    """

    def __init__(self, budget: dict | None, symbol: str):
        super().__init__(id=f"budget-row-{next(_ids)}", classes="-rolling" if (budget or {}).get("rolling") else "")
        self.budget = budget or {}
        self.symbol = symbol

    def compose(self) -> ComposeResult:
        b = self.budget
        rolling = bool(b.get("rolling"))
        limit = b.get("limit")
        period = b.get("period") or "1M"
        with Horizontal():
            yield Input("" if limit is None else f"{limit}", placeholder=f"limit {self.symbol}".strip(),
                        classes="budget-limit", compact=True)
            yield Select(PERIODS, value=period if not rolling and period in PERIOD_SUFFIX else "1M",
                         allow_blank=False, classes="budget-period", compact=True)
            yield Checkbox("rolling", rolling, classes="budget-rolling", compact=True)
            yield Input(period if rolling else "", placeholder="5h / 7d", classes="budget-window", compact=True)
            yield Button("✕", classes="budget-remove", compact=True, tooltip="remove this budget")
        yield FieldErrorLine(classes="budget-error")

    @on(Checkbox.Changed, ".budget-rolling")
    def _rolling(self, event: Checkbox.Changed) -> None:
        self.set_class(event.value, "-rolling")

    def value(self) -> dict:
        limit = parse_amount(self.query_one(".budget-limit", Input).value, self.symbol)
        if self.query_one(".budget-rolling", Checkbox).value:
            window = self.query_one(".budget-window", Input).value.strip()
            if not ROLLING_PERIOD.match(window):
                raise FieldError(f"a rolling window is N hours or days such as 5h or 7d; got {window!r}")
            return {"limit": limit, "period": window, "rolling": True}
        return {"limit": limit, "period": self.query_one(".budget-period", Select).value}

    def show_error(self, message: str) -> None:
        self.query_one(".budget-error", FieldErrorLine).show(message)


class RuleRow(Vertical):
    """One routing rule: `when` text → targets text, remove; its error below."""

    DEFAULT_CSS = """
    RuleRow { height: auto; }
    RuleRow > Horizontal { height: 1; }
    RuleRow .rule-when { width: 1fr; }
    RuleRow .rule-arrow { width: 3; content-align: center middle; }
    RuleRow .rule-targets { width: 1fr; margin-right: 1; }
    RuleRow .rule-remove { min-width: 5; width: 5; }
    """

    def __init__(self, rule: dict | None):
        super().__init__(id=f"rule-row-{next(_ids)}")
        self.rule = rule or {}

    def compose(self) -> ComposeResult:
        with Horizontal():
            yield Input(format_when(self.rule.get("when")), placeholder="when: model=claude-sonnet-4* tools=false",
                        classes="rule-when", compact=True)
            yield Label("→", classes="rule-arrow")
            yield Input(format_targets(self.rule.get("targets")), placeholder="anthropic:claude-haiku-4-5*80, bedrock*20",
                        classes="rule-targets", compact=True)
            yield Button("✕", classes="rule-remove", compact=True, tooltip="remove this rule")
        yield FieldErrorLine(classes="rule-error")

    def value(self) -> dict:
        try:
            when = parse_when(self.query_one(".rule-when", Input).value)
        except FieldError as exc:
            raise FieldError(f"when: {exc}") from None
        try:
            targets = parse_targets(self.query_one(".rule-targets", Input).value)
        except FieldError as exc:
            raise FieldError(f"targets: {exc}") from None
        return {"when": when, "targets": targets}

    def show_error(self, message: str) -> None:
        self.query_one(".rule-error", FieldErrorLine).show(message)


def _field(label: str, *widgets: Widget, slot: str) -> ComposeResult:
    with Horizontal(classes="field"):
        yield Label(label, classes="field-label")
        yield from widgets
    yield FieldErrorLine(id=f"err-{slot}", classes="field-error")


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
                 symbol: str = "$", kind: str | None = None):
        super().__init__()
        self.kind = kind or self.KIND
        self.original = original
        self.teams = list(teams)
        self.customers = list(customers)
        self.symbol = symbol

    @property
    def creating(self) -> bool:
        return self.original is None

    @property
    def label(self) -> str:
        return KIND_LABEL[self.kind]

    # -- layout --------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        o = self.original or {}
        title = f"New {self.label}" if self.creating else f"Edit {self.label} {o.get('name')}"
        with Vertical(id="form"):
            yield Static(Text(title), id="form-title")
            with VerticalScroll(id="form-body"):
                yield from self.compose_fields()
            with Horizontal(id="form-buttons"):
                yield Button("Save ^s", variant="primary", id="form-save", compact=True)
                yield Button("Cancel esc", id="form-cancel", compact=True)
                yield Static("you see a diff before saving", id="form-hint")

    def compose_fields(self) -> ComposeResult:
        o = self.original or {}
        fields = FIELDS[self.kind]
        if self.creating:
            yield from _field("Name", Input(placeholder=f"{self.label} name, e.g. dev-pranay", id="name",
                                            compact=True), slot="name")
        if "team" in fields:
            yield from _field("Team", self._select("team", self.teams, o.get("team")), slot="team")
        if "customer" in fields:
            yield from _field("Customer", self._select("customer", self.customers, o.get("customer")),
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
        yield FieldErrorLine(id="err-rate_limit", classes="field-error")
        if "allowed_models" in fields:
            yield from _field("Allowed models", Input(", ".join(o.get("allowed_models") or []),
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
            yield from _field("Fallbacks", Input(format_fallbacks(o.get("fallbacks")),
                                                 placeholder="in order: bedrock, openai:gpt-4o",
                                                 id="fallbacks", compact=True), slot="fallbacks")
        if "active" in fields:
            with Horizontal(classes="field after-routing"):
                yield Label("Active", classes="field-label")
                yield Checkbox("active", o.get("active", True) is not False, id="active", compact=True)
                yield Label("Expires at", id="expires-label")
                yield Input(o.get("expires_at") or "", placeholder="never; or 2026-12-31T23:59:00+05:30",
                            id="expires_at", compact=True)
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

    # -- rows ------------------------------------------------------------------------------------
    @on(Button.Pressed, "#add-budget")
    async def _add_budget(self, event: Button.Pressed) -> None:
        event.stop()
        row = BudgetRow(None, self.symbol)
        await self.query_one("#budget-list").mount(row)
        row.query_one(".budget-limit", Input).focus()

    @on(Button.Pressed, "#add-rule")
    async def _add_rule(self, event: Button.Pressed) -> None:
        event.stop()
        row = RuleRow(None)
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
        self.dismiss(None)

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
            if msg := row.query_one(FieldErrorLine).message:
                out[f"budgets[{i}]"] = msg
        for i, row in enumerate(self.query(RuleRow)):
            if msg := row.query_one(FieldErrorLine).message:
                out[f"routing[{i}]"] = msg
        for line in self.query(".field-error").results(FieldErrorLine):
            if line.id and line.message:
                out[line.id.removeprefix("err-")] = line.message
        return out

    def show_error(self, path: str, message: str) -> Widget:
        """Put a message under the input that `path` (as the source reports it) refers to; returns where."""
        field, index, rest = error_slot(path)
        rows = {"budgets": BudgetRow, "routing": RuleRow}
        if field in rows and index is not None:
            found = list(self.query(rows[field]))
            if index < len(found):
                found[index].show_error(f"{rest}: {message}" if rest else message)
                return found[index]
        detail = (f"item {index + 1}" + (f" {rest}" if rest else "")) if index is not None else rest
        text = f"{detail}: {message}" if detail else message
        slot = "form-error" if field == "name" and not self.creating else field
        line = next(iter(self.query(f"#err-{slot}").results(FieldErrorLine)), None) if slot else None
        if line is None:
            line = self.query_one("#form-error", FieldErrorLine)
            text = f"{path}: {message}" if path and path != "(top level)" else message
        line.show(text)
        return line

    def show_errors(self, problems: list[tuple[str, str]]) -> None:
        """Show every message, and scroll the first one into view."""
        shown = [self.show_error(path, message) for path, message in problems]
        if shown:
            self.call_after_refresh(shown[0].scroll_visible, animate=False)

    # -- reading the form ----------------------------------------------------------------------------
    def collect(self) -> dict:
        """The entity as the form now says; raises FieldError after showing every problem."""
        problems: list[tuple[str, str]] = []
        data: dict = {}
        fields = FIELDS[self.kind]

        def take(slot: str, fn):
            try:
                return fn()
            except FieldError as exc:
                problems.append((slot, str(exc)))
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
        for key, label in RATE_FIELDS:
            value = take("rate_limit", lambda key=key, label=label: _labelled(label, parse_count,
                                                                              self.query_one(f"#{key}", Input).value))
            if value is not None:
                rl[key] = value
        data["rate_limit"] = rl or None
        if "allowed_models" in fields:
            data["allowed_models"] = take("allowed_models", lambda: parse_globs(self.query_one("#allowed_models",
                                                                                              Input).value))
        if "routing" in fields:
            data["routing"] = [take(f"routing[{i}]", row.value) for i, row in enumerate(self.query(RuleRow))]
            data["fallbacks"] = take("fallbacks", lambda: parse_fallbacks(self.query_one("#fallbacks", Input).value))
        if "active" in fields:
            data["active"] = self.query_one("#active", Checkbox).value
            data["expires_at"] = take("expires_at", lambda: parse_expires(self.query_one("#expires_at", Input).value))
        if problems:
            self.show_errors(problems)
            raise FieldError(f"{len(problems)} field(s) need attention")
        return data

    # -- saving ----------------------------------------------------------------------------------
    def action_save(self) -> None:
        self._save()

    @work(exclusive=True, group="form-save", exit_on_error=False)
    async def _save(self) -> None:
        self.clear_errors()
        try:
            data = self.collect()
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
            old_fields = display_fields(self.kind, self.original, self.symbol)
        new_fields = display_fields(self.kind, data, self.symbol)
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


def _labelled(label: str, fn, text: str):
    try:
        return fn(text)
    except FieldError as exc:
        raise FieldError(f"{label}: {exc}") from None


class KeyForm(EntityForm):
    KIND = "virtual_key"


class TeamForm(EntityForm):
    KIND = "team"


class CustomerForm(EntityForm):
    KIND = "customer"


FORM_OF_KIND = {"virtual_key": KeyForm, "team": TeamForm, "customer": CustomerForm}


class KeyValueModal(ModalScreen[None]):
    """A virtual key's value, shown exactly once (after create or rotate), with copy (OSC 52)."""

    DEFAULT_CSS = """
    KeyValueModal { align: center middle; }
    KeyValueModal > Vertical { width: 84; max-width: 100%; height: auto; border: thick $warning;
                               background: $surface; padding: 0 1; }
    KeyValueModal #key-title { text-style: bold; }
    KeyValueModal #key-value { margin: 1 0; padding: 0 1; background: $boost; text-style: bold; }
    KeyValueModal #key-warning { color: $text-warning; }
    KeyValueModal #key-usage { color: $text-muted; margin-top: 1; }
    KeyValueModal #key-copied { color: $text-success; height: auto; margin-top: 1; display: none; }
    KeyValueModal #key-copied.-shown { display: block; }
    KeyValueModal Horizontal { height: 1; margin-top: 1; }
    KeyValueModal Button { margin-right: 2; }
    """
    BINDINGS = [Binding("c", "copy", "Copy", id="key-copy"),
                Binding("escape,enter", "close", "Done", priority=True, id="key-done")]

    def __init__(self, name: str, value: str, *, rotated: bool = False, base_url: str = ""):
        super().__init__()
        self.key_name, self._value, self.rotated, self.base_url = name, value, rotated, base_url

    @property
    def value(self) -> str:
        return self._value

    def compose(self) -> ComposeResult:
        what = "New value of key" if self.rotated else "Key created:"
        with Vertical():
            yield Static(Text(f"{what} {self.key_name}"), id="key-title")
            yield Static(Text(self._value), id="key-value")
            warning = "Copy it now: it will not be shown again (only its hash is stored)."
            if self.rotated:
                warning += " The old value has stopped working."
            yield Static(Text("⚠ " + warning), id="key-warning")
            base = f"{self.base_url.rstrip('/')}/anthropic" if self.base_url else "http://GATEWAY/anthropic"
            yield Static(Text(f"Claude Code: ANTHROPIC_BASE_URL={base}  ANTHROPIC_API_KEY=<this value>"),
                         id="key-usage")
            yield Static("", id="key-copied")
            with Horizontal():
                yield Button("Copy (c)", variant="primary", id="key-copy", compact=True)
                yield Button("Done (esc)", id="key-done", compact=True)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "key-copy":
            self.action_copy()
        else:
            self.action_close()

    def action_copy(self) -> None:
        self.app.copy_to_clipboard(self._value)
        copied = self.query_one("#key-copied", Static)
        copied.update("copied to the clipboard (OSC 52: works over SSH; not in macOS Terminal — select the text there)")
        copied.add_class("-shown")

    def action_close(self) -> None:
        self._value = ""
        self.query_one("#key-value", Static).update("")
        self.dismiss(None)


class Notice(ModalScreen[None]):
    """A message the operator must read (a refused change); any of enter/esc/space closes it."""

    DEFAULT_CSS = """
    Notice { align: center middle; }
    Notice > Vertical { width: 72; max-width: 100%; height: auto; border: thick $error; background: $surface;
                        padding: 0 1; }
    Notice #notice-title { text-style: bold; margin-bottom: 1; }
    Notice Button { margin-top: 1; }
    """
    BINDINGS = [Binding("escape,enter,space", "close", "OK", id="notice-ok")]

    def __init__(self, title: str, message: str):
        super().__init__()
        self.title_text, self.message = title, message

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text(self.title_text), id="notice-title")
            yield Static(Text(self.message), id="notice-message")
            yield Button("OK", variant="primary", id="notice-ok", compact=True)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(None)

    def action_close(self) -> None:
        self.dismiss(None)


def keyring_username(provider: str, key_name: str) -> str:
    return f"{provider}-{key_name}"


class ProviderSecretForm(ModalScreen[str | None]):
    """Store a provider API key in the OS keyring of this machine; dismisses with the reference to put
    in the config (``keyring:bifrost-tui/<provider>-<key name>``). The value is masked, never shown or
    logged, and cleared from the form when it closes."""

    DEFAULT_CSS = """
    ProviderSecretForm { align: center middle; }
    ProviderSecretForm > Vertical { width: 84; max-width: 100%; height: auto; max-height: 100%;
                                    border: thick $accent; background: $surface; padding: 0 1; }
    ProviderSecretForm #secret-title { text-style: bold; }
    ProviderSecretForm .field { height: 1; margin-top: 1; }
    ProviderSecretForm .field-label { width: 12; color: $text-muted; }
    ProviderSecretForm .field Input, ProviderSecretForm .field Select { width: 1fr; }
    ProviderSecretForm .field-error { padding-left: 12; }
    ProviderSecretForm #secret-ref { margin-top: 1; }
    ProviderSecretForm #secret-note { color: $text-muted; margin-top: 1; }
    ProviderSecretForm #err-secret { padding-left: 0; margin-top: 1; }
    ProviderSecretForm Horizontal.buttons { height: 1; margin-top: 1; }
    ProviderSecretForm Button { margin-right: 2; }
    """
    BINDINGS = [Binding("ctrl+s", "save", "Save", priority=True, id="secret-save"),
                Binding("escape", "cancel", "Cancel", id="secret-cancel")]

    def __init__(self, providers: list[dict], provider: str | None = None):
        super().__init__()
        self.providers = {p["name"]: p for p in providers}
        names = list(self.providers)
        self.initial = provider if provider in self.providers else (names[0] if names else None)

    def _first_key(self, provider: str | None) -> str:
        keys = (self.providers.get(provider) or {}).get("keys") or []
        return keys[0] if keys else "main"

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static("Store a provider API key in the OS keyring", id="secret-title")
            yield from _field("Provider", Select([(n, n) for n in self.providers], allow_blank=False,
                                                 value=self.initial if self.initial else Select.NULL,
                                                 id="secret-provider", compact=True), slot="secret-provider")
            yield from _field("Key name", Input(self._first_key(self.initial), placeholder="main",
                                                id="secret-key-name", compact=True), slot="secret-key-name")
            yield from _field("API key", Input(password=True, placeholder="pasted value (masked, never shown)",
                                               id="secret-value", compact=True), slot="secret-value")
            yield Static(id="secret-ref")
            yield Static(Text(
                "The value goes straight into this machine's OS keyring: it is never shown, logged or written to "
                "the config. The config must reference it (then reload: SIGHUP or POST /api/reload)."),
                id="secret-note")
            yield FieldErrorLine(id="err-secret", classes="field-error")
            with Horizontal(classes="buttons"):
                yield Button("Store ^s", variant="primary", id="secret-save", compact=True)
                yield Button("Cancel esc", id="secret-cancel", compact=True)

    def on_mount(self) -> None:
        self._update_ref()
        self.query_one("#secret-value", Input).focus()

    def reference(self) -> str:
        provider = self.query_one("#secret-provider", Select).value
        provider = "" if provider is Select.NULL else str(provider)
        key_name = self.query_one("#secret-key-name", Input).value.strip()
        return f"keyring:{KEYRING_SERVICE}/{keyring_username(provider or '<provider>', key_name or '<key name>')}"

    def _update_ref(self) -> None:
        key_name = self.query_one("#secret-key-name", Input).value.strip() or "<key name>"
        text = Text("In the config: ", style="bold")
        text.append(f"keys: [{{name: {key_name}, secret: {self.reference()}}}]", style="cyan")
        self.query_one("#secret-ref", Static).update(text)

    @on(Select.Changed, "#secret-provider")
    def _provider_changed(self, event: Select.Changed) -> None:
        if event.value is not Select.NULL:
            self.query_one("#secret-key-name", Input).value = self._first_key(str(event.value))
        self._update_ref()

    @on(Input.Changed, "#secret-key-name")
    def _key_changed(self, event: Input.Changed) -> None:
        self._update_ref()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "secret-save":
            self.action_save()
        elif event.button.id == "secret-cancel":
            self.action_cancel()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        report_worker_error(self, event)

    def errors(self) -> dict[str, str]:
        return {line.id.removeprefix("err-"): line.message for line in self.query(FieldErrorLine)
                if line.id and line.message}

    def action_cancel(self) -> None:
        self.query_one("#secret-value", Input).value = ""
        self.dismiss(None)

    def action_save(self) -> None:
        self._save()

    @work(exclusive=True, group="secret-save", exit_on_error=False)
    async def _save(self) -> None:
        for line in self.query(FieldErrorLine):
            line.show("")
        provider = self.query_one("#secret-provider", Select).value
        key_name = self.query_one("#secret-key-name", Input).value.strip()
        box = self.query_one("#secret-value", Input)
        problems = False
        if provider is Select.NULL:
            self.query_one("#err-secret-provider", FieldErrorLine).show("choose a provider")
            problems = True
        if not key_name or not NAME_RE.match(key_name):
            self.query_one("#err-secret-key-name", FieldErrorLine).show(
                "required: the key's name in the provider's keys list (letters, digits, . _ -)")
            problems = True
        if not box.value.strip():
            self.query_one("#err-secret-value", FieldErrorLine).show("required: paste the provider's API key")
            problems = True
        if problems:
            return
        reference = self.reference()
        try:
            await self.app.source.set_provider_secret(KEYRING_SERVICE, keyring_username(str(provider), key_name),
                                                      box.value.strip())
        except SourceError as exc:
            self.query_one("#err-secret", FieldErrorLine).show(f"Not stored: {exc}")
            return
        box.value = ""
        self.dismiss(reference)
