"""The money a spend report prints, in the display currency: the cost of each line and, for --savings, what
the same usage would have cost on the requested models and the difference.

One number of decimal places for the whole report (format_money's rule, applied to the total cost: 2, or 4
when it is below one unit), and every column rounded so that its rows add up to its total (footing.py): the
total is the exact total rounded, whatever the grouping. "Saved" is "at requested model" minus "cost" as
printed, so it adds up both ways. The table, Markdown and CSV print these same amounts.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from ..core.config import Currency
from ..core.money import display_places, micro_usd_to_display
from .footing import footed


@dataclass(frozen=True)
class Amounts:
    cost: Decimal
    requested: Decimal  # at the models the requests asked for

    @property
    def saved(self) -> Decimal:
        return self.requested - self.cost


@dataclass(frozen=True)
class ReportMoney:
    lines: list[Amounts]  # one per report line, in its order
    total: Amounts  # the sums of the lines' amounts


def report_money(lines, currency: Currency) -> ReportMoney:
    """The printed amounts of `lines` (spend_report.Line: cost_micro_usd, requested_cost_micro_usd)."""
    cost = [micro_usd_to_display(x.cost_micro_usd, currency) for x in lines]
    requested = [micro_usd_to_display(x.requested_cost_micro_usd, currency) for x in lines]
    places = display_places(sum(cost, Decimal(0)))
    rows = [Amounts(c, r) for c, r in zip(footed(cost, places), footed(requested, places))]
    zero = Decimal(0).scaleb(-places)
    return ReportMoney(rows, Amounts(sum((a.cost for a in rows), zero), sum((a.requested for a in rows), zero)))


def money_text(amount: Decimal, currency: Currency) -> str:
    """'₹1,234.50' for a table cell (the amount already rounded)."""
    return f"{currency.symbol}{amount:,}"
