"""FilterBox: a screen's `/` filter input, hidden until opened.

Typing applies the filter after FILTER_DELAY seconds of quiet (a keystroke does not rebuild a table);
enter applies it at once and closes the box; the screen's `esc` closes and empties it. The box calls
`apply(text)` and leaves the filter itself (and where the focus goes after enter) to its screen. The
screen's CSS shows it while it has the `-open` class.
"""
from __future__ import annotations

from typing import Callable

from textual import on
from textual.widgets import Input

FILTER_DELAY = 0.15  # seconds of typing quiet before the filter applies (enter applies at once)


class FilterBox(Input):
    def __init__(self, apply: Callable[[str], None], **kwargs) -> None:
        super().__init__(**kwargs)
        self._apply = apply
        self._timer = None

    def open(self, text: str) -> None:
        """Show the box with the applied filter's text and type into it."""
        self.add_class("-open")
        self.value = text
        self.focus()

    def close(self) -> None:
        """Hide and empty the box (an applied filter stays until the screen clears it)."""
        self._stop_timer()
        if self.has_class("-open"):
            self.remove_class("-open")
            self.value = ""

    def _stop_timer(self) -> None:
        if self._timer is not None:
            self._timer.stop()
            self._timer = None

    @on(Input.Changed)
    def _typed(self, event: Input.Changed) -> None:
        self._stop_timer()
        value = event.value
        apply = self._apply
        self._timer = self.set_timer(FILTER_DELAY, lambda: apply(value))

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        self._stop_timer()
        self._apply(event.value)
        self.remove_class("-open")
