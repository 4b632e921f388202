"""The widgets forms are built from: the error line under a field, a labelled field row, a budget row
and a routing-rule row (each with its own error line)."""
from __future__ import annotations

from itertools import count

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widget import Widget
from textual.widgets import Button, Checkbox, Input, Label, Select, Static

from .entity_input import BudgetInput, RuleInput
from .entity_text import PERIOD_SUFFIX
from .routing_text import format_targets, format_when

PERIODS = (("day (1d)", "1d"), ("week (1w)", "1w"), ("month (1M)", "1M"), ("year (1Y)", "1Y"))
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

    def typed(self) -> BudgetInput:
        """The row's inputs as they are now (entity_input.parse_budget reads them)."""
        return BudgetInput(self.query_one(".budget-limit", Input).value, self.query_one(".budget-period", Select).value,
                           self.query_one(".budget-rolling", Checkbox).value,
                           self.query_one(".budget-window", Input).value)

    def input_of(self, part: str) -> Widget:
        """The input a message about `part` (``limit``, ``period``, ``rolling``) is about, to focus it."""
        if part.startswith("period"):
            rolling = self.query_one(".budget-rolling", Checkbox).value
            return self.query_one(".budget-window" if rolling else ".budget-period")
        if part.startswith("rolling"):
            return self.query_one(".budget-rolling", Checkbox)
        return self.query_one(".budget-limit", Input)

    @property
    def error_line(self) -> FieldErrorLine:
        return self.query_one(".budget-error", FieldErrorLine)

    def show_error(self, message: str) -> None:
        self.error_line.show(message)


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

    def typed(self) -> RuleInput:
        """The row's inputs as they are now (entity_input.parse_rule reads them)."""
        return RuleInput(self.query_one(".rule-when", Input).value, self.query_one(".rule-targets", Input).value)

    def input_of(self, part: str) -> Input:
        """The input a message about `part` (``when.model``, ``targets[0].provider``) is about, to focus it."""
        return self.query_one(".rule-when" if part.startswith("when") else ".rule-targets", Input)

    @property
    def error_line(self) -> FieldErrorLine:
        return self.query_one(".rule-error", FieldErrorLine)

    def show_error(self, message: str) -> None:
        self.error_line.show(message)


def labelled_field(label: str, *widgets: Widget, slot: str) -> ComposeResult:
    with Horizontal(classes="field"):
        yield Label(label, classes="field-label")
        yield from widgets
    yield FieldErrorLine(id=f"err-{slot}", classes="field-error")
