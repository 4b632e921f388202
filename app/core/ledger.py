"""The budget ledger: reserve an estimate on every budget in a request's chain, then settle the real cost.

Invariants:
- admission is one atomic check-and-add over the whole chain: for every budget,
  spent + reserved + estimate <= limit, or nothing is reserved at all;
- every reservation is settled exactly once (stream end, error, disconnect, exception);
- a charge lands in the window that holds the request's arrival time, so counters can be rebuilt
  from the request log and compared (`bifrost-tui verify`);
- spend is keyed by (level, entity, period, window): editing a limit keeps the spend, a restart
  reloads it, and a new calendar window simply has a counter of its own.

This module is the single-process fast path over the store's counters: the process is the only
writer of its SQLite file, so memory and the `budget_counters` table agree once queued writes land.

Besides the window's spend, each budget keeps what this process has *seen* lately (`Recent`): the spend
settled and the requests it refused in each of the last RECENT_MINUTES minutes, in a fixed ring of
per-minute counters (O(1) per request, no growth). It is not persisted and not part of any window: it
feeds the burn rate ("at this rate") and the "refused recently" count of budget_status.py. Spend loaded
from the store or rebuilt from the log never enters it.
"""
from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from .config import Budget, Currency
from .money import display_to_micro_usd
from .windows import Period, parse_period

ROLLING_BUCKET_S = 60  # rolling windows keep one counter a minute
RECENT_MINUTES = 60  # the burn rate and the refusal count look back this many minutes



def rolling_seconds(period: Period) -> int:
    return period.count * (3600 if period.unit == "h" else 86400)


@dataclass(frozen=True, slots=True)
class BudgetRef:
    level: str  # key | team | customer | provider
    entity: str
    period: str  # "1M", "1d", "5h" ...
    rolling: bool = False


class Recent:
    """One budget's last RECENT_MINUTES minutes as seen by this process: micro-USD settled (by the
    request's arrival minute) and requests refused, one slot per epoch minute in a fixed ring. A slot is
    reused when its minute is an hour old; an amount for a minute older than the ring is dropped."""

    __slots__ = ("minutes", "refused", "spent")

    def __init__(self) -> None:
        self.minutes = [-1] * RECENT_MINUTES  # the epoch minute each slot holds
        self.spent = [0] * RECENT_MINUTES
        self.refused = [0] * RECENT_MINUTES

    def _slot(self, minute: int) -> int:
        i = minute % RECENT_MINUTES
        held = self.minutes[i]
        if held == minute:
            return i
        if held > minute:
            return -1  # the ring has moved on past this minute
        self.minutes[i] = minute
        self.spent[i] = 0
        self.refused[i] = 0
        return i

    def add_spend(self, minute: int, amount: int) -> None:
        i = self._slot(minute)
        if i >= 0:
            self.spent[i] += amount

    def add_refusal(self, minute: int) -> None:
        i = self._slot(minute)
        if i >= 0:
            self.refused[i] += 1

    def totals(self, now_minute: int) -> tuple[int, int]:
        """(micro-USD settled, requests refused) in the minutes now_minute-RECENT_MINUTES+1 .. now_minute."""
        spent = refused = 0
        oldest = now_minute - RECENT_MINUTES
        for i, minute in enumerate(self.minutes):
            if oldest < minute <= now_minute:
                spent += self.spent[i]
                refused += self.refused[i]
        return spent, refused


@dataclass(slots=True)
class BudgetState:
    ref: BudgetRef
    period: Period
    limit: Decimal  # display currency
    limit_micro: int
    window_key: str = ""
    window_start: datetime | None = None
    window_end: datetime | None = None
    spent: int = 0  # settled micro-USD in the current window
    reserved: int = 0  # held by in-flight requests
    buckets: list = field(default_factory=list)  # rolling: [epoch minute, micro], sorted by minute
    needs_seed: bool = False  # created at run time: its window's spend must be rebuilt from the log
    observed_since: datetime | None = None  # first time this process looked at the budget (start-up load)
    recent: Recent | None = None  # spend and refusals of the last hour, created on first use

    @property
    def remaining(self) -> int:
        return self.limit_micro - self.spent - self.reserved


@dataclass(frozen=True, slots=True)
class Charge:
    """A settled amount to persist: budget_counters[ref, window_key] += amount."""
    ref: BudgetRef
    window_key: str
    amount: int


@dataclass(slots=True)
class Reservation:
    states: list[BudgetState]
    amount: int
    at: datetime
    settled: bool = False


@dataclass(frozen=True, slots=True)
class Denial:
    state: BudgetState
    estimate: int
    exhausted: bool  # True: spent + estimate > limit. False: only in-flight reservations stand in the way


