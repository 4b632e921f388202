"""Burn rate, projected run-out and the "blocking" indicator of a budget (app/core/budget_status.py,
the Budgets screen's cells in app/tui/screens/budget_rows.py), on an explicit clock.

Money: INR at 84 per USD (as in tests/test_ledger.py); amounts are built in micro-USD so the expected
rates are exact integers. Nothing here reads the wall clock.
"""
from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from tui_harness import FakeSource, make_app

from app.core.budget_status import RECENT_MIN_SPAN_S, budget_status
from app.core.config import Budget, Currency
from app.core.ledger import RECENT_MINUTES, Denial, Ledger, Reservation
from app.core.money import display_to_micro_usd
from app.tui.screens.budget_layout import compute_layout
from app.tui.screens.budget_rows import Context, outlook, rate_money, row_cells
from app.tui.screens.budgets import BudgetsScreen

IST = ZoneInfo("Asia/Kolkata")
INR = Currency(code="INR", symbol="₹", per_usd=Decimal(84))
USD = Currency()
T0 = datetime(2026, 11, 27, 4, 30, tzinfo=UTC)  # 10:00 IST, on a minute boundary
DAY_MS = 86_400_000


def inr(amount: str) -> int:
    return display_to_micro_usd(Decimal(amount), INR)


def inr_for(micro: int) -> Decimal:
    return Decimal(micro) * Decimal(84) / Decimal(1_000_000)


def one_budget(budget: Budget, level: str = "key", entity: str = "maria", currency: Currency = INR):
    led = Ledger(IST, currency)
    led.set_budgets(level, entity, [budget])
    return led, led.budgets_of(level, entity)[0]


def spend(led: Ledger, state, micro: int, at: datetime) -> None:
    held = led.reserve([state], 1, at)
    assert isinstance(held, Reservation)
    led.settle(held, micro)


def at(b: dict) -> datetime | None:
    return datetime.fromisoformat(b["runs_out_at"]) if b["runs_out_at"] else None


# -- the burn rate ----------------------------------------------------------------------------------

