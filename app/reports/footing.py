"""A column of amounts rounded so that it adds up: the rounded rows sum to the exact total, rounded.

Rounding each row on its own can leave the printed rows a unit of the last place (or more, over many rows)
away from the printed total, and finance sums the column. Largest remainder method: every amount is first
rounded down, then as many as it takes to reach the total (rounded half-even) are rounded up, those that
lost the most first (ties: earlier rows first). So each row is its exact amount rounded down or up (never
further than one unit of the last place), and the total is the same however the rows are grouped.
"""
from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_FLOOR, ROUND_HALF_EVEN, Decimal


def footed(amounts: Sequence[Decimal], places: int) -> list[Decimal]:
    """`amounts` rounded to `places` decimals so that they sum to their exact sum rounded to `places`."""
    units = [Decimal(a).scaleb(places) for a in amounts]  # exact: a power of ten
    rounded = [u.to_integral_value(ROUND_FLOOR) for u in units]
    short = int(sum(units, Decimal(0)).to_integral_value(ROUND_HALF_EVEN) - sum(rounded, Decimal(0)))
    for i in sorted(range(len(units)), key=lambda i: (rounded[i] - units[i], i))[:short]:
        rounded[i] += 1
    quantum = Decimal(1).scaleb(-places)
    return [r.scaleb(-places).quantize(quantum) for r in rounded]
