"""Governance decisions for one request: may this key use this model now, within its limits and budgets?

Errors are written for a developer reading Claude Code's terminal, which prints them verbatim.
"""
from __future__ import annotations

import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from datetime import datetime, timezone

from .config import RateLimit
from .directory import KeyEntry
from .ledger import BudgetState, Charge, Denial, Ledger, Reservation
from .money import format_money
from .pricing import PriceTable
from .ratelimit import Permit, RateLimiter, Throttle
from .usage import Usage
from .windows import format_reset

COLD_START_OUTPUT_TOKENS = 4096  # expected output before a key/model has any history (never max_tokens)
OUTPUT_HISTORY = 20


@dataclass(frozen=True, slots=True)
class Refused:
    status: int
    error_type: str
    message: str
    retry_after: int | None = None
    should_retry: bool | None = None  # None: the status decides
    budget_level: str | None = None  # key | team | customer | provider when a budget refused; unpriced: no price


@dataclass(slots=True)
class Admission:
    """One attempt's budget reservation (each provider attempt reserves on its own chain and price)."""
    key: KeyEntry
    model: str
    input_tokens: int
    output_tokens: int
    estimate: int  # micro-USD reserved
    reservation: Reservation
    charges: list[Charge] = field(default_factory=list)


class OutputEstimator:
    """Expected output tokens per (key, model): the largest of the recent requests, within max_tokens."""

    def __init__(self) -> None:
        self.history: dict[tuple[str, str], deque] = defaultdict(lambda: deque(maxlen=OUTPUT_HISTORY))

    def expect(self, key: str, model: str, max_tokens: int | None) -> int:
        seen = self.history.get((key, model))
        guess = max(seen) if seen else COLD_START_OUTPUT_TOKENS
        return min(guess, max_tokens) if isinstance(max_tokens, int) and max_tokens > 0 else guess

    def learn(self, key: str, model: str, output_tokens: int) -> None:
        self.history[(key, model)].append(output_tokens)


