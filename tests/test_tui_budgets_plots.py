"""Budgets (3) and Plots (5) console screens: Pilot tests on scripted data, one on a real in-process
gateway, snapshots of the budgets screen, and the refresh costs (printed with -s)."""
from __future__ import annotations

import math
import time

import aiohttp
import pytest
from rich.text import Text

from app.core.keys import hash_key
from app.tui.app import ConsoleApp
from app.tui.screens.budget_layout import NARROW_COLUMNS, WIDE_COLUMNS
from app.tui.screens.budget_rows import EXHAUSTED, compact_money, rate_money
from app.tui.screens.budgets import BudgetsScreen
from app.tui.screens.plots import PlotsScreen
from tui_harness import FakeSource, make_app, running_gateway

PER_USD = 84.0
LIMIT = 100_000_000  # micro-USD: ₹8,400


def budget(level: str, entity: str, pct: float, period: str = "1M", label: str = "Monthly", *,
           rolling: bool = False, runs_out_at: str | None = None, burn: float = 0.0, limit: int = LIMIT,
           reserved: int = 0) -> dict:
    """A budget dict shaped like app.core.budget_status (display amounts in INR at 84/USD)."""
    spent = int(round(limit * pct / 100))
    resets = None if rolling else ("2026-11-03T18:30:00+00:00" if period == "1d" else "2026-11-30T18:30:00+00:00")
    resets_local = None if rolling else ("2026-11-04 00:00 IST" if period == "1d" else "2026-12-01 00:00 IST")
    return {"level": level, "entity": entity, "period": period, "rolling": rolling, "label": label,
            "currency": "INR", "limit": limit * PER_USD / 1e6, "spent": spent * PER_USD / 1e6,
            "reserved": reserved * PER_USD / 1e6, "remaining": (limit - spent - reserved) * PER_USD / 1e6,
            "spent_micro_usd": spent, "reserved_micro_usd": reserved, "limit_micro_usd": limit,
            "used_pct": round(100.0 * spent / limit, 2), "resets_at": resets, "resets_at_local": resets_local,
            "burn_rate_per_day": burn, "runs_out_at": runs_out_at, "text": ""}


def scripted_budgets() -> list[dict]:
    return [
        budget("provider", "primary-sim", 10.0),
        budget("key", "pranay", 95.0, "1d", "Daily", burn=2_100.0),
        budget("key", "asha", 120.0, "1d", "Daily", burn=900.0),
        budget("key", "li", 30.0, "5h", "Rolling 5-hour", rolling=True, burn=60.0),
        budget("team", "backend", 80.0, burn=950.0, runs_out_at="2026-11-24T09:00:00+00:00"),
        budget("customer", "acme", 50.0, burn=120.5),
    ]


def budgets_app(budgets: list[dict] | None = None) -> tuple[ConsoleApp, FakeSource]:
    fake = FakeSource(budgets=scripted_budgets() if budgets is None else budgets)
    return make_app(fake), fake


async def show(app: ConsoleApp, pilot, key: str):
    await pilot.press(key)
    await pilot.pause()
    app.refresh_screen()
    await pilot.pause()
    return app.screen


async def repoll_budgets(app: ConsoleApp, fake: FakeSource, pilot) -> None:
    """What the poller does every ~2 s for budgets, without waiting 2 s."""
    app.state.budgets = await fake.budgets()
    app.refresh_screen()
    await pilot.pause()


def cell(screen: BudgetsScreen, row: str, column: str) -> Text:
    return screen.table.get_cell(row, column)


def styles(text: Text) -> str:
    return " ".join([str(text.style)] + [str(span.style) for span in text.spans])


def row_keys(screen: BudgetsScreen) -> list[str]:
    table = screen.table
    return [row.key.value for row in table.ordered_rows]


# -- budgets --------------------------------------------------------------------------------------

