"""What the Requests tail takes from the requests the console collected. No Textual here.

`state.requests` holds the newest finished requests, oldest first, each with a rising `seq`. Each tick
the tail looks only at the rows above the last seq it saw, walking back from the newest, and keeps
"of N" (how many of the collected rows match the filter) exact without rescanning: one match flag per
collected row, the oldest dropped as the collection drops its oldest rows.
"""
from __future__ import annotations

from collections import deque
from typing import Callable

Match = Callable[[dict], bool]


class RequestFeed:
    """The tail's place in the collected requests and its filter's count."""

    def __init__(self) -> None:
        self.match: Match | None = None  # the `/` filter's predicate (None: every row)
        self.last_seq = 0  # newest request looked at
        self.shown_seq = 0  # newest request appended to the table
        self.flags: deque[bool] = deque()  # match flag per collected row (for "of N")
        self.matched = 0  # how many flags are True

    def restarted(self, rows) -> bool:
        """The source started over (its newest seq is below one already seen)."""
        return bool(rows) and rows[-1].get("seq", 0) < self.last_seq

    def reset(self) -> None:
        self.last_seq = self.shown_seq = 0
        self.flags.clear()
        self.matched = 0

    def take(self, rows) -> list[dict]:
        """The matching rows above the last seq seen, oldest first; counts the new rows."""
        new = self._take_new(rows)
        match = self.match
        matched = new if match is None else [r for r in new if match(r)]
        self._count(rows, new, matched)
        return matched

    def _take_new(self, rows) -> list[dict]:
        """Rows with seq above the last one seen, oldest first (walks back from the newest only)."""
        last = self.last_seq
        out = []
        for r in reversed(rows):
            if r.get("seq", 0) <= last:
                break
            out.append(r)
        if out:
            out.reverse()
            self.last_seq = out[-1].get("seq", last)
        return out

    def _count(self, rows, new: list[dict], matched: list[dict]) -> None:
        """Keep "of N" (matching rows among those collected) exact without rescanning."""
        flags = self.flags
        if self.match is None:
            flags.extend(True for _ in new)
        else:
            ids = {id(r) for r in matched}
            flags.extend(id(r) in ids for r in new)
        self.matched += len(matched)
        while len(flags) > len(rows):
            if flags.popleft():
                self.matched -= 1

    def refilter(self, rows, match: Match | None) -> None:
        """A new filter: recompute the match flags over everything collected (once, not per tick)."""
        self.match = match
        self.flags = deque(True for _ in rows) if match is None else deque(match(r) for r in rows)
        self.matched = sum(self.flags)
        self.last_seq = rows[-1].get("seq", 0) if rows else self.last_seq

    def newest(self, rows, keep: int, after: int | None = None) -> list[dict]:
        """The newest `keep` matching rows (above seq `after`, when given), oldest first."""
        match = self.match
        out = []
        for r in reversed(rows):
            if after is not None and r.get("seq", 0) <= after:
                break
            if match is None or match(r):
                out.append(r)
                if len(out) >= keep:
                    break
        out.reverse()
        return out
