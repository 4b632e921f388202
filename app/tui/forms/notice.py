"""A message the operator must acknowledge."""
from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Footer, Static


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
        yield Footer(compact=True)  # this dialog's keys, not those of the screen below

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(None)

    def action_close(self) -> None:
        self.dismiss(None)
