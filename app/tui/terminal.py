"""A terminal that may vanish (SSH drop): the console's driver survives write errors.

Textual's output thread dies on the first write error once the terminal is gone, and the next writes
then block the event loop the gateway shares. This driver swallows those errors, tells the runner the
terminal was lost (the same detach as SIGHUP), and puts Ctrl-Z/continue handling back when it stops,
so a SIGCONT after a detach cannot bring a console back to a dead or reused terminal.
"""
from __future__ import annotations

import signal
from typing import Callable

from textual.drivers.linux_driver import LinuxDriver


class _TolerantFile:
    """A file whose write/flush errors mean "the terminal is gone": reported once, then ignored."""

    def __init__(self, file, on_lost: Callable[[], None]):
        self._file, self._on_lost, self.lost = file, on_lost, False

    def _fail(self) -> None:
        if not self.lost:
            self.lost = True
            self._on_lost()

    def write(self, text: str) -> int:
        if self.lost:
            return len(text)
        try:
            return self._file.write(text)
        except (OSError, ValueError):
            self._fail()
            return len(text)

    def flush(self) -> None:
        if self.lost:
            return
        try:
            self._file.flush()
        except (OSError, ValueError):
            self._fail()

    def fileno(self) -> int:
        return self._file.fileno()

    def isatty(self) -> bool:
        return not self.lost and self._file.isatty()


def detachable_driver(on_lost: Callable[[], None]) -> type[LinuxDriver]:
    """A LinuxDriver class that calls `on_lost()` (from any thread-safe context) when the terminal dies."""

    class DetachableDriver(LinuxDriver):
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            self._file = _TolerantFile(self._file, on_lost)

        def stop_application_mode(self) -> None:
            try:
                super().stop_application_mode()
            except OSError:
                pass
            for sig in (signal.SIGTSTP, signal.SIGCONT):  # Textual set these; they outlive the app
                signal.signal(sig, signal.SIG_DFL)

    return DetachableDriver
