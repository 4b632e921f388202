"""Budgets (3): every customer, team, key and provider budget as a burn-down row.

Rows are grouped by level (customers → teams → keys, then providers), each group under a header row.
A row shows the entity, the period, a burn-down bar (green < 75 %, yellow < 90 %, red ≥ 90 %, an
EXHAUSTED block from 100 %), spent / limit and what is left in the display currency, when the window
resets (local time) or "rolling 5h", the burn rate per day and, at this rate, when it runs out. The line
under the table spells out the highlighted budget with exact amounts.

Keys: `/` filters by entity (`!` inverts, `esc` clears), `s` sorts each group by % used (again: by name).

Cost: row keys are stable ("level:entity:period", ":rolling" appended for rolling windows). Each poll
only budgets whose dict changed are re-rendered, and only cells whose content changed are written with
`DataTable.update_cell` (no per-tick rebuild, no width recomputation: column widths are fixed by the
layout). The table is rebuilt only when the layout changes (terminal resize, longer entity names) or the
filter changes; budgets that appear or disappear are added/removed one by one. Amounts in the table are
compact (₹12,346 · ₹1.2M) so the columns never grow; the detail line has the exact figures. Values that
drift every poll just because time passes are shown coarsely (burn rate to 3 significant digits, the
projected run-out to the quarter hour): Textual's DataTable drops its whole render cache on any
update_cell, so every changed cell costs a repaint of all visible rows (~25 ms at 120×40, ~10 ms at
80×24), at most once per budgets poll (~2 s).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Input, Static

from ..widgets import bar
from .base import LiveScreen

LEVELS = (("customer", "Customers"), ("team", "Teams"), ("key", "Keys"), ("provider", "Providers"))
LEVEL_RANK = {level: i for i, (level, _) in enumerate(LEVELS)}
PERIOD_RANK = {"d": 0, "w": 1, "M": 2, "Y": 3}
FILTER_DELAY = 0.15  # seconds of typing quiet before the filter applies (enter applies at once)
NARROW_BELOW = 100  # table content width under which the burn-rate columns are dropped
EXHAUSTED = "EXHAUSTED"
INCREMENTAL_LIMIT = 20  # more added/removed rows than this at once: clear and refill instead

# column key -> header
HEADERS = {"entity": "Entity", "period": "Period", "used": "Used", "spent": "Spent / Limit",
           "remaining": "Remaining", "resets": "Resets", "burn": "Burn/day", "outlook": "At this rate"}
NARROW_COLUMNS = ("entity", "period", "used", "spent", "remaining", "resets")
WIDE_COLUMNS = NARROW_COLUMNS + ("burn", "outlook")


# -- formatting helpers (pure; unit-tested through the screen) -------------------------------------

def row_key(b: dict) -> str:
    key = f"{b.get('level')}:{b.get('entity')}:{b.get('period')}"
    return key + ":rolling" if b.get("rolling") else key


def group_key(level: str) -> str:
    return f"group:{level}"


@lru_cache(maxsize=64)
def _zone(name: str | None):
    try:
        return ZoneInfo(name) if name else timezone.utc
    except (ZoneInfoNotFoundError, ValueError):
        return timezone.utc


def _parse(ts) -> datetime | None:
    if not ts:
        return None
    try:
        dt = datetime.fromisoformat(str(ts).replace("Z", "+00:00"))
    except ValueError:
        return None
    return dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)


def compact_money(value: float, symbol: str) -> str:
    """At most 7 characters plus the symbol's extra width: ₹0.4821 ₹482.10 ₹12,346 ₹123.4k ₹12.35M."""
    sign = "-" if value < 0 else ""
    v = abs(value)
    if v == 0:
        body = "0.00"
    elif v < 1:
        body = f"{v:.2f}" if abs(v * 100 - round(v * 100)) < 1e-6 else f"{v:.4f}"  # ₹0.50, ₹0.0021
    elif v < 999.995:
        body = f"{v:.2f}"
    elif v < 99_999.5:
        body = f"{v:,.0f}"
    elif v < 999_950:
        body = f"{v / 1e3:.1f}k"
    elif v < 999_950_000:
        body = f"{v / 1e6:.2f}M" if v < 9_999_500 else f"{v / 1e6:.1f}M"
    else:
        body = f"{v / 1e9:.1f}B"
    return f"{sign}{symbol}{body}"


