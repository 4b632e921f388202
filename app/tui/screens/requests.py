"""Requests (2): a live tail of finished requests.

Tail semantics (toolong / k9s / memray):
- the table follows new rows by default (the cursor sits on the newest row);
- moving the cursor off the last row or scrolling up pauses the VIEW: the table stops changing and its
  title counts the rows that arrived meanwhile ("+N new"); moving back onto the last row resumes;
- `end` / `G` resume following at once; `space` toggles an explicit pause (only `space`, `end` or `G`
  undo it);
- pausing never stops collection: the app's poller keeps filling `state.requests`; on resume every
  missed row is appended (up to the row cap).

Cost: each tick only the rows that arrived since the last tick are looked at and appended to a
LiveTail (a list append per row; only the visible lines are drawn, from a per-row cache); beyond ROW_CAP
exactly the excess oldest rows are evicted in one pass (`LiveTail.add_items(cap=)`), so a full table keeps
its size and a tick costs no layout pass, only a repaint of the table. The table is cleared and refilled
only when the filter changes, on the first fill, or when more than ROW_CAP rows arrive at once (a
long-hidden screen, a long pause). The border and its title (the tail's state, updated every tick) belong
to a frame around the table, so the table's box stays plain and LiveTail paints its cached lines as they are.
"""
from __future__ import annotations

from collections import deque

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Input

from ..request_detail import RequestDetail, zone
from ..live_tail import LiveTail
from ..titled_frame import TitledFrame
from .base import LiveScreen
from .request_rows import COLUMNS, NARROW, make_matcher, row_cells

ROW_CAP = 1000  # rows the table holds at most (the console keeps more in state.requests)
FILTER_DELAY = 0.15  # seconds of typing quiet before the filter applies (enter applies at once)


class RequestTable(LiveTail):
    """The requests table: `end` resumes following (instead of scrolling to the last column)."""

    BINDINGS = [
        Binding("end", "screen.follow", "Follow", show=False, id="requests-follow-end"),
        Binding("enter", "select_cursor", "Detail", id="requests-detail"),
    ]


