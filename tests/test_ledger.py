"""The budget ledger on its own (no HTTP, no store): reserve all-or-nothing, settle exactly once,
calendar and rolling windows, limit changes, loading stored counters.

Money: INR at 84 per USD, so 0.084 INR == 1,000 micro-USD and 8.4 INR == 100,000 micro-USD.
Times are explicit: nothing here depends on the wall clock.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from app.core.config import Budget, Currency
from app.core.ledger import BudgetRef, Charge, Denial, Ledger, Reservation

IST = ZoneInfo("Asia/Kolkata")
INR = Currency(code="INR", symbol="₹", per_usd=Decimal("84"))
UTC = timezone.utc

# 2026-11-10 10:00 IST, well inside November in Asia/Kolkata
NOV = datetime(2026, 11, 10, 10, 0, tzinfo=IST)


def inr_for(micro: int) -> Decimal:
    """The INR limit that is exactly `micro` micro-USD at 84 INR/USD."""
    return Decimal(micro) * Decimal(84) / Decimal(1_000_000)


def monthly(micro: int) -> Budget:
    return Budget(limit=inr_for(micro), period="1M")


def ledger() -> Ledger:
    return Ledger(IST, INR)


def test_limits_are_converted_to_micro_usd_exactly():
    led = ledger()
    led.set_budgets("key", "k", [Budget(Decimal("8.4"), "1M"), Budget(Decimal("0.084"), "1d")])
    limits = sorted(s.limit_micro for s in led.budgets_of("key", "k"))
    assert limits == [1_000, 100_000]


def test_reserve_is_all_or_nothing_across_budgets():
    led = ledger()
    led.set_budgets("key", "k", [monthly(10_000)])
    led.set_budgets("team", "t", [monthly(500)])
    led.set_budgets("customer", "c", [monthly(10_000)])
    team = led.budgets_of("team", "t")[0]
    fill = led.reserve([team], 500, NOV)
    led.settle(fill, 500)  # the team budget is now exactly full
    assert team.spent == 500

    chain = led.budgets_of("key", "k") + led.budgets_of("team", "t") + led.budgets_of("customer", "c")
    outcome = led.reserve(chain, 100, NOV)
    assert isinstance(outcome, Denial)
    assert outcome.state is team
    assert outcome.estimate == 100
    assert outcome.exhausted is True
    # nothing was reserved anywhere, not even on the budgets listed before the full one
    assert [s.reserved for s in chain] == [0, 0, 0]
    assert led.total_reserved() == 0


def test_reserve_boundary_equal_admits_one_more_micro_refuses():
    led = ledger()
    led.set_budgets("key", "k", [monthly(1_000)])
    state = led.budgets_of("key", "k")[0]
    done = led.reserve([state], 400, NOV)
    led.settle(done, 400)  # spent 400
    held = led.reserve([state], 100, NOV)  # reserved 100
    assert isinstance(held, Reservation)

    exact = led.reserve([state], 500, NOV)  # 400 + 100 + 500 == 1000: admitted
    assert isinstance(exact, Reservation)
    assert (state.spent, state.reserved, state.remaining) == (400, 600, 0)

    over = led.reserve([state], 1, NOV)  # 400 + 600 + 1 > 1000
    assert isinstance(over, Denial)
    assert over.exhausted is False  # only reservations stand in the way: 400 + 1 <= 1000
    assert state.reserved == 600


def test_reserve_boundary_against_spend_alone():
    led = ledger()
    led.set_budgets("key", "k", [monthly(1_000)])
    state = led.budgets_of("key", "k")[0]
    assert isinstance(led.reserve([state], 1_001, NOV), Denial)
    ok = led.reserve([state], 1_000, NOV)
    assert isinstance(ok, Reservation)
    led.settle(ok, 1_000)
    zero_left = led.reserve([state], 1, NOV)
    assert isinstance(zero_left, Denial) and zero_left.exhausted is True


def test_denial_exhausted_true_vs_false():
    led = ledger()
    led.set_budgets("key", "k", [monthly(1_000)])
    state = led.budgets_of("key", "k")[0]
    held = led.reserve([state], 700, NOV)
    # 0 spent + 400 fits the limit; only the 700 in flight is in the way -> not exhausted (a 429)
    busy = led.reserve([state], 400, NOV)
    assert isinstance(busy, Denial) and busy.exhausted is False
    led.settle(held, 700)
    # 700 spent + 400 > 1000 with nothing in flight -> exhausted (a 402)
    full = led.reserve([state], 400, NOV)
    assert isinstance(full, Denial) and full.exhausted is True
    assert led.total_reserved() == 0


def test_exhausted_denial_is_preferred_over_a_busy_one():
    led = ledger()
    led.set_budgets("key", "k", [monthly(1_000)])
    led.set_budgets("team", "t", [monthly(1_000)])
    key, team = led.budgets_of("key", "k")[0], led.budgets_of("team", "t")[0]
    led.reserve([key], 900, NOV)  # key: busy with an in-flight 900
    led.settle(led.reserve([team], 950, NOV), 950)  # team: 950 spent
    denial = led.reserve([key, team], 100, NOV)
    assert isinstance(denial, Denial)
    assert denial.state is team and denial.exhausted is True


def test_settle_releases_and_charges_every_budget():
    led = ledger()
    led.set_budgets("key", "k", [monthly(10_000), Budget(inr_for(5_000), "1d")])
    led.set_budgets("team", "t", [monthly(20_000)])
    chain = led.budgets_of("key", "k") + led.budgets_of("team", "t")
    res = led.reserve(chain, 800, NOV)
    assert [s.reserved for s in chain] == [800, 800, 800]
    charges = led.settle(res, 345)
    assert [s.reserved for s in chain] == [0, 0, 0]
    assert [s.spent for s in chain] == [345, 345, 345]
    assert set(charges) == {
        Charge(BudgetRef("key", "k", "1M"), "1M:2026-11", 345),
        Charge(BudgetRef("key", "k", "1d"), "1d:2026-11-10", 345),
        Charge(BudgetRef("team", "t", "1M"), "1M:2026-11", 345),
    }
    assert led.total_reserved() == 0


def test_settle_twice_is_a_no_op():
    led = ledger()
    led.set_budgets("key", "k", [monthly(10_000)])
    state = led.budgets_of("key", "k")[0]
    other = led.reserve([state], 300, NOV)  # another request in flight
    res = led.reserve([state], 500, NOV)
    assert len(led.settle(res, 200)) == 1
    assert led.settle(res, 200) == []
    assert led.settle(res, 999) == []
    assert (state.spent, state.reserved) == (200, 300)  # the other request's hold is untouched
    led.settle(other, 0)
    assert led.total_reserved() == 0


@pytest.mark.parametrize("actual", [None, 0])
def test_settle_unpriced_or_free_releases_without_charging(actual):
    led = ledger()
    led.set_budgets("key", "k", [monthly(10_000)])
    state = led.budgets_of("key", "k")[0]
    led.settle(led.reserve([state], 100, NOV), 100)
    res = led.reserve([state], 700, NOV)
    assert led.settle(res, actual) == []
    assert (state.spent, state.reserved) == (100, 0)
    assert res.settled is True


def test_calendar_rollover_charge_lands_in_the_arrival_window():
    led = ledger()
    led.set_budgets("key", "k", [monthly(10_000)])
    state = led.budgets_of("key", "k")[0]
    before = datetime(2026, 11, 30, 23, 59, 30, tzinfo=IST)
    after = datetime(2026, 12, 1, 0, 0, 30, tzinfo=IST)
    led.settle(led.reserve([state], 1_000, before), 1_000)  # November spend
    assert (state.window_key, state.spent) == ("1M:2026-11", 1_000)

    late = led.reserve([state], 600, before)  # arrived in November, still running at midnight
    assert isinstance(late, Reservation)
    new = led.reserve([state], 300, after)  # the first December request rolls the budget
    assert isinstance(new, Reservation)
    assert state.window_key == "1M:2026-12"
    assert state.spent == 0  # a new calendar window starts at zero
    assert state.window_start == datetime(2026, 11, 30, 18, 30, tzinfo=UTC)  # 2026-12-01 00:00 IST
    assert state.window_end == datetime(2026, 12, 31, 18, 30, tzinfo=UTC)

    charges = led.settle(late, 500)
    assert charges == [Charge(BudgetRef("key", "k", "1M"), "1M:2026-11", 500)]
    assert state.spent == 0  # the November charge does not count against December
    assert led.settle(new, 200) == [Charge(BudgetRef("key", "k", "1M"), "1M:2026-12", 200)]
    assert state.spent == 200
    assert led.total_reserved() == 0


def test_daily_window_follows_local_midnight():
    led = ledger()
    led.set_budgets("key", "k", [Budget(inr_for(1_000), "1d")])
    state = led.budgets_of("key", "k")[0]
    # 2026-11-10 18:29:59 UTC is 23:59:59 IST; 18:30 UTC is the next local day
    led.settle(led.reserve([state], 900, datetime(2026, 11, 10, 18, 29, 59, tzinfo=UTC)), 900)
    assert state.window_key == "1d:2026-11-10"
    assert isinstance(led.reserve([state], 200, datetime(2026, 11, 10, 18, 29, 59, tzinfo=UTC)), Denial)
    ok = led.reserve([state], 200, datetime(2026, 11, 10, 18, 30, tzinfo=UTC))
    assert isinstance(ok, Reservation)
    assert (state.window_key, state.spent) == ("1d:2026-11-11", 0)


def test_late_reservation_from_previous_window_keeps_current_spend():
    led = ledger()
    led.set_budgets("key", "k", [monthly(10_000)])
    state = led.budgets_of("key", "k")[0]
    old = datetime(2026, 11, 30, 23, 59, 59, tzinfo=IST)
    new = datetime(2026, 12, 1, 0, 0, 1, tzinfo=IST)
    led.settle(led.reserve([state], 400, new), 400)  # December: 400 spent
    assert (state.window_key, state.spent) == ("1M:2026-12", 400)
    # a request that arrived at 23:59:59 but only reaches admission now (e.g. a slow body upload)
    led.reserve([state], 100, old)
    # the next December request must still see December's 400
    led.reserve([state], 100, new + timedelta(seconds=1))
    assert (state.window_key, state.spent) == ("1M:2026-12", 400)


def test_changed_limit_keeps_spent():
    led = ledger()
    led.set_budgets("key", "k", [monthly(10_000)])
    state = led.budgets_of("key", "k")[0]
    held = led.reserve([state], 100, NOV)
    led.settle(led.reserve([state], 3_000, NOV), 3_000)
    led.set_budgets("key", "k", [monthly(2_000)])
    same = led.budgets_of("key", "k")[0]
    assert same.spent == 3_000 and same.reserved == 100
    assert same.limit_micro == 2_000
    assert same.limit == inr_for(2_000)
    denial = led.reserve([same], 1, NOV)
    assert isinstance(denial, Denial) and denial.exhausted is True
    led.settle(held, None)
    led.set_budgets("key", "k", [monthly(10_000)])
    assert isinstance(led.reserve(led.budgets_of("key", "k"), 7_000, NOV), Reservation)


def test_removing_and_readding_a_budget_keeps_nothing_stale():
    led = ledger()
    led.set_budgets("key", "k", [monthly(10_000)])
    led.settle(led.reserve(led.budgets_of("key", "k"), 3_000, NOV), 3_000)
    ref = BudgetRef("key", "k", "1M")
    led.set_budgets("key", "k", [])
    assert led.budgets_of("key", "k") == []
    assert ref not in led.states
    assert led.window_keys(NOV) == []

    led.set_budgets("key", "k", [monthly(5_000)])
    again = led.budgets_of("key", "k")[0]
    assert (again.spent, again.reserved, again.limit_micro) == (0, 0, 5_000)
    assert led.window_keys(NOV) == [(ref, "1M:2026-11")]
    assert isinstance(led.reserve([again], 5_000, NOV), Reservation)


def test_period_change_is_a_different_budget():
    led = ledger()
    led.set_budgets("key", "k", [monthly(10_000)])
    led.settle(led.reserve(led.budgets_of("key", "k"), 3_000, NOV), 3_000)
    led.set_budgets("key", "k", [Budget(inr_for(10_000), "1d")])
    (daily,) = led.budgets_of("key", "k")
    assert daily.ref == BudgetRef("key", "k", "1d") and daily.spent == 0
    assert BudgetRef("key", "k", "1M") not in led.states


def test_rolling_window_forgets_spend_older_than_five_hours():
    led = ledger()
    led.set_budgets("key", "k", [Budget(inr_for(1_000), "5h", rolling=True)])
    state = led.budgets_of("key", "k")[0]
    t0 = datetime(2026, 11, 10, 10, 0, tzinfo=UTC)  # on a minute boundary (rolling buckets are minutes)
    charges = led.settle(led.reserve([state], 600, t0), 600)
    assert charges == [Charge(BudgetRef("key", "k", "5h", True), f"rolling:5h:{int(t0.timestamp()) // 60}", 600)]
    led.settle(led.reserve([state], 300, t0 + timedelta(hours=2)), 300)  # spent 900

    denial = led.reserve([state], 200, t0 + timedelta(hours=4, minutes=59))
    assert isinstance(denial, Denial) and denial.exhausted is True
    assert state.spent == 900
    # 5 hours after the first charge it stops counting; the 2-hour-later one still does
    ok = led.reserve([state], 700, t0 + timedelta(hours=5))
    assert isinstance(ok, Reservation)
    assert state.spent == 300
    led.settle(ok, 0)
    led.roll(state, t0 + timedelta(hours=7))
    assert state.spent == 0


def test_rolling_window_expires_charges_that_settled_out_of_order():
    led = ledger()
    led.set_budgets("key", "k", [Budget(inr_for(10_000), "5h", rolling=True)])
    state = led.budgets_of("key", "k")[0]
    t0 = datetime(2026, 11, 10, 10, 0, tzinfo=UTC)
    long_stream = led.reserve([state], 1_000, t0)  # a long request
    short = led.reserve([state], 1_000, t0 + timedelta(minutes=10))  # a short one that ends first
    led.settle(short, 200)
    led.settle(long_stream, 600)
    assert state.spent == 800
    led.roll(state, t0 + timedelta(hours=5, minutes=1))  # the t0 charge is older than 5 h
    assert state.spent == 200


def test_load_stored_calendar_counters():
    led = ledger()
    led.set_budgets("key", "k", [monthly(10_000)])
    led.set_budgets("team", "t", [Budget(inr_for(10_000), "1d")])
    pairs = led.window_keys(NOV)
    assert sorted(pairs, key=lambda p: p[0].level) == [
        (BudgetRef("key", "k", "1M"), "1M:2026-11"), (BudgetRef("team", "t", "1d"), "1d:2026-11-10")]
    led.load(BudgetRef("key", "k", "1M"), "1M:2026-10", 9_999)  # an old window: ignored
    led.load(BudgetRef("key", "k", "1M"), "1M:2026-11", 7_000)
    led.load(BudgetRef("team", "t", "1d"), "1d:2026-11-10", 250)
    led.load(BudgetRef("key", "nobody", "1M"), "1M:2026-11", 5)  # unknown budget: ignored
    key, team = led.budgets_of("key", "k")[0], led.budgets_of("team", "t")[0]
    assert (key.spent, team.spent) == (7_000, 250)
    assert isinstance(led.reserve([key], 3_001, NOV), Denial)
    assert isinstance(led.reserve([key], 3_000, NOV), Reservation)


def test_load_stored_rolling_buckets():
    led = ledger()
    led.set_budgets("key", "k", [Budget(inr_for(1_000), "5h", rolling=True)])
    ref = BudgetRef("key", "k", "5h", True)
    t0 = datetime(2026, 11, 10, 10, 0, tzinfo=UTC)
    m0 = int(t0.timestamp()) // 60
    led.load(ref, f"rolling:5h:{m0}", 400)
    led.load(ref, f"rolling:5h:{m0 + 60}", 500)
    state = led.budgets_of("key", "k")[0]
    assert isinstance(led.reserve([state], 101, t0 + timedelta(hours=1)), Denial)
    assert state.spent == 900
    led.roll(state, t0 + timedelta(hours=5))
    assert state.spent == 500
    led.roll(state, t0 + timedelta(hours=6))
    assert state.spent == 0


@pytest.mark.parametrize("tz_name, period", [("America/New_York", "1d"), ("America/Santiago", "1d"),
                                              ("Europe/London", "1w"), ("Asia/Kolkata", "1M"), ("UTC", "1Y")])
def test_cached_charge_window_equals_the_computed_one_across_boundaries(tz_name, period):
    """settle reuses the budget's current window when the arrival time is inside it; around every boundary
    (DST days of 23 and 25 hours, a midnight that does not exist in Santiago) the key must be what the
    calendar arithmetic gives, whichever window the budget sits in when the request settles."""
    tz = ZoneInfo(tz_name)
    led = Ledger(tz, INR)
    led.set_budgets("key", "k", [Budget(inr_for(10 ** 12), period)])
    state = led.budgets_of("key", "k")[0]
    instants = []
    for start in (datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 9, 1, tzinfo=UTC),
                  datetime(2026, 10, 20, tzinfo=UTC), datetime(2026, 12, 25, tzinfo=UTC)):
        window = state.period.window_at(start, tz)
        for _ in range(20):  # walk 20 windows, probing each boundary and its neighbours
            for delta in (-1, 0, 1):
                instants.append(window.end + timedelta(microseconds=delta))
                instants.append(window.end + timedelta(seconds=delta))
            window = state.period.window_at(window.end, tz)
    instants.sort()
    for i, at in enumerate(instants):
        expected = state.period.window_at(at, tz).key
        held = led.reserve([state], 1, at)
        if i % 3 == 0:  # sometimes the budget has moved on to a later window before the request settles
            led.roll(state, instants[min(i + 7, len(instants) - 1)])
        assert led.settle(held, 1) == [Charge(BudgetRef("key", "k", period), expected, 1)], at
        assert led.charge_key(state, at) == expected


def test_charge_inside_the_current_window_does_no_calendar_arithmetic(monkeypatch):
    led = ledger()
    led.set_budgets("key", "k", [monthly(10_000)])
    state = led.budgets_of("key", "k")[0]
    held = led.reserve([state], 100, NOV)
    assert (state.window_start, state.window_end) == (datetime(2026, 10, 31, 18, 30, tzinfo=UTC),
                                                      datetime(2026, 11, 30, 18, 30, tzinfo=UTC))
    calls = []
    real = type(state.period).window_at
    monkeypatch.setattr(type(state.period), "window_at", lambda self, now, tz: calls.append(now) or real(self, now, tz))
    assert led.settle(held, 100) == [Charge(BudgetRef("key", "k", "1M"), "1M:2026-11", 100)]
    assert led.charge_key(state, state.window_start) == "1M:2026-11"
    assert calls == []
    assert led.charge_key(state, state.window_end) == "1M:2026-12"  # the end is exclusive: computed
    assert len(calls) == 1