async def test_budgets_rows_grouped_with_percent_and_colours():
    app, _ = budgets_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await show(app, pilot, "3")
        assert isinstance(screen, BudgetsScreen)
        # grouped: customer → team → key → provider, each under its header row
        assert row_keys(screen) == ["group:customer", "customer:acme:1M", "group:team", "team:backend:1M",
                                    "group:key", "key:asha:1d", "key:li:5h:rolling", "key:pranay:1d",
                                    "group:provider", "provider:primary-sim:1M"]
        assert cell(screen, "group:key", "entity").plain == "Keys"
        used = {key: cell(screen, key, "used") for key in ("customer:acme:1M", "team:backend:1M", "key:pranay:1d",
                                                             "key:asha:1d")}
        assert used["customer:acme:1M"].plain.endswith("50.0%") and "green" in styles(used["customer:acme:1M"])
        assert used["team:backend:1M"].plain.endswith("80.0%") and "yellow" in styles(used["team:backend:1M"])
        assert used["key:pranay:1d"].plain.endswith("95.0%") and "red" in styles(used["key:pranay:1d"])
        assert "█" in used["key:pranay:1d"].plain and EXHAUSTED not in used["key:pranay:1d"].plain
        exhausted = used["key:asha:1d"]
        assert EXHAUSTED in exhausted.plain and exhausted.plain.endswith("120.0%")
        assert "on red" in styles(exhausted) and "█" not in exhausted.plain
        assert "red" in styles(cell(screen, "key:asha:1d", "entity"))
        assert "yellow" not in styles(used["customer:acme:1M"]) and "red" not in styles(used["team:backend:1M"])
        # spent / limit, remaining, resets, period label in the display currency
        assert cell(screen, "customer:acme:1M", "spent").plain == "₹4,200 / ₹8,400"
        assert cell(screen, "key:asha:1d", "remaining").plain == "-₹1,680"
        assert cell(screen, "key:pranay:1d", "period").plain == "Daily"
        assert cell(screen, "key:li:5h:rolling", "resets").plain == "rolling 5h"
        assert cell(screen, "key:pranay:1d", "resets").plain.startswith("04 Nov")
        assert cell(screen, "team:backend:1M", "burn").plain == "₹950"  # 3 significant digits
        title = screen.table.border_title
        assert "6" in str(title) and "1 exhausted" in str(title) and "1 ≥90%" in str(title)


async def test_budgets_projected_run_out():
    app, _ = budgets_app()
    async with app.run_test(size=(160, 40)) as pilot:
        screen = await show(app, pilot, "3")
        assert screen._layout.long_outlook
        assert cell(screen, "team:backend:1M", "outlook").plain == "runs out 24 Nov 14:30"  # 09:00 UTC in IST
        assert cell(screen, "customer:acme:1M", "outlook").plain == "won't run out before reset"
        assert cell(screen, "key:asha:1d", "outlook").plain == "exhausted"
        assert cell(screen, "key:li:5h:rolling", "outlook").plain == "won't run out"  # no reset to outlast
        assert cell(screen, "customer:acme:1M", "resets").plain == "01 Dec 00:00"
        # the detail line spells out the highlighted budget
        screen.select_name("backend")
        await pilot.pause()
        detail = str(screen.query_one("#budgets-detail").render())
        assert "team backend" in detail and "₹6,720.00 of ₹8,400.00 spent (80.0%)" in detail
        assert "resets 2026-12-01 00:00 IST" in detail and "at this rate: runs out 24 Nov" in detail


async def test_budgets_filter_and_sort():
    app, _ = budgets_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await show(app, pilot, "3")
        await pilot.press("slash", "p", "r", "enter")
        await pilot.pause()
        assert row_keys(screen) == ["group:key", "key:pranay:1d", "group:provider", "provider:primary-sim:1M"]
        assert "filter" in str(screen.table.border_title) and "2 of 6" in str(screen.table.border_title)
        await pilot.press("slash", "backspace", "backspace", "exclamation_mark", "p", "r", "enter")  # inverted
        await pilot.pause()
        assert screen.filter_text == "!pr"
        assert "key:pranay:1d" not in row_keys(screen) and "key:asha:1d" in row_keys(screen)
        await pilot.press("escape")
        await pilot.pause()
        assert screen.filter_text == "" and len(row_keys(screen)) == 10
        # s: each group by % used, highest first; again: by name
        await pilot.press("s")
        await pilot.pause()
        keys = [k for k in row_keys(screen) if k.startswith("key:")]
        assert keys == ["key:asha:1d", "key:pranay:1d", "key:li:5h:rolling"]
        assert "sorted by % used" in str(screen.table.border_title)
        assert row_keys(screen)[0] == "group:customer"  # still grouped
        await pilot.press("s")
        await pilot.pause()
        assert [k for k in row_keys(screen) if k.startswith("key:")] == ["key:asha:1d", "key:li:5h:rolling",
                                                                        "key:pranay:1d"]