def test_recent_spend_sets_the_rate_and_the_run_out_time():
    """QA's maria: ₹214 of a ₹2,000 daily budget in 6½ minutes runs out in under an hour, not 'never'."""
    led, state = one_budget(Budget(Decimal(2000), "1d"))
    led.roll(state, T0)  # the gateway starts watching (start-up load)
    total = inr("214")
    for i in range(13):  # a request every 30 s
        spend(led, state, total // 13 + (total % 13 if i == 0 else 0), T0 + timedelta(seconds=30 * i))
    now = T0 + timedelta(minutes=6, seconds=30)
    b = budget_status(led, state, now)
    rate = total * DAY_MS // 390_000  # micro-USD a day over the 390 s watched
    assert b["burn_rate_basis"] == "recent" and b["burn_rate_span_s"] == 390.0
    assert b["burn_rate_per_day"] == float((inr_for(rate)).quantize(Decimal("0.0001")))
    assert 47_000 < b["burn_rate_per_day"] < 47_500  # ₹214 × 1440 / 6.5
    remaining = state.limit_micro - total
    expected = now + timedelta(seconds=remaining * 86_400 / rate)
    assert abs((at(b) - expected).total_seconds()) < 1
    assert timedelta(minutes=50) < at(b) - now < timedelta(minutes=60)
    # "at this rate" is the Burn/day rate: remaining / rate == time to run out
    assert abs((at(b) - now).total_seconds() - b["remaining"] / b["burn_rate_per_day"] * 86_400) < 5


def test_rate_looks_back_one_hour_only():
    led, state = one_budget(Budget(Decimal(20000), "1d"))
    led.roll(state, T0)
    spend(led, state, inr("5000"), T0 + timedelta(minutes=1))  # long ago by the time we look
    late = inr("10")
    spend(led, state, late, T0 + timedelta(hours=2, minutes=-10))
    now = T0 + timedelta(hours=2)
    b = budget_status(led, state, now)
    span = now.timestamp() - ((int(now.timestamp()) // 60 - RECENT_MINUTES + 1) * 60)  # the last hour
    assert b["burn_rate_basis"] == "recent" and b["burn_rate_span_s"] == span
    assert b["burn_rate_per_day"] == float(inr_for(late * DAY_MS // int(span * 1000)).quantize(Decimal("0.0001")))
    assert b["burn_rate_per_day"] < 300  # ₹10 an hour, not ₹5,010 over 2 h
    # the window's spend is unchanged by any of this
    assert b["spent_micro_usd"] == inr("5000") + late


def test_first_minutes_use_the_minimum_span():
    led, state = one_budget(Budget(Decimal(2000), "1d"))
    led.roll(state, T0)
    spend(led, state, inr("10"), T0 + timedelta(seconds=5))
    b = budget_status(led, state, T0 + timedelta(seconds=20))
    assert b["burn_rate_basis"] == "recent" and b["burn_rate_span_s"] == RECENT_MIN_SPAN_S
    assert b["burn_rate_per_day"] == float(inr_for(inr("10") * DAY_MS // (RECENT_MIN_SPAN_S * 1000))
                                           .quantize(Decimal("0.0001")))


def test_without_recent_history_the_window_average_is_used():
    """After a restart the window's spend comes from the store: there is nothing recent to go by."""
    led, state = one_budget(Budget(Decimal(2000), "1d"))
    start = T0
    for ref, key in led.window_keys(start):  # start-up: load the day's stored spend
        led.load(ref, key, inr("500"))
    now = start + timedelta(minutes=2)
    b = budget_status(led, state, now)
    midnight = datetime(2026, 11, 27, tzinfo=IST)
    elapsed_ms = int((now - midnight).total_seconds() * 1000)
    assert b["burn_rate_basis"] == "window"
    assert b["burn_rate_per_day"] == float(inr_for(inr("500") * DAY_MS // elapsed_ms).quantize(Decimal("0.0001")))
    assert b["runs_out_at"] is None  # ₹500 in 10 h is ₹1,200/day: ₹1,500 lasts past midnight's reset
    # watched a whole hour and nothing was spent: an idle budget burns nothing
    idle = budget_status(led, state, start + timedelta(minutes=61))
    assert idle["burn_rate_basis"] == "recent" and idle["burn_rate_per_day"] == 0.0 and idle["runs_out_at"] is None
    # loaded spend never counts as recent spend
    assert state.recent is None or state.recent.totals(int(now.timestamp()) // 60) == (0, 0)


def test_window_average_projection_before_reset():
    led, state = one_budget(Budget(Decimal(1000), "1d"))
    for ref, key in led.window_keys(T0):
        led.load(ref, key, inr("900"))  # ₹900 by 10:00: ₹2,160/day, ₹100 left runs out in ~67 min
    b = budget_status(led, state, T0 + timedelta(minutes=1))
    assert b["burn_rate_basis"] == "window"
    assert timedelta(minutes=60) < at(b) - (T0 + timedelta(minutes=1)) < timedelta(minutes=75)


def test_recent_ring_is_bounded():
    led, state = one_budget(Budget(Decimal(10**9), "1M"))
    led.roll(state, T0)
    for minute in range(500):
        spend(led, state, 1000, T0 + timedelta(minutes=minute))
    assert len(state.recent.minutes) == len(state.recent.spent) == RECENT_MINUTES
    now_minute = int((T0 + timedelta(minutes=499)).timestamp()) // 60
    assert state.recent.totals(now_minute) == (60 * 1000, 0)
    # a very late settle for a minute older than the ring is dropped from the rate, not from the window
    old = led.reserve([state], 1, T0)
    led.settle(old, 7)
    assert state.recent.totals(now_minute) == (60 * 1000, 0) and state.spent == 500 * 1000 + 7


# -- rolling windows ----------------------------------------------------------------------------------

def test_rolling_window_that_cannot_run_out():
    """QA's qa-key1: ₹0.0235 of a 7-day ₹100: spend ages out long before a week's burning reaches ₹100."""
    led, state = one_budget(Budget(Decimal(100), "7d", rolling=True), entity="qa-key1")
    led.roll(state, T0)
    spend(led, state, inr("0.0235"), T0 + timedelta(minutes=1))
    b = budget_status(led, state, T0 + timedelta(minutes=6, seconds=41))
    assert b["burn_rate_per_day"] > 0  # ₹6.77/day: 7 days of it is ₹47, under ₹100
    assert b["runs_out_at"] is None
    cell = outlook(b, IST, long=False)
    assert cell.plain == "won't run out"


def test_rolling_window_that_will_run_out():
    led, state = one_budget(Budget(Decimal(100), "7d", rolling=True), entity="qa-key2")
    led.roll(state, T0)
    for i in range(6):
        spend(led, state, inr("10") // 6, T0 + timedelta(minutes=i))
    now = T0 + timedelta(minutes=6)
    b = budget_status(led, state, now)
    rate = (inr("10") // 6 * 6) * DAY_MS // 360_000  # ₹2,400/day: nothing ages out within the hour
    expected = now + timedelta(seconds=(state.limit_micro - state.spent) * 86_400 / rate)
    assert abs((at(b) - expected).total_seconds()) < 1


def test_rolling_run_out_accounts_for_spend_ageing_out():
    """1-hour window: 600,000 µUSD at T0, then nothing; at T0+30 min the rate is 20,000 µUSD a minute.
    Spend in the window is 600,000 + 20,000·t until T0's minute leaves the window at t = 30 min."""
    def status(limit_micro: int) -> dict:
        led, state = one_budget(Budget(inr_for(limit_micro), "1h", rolling=True))
        led.roll(state, T0)
        spend(led, state, 600_000, T0)
        return budget_status(led, state, T0 + timedelta(minutes=30))

    reaches = status(1_150_000)  # 600,000 + 20,000 × 27.5 = 1,150,000 before the old spend leaves
    assert at(reaches) == T0 + timedelta(minutes=30 + 27.5)
    misses = status(1_250_000)  # would need 32.5 min, but the 600,000 leaves at 30; 60 min of rate < limit
    assert misses["runs_out_at"] is None


def test_a_rate_that_shows_as_zero_never_runs_anything_out():
    led, state = one_budget(Budget(Decimal("0.00005"), "7d", rolling=True), currency=USD)  # 50 µUSD
    led.roll(state, T0)
    spend(led, state, 1, T0 + timedelta(minutes=30))  # 24 µUSD a day: $0.0000 at 4 places
    b = budget_status(led, state, T0 + timedelta(minutes=61))
    assert b["burn_rate_per_day"] == 0.0 and b["runs_out_at"] is None
    # and the console never pairs a nothing rate with a date (data from any gateway)
    legacy = dict(b, burn_rate_per_day=0.0, runs_out_at="2026-12-05T10:00:00+00:00")
    assert outlook(legacy, IST, long=True).plain == "won't run out"
    assert rate_money(0.0023, "₹") == "₹0.0023" and rate_money(0.00001, "₹") == "<₹0.0001"
    assert rate_money(0.5, "₹") == "₹0.50"


# -- dates far away -----------------------------------------------------------------------------------

def _dated(as_of: str | None, runs_out: str) -> dict:
    return {"used_pct": 1.0, "remaining": 10.0, "burn_rate_per_day": 1.0, "runs_out_at": runs_out,
            "as_of": as_of, "rolling": True}


def test_far_or_next_year_dates_show_the_year():
    near = _dated("2026-11-28T00:00:00+00:00", "2026-12-24T09:00:00+00:00")
    assert outlook(near, IST, long=True).plain == "runs out 24 Dec 14:30"
    far = _dated("2026-11-28T00:00:00+00:00", "2027-05-16T21:15:00+00:00")
    assert outlook(far, IST, long=True).plain == "runs out 17 May 2027"
    next_year = _dated("2026-12-28T00:00:00+00:00", "2027-01-03T09:00:00+00:00")
    assert outlook(next_year, IST, long=True).plain == "runs out 03 Jan 2027"
    same_year_far = _dated("2026-01-05T00:00:00+00:00", "2026-09-01T09:00:00+00:00")
    assert outlook(same_year_far, IST, long=True).plain == "runs out 01 Sep 2026"
    assert outlook(far, IST, long=False, with_time=False, width=15).plain == "by 17 May 2027"


def test_budget_status_far_run_out_shows_the_year_on_screen():
    led, state = one_budget(Budget(Decimal(1000), "365d", rolling=True), entity="slow")
    led.roll(state, T0)
    spend(led, state, inr("0.15"), T0 + timedelta(minutes=30))  # ~₹3.66/day: ~273 days to ₹1,000
    b = budget_status(led, state, T0 + timedelta(minutes=61))
    assert at(b) - (T0 + timedelta(minutes=61)) > timedelta(days=183)
    assert re.fullmatch(r"runs out \d\d \w{3} 2027", outlook(b, IST, long=True).plain)
    layout = compute_layout(120, 10, 10, True, "₹")
    cells = dict(zip(layout.columns, row_cells(b, layout, Context("₹", 84.0, "Asia/Kolkata"))))
    assert cells["outlook"].plain.endswith("2027") and cells["burn"].plain == "₹3.66"  # over 59 min


# -- refusals -------------------------------------------------------------------------------------------

def test_refusals_are_counted_per_budget_for_an_hour():
    """QA's asha: every request needs ~₹5.32 against a ₹0.50 daily budget: 0 % used, but blocking."""
    led = Ledger(IST, INR)
    led.set_budgets("key", "asha", [Budget(Decimal("0.5"), "1d")])
    led.set_budgets("team", "interns", [Budget(Decimal(3), "1d")])
    led.set_budgets("customer", "acme", [Budget(Decimal(10000), "1M")])
    chain = led.budgets_of("key", "asha") + led.budgets_of("team", "interns") + led.budgets_of("customer", "acme")
    for i in range(3):
        outcome = led.reserve(chain, inr("5.32"), T0 + timedelta(minutes=i))
        assert isinstance(outcome, Denial) and outcome.state.ref.entity == "asha"
    key, team, customer = (budget_status(led, s, T0 + timedelta(minutes=5)) for s in chain)
    assert (key["refused_recent"], team["refused_recent"], customer["refused_recent"]) == (3, 3, 0)
    assert key["used_pct"] == 0.0 and key["spent_micro_usd"] == 0
    assert "blocking: 3 refused" == outlook(key, IST, long=True).plain
    assert "red" in str(outlook(key, IST, long=True).style)
    assert outlook(customer, IST, long=True).plain == "won't run out before reset"
    later = budget_status(led, chain[0], T0 + timedelta(minutes=65))
    assert later["refused_recent"] == 0 and outlook(later, IST, long=True).plain != "blocking: 3 refused"


def _scene_budgets() -> list[dict]:
    """Budget dicts from the real ledger: asha refused, maria burning fast, qa-key1 rolling and quiet."""
    led = Ledger(IST, INR)
    led.set_budgets("key", "asha", [Budget(Decimal("0.5"), "1d")])
    led.set_budgets("key", "maria", [Budget(Decimal(2000), "1d")])
    led.set_budgets("key", "qa-key1", [Budget(Decimal(100), "7d", rolling=True)])
    led.set_budgets("team", "backend", [Budget(Decimal(50000), "1M")])
    for state in led.states.values():
        led.roll(state, T0)
    asha, maria, qa = (led.budgets_of("key", n)[0] for n in ("asha", "maria", "qa-key1"))
    team = led.budgets_of("team", "backend")[0]
    for i in range(4):
        led.reserve([asha], inr("5.32"), T0 + timedelta(minutes=i))
    spend(led, maria, inr("214"), T0 + timedelta(minutes=3))
    spend(led, team, inr("45000"), T0 + timedelta(minutes=3))  # 90 % used, but not refusing
    spend(led, qa, inr("0.0235"), T0 + timedelta(minutes=2))
    now = T0 + timedelta(minutes=6, seconds=41)
    return [budget_status(led, s, now) for s in (asha, maria, qa, team)]


async def test_budgets_screen_shows_blocking_and_sorts_it_first():
    app = make_app(FakeSource(budgets=_scene_budgets()))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("3")
        await pilot.pause()
        app.refresh_screen()
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, BudgetsScreen)
        table = screen.table
        asha = table.get_cell("key:asha:1d", "outlook")
        assert asha.plain == "blocking: 4 refused" and "red" in str(asha.style)
        assert "red" in str(table.get_cell("key:asha:1d", "entity").style)
        assert table.get_cell("key:asha:1d", "used").plain.endswith("0.0%")
        assert table.get_cell("key:maria:1d", "outlook").plain.startswith("runs out 27 Nov")
        assert table.get_cell("key:qa-key1:7d:rolling", "outlook").plain == "won't run out"
        assert table.get_cell("key:qa-key1:7d:rolling", "burn").plain != "₹0.00"
        assert "1 blocking" in str(table.border_title)
        # sorted by % used: the blocking key comes first in its group although it has spent nothing
        await pilot.press("s")
        await pilot.pause()
        keys = [row.key.value for row in table.ordered_rows]
        assert keys.index("key:asha:1d") == keys.index("group:key") + 1
        screen.select_name("asha")
        await pilot.pause()
        detail = str(screen.query_one("#budgets-detail").render())
        assert "blocking: 4 requests refused in the last hour" in detail
        screen.select_name("maria")
        await pilot.pause()
        detail = str(screen.query_one("#budgets-detail").render())
        assert "/day (last 7 min)" in detail and "at this rate: runs out 27 Nov" in detail


async def test_overview_lists_a_blocking_budget_first_with_its_refusals():
    app = make_app(FakeSource(budgets=_scene_budgets()))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        app.refresh_screen()
        await pilot.pause()
        text = app.screen.query_one("#ov-budgets").render()
        lines = str(text).splitlines()
        assert lines[0].startswith("key asha") and lines[0].rstrip().endswith("blocking ×4")
        assert all(len(line) <= app.screen.query_one("#ov-budgets").content_region.width for line in lines)


async def test_a_short_overview_still_names_the_blocking_budgets():
    """At 80x24 the budgets panel is hidden: the month panel names what is refusing requests."""
    app = make_app(FakeSource(budgets=_scene_budgets()))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        app.refresh_screen()
        await pilot.pause()
        first = str(app.screen.query_one("#ov-month").render()).splitlines()[0]
        assert first.startswith("blocking key asha") and "(4 refused in the last hour)" in first
