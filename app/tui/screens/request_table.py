"""The Requests tail's table: a LiveTail of finished requests keyed by request id, with the columns of
request_rows.py. The screen sets its `formatter` (a row's cells) and decides what it shows.

Cost: appending a row is a list append (only the visible lines are drawn, from a per-row cache); beyond
the screen's cap exactly the excess oldest rows are evicted in one pass (`LiveTail.add_items(cap=)`), so a
full table keeps its size and a tick costs no layout pass, only a repaint of the table. The border and its
title (the tail's state, updated every tick) belong to a frame around the table, so the table's box stays
plain and LiveTail paints its cached lines as they are.
"""
from __future__ import annotations

from textual.binding import Binding

from ..live_tail import LiveTail
from .request_rows import COLUMNS


class RequestTable(LiveTail):
    """The requests table: `end` resumes following (instead of scrolling to the last column)."""

    BINDINGS = [
        Binding("end", "screen.follow", "Follow", show=False, id="requests-follow-end"),
        Binding("enter", "select_cursor", "Detail", id="requests-detail"),
    ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.clearing = False  # True while empty() runs: its jump to the top is not the user scrolling

    def add_columns(self) -> None:
        for label, key in COLUMNS:
            self.add_column(label, key=key)

    def empty(self) -> None:
        """Drop every row and reset column widths (widths only ever grow otherwise)."""
        self.clearing = True
        try:
            self.clear(columns=True)
            self.add_columns()
        finally:
            self.clearing = False

    def add_requests(self, rows: list[dict], cap: int | None = None) -> None:
        """Append the rows not shown yet (the request id is the row key), then keep the newest `cap`."""
        fresh, seen = [], set()
        for r in rows:
            rid = r.get("id") or f"seq-{r.get('seq')}"
            if rid not in self and rid not in seen:
                seen.add(rid)
                fresh.append((rid, r))
        self.add_items(fresh, cap=cap)

    def refill(self) -> None:
        """Add the rows shown now again (same rows, same cursor), e.g. after the screen changed the
        formatter (the terminal crossed the narrow breakpoint)."""
        rows, cursor = self.items(), self.cursor_row
        self.empty()
        self.add_requests(rows)
        if self.row_count:
            self.move_cursor(row=min(cursor, self.row_count - 1), animate=False)

    def request(self, key: str | None) -> dict | None:
        """The request shown in row `key` (None when no row has that key)."""
        return self.item(key) if key is not None and key in self else None

    def to_end(self) -> None:
        if self.row_count:
            self.move_cursor(row=self.row_count - 1, animate=False)