async def test_budgets_sort_follows_new_numbers_and_keeps_the_cursor():
    app, fake = budgets_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await show(app, pilot, "3")
        await pilot.press("s")
        screen.select_name("pranay")
        await pilot.pause()
        fake.budget_list[3] = budget("key", "li", 99.0, "5h", "Rolling 5-hour", rolling=True)  # li overtakes
        await repoll_budgets(app, fake, pilot)
        assert [k for k in row_keys(screen) if k.startswith("key:")] == ["key:asha:1d", "key:li:5h:rolling",
                                                                        "key:pranay:1d"]
        assert screen._cursor_key() == "key:pranay:1d"


async def test_budgets_update_of_one_budget_touches_only_its_cells():
    app, fake = budgets_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await show(app, pilot, "3")
        table = screen.table
        rows_before, rebuilds = table.row_count, screen.rebuilds
        writes: list[tuple[str, str]] = []
        original = table.update_cell

        def spy(row_key, column_key, value, **kw):
            writes.append((str(getattr(row_key, "value", row_key)), str(getattr(column_key, "value", column_key))))
            return original(row_key, column_key, value, **kw)

        table.update_cell = spy
        await repoll_budgets(app, fake, pilot)  # same numbers, new dicts: nothing to write
        assert writes == []
        fake.budget_list[5] = budget("customer", "acme", 60.0, burn=120.5)  # acme spends more
        await repoll_budgets(app, fake, pilot)
        assert writes and {row for row, _ in writes} == {"customer:acme:1M"}
        assert {col for _, col in writes} <= {"used", "spent", "remaining"}
        assert "60.0%" in cell(screen, "customer:acme:1M", "used").plain
        assert table.row_count == rows_before and screen.rebuilds == rebuilds
        # the same list object again (the poller refreshes budgets only every ~2 s): no work at all
        writes.clear()
        app.refresh_screen()
        await pilot.pause()
        assert writes == []


async def test_budgets_added_and_removed_budget_rows():
    app, fake = budgets_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await show(app, pilot, "3")
        rebuilds = screen.rebuilds
        fake.budget_list.append(budget("key", "maria", 5.0, "1d", "Daily"))
        del fake.budget_list[0]  # the provider budget goes away
        await repoll_budgets(app, fake, pilot)
        keys = row_keys(screen)
        assert "key:maria:1d" in keys and keys.index("key:maria:1d") == keys.index("key:li:5h:rolling") + 1
        assert "group:provider" not in keys and "provider:primary-sim:1M" not in keys
        assert screen.rebuilds == rebuilds  # added/removed in place


@pytest.mark.parametrize("size,columns", [((80, 24), NARROW_COLUMNS), ((120, 40), WIDE_COLUMNS)])
async def test_budgets_layout_fits(size, columns):
    app, _ = budgets_app()
    async with app.run_test(size=size) as pilot:
        screen = await show(app, pilot, "3")
        table = screen.table
        assert tuple(c.key.value for c in table.ordered_columns) == columns
        assert table.virtual_size.width <= table.scrollable_content_region.width  # no horizontal scrolling
        assert table.max_scroll_x == 0
        if size == (80, 24):
            assert cell(screen, "key:pranay:1d", "resets").plain == "04 Nov"
            assert EXHAUSTED in cell(screen, "key:asha:1d", "used").plain
            assert cell(screen, "customer:acme:1M", "spent").plain == "₹4,200/₹8,400"


async def test_budgets_resize_switches_layout():
    app, _ = budgets_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await show(app, pilot, "3")
        screen.select_name("pranay")
        await pilot.pause()
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        assert tuple(c.key.value for c in screen.table.ordered_columns) == NARROW_COLUMNS
        assert screen._cursor_key() == "key:pranay:1d"
        assert screen.table.max_scroll_x == 0


