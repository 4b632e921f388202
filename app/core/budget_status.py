"""A budget as people read it: spent, held, limit, remaining, when it resets, how fast it burns."""
from __future__ import annotations

from datetime import datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal

from .config import Currency
from .ledger import BudgetState, Ledger
from .money import format_money, micro_usd_to_display
from .windows import format_reset


def _amount(micro: int, currency: Currency) -> float:
    return float(micro_usd_to_display(micro, currency).quantize(Decimal("0.0001"), ROUND_HALF_EVEN))


def budget_status(ledger: Ledger, state: BudgetState, now: datetime) -> dict:
    ledger.roll(state, now)
    cur, tz = ledger.currency, ledger.tz
    reset = state.period.resets_at(now, tz)
    elapsed_days = max((now - state.window_start).total_seconds() / 86400, 1 / 1440) if state.window_start else None
    burn_per_day = int(state.spent / elapsed_days) if elapsed_days else 0
    remaining = state.limit_micro - state.spent - state.reserved
    runs_out = None
    if burn_per_day > 0 and remaining > 0:
        days = remaining / burn_per_day
        if days < 36_500:  # beyond a century (a small spend on a big limit) it simply does not run out
            eta = now + timedelta(days=days)
            if reset is None or eta < reset:
                runs_out = eta
    elif remaining <= 0:
        runs_out = now
    pct = (100.0 * state.spent / state.limit_micro) if state.limit_micro else (100.0 if state.spent else 0.0)
    return {
        "level": state.ref.level, "entity": state.ref.entity, "period": state.ref.period,
        "rolling": state.ref.rolling, "label": state.period.label(),
        "currency": cur.code, "limit": _amount(state.limit_micro, cur), "spent": _amount(state.spent, cur),
        "reserved": _amount(state.reserved, cur), "remaining": _amount(remaining, cur),
        "spent_micro_usd": state.spent, "reserved_micro_usd": state.reserved, "limit_micro_usd": state.limit_micro,
        "used_pct": round(pct, 2),
        "resets_at": reset.isoformat() if reset else None,
        "resets_at_local": format_reset(reset, tz) if reset else None,
        "burn_rate_per_day": _amount(burn_per_day, cur),
        "runs_out_at": runs_out.isoformat() if runs_out else None,
        "text": f"{format_money(state.spent, cur)} of {format_money(state.limit_micro, cur)}",
    }
