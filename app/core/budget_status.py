"""A budget as people read it: spent, held, limit, remaining, when it resets, how fast it burns.

Burn rate (`burn_rate_per_day`, per day in the display currency) — the rule:

- **Recent** (`burn_rate_basis: "recent"`): what this process saw settle on the budget in the last hour
  (ledger.Recent: one counter a minute, by the request's arrival minute), divided by the time it covers:
  the last hour, or the time since this process started watching the budget when that is shorter, but
  never less than RECENT_MIN_SPAN_S (5 minutes), so the first request after a start does not extrapolate
  to a wild rate. Used whenever there was spend in that hour, and also when there was none but the budget
  has been watched for the whole hour (an idle budget burns 0).
- **Window average** (`burn_rate_basis: "window"`): the window's spend divided by the time since the
  window started (a rolling window: by its length). Only when there is no recent history to go by: the
  process has watched the budget for less than an hour and has seen no spend on it (right after a
  restart, when the window's spend was loaded from the store or rebuilt from the log).

`burn_rate_span_s` is the span the rate was measured over. A rate that shows as 0 in the display currency
(4 decimals) counts as no burn: such a budget never gets a run-out date.

Projected run-out (`runs_out_at`, "at this rate", the same rate as `burn_rate_per_day`):
- a calendar window runs out when remaining / rate is before the reset, else not (null);
- a rolling window's old spend ages out as new spend comes in, so it runs out only if its spend at time
  t — what is still inside the window at t plus rate × t — reaches the limit within one window length;
  after that the window holds rate × length, below the limit, and it never runs out (null);
- a budget with nothing left: now.

`refused_recent`: requests (provider attempts) the budget refused in the last hour — every budget of the
chain that could not take the request counts it, whether it answered 402 (cannot cover) or 429 (held by
requests in flight). A budget that is blocking traffic shows it even at 0 % used.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal

from .config import Currency
from .ledger import RECENT_MINUTES, BudgetState, Ledger, rolling_seconds
from .money import format_money, micro_usd_to_display
from .windows import format_reset

RECENT_MIN_SPAN_S = 300  # the recent rate is measured over at least 5 minutes
_DAY_MS = 86_400_000


def _amount(micro: int, currency: Currency) -> float:
    return float(micro_usd_to_display(micro, currency).quantize(Decimal("0.0001"), ROUND_HALF_EVEN))


def burn_rate(state: BudgetState, now: datetime) -> tuple[int, str, float, int]:
    """(micro-USD per day, basis "recent" | "window", span in seconds, requests refused in the last hour)."""
    now_s = now.timestamp()
    now_minute = int(now_s) // 60
    recent_spent, refused = state.recent.totals(now_minute) if state.recent is not None else (0, 0)
    covered = now_s - (now_minute - RECENT_MINUTES + 1) * 60  # the ring's minutes, the current one in part
    observed = (now - state.observed_since).total_seconds() if state.observed_since is not None else 0.0
    if recent_spent > 0 or observed >= covered:
        span = max(RECENT_MIN_SPAN_S, min(covered, observed))
        return recent_spent * _DAY_MS // int(span * 1000), "recent", round(span, 1), refused
    if state.ref.rolling:
        span = float(rolling_seconds(state.period))
    elif state.window_start is not None:
        span = max((now - state.window_start).total_seconds(), 60.0)
    else:
        return 0, "window", 0.0, refused
    return state.spent * _DAY_MS // int(span * 1000), "window", round(span, 1), refused


def _rolling_runs_out(state: BudgetState, now: datetime, burn_per_day: int) -> datetime | None:
    """When spend in the rolling window first reaches the limit at `burn_per_day`, old spend ageing out."""
    limit = state.limit_micro
    window_s = rolling_seconds(state.period)
    held = state.spent + state.reserved
    if held * 86_400 + burn_per_day * window_s < limit * 86_400:
        return None  # even if nothing aged out, a window's worth of burning stays under the limit
    now_s = now.timestamp()
    t_prev = 0.0
    for minute, amount in state.buckets:  # oldest first: each leaves the window at minute*60 + length
        t_drop = minute * 60 + window_s - now_s
        if t_drop > t_prev:
            t_cross = (limit - held) * 86_400 / burn_per_day
            if t_cross <= t_drop:
                return now + timedelta(seconds=max(0.0, t_cross))
            t_prev = t_drop
        held -= amount
    t_cross = (limit - held) * 86_400 / burn_per_day  # only new spend (and what is in flight) left
    return now + timedelta(seconds=max(0.0, t_cross)) if t_cross <= window_s else None


def budget_status(ledger: Ledger, state: BudgetState, now: datetime) -> dict:
    ledger.roll(state, now)
    cur, tz = ledger.currency, ledger.tz
    reset = state.period.resets_at(now, tz)
    burn_per_day, basis, span, refused = burn_rate(state, now)
    burn_shown = _amount(burn_per_day, cur)
    if not burn_shown:
        burn_per_day = 0  # shown as 0: never a run-out date from it
    remaining = state.limit_micro - state.spent - state.reserved
    runs_out = None
    if remaining <= 0:
        runs_out = now
    elif burn_per_day > 0 and state.ref.rolling:
        runs_out = _rolling_runs_out(state, now, burn_per_day)
    elif burn_per_day > 0:
        days = remaining / burn_per_day
        if days < 36_500:  # beyond a century (a small spend on a big limit) it simply does not run out
            eta = now + timedelta(days=days)
            if reset is None or eta < reset:
                runs_out = eta
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
        "burn_rate_per_day": burn_shown, "burn_rate_basis": basis, "burn_rate_span_s": span,
        "runs_out_at": runs_out.isoformat() if runs_out else None,
        "refused_recent": refused,
        "as_of": now.isoformat(),
        "text": f"{format_money(state.spent, cur)} of {format_money(state.limit_micro, cur)}",
    }
