"""Text that clients and upstreams chose, made safe to show on a terminal.

A model name, a served model or an upstream's error message is someone else's data. Written to the
operator's terminal as it is, "\\x1b]52;c;…\\x07" sets their clipboard and "\\x1b[2J" clears their screen.
`printable` swaps every control character (C0, DEL, C1) and the bidirectional overrides for a visible
stand-in of the same length (ESC becomes ␛, from Unicode's Control Pictures), so columns and rich span
offsets stay where they were. Other text comes back unchanged, and printable text costs one check.
"""
from __future__ import annotations

REPLACEMENT = "\ufffd"
_STAND_INS = {code: 0x2400 + code for code in range(0x20)}  # NUL..US -> ␀..␟
_STAND_INS[0x7F] = 0x2421  # DEL -> ␡
_STAND_INS.update({code: REPLACEMENT for code in range(0x80, 0xA0)})  # C1, e.g. CSI U+009B
_STAND_INS.update({code: REPLACEMENT for code in (*range(0x202A, 0x202F), *range(0x2066, 0x206A))})  # bidi


def printable(text: str) -> str:
    """`text` with control characters as visible stand-ins, one character for one."""
    return text if text.isprintable() else text.translate(_STAND_INS)


def first_control(text: str) -> str | None:
    """The first character `printable` would replace, as "U+001B", or None."""
    if text.isprintable():
        return None
    for char in text:
        if ord(char) in _STAND_INS:
            return f"U+{ord(char):04X}"
    return None


def printable_data(value):
    """JSON-shaped data (dicts, lists, tuples, strings) with every string, keys included, made printable.
    Data without a control character comes back as the same object: `repr` escapes exactly the characters
    `str.isprintable` rejects, so one C-speed repr rules out the walk (a backslash in the text only costs it)."""
    if "\\" not in repr(value):
        return value
    return _printable_walk(value)


def _printable_walk(value):
    if isinstance(value, str):
        return printable(value)
    if isinstance(value, dict):
        return {_printable_walk(k): _printable_walk(v) for k, v in value.items()}
    if type(value) in (list, tuple):
        return type(value)(_printable_walk(v) for v in value)
    return value
