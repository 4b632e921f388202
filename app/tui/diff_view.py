"""The diff shown before any change is saved: only the fields that change, old → new, any warning
about them (which does not stop the save), then y/n."""
from __future__ import annotations

from rich import box
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Footer, Static

NOTHING = "–"


def diff_rows(old: dict[str, str], new: dict[str, str]) -> list[tuple[str, str, str]]:
    """(field, old, new) for every display field whose text differs, in the order the form shows them."""
    order = list(old) + [k for k in new if k not in old]
    rows = []
    for field in order:
        before, after = old.get(field, NOTHING), new.get(field, NOTHING)
        if before != after:
            rows.append((field, before, after))
    return rows


def diff_table(rows: list[tuple[str, str, str]]) -> Table:
    table = Table(box=box.SIMPLE_HEAD, expand=True, show_edge=False, pad_edge=False)
    table.add_column("field", style="bold", no_wrap=True, ratio=1)
    table.add_column("old", ratio=2)
    table.add_column("new", ratio=2)
    for field, before, after in rows:
        table.add_row(field, Text(before, style="red" if before != NOTHING else "dim"),
                      Text(after, style="green" if after != NOTHING else "dim"))
    return table


class DiffConfirm(ModalScreen[bool]):
    """Shows what a save would change and asks y/n; dismisses with True to save."""

    DEFAULT_CSS = """
    DiffConfirm { align: center middle; }
    DiffConfirm > Vertical { width: 96; max-width: 100%; height: auto; max-height: 100%;
                             border: thick $warning; background: $surface; padding: 0 1; }
    DiffConfirm #diff-title { text-style: bold; margin-bottom: 1; }
    DiffConfirm #diff-table { height: auto; }
    DiffConfirm #diff-warning { color: $text-warning; }
    DiffConfirm #diff-note { color: $text-muted; }
    DiffConfirm Horizontal { height: 1; margin-top: 1; }
    DiffConfirm Button { margin-right: 2; }
    """
    BINDINGS = [Binding("y", "answer(True)", "Save", id="diff-yes"),
                Binding("n,escape", "answer(False)", "Back", id="diff-no")]

    def __init__(self, title: str, rows: list[tuple[str, str, str]], note: str = "", warning: str = ""):
        super().__init__()
        self.title_text, self.rows, self.note, self.warning = title, rows, note, warning

    def compose(self) -> ComposeResult:
        with Vertical(id="diff"):
            yield Static(Text(self.title_text), id="diff-title")
            yield Static(diff_table(self.rows), id="diff-table")
            if self.warning:  # worth a second look, but no reason not to save
                yield Static(Text(f"⚠ {self.warning}"), id="diff-warning")
            if self.note:
                yield Static(Text(self.note), id="diff-note")
            with Horizontal():
                yield Button("Save (y)", variant="warning", id="diff-yes", compact=True)
                yield Button("Back (n)", variant="primary", id="diff-no", compact=True)
        yield Footer(compact=True)  # this dialog's keys, not those of the screen below

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(event.button.id == "diff-yes")

    def action_answer(self, value: bool) -> None:
        self.dismiss(value)
