"""TailCell: one cell of a LiveTail row, text in one style, without building a rich Text.

A tail row is nine cells and the tail formats about a screenful of new rows every tick. LiveTail reads
five things of a cell (`plain`, `style`, `justify`, `cell_len`, `spans`); a rich Text answers them too,
but builds spans and strips control codes on construction and measures its width again on every read.
A TailCell makes its text printable (app/core/printable.py) and measures it once. Cells with several
styles in one cell stay rich Text (LiveTail draws both).
"""
from __future__ import annotations

from rich.cells import cell_len

from ..core.printable import printable


class TailCell:
    __slots__ = ("plain", "style", "justify", "cell_len")
    spans = ()  # one style for the whole cell

    def __init__(self, plain: str, style: str = "", justify: str = "left") -> None:
        self.plain = plain = printable(plain)
        self.style = style
        self.justify = justify
        self.cell_len = len(plain) if plain.isascii() else cell_len(plain)

    def __str__(self) -> str:
        return self.plain

    def __repr__(self) -> str:
        return f"TailCell({self.plain!r}, {self.style!r}, {self.justify!r})"