def test_compact_money_widths():
    for value in (0, 0.48213, 482.1, 999.999, 12_345.6, 99_999.4, 123_456, 999_949, 1_234_567, 98_765_432,
                  999_999_999, 12_345_678_901):
        assert len(compact_money(value, "₹")) <= 7, compact_money(value, "₹")
    assert compact_money(-1234, "₹") == "-₹1,234"
    assert compact_money(0.5, "$") == "$0.50" and compact_money(0.00213, "$") == "$0.0021"
    # burn rates drift every poll: 3 significant digits keep the cell (and the table) from repainting
    assert [rate_money(v, "₹") for v in (0.5, 1.2345, 12.345, 123.4, 1234.5, 1_234_567)] == \
        ["₹0.50", "₹1.23", "₹12.3", "₹123", "₹1,230", "₹1.23M"]


async def test_budgets_real_gateway_shows_spend(tmp_path):
    """A key with a budget spends through the real in-process gateway; the real poller brings it in."""
    secret = "vk-budget-dev-c-5e7f9a1b3c5d7e9f1a3b5c7d"
    extra = f"  - {{name: dev-c, team: backend, key_hash: '{hash_key(secret)}', budgets: [{{limit: 50, period: 1M}}]}}\n"
    async with running_gateway(tmp_path, extra) as (server, source):
        app = ConsoleApp(source, poll_interval=0.5)
        async with app.run_test(size=(120, 40)) as pilot:
            screen = await show(app, pilot, "3")
            assert "key:dev-c:1M" in row_keys(screen)
            assert cell(screen, "key:dev-c:1M", "spent").plain == "₹0.00 / ₹50.00"
            async with aiohttp.ClientSession() as session:
                for _ in range(3):
                    body = {"model": "claude-sonnet-4-5", "max_tokens": 64,
                            "messages": [{"role": "user", "content": "hello " * 200}]}
                    async with session.post(f"{server.url}/anthropic/v1/messages", json=body,
                                            headers={"x-api-key": secret}) as resp:
                        assert resp.status == 200, await resp.text()
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:  # budgets come with the poller's slow tick (~2 s)
                await pilot.pause(0.25)
                b = screen._budgets.get("key:dev-c:1M")
                if b and b["spent_micro_usd"] > 0:
                    break
            b = screen._budgets["key:dev-c:1M"]
            assert b["spent_micro_usd"] > 0
            spent_cell = cell(screen, "key:dev-c:1M", "spent").plain
            assert not spent_cell.startswith("₹0.00 ") and spent_cell.endswith("/ ₹50.00")
            assert "%" in cell(screen, "key:dev-c:1M", "used").plain
            assert "team:backend" not in " ".join(row_keys(screen))  # no budget on the team: no row


# -- snapshots (deterministic scripted data) ------------------------------------------------------

def snapshot_budgets() -> list[dict]:
    out = scripted_budgets()
    out += [budget("key", "intern-sam", 62.5, "1M", burn=310.0, runs_out_at="2026-11-21T06:15:00+00:00"),
            budget("key", "maria", 91.0, "1w", "Weekly", burn=1_700.0),
            budget("team", "interns", 100.0, limit=5_952_381, burn=40.0),
            budget("key", "pranay", 12.0, "1M", burn=2_100.0)]
    return out


def test_budgets_snapshot_80x24(snap_compare):
    app, _ = budgets_app(snapshot_budgets())
    assert snap_compare(app, press=["3", "_"], terminal_size=(80, 24))


def test_budgets_snapshot_120x40(snap_compare):
    app, _ = budgets_app(snapshot_budgets())

    async def run_before(pilot):
        await pilot.press("3")
        await pilot.pause()
        pilot.app.screen.select_name("backend")
        await pilot.pause()

    assert snap_compare(app, terminal_size=(120, 40), run_before=run_before)


# -- plots ----------------------------------------------------------------------------------------

START_MINUTE = 29_500_000  # 2026-02-01 ~ 08:00 UTC


