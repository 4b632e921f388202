"""Requests (2): a live tail of finished requests; this module keeps the widgets, the keys and when the
table changes.

Its parts: following, pausing and "+N new" (app/tui/request_follow.py); the new rows and the filter's
"of N" (app/tui/request_feed.py); the `/` filter (app/tui/request_filter.py, typed into a FilterBox); the
title (app/tui/request_title.py); the table (request_table.py) and its cells (request_rows.py); `enter`
opens app/tui/request_detail.py.

Each tick only the rows that arrived since the last tick are looked at and appended (beyond ROW_CAP the
oldest go in the same pass). The table is cleared and refilled only when the filter changes, on the first
fill, or when more than ROW_CAP rows arrive at once (a long-hidden screen, a long pause).
"""
from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding

from ..filter_box import FilterBox
from ..live_tail import LiveTail
from ..request_detail import RequestDetail, zone
from ..request_feed import RequestFeed
from ..request_filter import make_matcher
from ..request_follow import FollowState
from ..request_title import requests_title
from ..titled_frame import TitledFrame
from .base import LiveScreen
from .request_rows import NARROW, row_cells
from .request_table import RequestTable

ROW_CAP = 1000  # rows the table holds at most (the console keeps more in state.requests)


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
        self._feed = RequestFeed()  # new rows, the filter's predicate and its "of N"
        self._follow = FollowState()  # following, paused, "+N new"
        self._filter_text = ""
        self._primed = False
        self._short = False  # short model names (narrow terminal)
        self._ready = False
        self._title: Text | None = None

    # -- layout --------------------------------------------------------------------------------
    def compose_body(self) -> ComposeResult:
        # the border and its titles are the frame's: a plain table paints its lines as they are (LiveTail)
        with TitledFrame(id="requests-frame"):
            yield RequestTable(id="requests-table", zebra_stripes=True)
        yield FilterBox(self.set_filter, placeholder="filter: key, team, model, provider, status — !text inverts; "
                        "enter applies, esc clears", id="requests-filter")

    def on_mount(self) -> None:
        table = self.table
        self.frame.border_subtitle = "/ filter · space pause · G follow · ⏎ detail · y copy id"
        table.add_columns()
        self.watch(table, "scroll_y", self._on_scroll_y, init=False)
        self._short = self.app.size.width < NARROW
        table.focus()
        self._ready = True
        self.refresh_data(self.state)

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
        return self._follow.paused

    @property
    def pending(self) -> int:
        """Matching rows collected while paused, not yet in the table ("+N new")."""
        return self._follow.unseen

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
                self._set_formatter()
                self.table.refill()

    # -- data ------------------------------------------------------------------------------------
    def refresh_data(self, state) -> None:
        if not self._ready:  # the poller can fire between the mode switch and on_mount
            return
        rows = state.requests
        if self._feed.restarted(rows):  # the source restarted: start over
            self._reset()
        matched = self._feed.take(rows)
        if not self._primed:  # first data: fill from everything collected so far
            self._primed = True
            self._rebuild()
        elif self.paused:
            self._follow.missed(len(matched))
        elif self._follow.unseen:
            self._catch_up()
        elif matched:
            self._append(matched)
        self._update_title()

    def _reset(self) -> None:
        self._feed.reset()
        self._follow.caught_up()
        self._primed = False

    def _set_formatter(self) -> None:
        state = self.state
        tz, money, short = zone(state.overview.get("timezone")), state.money, self._short
        self.table.formatter = lambda r: row_cells(r, tz, money, short)  # run only for rows that get drawn

    def _add_rows(self, rows: list[dict], cap: int | None = None) -> None:
        self._set_formatter()
        self.table.add_requests(rows, cap)

    def _append(self, matched: list[dict]) -> None:
        """Append the rows (oldest first), evict the oldest beyond ROW_CAP, follow the newest."""
        if len(matched) >= ROW_CAP:  # more than a screenful of history at once: start over
            self._rebuild()
            return
        self._add_rows(matched, cap=ROW_CAP)
        self._feed.shown_seq = self._feed.last_seq
        self.table.to_end()

    def _catch_up(self) -> None:
        """After a pause: append every matching row that arrived meanwhile (the cap still applies)."""
        fresh = self._feed.newest(self.state.requests, ROW_CAP, after=self._feed.shown_seq)
        self._follow.caught_up()
        self._append(fresh)

    def _rebuild(self, keep: int = ROW_CAP) -> None:
        """Clear the table and show the newest `keep` matching rows (filter change, cap eviction)."""
        rows = self._feed.newest(self.state.requests, keep)
        self.table.empty()
        self._add_rows(rows)
        self._feed.shown_seq = self._feed.last_seq
        self._follow.caught_up()
        self.table.to_end()

    # -- tail control ----------------------------------------------------------------------------
    def _on_scroll_y(self, old: float, new: float) -> None:
        table = self.table
        if table.clearing:  # table.empty() jumps to the top: not the user scrolling
            return
        if new < old and new < table.max_scroll_y - 0.5 and self._follow.leave():  # the user scrolled up
            self._update_title()
            self._update_header()

    @on(LiveTail.RowHighlighted, "#requests-table")
    def _on_highlight(self, event: LiveTail.RowHighlighted) -> None:
        table = self.table
        if not table.row_count:
            return
        on_last = table.cursor_row >= table.row_count - 1  # current cursor, not the (maybe stale) event's
        if not on_last:
            if self._follow.leave():
                self._update_title()
                self._update_header()
        elif self._follow.back_on_newest():
            self._resume()

    def _resume(self) -> None:
        if self._follow.resume():  # rows arrived while paused
            self._catch_up()
        else:
            self.table.to_end()
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
            self._follow.hold()
            self._update_title()
            self._update_header()

    # -- filter ----------------------------------------------------------------------------------
    @property
    def filter_box(self) -> FilterBox:
        return self.query_one("#requests-filter", FilterBox)

    def action_open_filter(self) -> None:
        self.filter_box.open(self._filter_text)

    def filtering(self) -> bool:
        return bool(self._filter_text) or super().filtering()

    def action_clear_filter(self) -> None:
        self.filter_box.close()
        if self._filter_text:
            self.set_filter("")
        self.table.focus()

    @on(FilterBox.Submitted, "#requests-filter")
    def _on_filter_submitted(self) -> None:  # the box applied the filter and closed
        self.table.focus()

    def set_filter(self, text: str) -> None:
        """Apply a filter (`!` inverts); rebuilds the table once and follows the newest match."""
        text = text.strip()
        if text == self._filter_text:
            return
        self._filter_text = text
        self._feed.refilter(self.state.requests, make_matcher(text))
        self._follow.following = True
        self._primed = True
        self._rebuild()
        self._update_title()
        self._update_header()

    # -- drill-down, copy ----------------------------------------------------------------------
    @on(LiveTail.RowSelected, "#requests-table")
    def _on_selected(self, event: LiveTail.RowSelected) -> None:
        row = self.table.request(event.row_key)
        if row is not None:
            self.app.push_screen(RequestDetail(row, self.state))

    def action_copy_id(self) -> None:
        row = self.table.request(self.table.cursor_key)
        if row is None:
            return
        self.app.copy_to_clipboard(row["id"])
        self.notify(f"copied {row['id']}", timeout=2)

    # -- titles --------------------------------------------------------------------------------
    def _update_title(self) -> None:
        feed = self._feed
        title = requests_title(shown=self.table.row_count, held=len(self.state.requests),
                               matching=None if feed.match is None else feed.matched,
                               filter_text=self._filter_text, paused=self.paused, unseen=self._follow.unseen)
        if title != self._title:  # unchanged titles cost no repaint
            self._title = title
            self.frame.set_title(title)

    def _update_header(self) -> None:
        """Show/hide the PAUSED badge now rather than at the next poll."""
        header = self.query_one_optional("#status-header")
        if header is not None:
            header.show(self.state, self.app.badges())