class Ledger:
    def __init__(self, tz: ZoneInfo, currency: Currency):
        self.tz = tz
        self.currency = currency
        self.running = False  # set once start-up loading is done; later new budgets need seeding
        self.states: dict[BudgetRef, BudgetState] = {}
        self.by_entity: dict[tuple[str, str], list[BudgetState]] = {}

    # -- configuration -----------------------------------------------------------
    def set_budgets(self, level: str, entity: str, budgets: list[Budget]) -> None:
        """(Re)define an entity's budgets. Spend of a budget that stays is kept; a removed one is forgotten."""
        current = []
        for b in budgets:
            ref = BudgetRef(level, entity, b.period, b.rolling)
            state = self.states.get(ref)
            if state is None:
                state = BudgetState(ref, parse_period(b.period, b.rolling), b.limit, 0, needs_seed=self.running)
                self.states[ref] = state
            state.limit = b.limit
            state.limit_micro = display_to_micro_usd(b.limit, self.currency)
            current.append(state)
        for old in self.by_entity.get((level, entity), []):
            if old.ref not in {s.ref for s in current} and old.reserved == 0:
                self.states.pop(old.ref, None)
        self.by_entity[(level, entity)] = current

    def retain(self, level: str, entities: set[str]) -> None:
        """Forget the budgets of entities that no longer exist (keeps ones with requests in flight)."""
        for (lvl, entity) in [k for k in self.by_entity if k[0] == level and k[1] not in entities]:
            states = self.by_entity[(lvl, entity)]
            if all(s.reserved == 0 for s in states):
                for s in states:
                    self.states.pop(s.ref, None)
                del self.by_entity[(lvl, entity)]

    def budgets_of(self, level: str, entity: str | None) -> list[BudgetState]:
        return self.by_entity.get((level, entity), []) if entity else []

    def window_keys(self, now: datetime) -> list[tuple[BudgetRef, str]]:
        """The (budget, current window key) pairs whose spend must be loaded from the store at start."""
        out = []
        for state in self.states.values():
            self.roll(state, now)
            if not state.ref.rolling:
                out.append((state.ref, state.window_key))
        return out

    def load(self, ref: BudgetRef, window_key: str, spent: int) -> None:
        state = self.states.get(ref)
        if state is None:
            return
        if ref.rolling:
            self._add_bucket(state, int(window_key.rsplit(":", 1)[1]), spent)
        elif window_key == state.window_key:
            state.spent = spent

    # -- windows -------------------------------------------------------------------
    def roll(self, state: BudgetState, now: datetime) -> None:
        """Bring a budget to the window holding `now` (a new calendar window starts at 0)."""
        if state.observed_since is None:
            state.observed_since = now
        if state.ref.rolling:
            horizon = int((now - timedelta(seconds=rolling_seconds(state.period))).timestamp()) // ROLLING_BUCKET_S
            cut = bisect.bisect_right(state.buckets, horizon, key=lambda b: b[0])
            if cut:
                state.spent -= sum(b[1] for b in state.buckets[:cut])
                del state.buckets[:cut]
            state.window_key = f"rolling:{state.ref.period}"
            state.window_start, state.window_end = now - timedelta(seconds=rolling_seconds(state.period)), now
            return
        if state.window_end is not None and now < state.window_end:
            return  # inside the window, or a late request from an earlier one: never roll backwards
        window = state.period.window_at(now, self.tz)
        state.window_key, state.window_start, state.window_end = window.key, window.start, window.end
        state.spent = 0

    def charge_key(self, state: BudgetState, at: datetime) -> str:
        if state.ref.rolling:
            return f"rolling:{state.ref.period}:{int(at.timestamp()) // ROLLING_BUCKET_S}"
        start, end = state.window_start, state.window_end
        if start is not None and start <= at < end:  # nearly always: the current window, already computed
            return state.window_key
        return state.period.window_at(at, self.tz).key  # a request that arrived in an earlier window

    # -- reserve / settle ----------------------------------------------------------
    def reserve(self, states: list[BudgetState], estimate: int, now: datetime) -> Reservation | Denial:
        """All or nothing: reserve `estimate` micro-USD on every budget, or return the first that refuses."""
        worst: Denial | None = None
        refusing: list[BudgetState] | None = None  # made only when something refuses (the hot path allocates nothing)
        for state in states:
            self.roll(state, now)
            if state.spent + state.reserved + estimate > state.limit_micro:
                if refusing is None:
                    refusing = []
                refusing.append(state)
                exhausted = state.spent + estimate > state.limit_micro
                if worst is None or (exhausted and not worst.exhausted):
                    worst = Denial(state, estimate, exhausted)
        if refusing:
            minute = int(now.timestamp()) // 60
            for state in refusing:  # every budget that would have refused it counts the refusal
                self._recent(state).add_refusal(minute)
            return worst
        for state in states:
            state.reserved += estimate
        return Reservation(states, estimate, now)

    def settle(self, reservation: Reservation, actual: int | None) -> list[Charge]:
        """Release the hold and charge the real cost (None = unknown price: nothing to charge)."""
        if reservation.settled:
            return []
        reservation.settled = True
        charges = []
        minute = int(reservation.at.timestamp()) // 60 if actual else 0
        for state in reservation.states:
            state.reserved = max(0, state.reserved - reservation.amount)
            if not actual:
                continue
            self._recent(state).add_spend(minute, actual)
            key = self.charge_key(state, reservation.at)
            if state.ref.rolling:
                self._add_bucket(state, int(key.rsplit(":", 1)[1]), actual)
            elif key == state.window_key:
                state.spent += actual
            charges.append(Charge(state.ref, key, actual))
        return charges

    @staticmethod
    def _recent(state: BudgetState) -> Recent:
        recent = state.recent
        if recent is None:
            recent = state.recent = Recent()
        return recent

    @staticmethod
    def _add_bucket(state: BudgetState, minute: int, amount: int) -> None:
        """Keep buckets sorted by the arrival minute, whatever order requests finish in."""
        i = bisect.bisect_left(state.buckets, minute, key=lambda b: b[0])
        if i < len(state.buckets) and state.buckets[i][0] == minute:
            state.buckets[i][1] += amount
        else:
            state.buckets.insert(i, [minute, amount])
        state.spent += amount

    def total_reserved(self) -> int:
        return sum(s.reserved for s in self.states.values())