def fake_series(n: int = 60, spend: float = 20_000.0) -> dict:
    return {"minutes": list(range(START_MINUTE, START_MINUTE + n)),
            "rps": [round(1 + math.sin(i / 5), 3) for i in range(n)],
            "p50_ms": [400 + 50 * math.sin(i / 7) for i in range(n)],
            "p95_ms": [1500 + 300 * math.cos(i / 9) for i in range(n)],
            "spend_micro_usd": [int(spend * (1 + math.sin(i / 4))) for i in range(n)],
            "by_key": {"pranay": 21_000_000, "asha": 14_500_000, "li": 8_200_000, "intern-sam": 4_500_000},
            "by_team": {"backend": 35_500_000, "frontend": 8_200_000, "interns": 4_500_000},
            "by_model": {"claude-sonnet-4-5": 40_000_000, "claude-haiku-4-5": 8_000_000}}


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def use_clock(screen: PlotsScreen) -> Clock:
    """A manual clock for the screen's 1 s fetch/draw gates; everything last happened 5 s ago."""
    clock = Clock()
    screen.clock = clock
    screen._last_fetch = clock.now - 5
    screen._last_draw = {name: clock.now - 5 for name in screen.draw_counts}
    return clock


async def plots_app(size=(120, 40), n: int = 60):
    fake = FakeSource()
    fake.series_data = fake_series(n)
    return make_app(fake), fake


async def settle(app, pilot) -> None:
    await app.workers.wait_for_complete()
    await pilot.pause()


async def open_plots(app, pilot) -> PlotsScreen:
    screen = await show(app, pilot, "5")
    assert isinstance(screen, PlotsScreen)
    await settle(app, pilot)
    return screen


def plotted_x(data: tuple) -> tuple:
    return data[5] if data[0] == "spend" else data[3]


async def test_plots_draw_from_fake_series():
    app, _ = await plots_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_plots(app, pilot)
        assert screen.draw_counts == {"spend": 1, "rps": 1, "latency": 1, "bars": 1}
        assert screen.fetch_error is None
        for name in ("spend", "rps", "latency", "bars"):
            rendered = screen.plot(name).render()  # the plotext build itself must not fail
            assert rendered.plain.strip()
        bars = screen.drawn["bars"]
        assert [k for k, _ in bars[3]] == ["pranay", "asha", "li", "intern-sam"]
        assert bars[3][0][1] == pytest.approx(21 * PER_USD, rel=1e-2)  # display currency, 3 significant digits
        assert "₹" in str(screen.plot("spend").border_title)
        spend = screen.drawn["spend"]
        assert sum(spend[6]) == pytest.approx(sum(fake_series()["spend_micro_usd"]) * PER_USD / 1e6, rel=1e-2)


async def test_plots_downsample_to_width():
    app, fake = await plots_app(n=1440)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_plots(app, pilot)
        for name in ("spend", "rps", "latency"):
            width = screen.plot(name).size.width
            xs = plotted_x(screen.drawn[name])
            assert 0 < len(xs) <= width, (name, len(xs), width)
        await pilot.press("d")
        await pilot.pause(1.2)
        await settle(app, pilot)
        assert screen.series_window == "d"
        spend = screen.drawn["spend"]
        assert spend[1] == "d" and spend[4] == 60  # per hour
        assert len(spend[5]) in (24, 25)  # 1440 minutes over local clock hours
        assert len(plotted_x(screen.drawn["rps"])) <= screen.plot("rps").size.width
        await pilot.resize_terminal(80, 24)
        await pilot.pause(1.2)
        await settle(app, pilot)
        for name in ("spend", "rps", "latency"):
            assert len(plotted_x(screen.drawn[name])) <= screen.plot(name).size.width


async def test_plots_no_redraw_when_data_unchanged():
    app, fake = await plots_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_plots(app, pilot)
        clock = use_clock(screen)
        first = dict(screen.draw_counts)
        fetches = screen.fetches
        for _ in range(4):  # four polls, two seconds apart, same data
            clock.now += 2
            app.refresh_screen()
            await settle(app, pilot)
        assert screen.fetches == fetches + 4
        assert screen.draw_counts == first
        # polls less than a second apart fetch nothing
        app.refresh_screen()
        await settle(app, pilot)
        assert screen.fetches == fetches + 4
        # new latency numbers: only the latency plot is redrawn
        fake.series_data["p95_ms"] = [v + 100 for v in fake.series_data["p95_ms"]]
        clock.now += 2
        app.refresh_screen()
        await settle(app, pilot)
        assert screen.draw_counts == first | {"latency": first["latency"] + 1}


