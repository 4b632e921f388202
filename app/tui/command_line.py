"""The `:` command line (k9s style): :keys, :teams, :logs, :budgets, :key NAME, :q."""
from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import ModalScreen
from textual.widgets import Input


class CommandLine(ModalScreen[str | None]):
    DEFAULT_CSS = """
    CommandLine { align: left bottom; background: $background 0%; }
    CommandLine > Input, CommandLine > Input:focus { width: 100%; dock: bottom; border: none; height: 1;
                                                     padding: 0 1; }
    """
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="command-cancel")]

    def compose(self) -> ComposeResult:
        # compact: one row with the text in it (Textual's focused Input draws a border two rows tall, which
        # left no room for what is typed)
        yield Input(placeholder=":keys  :teams  :logs  :budgets  :failover  :plots  :key NAME  :q", id="command-input",
                    compact=True)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value)

    def action_cancel(self) -> None:
        self.dismiss(None)
