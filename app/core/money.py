"""Money: integer micro-USD inside, the configured display currency at the edges (Decimal, never float)."""
from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal

from .config import Currency

MICRO = Decimal(1_000_000)


def micro_usd_to_display(micro_usd: int, currency: Currency) -> Decimal:
    return Decimal(micro_usd) * currency.per_usd / MICRO


def display_to_micro_usd(amount: Decimal, currency: Currency) -> int:
    """A display-currency amount (a budget limit) as whole micro-USD, rounded half-even."""
    return int((Decimal(amount) * MICRO / currency.per_usd).to_integral_value(ROUND_HALF_EVEN))


def display_places(value: Decimal) -> int:
    """Decimal places to show an amount with: 2, or 4 below one unit so small amounts keep significant digits."""
    return 2 if abs(value) >= 1 or value == 0 else 4


def format_money(micro_usd: int | None, currency: Currency, places: int | None = None) -> str:
    """'₹25,012' / '$0.0142'; 'unknown' for an unpriced amount. Small amounts keep significant digits."""
    if micro_usd is None:
        return "unknown"
    value = micro_usd_to_display(micro_usd, currency)
    if places is None:
        places = display_places(value)
    quantum = Decimal(1).scaleb(-places)
    return f"{currency.symbol}{value.quantize(quantum, ROUND_HALF_EVEN):,}"