async def test_plots_redraw_at_most_once_a_second_and_only_when_visible():
    app, fake = await plots_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_plots(app, pilot)
        clock = use_clock(screen)
        fake.series_data["spend_micro_usd"] = [v * 2 for v in fake.series_data["spend_micro_usd"]]
        app.refresh_screen()
        await settle(app, pilot)
        assert screen.draw_counts["spend"] == 2  # changed, last drawn 5 s ago: drawn at once
        # changed again 1 s later (a fetch is due), but the plot was drawn 0.2 s ago (say, after a resize)
        fake.series_data["spend_micro_usd"] = [v * 2 for v in fake.series_data["spend_micro_usd"]]
        clock.now += 1
        screen._last_draw["spend"] = clock.now - 0.2
        app.refresh_screen()
        await settle(app, pilot)
        assert screen.draw_counts["spend"] == 2  # throttled: a trailing timer (0.8 s) is pending
        assert screen._draw_timer is not None
        clock.now += 1
        await pilot.pause(0.9)
        assert screen.draw_counts["spend"] == 3 and screen._draw_timer is None
        # hidden: fetched data is not drawn until the screen is shown again
        await pilot.press("3")
        await pilot.pause()
        fake.series_data["rps"] = [v + 1 for v in fake.series_data["rps"]]
        clock.now += 2
        screen.request_fetch()
        await settle(app, pilot)
        assert screen.series["rps"] == fake.series_data["rps"]
        assert screen.draw_counts["rps"] == 1
        await pilot.press("5")
        await pilot.pause()
        await settle(app, pilot)
        assert screen.draw_counts["rps"] == 2


async def test_plots_toggles_change_what_is_drawn():
    app, fake = await plots_app(n=1440)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_plots(app, pilot)
        calls: list[int] = []
        original = fake.series

        async def series(minutes: int = 60):
            calls.append(minutes)
            return await original(minutes)

        fake.series = series
        assert screen.drawn["bars"][1] == "k"
        await pilot.press("t")
        await pilot.pause()
        assert screen.drawn["bars"][1] == "t"
        assert [k for k, _ in screen.drawn["bars"][3]] == ["backend", "frontend", "interns"]
        assert "by team" in str(screen.plot("bars").border_title)
        await pilot.press("m")
        await pilot.pause()
        assert [k for k, _ in screen.drawn["bars"][3]] == ["sonnet-4-5", "haiku-4-5"]
        await pilot.press("k")
        await pilot.pause()
        assert [k for k, _ in screen.drawn["bars"][3]][0] == "pranay"
        await pilot.press("d")
        await pilot.pause(1.2)
        await settle(app, pilot)
        assert 1440 in calls and screen.drawn["spend"][1] == "d"
        assert "last day" in str(screen.plot("spend").border_title)
        assert "per hour" in str(screen.plot("spend").border_title)
        await pilot.press("h")
        await pilot.pause(1.2)
        await settle(app, pilot)
        assert calls[-1] == 60 and screen.drawn["spend"][1] == "h"
        assert "last hour" in str(screen.plot("rps").border_title)


async def test_plots_survive_a_failing_source():
    app, fake = await plots_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_plots(app, pilot)
        fake.fail_with(ConnectionError("gateway gone"))
        screen._last_fetch -= 5
        screen.request_fetch()
        await settle(app, pilot)
        assert screen.fetch_error == "gateway gone"
        assert "series unavailable" in str(screen.query_one("#plots-status").render())
        fake.fail_with(None)
        screen._last_fetch -= 5
        screen.request_fetch()
        await settle(app, pilot)
        assert screen.fetch_error is None


async def test_plots_empty_series():
    fake = FakeSource()  # no minutes, no spend
    app = make_app(fake)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_plots(app, pilot)
        for name in ("spend", "rps", "latency", "bars"):
            screen.plot(name).render()
        assert screen.drawn["bars"][3] == ()