class RequestsScreen(LiveScreen):
    TITLE = "Requests"
    FILTER_BOX = "requests-filter"
    DEFAULT_CSS = """
    RequestsScreen #requests-frame { height: 1fr; border: round $primary; background: $surface; }
    RequestsScreen #requests-frame:focus-within { border: round $accent; }
    RequestsScreen RequestTable { height: 1fr; }
    RequestsScreen #requests-filter { height: 1; border: none; padding: 0 1; display: none; background: $boost; }
    RequestsScreen #requests-filter.-open { display: block; }
    """
    BINDINGS = [
        Binding("slash", "open_filter", "Filter", id="requests-filter"),
        Binding("space", "toggle_pause", "Pause", id="requests-pause"),
        Binding("G", "follow", "Follow", id="requests-follow"),
        Binding("y", "copy_id", "Copy id", id="requests-copy-id"),
        Binding("escape", "clear_filter", "Clear filter", show=False, id="requests-clear-filter"),
    ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._last_seq = 0  # newest request the screen has looked at
        self._shown_seq = 0  # newest request appended to the table
        self._unseen = 0  # matching rows collected while the view was paused ("+N new")
        self._hold = False  # explicit pause (space)
        self._following = True  # False once the user moved/scrolled away from the newest row
        self._filter_text = ""
        self._match = None
        self._flags: deque[bool] = deque()  # match flag per row of state.requests (for "of N")
        self._matched = 0
        self._filter_timer = None
        self._primed = False
        self._suppress_scroll = False
        self._short = False  # short model names (narrow terminal)
        self._ready = False
        self._title: Text | None = None

    # -- layout --------------------------------------------------------------------------------
    def compose_body(self) -> ComposeResult:
        # the border and its titles are the frame's: a plain table paints its lines as they are (LiveTail)
        with TitledFrame(id="requests-frame"):
            yield RequestTable(id="requests-table", zebra_stripes=True)
        yield Input(placeholder="filter: key, team, model, provider, status — !text inverts; enter applies, "
                                "esc clears", id="requests-filter")

    def on_mount(self) -> None:
        table = self.table
        self.frame.border_subtitle = "/ filter · space pause · G follow · ⏎ detail · y copy id"
        self._add_columns()
        self.watch(table, "scroll_y", self._on_scroll_y, init=False)
        self._short = self.app.size.width < NARROW
        table.focus()
        self._ready = True
        self.refresh_data(self.state)

    def _add_columns(self) -> None:
        for label, key in COLUMNS:
            self.table.add_column(label, key=key)

    def _clear_table(self) -> None:
        """Empty the table and reset column widths (widths only ever grow otherwise)."""
        table = self.table
        self._suppress_scroll = True  # clear() jumps to the top: not the user scrolling
        try:
            table.clear(columns=True)
            self._add_columns()
        finally:
            self._suppress_scroll = False

    @property
    def table(self) -> RequestTable:
        return self.query_one("#requests-table", RequestTable)

    @property
    def frame(self) -> TitledFrame:
        """The table's border, with the tail's state as its title."""
        return self.query_one("#requests-frame", TitledFrame)

    # -- public state ----------------------------------------------------------------------------
    @property
    def paused(self) -> bool:
        """True while the view is frozen (space, or the user moved off the newest row)."""
        return self._hold or not self._following

    @property
    def pending(self) -> int:
        """Matching rows collected while paused, not yet in the table ("+N new")."""
        return self._unseen

    @property
    def filter_text(self) -> str:
        return self._filter_text

    def on_screen_resume(self) -> None:  # the terminal may have been resized while hidden
        self.on_resize()

    def on_resize(self) -> None:
        if not self._ready:
            return
        short = self.app.size.width < NARROW
        if short != self._short:  # crossing the breakpoint re-renders the model cells (rare)
            self._short = short
            if self._primed:
                self._rebuild_keeping_view()

    def _rebuild_keeping_view(self) -> None:
        """Re-render the rows the table shows now (same rows, same cursor), e.g. after a resize."""
        table = self.table
        rows = table.items()
        cursor = table.cursor_row
        self._clear_table()
        self._add_rows(rows)
        if table.row_count:
            table.move_cursor(row=min(cursor, table.row_count - 1), animate=False)

    # -- data ------------------------------------------------------------------------------------
    def refresh_data(self, state) -> None:
        if not self._ready:  # the poller can fire between the mode switch and on_mount
            return
        rows = state.requests
        if rows and rows[-1].get("seq", 0) < self._last_seq:  # the source restarted: start over
            self._reset()
        new = self._take_new(rows)
        match = self._match
        matched = new if match is None else [r for r in new if match(r)]
        self._count(rows, new, matched)
        if not self._primed:  # first data: fill from everything collected so far
            self._primed = True
            self._rebuild()
        elif self.paused:
            self._unseen += len(matched)
        elif self._unseen:
            self._catch_up()
        elif matched:
            self._append(matched)
        self._update_title()

    def _take_new(self, rows) -> list[dict]:
        """Rows with seq above the last one seen, oldest first (walks back from the newest only)."""
        last = self._last_seq
        out = []
        for r in reversed(rows):
            if r.get("seq", 0) <= last:
                break
            out.append(r)
        if out:
            out.reverse()
            self._last_seq = out[-1].get("seq", last)
        return out

    def _count(self, rows, new, matched) -> None:
        """Keep "of N" (matching rows among those collected) exact without rescanning."""
        match = self._match
        flags = self._flags
        if match is None:
            flags.extend(True for _ in new)
        else:
            ids = {id(r) for r in matched}
            flags.extend(id(r) in ids for r in new)
        self._matched += len(matched)
        while len(flags) > len(rows):
            if flags.popleft():
                self._matched -= 1

    def _reset(self) -> None:
        self._last_seq = self._shown_seq = self._unseen = 0
        self._flags.clear()
        self._matched = 0
        self._primed = False

    def _add_rows(self, rows: list[dict], cap: int | None = None) -> None:
        table = self.table
        state = self.state
        tz, money, short = zone(state.overview.get("timezone")), state.money, self._short
        table.formatter = lambda r: row_cells(r, tz, money, short)  # run only for rows that get drawn
        fresh, seen = [], set()
        for r in rows:
            rid = r.get("id") or f"seq-{r.get('seq')}"
            if rid not in table and rid not in seen:  # the request id is the row key
                seen.add(rid)
                fresh.append((rid, r))
        table.add_items(fresh, cap=cap)

    def _append(self, matched: list[dict]) -> None:
        """Append the rows (oldest first), evict the oldest beyond ROW_CAP, follow the newest."""
        if len(matched) >= ROW_CAP:  # more than a screenful of history at once: start over
            self._rebuild()
            return
        self._add_rows(matched, cap=ROW_CAP)
        self._shown_seq = self._last_seq
        self._to_end()

    def _catch_up(self) -> None:
        """After a pause: append every matching row that arrived meanwhile (the cap still applies)."""
        match, shown = self._match, self._shown_seq
        fresh = []
        for r in reversed(self.state.requests):
            if r.get("seq", 0) <= shown:
                break
            if match is None or match(r):
                fresh.append(r)
                if len(fresh) >= ROW_CAP:
                    break
        fresh.reverse()
        self._unseen = 0
        self._append(fresh)

    def _rebuild(self, keep: int = ROW_CAP) -> None:
        """Clear the table and show the newest `keep` matching rows (filter change, cap eviction)."""
        match = self._match
        rows = []
        for r in reversed(self.state.requests):
            if match is None or match(r):
                rows.append(r)
                if len(rows) >= keep:
                    break
        rows.reverse()
        self._clear_table()
        self._add_rows(rows)
        self._shown_seq = self._last_seq
        self._unseen = 0
        self._to_end()

    def _recount(self) -> None:
        """Filter changed: recompute the match flags over everything collected (once, not per tick)."""
        match = self._match
        rows = self.state.requests
        self._flags = deque(True for _ in rows) if match is None else deque(match(r) for r in rows)
        self._matched = sum(self._flags)
        self._last_seq = rows[-1].get("seq", 0) if rows else self._last_seq

    def _to_end(self) -> None:
        table = self.table
        if table.row_count:
            table.move_cursor(row=table.row_count - 1, animate=False)

    # -- tail control ----------------------------------------------------------------------------
    def _on_scroll_y(self, old: float, new: float) -> None:
        table = self.table
        if self._suppress_scroll:
            return
        if new < old and new < table.max_scroll_y - 0.5 and self._following:  # the user scrolled up
            self._following = False
            self._update_title()
            self._update_header()

    @on(LiveTail.RowHighlighted, "#requests-table")
    def _on_highlight(self, event: LiveTail.RowHighlighted) -> None:
        table = self.table
        if not table.row_count:
            return
        on_last = table.cursor_row >= table.row_count - 1  # current cursor, not the (maybe stale) event's
        if not on_last and self._following:
            self._following = False
        elif on_last and not self._following and not self._hold:
            self._resume()
            return
        else:
            return
        self._update_title()
        self._update_header()

    def _resume(self) -> None:
        self._hold = False
        self._following = True
        if self._unseen:
            self._catch_up()
        else:
            self._to_end()
        self._update_title()
        self._update_header()

    def action_follow(self) -> None:
        """`end` / `G`: resume following the newest row (ends any pause)."""
        self._resume()

    def action_toggle_pause(self) -> None:
        """`space`: freeze the view (collection continues) or resume it."""
        if self.paused:
            self._resume()
        else:
            self._hold = True
            self._update_title()
            self._update_header()

    # -- filter ----------------------------------------------------------------------------------
    def action_open_filter(self) -> None:
        box = self.query_one("#requests-filter", Input)
        box.add_class("-open")
        box.value = self._filter_text
        box.focus()

    def _stop_filter_timer(self) -> None:
        if self._filter_timer is not None:
            self._filter_timer.stop()
            self._filter_timer = None

    def filtering(self) -> bool:
        return bool(self._filter_text) or super().filtering()

    def action_clear_filter(self) -> None:
        self._stop_filter_timer()
        box = self.query_one("#requests-filter", Input)
        if box.has_class("-open"):
            box.remove_class("-open")
            box.value = ""
        if self._filter_text:
            self.set_filter("")
        self.table.focus()

    @on(Input.Changed, "#requests-filter")
    def _on_filter_changed(self, event: Input.Changed) -> None:
        self._stop_filter_timer()
        value = event.value
        self._filter_timer = self.set_timer(FILTER_DELAY, lambda: self.set_filter(value))

    @on(Input.Submitted, "#requests-filter")
    def _on_filter_submitted(self, event: Input.Submitted) -> None:
        self._stop_filter_timer()
        self.set_filter(event.value)
        event.input.remove_class("-open")
        self.table.focus()

    def set_filter(self, text: str) -> None:
        """Apply a filter (`!` inverts); rebuilds the table once and follows the newest match."""
        text = text.strip()
        if text == self._filter_text:
            return
        self._filter_text = text
        self._match = make_matcher(text)
        self._recount()
        self._following = True
        self._primed = True
        self._rebuild()
        self._update_title()
        self._update_header()

    # -- drill-down, copy ----------------------------------------------------------------------
    def _current_row(self) -> dict | None:
        key = self.table.cursor_key
        return self.table.item(key) if key is not None else None

    @on(LiveTail.RowSelected, "#requests-table")
    def _on_selected(self, event: LiveTail.RowSelected) -> None:
        row = self.table.item(event.row_key) if event.row_key in self.table else None
        if row is not None:
            self.app.push_screen(RequestDetail(row, self.state))

    def action_copy_id(self) -> None:
        row = self._current_row()
        if row is None:
            return
        self.app.copy_to_clipboard(row["id"])
        self.notify(f"copied {row['id']}", timeout=2)

    # -- titles --------------------------------------------------------------------------------
    def _update_title(self) -> None:
        table = self.table
        held = len(self.state.requests)
        title = Text("Requests [2]", style="bold")
        if self._match is None:
            title.append(f"  showing {table.row_count:,} of {held:,}")
        else:  # the rows shown (capped), of those matching, of all the console holds
            title.append(f"  showing {table.row_count:,} of {self._matched:,} matching (of {held:,})")
        if self._filter_text:
            title.append("  filter ")
            title.append(self._filter_text, style="bold yellow")
        if self.paused:
            title.append("  PAUSED", style="bold reverse")
            if self._unseen:
                title.append(f" +{self._unseen:,} new", style="bold yellow")
        else:
            title.append("  following", style="green")
        if title != self._title:  # unchanged titles cost no repaint
            self._title = title
            self.frame.set_title(title)

    def _update_header(self) -> None:
        """Show/hide the PAUSED badge now rather than at the next poll."""
        header = self.query_one_optional("#status-header")
        if header is not None:
            header.show(self.state, self.app.badges())
