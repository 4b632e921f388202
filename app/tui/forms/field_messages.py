"""The message lines of an entity form: which line a problem's path is about, which input to focus, which
lines an edit makes stale.

A path is the source's (``budgets[0].period``, ``rate_limit.max_concurrent``, ``routing[1].targets[0]
.provider``, ``team``), whether the problem was found by the form (entity_input.py) or by the source on
save: a row's problem goes on the row's own line, a rate limit's on its own line, any other field's on the
line ``#err-<field>`` under it, and what has no line of its own (``nothing changed``, a name when editing,
a refusal without a path) on the form-wide ``#form-error``.
"""
from __future__ import annotations

from textual.widget import Widget
from textual.widgets import Checkbox, Input, Select

from .entity_text import RATE_FIELDS, error_slot
from .field_widgets import BudgetRow, FieldErrorLine, RuleRow

ROWS = {"budgets": BudgetRow, "routing": RuleRow}


class FieldMessages:
    """The message lines of `form` (an entity form, creating a new entity or editing one)."""

    def __init__(self, form: Widget, creating: bool):
        self.form, self.creating = form, creating
        self.checked: dict[Widget, object] = {}  # every input's value when the messages on screen were made

    def clear(self) -> None:
        for line in self.form.query(FieldErrorLine):
            line.show("")

    def on_screen(self) -> dict[str, str]:
        """Every message on screen, by slot id (rows as budgets[i] / routing[i]); for tests and people."""
        out = {}
        for field, row_type in ROWS.items():
            for i, row in enumerate(self.form.query(row_type)):
                if msg := row.error_line.message:
                    out[f"{field}[{i}]"] = msg
        for line in self.form.query(".field-error").results(FieldErrorLine):
            if line.id and line.message:
                out[line.id.removeprefix("err-")] = line.message
        return out

    def lines_of(self, control: Widget) -> list[FieldErrorLine]:
        """The lines whose message is about `control`: its own (or its row's and the row list's), and the
        form-wide one ("nothing changed", a refusal without a field)."""
        lines = [self.form.query_one("#form-error", FieldErrorLine)]
        row = next((a for a in control.ancestors_with_self if isinstance(a, (BudgetRow, RuleRow))), None)
        if row is not None:
            lines.append(row.error_line)
            lines.extend(self.form.query("#err-budgets" if isinstance(row, BudgetRow) else "#err-routing")
                         .results(FieldErrorLine))
        elif control.id:
            lines.extend(self.form.query(f"#err-{control.id}").results(FieldErrorLine))
        return lines

    def edited(self, control: Widget) -> None:
        """An edited field's message is out of date: it goes now (the next save checks everything again).
        Only when the value really differs from the one checked: a change event can arrive after the save
        that it preceded, and must not wipe the message that save just made."""
        if control in self.checked and self.checked[control] == control.value:
            return
        for line in self.lines_of(control):
            line.show("")

    def place(self, path: str, message: str) -> tuple[FieldErrorLine, str]:
        """The line under the input that `path` (as the source reports it) refers to, and the text there."""
        field, index, rest = error_slot(path)
        if field in ROWS and index is not None:
            found = list(self.form.query(ROWS[field]))
            if index < len(found):
                return found[index].error_line, f"{rest}: {message}" if rest else message
        rate_labels = dict(RATE_FIELDS)
        if field == "rate_limit" and rest in rate_labels:
            return self.form.query_one(f"#err-{rest}", FieldErrorLine), f"{rate_labels[rest]}: {message}"
        detail = (f"item {index + 1}" + (f" {rest}" if rest else "")) if index is not None else rest
        text = f"{detail}: {message}" if detail else message
        slot = "form-error" if field == "name" and not self.creating else field
        line = next(iter(self.form.query(f"#err-{slot}").results(FieldErrorLine)), None) if slot else None
        if line is None:
            line = self.form.query_one("#form-error", FieldErrorLine)
            text = f"{path}: {message}" if path and path != "(top level)" else message
        return line, text

    def input_of(self, path: str) -> Widget | None:
        """The input that `path` is about (to focus it), or None when no single input is."""
        field, index, rest = error_slot(path)
        if field in ROWS:
            found = list(self.form.query(ROWS[field]))
            return found[index].input_of(rest) if index is not None and index < len(found) else None
        widget_id = rest.split(".")[0] if field == "rate_limit" else field
        if not widget_id.isidentifier():
            return None
        return next(iter(self.form.query(f"#{widget_id}").results((Input, Select, Checkbox))), None)

    def show(self, problems: list[tuple[str, str]], order: list[Widget]) -> None:
        """Show every message at once (several for one line each on a row of their own), then put the
        focus on the first failing field in form `order`, so fixing starts where the eye does."""
        texts: dict[FieldErrorLine, list[str]] = {}
        for path, message in problems:
            line, text = self.place(path, message)
            texts.setdefault(line, []).append(text)
        for line, lines in texts.items():
            line.show("\n".join(lines))
        self.checked = {w: w.value for w in order}
        failing = [w for w in (self.input_of(path) for path, _ in problems) if w is not None and w in order]
        if failing:
            first = min(failing, key=order.index)
            self.form.call_after_refresh(first.focus)  # focusing scrolls it into view
        elif texts:
            self.form.call_after_refresh(next(iter(texts)).scroll_visible, animate=False)
