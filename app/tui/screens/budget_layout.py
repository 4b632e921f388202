"""The Budgets table's layout: which columns show and how wide each is, for a terminal width."""
from __future__ import annotations

from dataclasses import dataclass

NARROW_BELOW = 100  # table content width under which the burn-rate columns are dropped

# column key -> header
HEADERS = {"entity": "Entity", "period": "Period", "used": "Used", "spent": "Spent / Limit",
           "remaining": "Remaining", "resets": "Resets", "burn": "Burn/day", "outlook": "At this rate"}
NARROW_COLUMNS = ("entity", "period", "used", "spent", "remaining", "resets")
WIDE_COLUMNS = NARROW_COLUMNS + ("burn", "outlook")


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
