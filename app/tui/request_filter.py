"""The Requests tail's `/` filter: the typed text as a predicate over a request row. No Textual here: the
screen keeps the input box and its typing delay."""
from __future__ import annotations

from typing import Callable

# the row's fields the filter looks in (joined with NUL so a needle never spans two of them)
FIELDS = ("key", "team", "requested_model", "served_model", "provider", "status", "error_type")


def make_matcher(text: str) -> Callable[[dict], bool] | None:
    """A predicate for the `/` filter: case-insensitive substring over key, team, models, provider,
    status and error type; a leading `!` inverts. None when the filter is empty."""
    text = text.strip()
    invert = text.startswith("!")
    needle = text[1:].strip().lower() if invert else text.lower()
    if not needle:
        return None

    def match(row: dict) -> bool:
        hay = "\x00".join(str(row.get(f) or "") for f in FIELDS).lower()
        return (needle in hay) != invert
    return match
