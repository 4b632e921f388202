"""A new or rotated virtual key's value, shown exactly once."""
from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Footer, Static


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
                Binding("escape,enter", "close", "Done", priority=True, key_display="esc", id="key-done")]

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
        yield Footer(compact=True)  # this dialog's keys, not those of the screen below

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
