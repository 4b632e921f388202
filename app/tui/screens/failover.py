"""Failover (4): the feed of failovers and circuit-breaker changes, oldest at the top, following the
newest like a tail (move the cursor up to stop following; `G`/`end` follows again).

Severity colours: a circuit going open/bad is red, half-open yellow, closed green; a failover is
yellow. Above the feed, one line lists every circuit that is not closed right now. `enter` on a
failover opens its request (when it is still in the console's window); `y` copies the request id.
"""
from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Static

from ..request_detail import RequestDetail, local_time, zone
from ..tail_table import TailTable
from ..widgets import cursor_row_key
from ..state import REQUEST_ROWS
from .base import LiveScreen

ROW_CAP = 1000  # state.events holds at most this many too


def severity(event: dict) -> str:
    if event.get("kind") == "breaker":
        to = str(event.get("to") or "")
        if to in ("open", "bad"):
            return "red"
        if "half" in to:
            return "yellow"
        return "green"
    return "yellow"


class FailoverTable(TailTable):
    BINDINGS = [
        Binding("end", "screen.follow", "Follow", show=False, id="failover-follow-end"),
        Binding("enter", "select_cursor", "Request", id="failover-open-request"),
    ]


class FailoverScreen(LiveScreen):
    TITLE = "Failover"
    DEFAULT_CSS = """
    FailoverScreen #failover-circuits { height: auto; max-height: 3; padding: 0 1; }
    FailoverScreen FailoverTable { height: 1fr; border: round $primary; }
    FailoverScreen FailoverTable:focus { border: round $accent; }
    """
    BINDINGS = [
        Binding("G", "follow", "Follow", id="failover-follow"),
        Binding("y", "copy_id", "Copy request id", id="failover-copy-id"),
    ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._last_seq = 0
        self._events: dict[str, dict] = {}  # row key -> event, in table order
        self._counts = {"failover": 0, "breaker": 0}
        self._circuits_text: Text | None = None
        self._ready = False

    def compose_body(self) -> ComposeResult:
        yield Static(id="failover-circuits")
        yield FailoverTable(id="failover-table", cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        table = self.table
        for label, key in (("time", "time"), ("kind", "kind"), ("key", "key"), ("from → to", "change"),
                           ("reason", "reason"), ("request", "request")):
            table.add_column(label, key=key)
        table.focus()
        self._ready = True
        self.refresh_data(self.state)

    @property
    def table(self) -> FailoverTable:
        return self.query_one("#failover-table", FailoverTable)

    # -- data ------------------------------------------------------------------------------------
    def refresh_data(self, state) -> None:
        if not self._ready:  # the poller can fire between the mode switch and on_mount
            return
        self._show_circuits(state)
        events = state.events
        if events and events[-1].get("seq", 0) < self._last_seq:  # the source restarted
            self._last_seq = 0
            self._clear()
        new = []
        for e in reversed(events):
            if e.get("seq", 0) <= self._last_seq:
                break
            new.append(e)
        if not new:
            if self.table.border_title is None:
                self._update_title()
            return
        new.reverse()
        self._last_seq = new[-1].get("seq", self._last_seq)
        table = self.table
        follow = table.row_count == 0 or table.cursor_row >= table.row_count - 1
        if table.row_count + len(new) > ROW_CAP:  # rare: rebuild from the newest events kept
            self._clear()
            new = list(events)[-ROW_CAP:]
        tz = zone(state.overview.get("timezone"))
        for e in new:
            key = f"ev-{e.get('seq')}"
            if key in self._events:
                continue
            self._events[key] = e
            kind = "breaker" if e.get("kind") == "breaker" else "failover"
            self._counts[kind] += 1
            table.add_row(*self._cells(e, tz), key=key)
        if follow:
            table.move_cursor(row=table.row_count - 1, animate=False)
        self._update_title()

    def _clear(self) -> None:
        self.table.clear()
        self._events.clear()
        self._counts = {"failover": 0, "breaker": 0}

    @staticmethod
    def _cells(e: dict, tz) -> tuple:
        style = severity(e)
        if e.get("kind") == "breaker":
            kind = Text("circuit", style=style)
            who = Text(f"{e.get('provider')}/{e.get('key')}")
        else:
            kind = Text("failover", style=style)
            who = Text(str(e.get("key") or "–"))
        change = Text(f"{e.get('from') or '–'} → {e.get('to') or '–'}", style=style)
        return (Text(local_time(e.get("at"), tz)), kind, who, change, Text(str(e.get("reason") or "")),
                Text(str(e.get("request_id") or ""), style="dim"))

    def _show_circuits(self, state) -> None:
        bad = []
        for p in state.overview.get("providers") or []:
            for c in p.get("circuits") or []:
                if c.get("state") not in (None, "closed"):
                    bad.append(c)
        if not bad:
            text = Text("all circuits closed", style="green")
        else:
            text = Text("not closed: ", style="bold")
            for i, c in enumerate(bad):
                if i:
                    text.append(" · ")
                state_ = str(c.get("state"))
                text.append(f"{c.get('provider')}/{c.get('key')} {state_}",
                            style="yellow" if "half" in state_ else "red")
                if c.get("retry_in_s"):
                    text.append(f" (retry in {c['retry_in_s']:.0f}s)", style="dim")
                if c.get("last_error"):
                    text.append(f" {c['last_error']}", style="dim")
        if text != self._circuits_text:
            self._circuits_text = text
            self.query_one("#failover-circuits", Static).update(text)

    def _update_title(self) -> None:
        n = len(self._events)
        title = Text("Failover [4]", style="bold")
        title.append(f"  {n:,} event{'s' if n != 1 else ''}")
        title.append(f"  {self._counts['failover']:,} failovers", style="yellow")
        title.append(f"  {self._counts['breaker']:,} circuit changes")
        self.table.border_title = title
        self.table.border_subtitle = "G follow · ⏎ request · y copy id"

    # -- actions ---------------------------------------------------------------------------------
    def action_follow(self) -> None:
        table = self.table
        if table.row_count:
            table.move_cursor(row=table.row_count - 1, animate=False)

    def _current(self) -> dict | None:
        key = cursor_row_key(self.table)
        return self._events.get(key) if key is not None else None

    @on(DataTable.RowSelected, "#failover-table")
    def _on_selected(self, event: DataTable.RowSelected) -> None:
        e = self._events.get(event.row_key.value)
        rid = e and e.get("request_id")
        if not rid:
            return
        row = next((r for r in reversed(self.state.requests) if r.get("id") == rid), None)
        if row is None:
            self.notify(f"{rid} is not among the console's requests: still in flight, or older than the last "
                        f"{REQUEST_ROWS:,} (see `bifrost-tui logs`)", timeout=5)
            return
        self.app.push_screen(RequestDetail(row, self.state))

    def action_copy_id(self) -> None:
        e = self._current()
        rid = e and e.get("request_id")
        if rid:
            self.app.copy_to_clipboard(rid)
            self.notify(f"copied {rid}", timeout=2)
