"""Whether this process has a terminal for the console: Textual reads keys from stdin and draws on stdout.

Without one (a pipe, a file, /dev/null, systemd, cron) `bifrost-tui` and `bifrost-tui demo` run headless,
and `bifrost-tui attach`, which is nothing but a console, refuses: escape codes never go into a pipe or a
file, and a console that cannot read keys cannot be quit.
"""
from __future__ import annotations

import sys


class NoTerminal(Exception):
    """The console cannot run here; the message says which stream is not a terminal."""


def _is_terminal(stream) -> bool:
    try:
        return stream is not None and stream.isatty()
    except (ValueError, OSError):  # closed
        return False


def missing_terminal(stdin=None, stdout=None) -> str | None:
    """None when stdin and stdout are both terminals, else what is wrong ('stdin is not a terminal')."""
    streams = (("stdin", sys.stdin if stdin is None else stdin), ("stdout", sys.stdout if stdout is None else stdout))
    missing = [name for name, stream in streams if not _is_terminal(stream)]
    if not missing:
        return None
    return " and ".join(missing) + (" are" if len(missing) > 1 else " is") + " not a terminal"


def require_terminal() -> None:
    problem = missing_terminal()
    if problem:
        raise NoTerminal(f"no terminal for the console ({problem})")
