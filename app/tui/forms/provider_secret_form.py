"""The form that stores a provider API key in the OS keyring of this machine.

The value is masked, never shown or logged, and cleared from the form when it closes.
"""
from __future__ import annotations

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Footer, Input, Select, Static
from textual.worker import Worker

from ...service.console_source import SourceError
from .field_text import NAME_RE
from .field_widgets import FieldErrorLine, labelled_field
from .worker_errors import report_worker_error

KEYRING_SERVICE = "bifrost-tui"



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
            yield from labelled_field("Provider", Select([(n, n) for n in self.providers], allow_blank=False,
                                                 value=self.initial if self.initial else Select.NULL,
                                                 id="secret-provider", compact=True), slot="secret-provider")
            yield from labelled_field("Key name", Input(self._first_key(self.initial), placeholder="main",
                                                id="secret-key-name", compact=True), slot="secret-key-name")
            yield from labelled_field("API key", Input(password=True, placeholder="pasted value (masked, never shown)",
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
        yield Footer(compact=True)  # this dialog's keys, not those of the screen below

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
