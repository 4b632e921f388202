"""TailRows: the rows of a LiveTail (app/tui/live_tail.py) without the widget: columns, row keys, the items
rows were added with, their cells. No Textual here; the widget draws, scrolls and holds the cursor.

- appending a row is two list appends and one dict entry; rows added as (key, item) pairs are turned into
  cells (by the table's formatter) only when first read, so a burst of 250 rows formats about the 40
  that are drawn;
- every row gets the next sequence number: rows are in sequence order without gaps, so a row's index is
  its number minus the first row's, and the number survives eviction (zebra striping follows it, so
  evicting old rows repaints none of the rows that stay);
- evicting the oldest rows is two slice deletions and one dict removal a row; the cells of evicted rows
  are pruned in one pass once more than a screenful is cached (`prune`);
- column widths grow to fit the cells made so far (like DataTable's auto width).
"""
from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text

from .tail_cell import TailCell


@dataclass(slots=True)
class TailColumn:
    key: str
    label: Text
    width: int  # cells: the widest of the label and every cell made so far


class TailRows:
    """Columns and rows, oldest row first; each row a key, an item (None for a row added as cells) and,
    once made, its cells."""

    def __init__(self) -> None:
        self.columns: list[TailColumn] = []
        self.keys: list[str] = []  # row keys, oldest first
        self.items: list = []  # the row's item, aligned with keys (None for rows added as cells)
        self.seq: dict[str, int] = {}  # row key -> sequence number (zebra parity survives eviction)
        self.first_seq = 0  # sequence number of keys[0]: a row's index is its seq minus this
        self.next_seq = 0
        self.cells: dict[str, tuple] = {}  # row key -> cells, built on first use for items

    def __len__(self) -> int:
        return len(self.keys)

    def __contains__(self, key: object) -> bool:
        return key in self.seq

    def add_column(self, label: str, key: str | None = None) -> str:
        text = Text(label)
        self.columns.append(TailColumn(key or label, text, text.cell_len))
        return key or label

    def extend(self, pairs) -> None:
        """Append (key, item) rows; this loop runs for every request the console sees. A key already
        present raises ValueError (the rows before it stay added)."""
        keys, items, seq = self.keys, self.items, self.seq
        n = self.next_seq
        try:
            for key, item in pairs:
                if key in seq:
                    raise ValueError(f"duplicate row key {key!r}")
                keys.append(key)
                items.append(item)
                seq[key] = n
                n += 1
        finally:
            self.next_seq = n

    def set_cells(self, key: str, cells) -> bool:
        """Give row `key` these cells (TailCell, rich Text or str, which becomes a TailCell); True if a
        column grew to fit them."""
        made = self.cells[key] = tuple(c if isinstance(c, (TailCell, Text)) else TailCell(str(c)) for c in cells)
        return self.fit(made)

    def row_cells(self, key: str, formatter) -> tuple[tuple, bool]:
        """Row `key`'s cells, made by `formatter(item)` on first use, and whether making them widened a
        column (lines drawn before were narrower)."""
        cells = self.cells.get(key)
        if cells is not None:
            return cells, False
        cells = self.cells[key] = tuple(formatter(self.item(key)))
        return cells, self.fit(cells)

    def fit(self, cells: tuple) -> bool:
        """Widen columns to fit `cells`; True if any grew."""
        wider = False
        for column, cell in zip(self.columns, cells):
            width = cell.cell_len
            if width > column.width:
                column.width, wider = width, True
        return wider

    def index(self, key: str) -> int:
        """Row `key`'s position, oldest first; KeyError if absent."""
        return self.seq[key] - self.first_seq  # rows are in sequence order, without gaps

    def item(self, key: str):
        """The item a row was added with, or None for a row added as cells; KeyError if absent."""
        return self.items[self.seq[key] - self.first_seq]

    def drop(self, n: int) -> int:
        """Remove the first `n` rows in one pass; how many were removed. Their cells stay until `prune`."""
        n = min(n, len(self.keys))
        seq = self.seq
        for key in self.keys[:n]:
            del seq[key]
        del self.keys[:n], self.items[:n]
        self.first_seq += n
        return n

    def prune(self, most: int) -> bool:
        """With more than `most` rows' cells cached (some rows are gone), forget those of removed rows in
        one pass; True if it did."""
        if len(self.cells) <= most:
            return False
        seq = self.seq
        self.cells = {key: cells for key, cells in self.cells.items() if key in seq}
        return True

    def clear(self, columns: bool = False) -> None:
        """Remove every row (and every column if `columns`); sequence numbers go on from where they were."""
        self.keys.clear()
        self.items.clear()
        self.cells.clear()
        self.seq.clear()
        self.first_seq = self.next_seq
        if columns:
            self.columns.clear()
