"""Budgets (3): every customer, team, key and provider budget as a burn-down row.

Rows are grouped by level (customers → teams → keys, then providers), each group under a header row.
A row shows the entity, the period, a burn-down bar (green < 75 %, yellow < 90 %, red ≥ 90 %, an
EXHAUSTED block from 100 %), spent / limit and what is left in the display currency, when the window
resets (local time) or "rolling 5h", the burn rate per day and, at this rate, when it runs out (the rule
is in app/core/budget_status.py: the last hour's spend, else the window average). A budget that refused
requests in the last hour is "blocking": its name is red, the outlook says "blocking: N refused", the
title counts it, and sorting by % used puts it first. The line under the table spells out the highlighted
budget with exact amounts.

Keys: `/` filters by entity (`!` inverts, `esc` clears), `s` sorts each group by % used (again: by name).

Cost: row keys are stable ("level:entity:period", ":rolling" appended for rolling windows). Each poll
only budgets whose dict changed are re-rendered, and only cells whose content changed are written with
`DataTable.update_cell` (no per-tick rebuild, no width recomputation: column widths are fixed by the
layout). The table is rebuilt only when the layout changes (terminal resize, longer entity names) or the
filter changes; budgets that appear or disappear are added/removed one by one. Cells are written so they
rarely change (budget_rows.py: compact amounts, coarse drifting values): Textual's DataTable drops its
whole render cache on any update_cell, so every changed cell costs a repaint of all visible rows (~25 ms
at 120×40, ~10 ms at 80×24), at most once per budgets poll (~2 s). Column widths: budget_layout.py.
"""
from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Input, Static

from .base import LiveScreen
from .budget_layout import Layout, compute_layout
from .budget_rows import (Context, KeyedText, detail_text, group_cells, group_key, group_summary, make_matcher,
                          period_text, refused, row_cells, row_key, same_cell)

LEVELS = (("customer", "Customers"), ("team", "Teams"), ("key", "Keys"), ("provider", "Providers"))
LEVEL_RANK = {level: i for i, (level, _) in enumerate(LEVELS)}
PERIOD_RANK = {"d": 0, "w": 1, "M": 2, "Y": 3}
FILTER_DELAY = 0.15  # seconds of typing quiet before the filter applies (enter applies at once)
INCREMENTAL_LIMIT = 20  # more added/removed rows than this at once: clear and refill instead


def same_budget(old: dict | None, new: dict) -> bool:
    """Same numbers, ignoring `as_of` (the poll's own time, new every poll): nothing to re-render."""
    if old is None or len(old) != len(new):
        return False
    return all(k == "as_of" or (k in old and old[k] == v) for k, v in new.items())