class Governor:
    def __init__(self, ledger: Ledger, prices: PriceTable, limiter: RateLimiter | None = None):
        self.ledger = ledger
        self.prices = prices
        self.limiter = limiter or RateLimiter()
        self.outputs = OutputEstimator()

    @staticmethod
    def check_access(entry: KeyEntry, model: str, now: datetime) -> Refused | None:
        spec = entry.spec
        if not spec.active:
            return Refused(403, "permission_error", f"Virtual key {spec.name} is disabled. Ask your gateway admin "
                                                    "to re-enable it.", should_retry=False)
        if spec.expires_at is not None and now >= spec.expires_at:
            return Refused(403, "permission_error", f"Virtual key {spec.name} expired at "
                                                    f"{spec.expires_at.isoformat(timespec='minutes')}.",
                           should_retry=False)
        if not entry.allows(model):
            allowed = ", ".join(spec.allowed_models or [])
            return Refused(403, "permission_error", f"Model {model} is not allowed for key {spec.name}. "
                                                    f"Allowed: {allowed}.", should_retry=False)
        return None

    def chain(self, entry: KeyEntry, provider: str | None) -> list[BudgetState]:
        states = list(self.ledger.budgets_of("key", entry.name))
        states += self.ledger.budgets_of("team", entry.team.name if entry.team else None)
        states += self.ledger.budgets_of("customer", entry.customer.name if entry.customer else None)
        states += self.ledger.budgets_of("provider", provider)
        return states

    def rate_scopes(self, entry: KeyEntry) -> list[tuple[str, RateLimit]]:
        scopes = []
        if entry.spec.rate_limit:
            scopes.append((f"key {entry.name}", entry.spec.rate_limit))
        if entry.team and entry.team.rate_limit:
            scopes.append((f"team {entry.team.name}", entry.team.rate_limit))
        if entry.customer and entry.customer.rate_limit:
            scopes.append((f"customer {entry.customer.name}", entry.customer.rate_limit))
        return scopes

    def estimate(self, entry: KeyEntry, model: str, input_tokens: int, max_tokens) -> tuple[int, int]:
        """(expected output tokens, micro-USD): exact input price, learned output, no cache discount."""
        output_tokens = self.outputs.expect(entry.name, model, max_tokens)
        cost = self.prices.cost(model, Usage(input_tokens=input_tokens, output_tokens=output_tokens))
        return output_tokens, cost.total_micro_usd if cost else 0

    def recount_rates(self, rows, now: datetime, mono: float) -> int:
        """Rate limits across a restart: each (start time, key, team, customer, tokens) the limiter had
        counted in the last minute (read from the request log) is counted again at its age on the monotonic
        clock, in its key's, team's and customer's scopes (a scope without a limit is never consulted).
        Returns how many requests were counted."""
        counted = 0
        for ts, key, team, customer, tokens in rows:
            at = mono - (now - ts).total_seconds()
            for scope_id in (f"key {key}", f"team {team}" if team else None, f"customer {customer}" if customer else None):
                if scope_id is not None:
                    self.limiter.recount(scope_id, tokens, at)
            counted += 1
        return counted

    def admit_rate(self, entry: KeyEntry, input_tokens: int, mono: float | None = None) -> Permit | Refused | None:
        """Once per request: requests/min, tokens/min and concurrency of the key, its team and customer."""
        scopes = self.rate_scopes(entry)
        if not scopes:
            return None
        permit = self.limiter.admit(scopes, input_tokens, time.monotonic() if mono is None else mono)
        if isinstance(permit, Throttle):
            if permit.never_fits:
                return Refused(429, "rate_limit_error", permit.message, should_retry=False)
            return Refused(429, "rate_limit_error", permit.message, retry_after=permit.retry_after)
        return permit

    def release_rate(self, permit: Permit | None, usage: Usage) -> None:
        if permit is not None:
            self.limiter.release(permit, usage.total_input_tokens + usage.output_tokens, time.monotonic())

    def reserve(self, entry: KeyEntry, provider: str | None, model: str, input_tokens: int, max_tokens,
                now: datetime | None = None) -> Admission | Refused:
        """Per attempt: reserve the estimate on the key, team, customer and this provider's budgets."""
        now = now or datetime.now(timezone.utc)
        chain = self.chain(entry, provider)
        if chain and self.prices.lookup(model) is None:  # it would spend without moving any budget
            return Refused(403, "permission_error",
                           f"Model {model} has no price in this gateway's pricing table, so the budgets that apply "
                           "to this request cannot hold it. Ask your gateway admin to add its price, or use a "
                           "priced model.", should_retry=False, budget_level="unpriced")
        output_tokens, estimate = self.estimate(entry, model, input_tokens, max_tokens)
        outcome = self.ledger.reserve(chain, estimate, now)
        if isinstance(outcome, Denial):
            return self.budget_refusal(outcome)
        return Admission(entry, model, input_tokens, output_tokens, estimate, outcome)

    def settle(self, admission: Admission, usage: Usage, cost_micro_usd: int | None) -> list[Charge]:
        """Called exactly once per reservation, whatever happened to the attempt."""
        if usage.output_tokens:
            self.outputs.learn(admission.key.name, admission.model, usage.output_tokens)
        admission.charges = self.ledger.settle(admission.reservation, cost_micro_usd)
        return admission.charges

    def used_pct(self, entry: KeyEntry, now: datetime) -> float:
        """The key's most-used budget, in percent (for routing rules such as budget_used_pct_above: 80)."""
        pct = 0.0
        for state in self.ledger.budgets_of("key", entry.name):
            self.ledger.roll(state, now)
            if state.limit_micro > 0:
                pct = max(pct, 100.0 * state.spent / state.limit_micro)
        return pct

    def budget_refusal(self, denial: Denial) -> Refused:
        state, cur = denial.state, self.ledger.currency
        ref = state.ref
        label = state.period.label()
        who = f"{ref.level} {ref.entity}"
        reset = state.period.resets_at(datetime.now(timezone.utc), self.ledger.tz)
        resets = f" Resets {format_reset(reset, self.ledger.tz)}." if reset else \
            f" Spend older than {ref.period} stops counting as time passes."
        spent, limit = format_money(state.spent, cur), format_money(state.limit_micro, cur)
        level = ref.level
        if state.spent >= state.limit_micro:
            return Refused(402, "billing_error", f"{label} budget for {who} is used up: {spent} of {limit}.{resets}",
                           should_retry=False, budget_level=level)
        if denial.exhausted:
            return Refused(402, "billing_error",
                           f"{label} budget for {who} cannot cover this request: {spent} of {limit} spent, "
                           f"this request needs about {format_money(denial.estimate, cur)}.{resets}",
                           should_retry=False, budget_level=level)
        return Refused(429, "rate_limit_error",
                       f"{label} budget for {who} is nearly used: {spent} spent and "
                       f"{format_money(state.reserved, cur)} held by requests in flight, of {limit}. "
                       "Retry when they finish.", retry_after=2, budget_level=level)