def rate_money(value: float, symbol: str) -> str:
    """A burn rate to 3 significant digits (₹1.23 ₹12.3 ₹123 ₹1,234 ₹12.3k): it drifts every poll as
    time passes, and a cell that changes costs a table repaint."""
    v = abs(value)
    if v >= 999.5:
        return compact_money(float(f"{value:.3g}"), symbol)
    sign = "-" if value < 0 else ""
    return f"{sign}{symbol}{v:.2f}" if v < 1 else f"{sign}{symbol}{v:.3g}"


def _rounded_eta(ts: str) -> str:
    """A projected run-out instant rounded up to the next quarter hour (a projection, not a timestamp;
    and a cell that changes every poll costs a table repaint)."""
    dt = _parse(ts)
    if dt is None:
        return ts
    minutes = (dt.minute // 15 + (1 if (dt.minute % 15 or dt.second or dt.microsecond) else 0)) * 15
    return (dt.replace(minute=0, second=0, microsecond=0) + timedelta(minutes=minutes)).isoformat()


def period_text(b: dict, compact: bool = False) -> str:
    if b.get("rolling"):
        return "Rolling" if compact else f"Rolling {b.get('period', '')}"
    return str(b.get("label") or b.get("period") or "")


def resets_text(b: dict, tz, with_time: bool) -> str:
    """`01 Dec 00:00` (local, from resets_at_local) or `rolling 5h`."""
    if b.get("rolling"):
        return f"rolling {b.get('period', '')}"
    return _reset_label(b.get("resets_at_local"), b.get("resets_at"), tz, with_time)


@lru_cache(maxsize=256)  # budgets share a handful of reset instants; strptime is slow
def _reset_label(local: str | None, utc: str | None, tz, with_time: bool) -> str:
    fmt = "%d %b %H:%M" if with_time else "%d %b"
    if local:
        try:
            return datetime.strptime(str(local)[:16], "%Y-%m-%d %H:%M").strftime(fmt)
        except ValueError:
            pass
    dt = _parse(utc)
    return dt.astimezone(tz).strftime(fmt) if dt else "–"


@lru_cache(maxsize=1024)
def _local_label(ts: str, tz, fmt: str) -> str | None:
    dt = _parse(ts)
    return dt.astimezone(tz).strftime(fmt) if dt else None


def pct_style(pct: float) -> str:
    return "green" if pct < 75 else ("yellow" if pct < 90 else "red")


@dataclass(frozen=True)
class Layout:
    columns: tuple[str, ...]
    widths: tuple[int, ...]
    bar: int  # burn-down bar cells
    pct: int  # "% used" cells after the bar
    long_outlook: bool  # "won't run out before reset" vs "won't run out"
    resets_time: bool  # "01 Dec 00:00" vs "01 Dec"
    compact: bool = False  # narrow: "Rolling" without its span (Resets says "rolling 5h"), "₹1/₹2", "Left"

    @property
    def wide(self) -> bool:
        return "outlook" in self.columns

    def width(self, column: str) -> int:
        return self.widths[self.columns.index(column)]

    def header(self, column: str) -> str:
        return "Left" if self.compact and column == "remaining" else HEADERS[column]


def compute_layout(total: int, entity_len: int, period_len: int, has_rolling: bool, symbol: str) -> Layout:
    """Fixed column widths for a table `total` cells wide (border and scrollbar included).

    Wide (≥ NARROW_BELOW content cells): every column; when short of room the layout gives up, in order,
    the long outlook text, the reset time of day, the outlook's time of day, before the bar drops below
    10 cells. Narrow: no burn-rate columns, dates without times, a 4-cell "%"."""
    avail = max(40, total - 3)  # round border (2) + vertical scrollbar (1)
    money = 7 + max(0, len(symbol) - 1)  # compact_money's widest text
    entity_want = max(9, min(20, entity_len))  # "Customers" / "Providers" group headers
    short_resets = 10 if has_rolling else 6
    if avail >= NARROW_BELOW:
        period = max(6, min(10, period_len))
        burn = max(8, money + 1)
        pct = 6
        spent, remaining = 2 * money + 3, max(9, money + 1)  # "-" when overspent; the "Remaining" header
        fixed = entity_want + period + pct + spent + remaining + burn + 2 * len(WIDE_COLUMNS)
        resets, outlook = 12, 26
        for step in ("long", "time", "outlook_time", None):
            bar_w = avail - fixed - resets - outlook
            if bar_w >= 9 or step is None:
                break
            if step == "long":
                outlook = 21
            elif step == "time":
                resets = short_resets
            elif step == "outlook_time":
                outlook = 15
        if bar_w >= 9:
            bar_w = min(bar_w, 24)
            return Layout(WIDE_COLUMNS, (entity_want, period, bar_w + 1 + pct, spent, remaining, resets, burn,
                                         outlook), bar_w, pct, outlook >= 26, resets >= 12)
    bar_w, pct = 9, 4
    period = max(5, min(7, period_len))
    spent, remaining = 2 * money + 1, money + 1
    fixed = period + bar_w + 1 + pct + spent + remaining + short_resets + 2 * len(NARROW_COLUMNS)
    entity = max(6, min(entity_want, avail - fixed))
    bar_w += max(0, min(11, avail - fixed - entity))  # spare room goes to the bar
    return Layout(NARROW_COLUMNS, (entity, period, bar_w + 1 + pct, spent, remaining, short_resets), bar_w, pct,
                  False, False, compact=True)


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[:max(0, width - 1)] + "…"


@dataclass(frozen=True)
class Context:
    """Everything besides the budget dict that a row's cells depend on."""
    symbol: str
    per_usd: float
    tz_name: str | None


def _amounts(b: dict, ctx: Context) -> tuple[float, float, float, float]:
    """(spent, limit, reserved, remaining) in the display currency."""
    if b.get("limit_micro_usd") is not None:
        scale = ctx.per_usd / 1_000_000
        spent = (b.get("spent_micro_usd") or 0) * scale
        limit = b["limit_micro_usd"] * scale
        reserved = (b.get("reserved_micro_usd") or 0) * scale
        return spent, limit, reserved, limit - spent - reserved
    spent, limit, reserved = (float(b.get(k) or 0) for k in ("spent", "limit", "reserved"))
    return spent, limit, reserved, float(b.get("remaining", limit - spent - reserved))


def outlook(b: dict, tz, long: bool, with_time: bool = True) -> Text:
    """At this rate: "runs out 24 Dec 14:30", "won't run out before reset", or "exhausted"."""
    pct = float(b.get("used_pct") or 0)
    fmt = "%d %b %H:%M" if with_time else "%d %b"
    runs_out = _local_label(_rounded_eta(str(b["runs_out_at"])), tz, fmt) if b.get("runs_out_at") else None
    remaining = b.get("remaining")
    if remaining is None and b.get("limit_micro_usd") is not None:
        remaining = b["limit_micro_usd"] - (b.get("spent_micro_usd") or 0) - (b.get("reserved_micro_usd") or 0)
    if pct >= 100 or (remaining is not None and remaining <= 0):
        return Text("exhausted", style="bold red")
    if runs_out is not None:
        return Text(f"runs out {runs_out}", style="yellow")
    if b.get("rolling"):
        return Text("won't run out", style="green")
    return Text("won't run out before reset" if long else "won't run out", style="green")


def row_cells(b: dict, layout: Layout, ctx: Context) -> tuple[Text, ...]:
    """The cells of one budget row, as rich Text (literal: an entity named "[red]" stays literal)."""
    tz = _zone(ctx.tz_name)
    pct = float(b.get("used_pct") or 0)
    spent, limit, _reserved, remaining = _amounts(b, ctx)
    exhausted = pct >= 100
    out: list[Text] = []
    for column, width in zip(layout.columns, layout.widths):
        if column == "entity":
            out.append(Text(_clip(str(b.get("entity", "")), width), style="bold red" if exhausted else ""))
        elif column == "period":
            out.append(Text(_clip(period_text(b, layout.compact), width)))
        elif column == "used":
            cell = Text()
            if exhausted:
                cell.append(EXHAUSTED.center(layout.bar)[:layout.bar], style="bold white on red")
            else:
                cell.append_text(bar(pct, layout.bar))
            shown = f"{pct:.1f}%" if layout.pct >= 6 and pct < 1000 else (f"{pct:.0f}%" if pct < 1000 else ">999%")
            cell.append(" " + shown.rjust(layout.pct), style=pct_style(pct) + (" bold" if exhausted else ""))
            out.append(cell)
        elif column == "spent":
            sep = "/" if layout.compact else " / "
            out.append(Text(f"{compact_money(spent, ctx.symbol)}{sep}{compact_money(limit, ctx.symbol)}",
                            justify="right"))
        elif column == "remaining":
            out.append(Text(compact_money(remaining, ctx.symbol), justify="right",
                            style="bold red" if remaining <= 0 else ""))
        elif column == "resets":
            out.append(Text(resets_text(b, tz, layout.resets_time), style="dim" if b.get("rolling") else ""))
        elif column == "burn":
            burn = float(b.get("burn_rate_per_day") or 0)
            out.append(Text(rate_money(burn, ctx.symbol) if burn else "–", justify="right"))
        elif column == "outlook":
            out.append(outlook(b, tz, layout.long_outlook, with_time=layout.width("outlook") >= 21))
    return tuple(out)


def group_cells(title: str, layout: Layout) -> tuple[Text, ...]:
    """A group header row: "Teams" in the entity column, the rest empty."""
    return (Text(_clip(title, layout.widths[0]), style="bold underline"), *(Text("") for _ in layout.columns[1:]))


def group_summary(title: str, budgets: list[dict], money) -> Text:
    """The detail line when the cursor is on a group header."""
    out = Text(f"{title}: {len(budgets)} budget{'s' if len(budgets) != 1 else ''}", style="bold")
    exhausted = sum(1 for b in budgets if float(b.get("used_pct") or 0) >= 100)
    hot = sum(1 for b in budgets if 90 <= float(b.get("used_pct") or 0) < 100)
    warm = sum(1 for b in budgets if 75 <= float(b.get("used_pct") or 0) < 90)
    for n, label, style in ((exhausted, "exhausted", "bold red"), (hot, "≥ 90%", "red"), (warm, "≥ 75%", "yellow")):
        if n:
            out.append(" · ")
            out.append(f"{n} {label}", style=style)
    top = max(budgets, key=lambda b: float(b.get("used_pct") or 0), default=None)
    if top is not None:
        out.append(f" · highest: {top.get('entity')} {period_text(top)} {float(top.get('used_pct') or 0):.1f}%")
    return out


def same_cell(a: Text, b: Text) -> bool:
    """Text equality that also compares the base style and justification (rich's == ignores them)."""
    return a == b and a.style == b.style and a.justify == b.justify


def detail_text(b: dict, ctx: Context, money) -> Text:
    """The highlighted budget in full: exact amounts, local reset time, burn rate, outlook."""
    tz = _zone(ctx.tz_name)
    pct = float(b.get("used_pct") or 0)
    out = Text()
    out.append(f"{b.get('level')} {b.get('entity')}", style="bold")
    out.append(f" · {period_text(b)}: ")
    spent_m, limit_m = b.get("spent_micro_usd"), b.get("limit_micro_usd")
    if limit_m is not None:
        remaining_m = limit_m - (spent_m or 0) - (b.get("reserved_micro_usd") or 0)
        out.append(f"{money(spent_m or 0, 2)} of {money(limit_m, 2)} spent ")
        out.append(f"({pct:.1f}%)", style=pct_style(pct))
        if b.get("reserved_micro_usd"):
            out.append(f", {money(b['reserved_micro_usd'], 2)} held")
        out.append(f", {money(remaining_m, 2)} left", style="bold red" if remaining_m <= 0 else "")
    else:
        out.append(str(b.get("text") or ""))
    if b.get("rolling"):
        out.append(f" · rolling {b.get('period')} window")
    elif b.get("resets_at_local"):
        out.append(f" · resets {b['resets_at_local']}")
    burn = float(b.get("burn_rate_per_day") or 0)
    out.append(f" · {ctx.symbol}{burn:,.2f}/day · at this rate: ")  # exact here; rounded in the table
    out.append_text(outlook(b, tz, long=True))
    return out


def make_matcher(text: str):
    """`/` filter: case-insensitive substring of the entity; a leading `!` inverts. None when empty."""
    text = text.strip()
    invert = text.startswith("!")
    needle = (text[1:] if invert else text).strip().lower()
    if not needle:
        return None
    return lambda b: (needle in str(b.get("entity", "")).lower()) != invert


class KeyedText(Text):
    """An entity cell that knows its row key, so `DataTable.sort(key=...)` can order rows by our own
    order (group, then name or % used) through the public API."""

    def __init__(self, text: Text, key: str):
        super().__init__(text.plain, style=text.style, justify=text.justify, overflow=text.overflow,
                         no_wrap=text.no_wrap, end=text.end)
        self._spans = list(text.spans)
        self.row_key = key


class BudgetsScreen(LiveScreen):
    TITLE = "Budgets"
    DEFAULT_CSS = """
    BudgetsScreen #budgets-table { height: 1fr; border: round $primary; scrollbar-size-vertical: 1; }
    BudgetsScreen #budgets-table:focus { border: round $accent; }
    BudgetsScreen #budgets-detail { height: 2; padding: 0 1; color: $text; background: $boost; }
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
            sort = ((-float(b.get("used_pct") or 0),) + name_order) if self.sort_by_used else name_order
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
                if self._shown.get(key) == b:
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
        title = Text("Budgets [3]", style="bold")
        title.append(f"  {len(shown)} of {len(self._budgets)}" if self._match else f"  {len(shown)}")
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
        if box.has_class("-open"):
            box.remove_class("-open")
            box.value = ""
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
