"""CSV exports are opened in spreadsheets: a text cell that starts like a formula must stay text.

Model names, keys, errors and user agents in the log are the clients' and upstreams' text; a request for
model `=HYPERLINK(...)` would otherwise become a live formula in finance's spreadsheet. Such a cell gets a
leading apostrophe (the usual defence: shown as text, the apostrophe hidden). Numbers are never touched.
"""
from __future__ import annotations

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def inert(value):
    """`value` for a CSV cell: a string starting with = + - @ (or a tab or CR) prefixed with an apostrophe."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value