class BudgetsScreen(LiveScreen):
    TITLE = "Budgets"
    NEEDS_BUDGETS = True
    FILTER_BOX = "budgets-filter"  # esc clears an open or applied filter first (base.LiveScreen.filtering)
    DEFAULT_CSS = """
    BudgetsScreen #budgets-table { height: 1fr; border: round $primary; scrollbar-size-vertical: 1; }
    BudgetsScreen #budgets-table:focus { border: round $accent; }
    BudgetsScreen #budgets-detail { height: auto; max-height: 4; padding: 0 1; color: $text; background: $boost; }
    BudgetsScreen #budgets-filter { dock: bottom; height: 1; border: none; padding: 0 1; display: none; }
    BudgetsScreen #budgets-filter.-open { display: block; }
    """
    BINDINGS = [
        Binding("slash", "open_filter", "Filter", id="budgets-filter"),
        Binding("s", "toggle_sort", "Sort % used", id="budgets-sort"),
        Binding("escape", "clear_filter", "Clear filter", show=False, id="budgets-clear-filter"),
    ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.sort_by_used = False
        self.filter_text = ""
        self._match = None
        self._budgets: dict[str, dict] = {}  # every budget of the last poll, by row key
        self._source_list = None  # the state.budgets list last looked at (identity: the poller replaces it)
        self._ctx: Context | None = None
        self._layout: Layout | None = None
        self._shown: dict[str, dict] = {}  # budget dict each visible row was rendered from
        self._cells: dict[str, tuple] = {}  # what each visible row shows (header rows too)
        self._order: list[str] = []  # row keys in table order
        self._seen: dict[str, int] = {}  # longest entity / period text so far, any rolling budget
        self._filter_timer = None
        self._detail_text: Text | None = None
        self._title: Text | None = None
        self.cell_writes = 0  # update_cell calls (tests and cost reports)
        self.rebuilds = 0  # full clears

    # -- layout ----------------------------------------------------------------------------------
    def compose_body(self) -> ComposeResult:
        yield DataTable(id="budgets-table", cursor_type="row", zebra_stripes=True)
        yield Static(id="budgets-detail")
        yield Input(placeholder="filter by entity — !text inverts; enter applies, esc clears", id="budgets-filter")

    def on_mount(self) -> None:
        self.table.focus()
        self._update_title()

    @property
    def table(self) -> DataTable:
        return self.query_one("#budgets-table", DataTable)

    def on_resize(self, event) -> None:
        if self._ctx is not None:
            self._sync(force_layout=True)

    # -- data ------------------------------------------------------------------------------------
    def refresh_data(self, state) -> None:
        ctx = Context(state.currency_symbol, state.per_usd, state.overview.get("timezone"))
        if state.budgets is self._source_list and ctx == self._ctx:
            return  # the poller refreshes budgets every ~2 s; in between there is nothing to do
        if state.budgets is not self._source_list:
            self._source_list = state.budgets
            self._budgets = {row_key(b): b for b in state.budgets}
        self._ctx = ctx
        self._sync()

    def _visible(self) -> list[tuple[str, list[str]]]:
        """[(level, [row keys in display order])] for the groups with rows that pass the filter."""
        match = self._match
        groups: dict[str, list[tuple]] = {}
        for key, b in self._budgets.items():
            if match is not None and not match(b):
                continue
            level = b.get("level", "")
            period = str(b.get("period", ""))
            name_order = (str(b.get("entity", "")).lower(), bool(b.get("rolling")),
                          PERIOD_RANK.get(period[-1:], 9), period)
            sort = ((not refused(b), -float(b.get("used_pct") or 0)) + name_order) if self.sort_by_used \
                else name_order
            groups.setdefault(level, []).append((sort, key))
        ordered = sorted(groups, key=lambda level: (LEVEL_RANK.get(level, len(LEVELS)), level))
        return [(level, [key for _, key in sorted(groups[level])]) for level in ordered]

    def _wanted_layout(self) -> Layout:
        """Column widths for the screen width and the names seen so far. The name-dependent widths only
        grow (a vanished or filtered-out long name does not re-layout the table)."""
        seen = self._seen
        for level, _ in LEVELS:
            seen["entity"] = max(seen.get("entity", 0), len(dict(LEVELS)[level]))
        for b in self._budgets.values():
            seen["entity"] = max(seen["entity"], len(str(b.get("entity", ""))))
            seen["period"] = max(seen.get("period", 0), len(period_text(b)))
            seen["rolling"] = seen.get("rolling", 0) or int(bool(b.get("rolling")))
        width = self.size.width or self.app.size.width
        return compute_layout(width, seen["entity"], seen.get("period", 0), bool(seen.get("rolling")),
                              self._ctx.symbol if self._ctx else "$")

    def _sync(self, force_layout: bool = False, rebuild: bool = False) -> None:
        """Bring the table in line with the budgets, the filter, the sort and the layout."""
        if self._ctx is None:
            return
        table = self.table
        layout = self._wanted_layout()
        if layout != self._layout:
            self._layout = layout
            rebuild = True
        elif force_layout and not rebuild:
            return  # a resize that keeps the layout: DataTable reflows by itself
        visible = self._visible()
        order: list[str] = []
        rows: dict[str, tuple] = {}
        for level, keys in visible:
            gkey = group_key(level)
            order.append(gkey)
            rows[gkey] = (level, len(keys))
            order.extend(keys)
        cursor_key = self._cursor_key()
        moved = rebuild
        if rebuild:
            self._rebuild(order, rows)
        else:
            self._update(order, rows)
        positions = {key: i for i, key in enumerate(order)}
        if order != self._order:
            table.sort("entity", key=lambda cell: positions.get(getattr(cell, "row_key", None), 0))
            self._order = order
            moved = True
        if moved and cursor_key in positions:  # keep the highlighted budget under the cursor
            table.move_cursor(row=positions[cursor_key], animate=False)
        self._update_title()
        self._update_detail()

    def _render_row(self, key: str, info) -> tuple:
        if key.startswith("group:"):
            level, _count = info
            cells = group_cells(dict(LEVELS).get(level, level), self._layout)
        else:
            cells = row_cells(self._budgets[key], self._layout, self._ctx)
        return (KeyedText(cells[0], key), *cells[1:])

    def _rebuild(self, order: list[str], rows: dict) -> None:
        """Columns and rows from scratch: first fill, resize across a layout change, filter change."""
        table = self.table
        layout = self._layout
        table.clear(columns=True)
        for column, width in zip(layout.columns, layout.widths):
            table.add_column(layout.header(column), key=column, width=width)
        self._cells.clear()
        self._shown.clear()
        for key in order:
            cells = self._render_row(key, rows.get(key))
            table.add_row(*cells, key=key)
            self._cells[key] = cells
            if key in self._budgets:
                self._shown[key] = self._budgets[key]
        self._order = list(order)
        self.rebuilds += 1

    def _update(self, order: list[str], rows: dict) -> None:
        """Per poll: add/remove rows that came or went; rewrite only the cells that changed."""
        table = self.table
        wanted = set(order)
        stale = [key for key in self._cells if key not in wanted]
        fresh = [key for key in order if key not in self._cells]
        if len(stale) + len(fresh) > INCREMENTAL_LIMIT:
            self._rebuild(order, rows)
            return
        for key in stale:
            table.remove_row(key)
            del self._cells[key]
            self._shown.pop(key, None)
        if stale:
            self._order = [key for key in self._order if key in wanted]
        for key in fresh:
            cells = self._render_row(key, rows.get(key))
            table.add_row(*cells, key=key)
            self._cells[key] = cells
            if key in self._budgets:
                self._shown[key] = self._budgets[key]
            self._order.append(key)
        columns = self._layout.columns
        for key in order:
            if key in fresh:
                continue
            if key in self._budgets:
                b = self._budgets[key]
                if same_budget(self._shown.get(key), b):
                    continue  # same budget numbers: nothing to render
                self._shown[key] = b
            cells = self._render_row(key, rows.get(key))
            old = self._cells[key]
            for i, column in enumerate(columns):
                if not same_cell(cells[i], old[i]):
                    table.update_cell(key, column, cells[i])
                    self.cell_writes += 1
            self._cells[key] = cells

    # -- cursor, detail, title -------------------------------------------------------------------
    def _cursor_key(self) -> str | None:
        table = self.table
        if not table.row_count:
            return None
        try:
            return table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        except Exception:
            return None

    @on(DataTable.RowHighlighted, "#budgets-table")
    def _on_highlight(self, event: DataTable.RowHighlighted) -> None:
        self._update_detail()

    def _update_detail(self) -> None:
        key = self._cursor_key()
        b = self._budgets.get(key) if key else None
        if b is not None:
            text = detail_text(b, self._ctx, self.state.money)
        elif key and key.startswith("group:"):
            level = key.split(":", 1)[1]
            members = [self._budgets[k] for k in self._order if k in self._budgets
                       and self._budgets[k].get("level") == level]
            text = group_summary(dict(LEVELS).get(level, level), members, self.state.money)
        else:
            text = Text("no budgets" if not self._budgets else "no budget matches the filter", style="dim")
        if text != self._detail_text:
            self._detail_text = text
            self.query_one("#budgets-detail", Static).update(text)

    def _update_title(self) -> None:
        shown = [self._budgets[k] for k in self._order if k in self._budgets]
        exhausted = sum(1 for b in shown if float(b.get("used_pct") or 0) >= 100)
        hot = sum(1 for b in shown if 90 <= float(b.get("used_pct") or 0) < 100)
        blocking = sum(1 for b in shown if refused(b))
        title = Text("Budgets [3]", style="bold")
        title.append(f"  {len(shown)} of {len(self._budgets)}" if self._match else f"  {len(shown)}")
        if blocking:
            title.append(f" · {blocking} blocking", style="bold red")
        if exhausted:
            title.append(f" · {exhausted} exhausted", style="bold red")
        if hot:
            title.append(f" · {hot} ≥90%", style="red")
        if self.filter_text:
            title.append("  filter ")
            title.append(self.filter_text, style="bold yellow")
        title.append("  sorted by % used" if self.sort_by_used else "  by name", style="dim")
        if title != self._title:
            self._title = title
            table = self.table
            table.border_title = title
            table.border_subtitle = "/ filter · s sort · esc clear"

    def select_name(self, name: str) -> None:
        """Highlight the first budget of `name` (palette / `:budgets NAME`)."""
        for i, key in enumerate(self._order):
            b = self._budgets.get(key)
            if b is not None and b.get("entity") == name:
                self.table.move_cursor(row=i, animate=False)
                return

    # -- sort and filter ---------------------------------------------------------------------------
    def action_toggle_sort(self) -> None:
        self.sort_by_used = not self.sort_by_used
        self._sync()

    def action_open_filter(self) -> None:
        box = self.query_one("#budgets-filter", Input)
        box.add_class("-open")
        box.value = self.filter_text
        box.focus()

    def action_clear_filter(self) -> None:
        box = self.query_one("#budgets-filter", Input)
        box.remove_class("-open")
        box.value = ""  # an applied filter keeps its text in the closed box: clear it, so the next esc goes back
        if self._filter_timer is not None:
            self._filter_timer.stop()
            self._filter_timer = None
        if self.filter_text:
            self.set_filter("")
        self.table.focus()

    @on(Input.Changed, "#budgets-filter")
    def _on_filter_changed(self, event: Input.Changed) -> None:
        if self._filter_timer is not None:
            self._filter_timer.stop()
        value = event.value
        self._filter_timer = self.set_timer(FILTER_DELAY, lambda: self.set_filter(value))

    @on(Input.Submitted, "#budgets-filter")
    def _on_filter_submitted(self, event: Input.Submitted) -> None:
        if self._filter_timer is not None:
            self._filter_timer.stop()
            self._filter_timer = None
        self.set_filter(event.value)
        event.input.remove_class("-open")
        self.table.focus()

    def set_filter(self, text: str) -> None:
        text = text.strip()
        if text == self.filter_text:
            return
        self.filter_text = text
        self._match = make_matcher(text)
        self._sync(rebuild=True)
