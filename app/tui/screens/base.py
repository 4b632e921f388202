"""The base of every console screen: the status header on top, the footer below, and data pushed in
by the app's poller (`refresh_data` runs only for the visible screen, so hidden screens cost nothing)."""
from __future__ import annotations

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Footer

from ..state import ConsoleState
from ..status_header import StatusHeader


class LiveScreen(Screen):
    TITLE = ""
    NEEDS_BUDGETS = False  # the poller fetches budget status only while such a screen is shown
    FILTER_BOX: str | None = None  # id of the screen's `/` filter input, if it has one

    def filtering(self) -> bool:
        """Whether `esc` has a filter to close or clear here; if not, it goes back to the previous screen."""
        box = self.query_one_optional(f"#{self.FILTER_BOX}") if self.FILTER_BOX else None
        return box is not None and (box.has_class("-open") or bool(getattr(box, "value", "")))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "clear_filter":
            return self.filtering()  # False: the key goes on to the app's `back`
        return True

    def compose(self) -> ComposeResult:
        yield StatusHeader(id="status-header")
        yield from self.compose_body()
        yield Footer(compact=True)  # 80 columns hold every key of a screen

    def compose_body(self) -> ComposeResult:
        yield from ()

    @property
    def state(self) -> ConsoleState:
        return self.app.state

    @property
    def source(self):
        return self.app.source

    def refresh_data(self, state: ConsoleState) -> None:
        """Redraw from the state; called after each poll while this screen is shown."""

    def on_screen_resume(self) -> None:
        self.app.refresh_screen()
        if self.NEEDS_BUDGETS and self.app.budgets_stale():  # fetched only for such screens: catch up now
            self.app.call_later(self.app.poll)
