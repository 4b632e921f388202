"""Whether the Requests tail follows the newest row, and how many rows it missed while it did not.

Tail semantics (toolong / k9s / memray):
- the table follows new rows by default (the cursor sits on the newest row);
- moving the cursor off the last row or scrolling up pauses the VIEW: the table stops changing and its
  title counts the rows that arrived meanwhile ("+N new"); moving back onto the last row resumes;
- `end` / `G` resume following at once; `space` toggles an explicit pause (only `space`, `end` or `G`
  undo it);
- pausing never stops collection: the app's poller keeps filling `state.requests`; on resume every
  missed row is appended (up to the row cap).

No Textual here: the screen moves the cursor and redraws the title.
"""
from __future__ import annotations


class FollowState:
    def __init__(self) -> None:
        self.held = False  # explicit pause (space)
        self.following = True  # False once the user moved/scrolled away from the newest row
        self.unseen = 0  # matching rows collected while the view was paused ("+N new")

    @property
    def paused(self) -> bool:
        """True while the view is frozen (space, or the user moved off the newest row)."""
        return self.held or not self.following

    def leave(self) -> bool:
        """The user moved or scrolled off the newest row: pause the view. True when that paused it."""
        if not self.following:
            return False
        self.following = False
        return True

    def back_on_newest(self) -> bool:
        """The cursor is on the newest row again: True when that should resume (no explicit pause)."""
        return not self.following and not self.held

    def hold(self) -> None:
        """`space`: freeze the view until `space`, `end` or `G`."""
        self.held = True

    def resume(self) -> int:
        """End any pause; the rows missed meanwhile (the caller appends them, then calls `caught_up`)."""
        self.held = False
        self.following = True
        return self.unseen

    def missed(self, n: int) -> None:
        self.unseen += n

    def caught_up(self) -> None:
        self.unseen = 0
