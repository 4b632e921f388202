"""The live console screens (Overview 1, Requests 2, Failover 4) driven by Pilot over a scripted
FakeSource, one test against a real in-process gateway, and SVG snapshots (tests/__snapshots__/)."""
from __future__ import annotations

import asyncio
import io
import re

import pytest
from rich.console import Console
from rich.text import Text
from textual.app import App
from textual.widgets import DataTable
from tui_harness import FakeSource, make_app, running_gateway, send_messages

from app.tui.app import ConsoleApp
from app.tui.filter_box import FILTER_DELAY
from app.tui.request_detail import RequestDetail
from app.tui.screens.failover import FailoverScreen
from app.tui.screens.overview import OverviewScreen
from app.tui.screens.request_rows import COLUMNS
from app.tui.screens.requests import ROW_CAP, RequestsScreen
from app.tui.live_tail import LiveTail
from app.tui.tail_table import TailTable

WIDE, SMALL = (120, 40), (80, 24)


def plain(widget) -> str:
    """The text a Static (or the status header) shows."""
    if isinstance(getattr(widget, "plain", None), str):
        return widget.plain
    content = widget.content
    return content.plain if hasattr(content, "plain") else str(content)


def rendered(renderable, width: int = 110) -> str:
    """What a rich renderable (a detail section) reads as, in plain text."""
    console = Console(width=width, file=io.StringIO(), color_system=None)
    with console.capture() as capture:
        console.print(renderable)
    return capture.get()


def title(screen) -> str:
    bordered = screen.frame if isinstance(screen, RequestsScreen) else screen.table  # the tail's border is its frame's
    return Text.from_markup(bordered.border_title or "").plain


def shown_keys(screen: RequestsScreen) -> list[str]:
    return [row["key"] for row in screen.table.items()]


async def poll(app, pilot) -> None:
    await app.poll()
    await pilot.pause()


def count_layouts(monkeypatch, screen) -> list:
    """A list that gets an entry for every layout pass of `screen`'s class from now on."""
    layouts: list = []
    real = type(screen)._refresh_layout

    def counting(self, *args, **kwargs):
        layouts.append(args)
        return real(self, *args, **kwargs)
    monkeypatch.setattr(type(screen), "_refresh_layout", counting)
    return layouts


# -- navigation ------------------------------------------------------------------------------------

async def test_number_keys_and_command_line_switch_screens():
    app = make_app()
    async with app.run_test(size=WIDE) as pilot:
        assert isinstance(app.screen, OverviewScreen)
        await pilot.press("2")
        assert isinstance(app.screen, RequestsScreen)
        await pilot.press("4")
        assert isinstance(app.screen, FailoverScreen)
        await pilot.press("1")
        assert isinstance(app.screen, OverviewScreen)
        await pilot.press("colon", *"logs", "enter")
        await pilot.pause()
        assert isinstance(app.screen, RequestsScreen)
        await pilot.press("colon", *"failover", "enter")
        await pilot.pause()
        assert isinstance(app.screen, FailoverScreen)


# -- overview --------------------------------------------------------------------------------------

async def test_overview_shows_top_spenders_provider_health_savings_and_totals():
    app = make_app()
    async with app.run_test(size=WIDE) as pilot:
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, OverviewScreen) and screen.has_class("-wide")
        spenders = plain(screen.query_one("#ov-spenders"))
        assert [line.split()[0] for line in spenders.splitlines()] == ["pranay", "asha", "li", "intern-sam"]
        assert "₹1,764.00" in spenders and "44%" in spenders  # 21 USD at 84/USD, 21.0 of 48.2
        providers = plain(screen.query_one("#ov-providers"))
        assert "anthropic" in providers and "budget 50%" in providers
        sim = next(line for line in providers.splitlines() if "primary-sim" in line)
        assert "SIMULATED" in sim and "1 open" in sim
        assert "SIMULATED" not in next(line for line in providers.splitlines() if "● anthropic" in line)
        month = plain(screen.query_one("#ov-month"))
        assert "requests 1,234" in month and "errors 31 (2.5%)" in month
        assert "routing saved ₹529.20" in month  # 6.3 USD
        events = plain(screen.query_one("#ov-events"))
        assert "primary-sim/simulated closed → open" in events
        budgets = plain(screen.query_one("#ov-budgets"))
        assert budgets.splitlines()[0].startswith("key asha daily")


async def test_overview_counts_this_months_requests_when_the_gateway_reports_them():
    fake = FakeSource.scene()
    fake.set_summary(requests_month=52_000, errors_month=520)
    app = make_app(fake)
    async with app.run_test(size=WIDE) as pilot:
        await pilot.pause()
        month = plain(app.screen.query_one("#ov-month"))
        assert "requests 52,000" in month and "errors 520 (1.0%)" in month and "this month" in month
        assert "since start" not in month


async def test_overview_updates_in_place_after_a_poll():
    fake = FakeSource.scene()
    app = make_app(fake)
    async with app.run_test(size=WIDE) as pilot:
        fake.set_summary(top_keys=[("newcomer", 40_000_000)], requests_total=2000)
        fake.set_circuit("backup-sim", "simulated", "bad", 9, None, "HTTP 401")
        await poll(app, pilot)
        screen = app.screen
        assert plain(screen.query_one("#ov-spenders")).startswith("newcomer")
        assert "requests 2,000" in plain(screen.query_one("#ov-month"))
        assert "1 bad" in plain(screen.query_one("#ov-providers"))
        fake.set_summary(saved_month_micro_usd=0)
        await poll(app, pilot)
        assert "no request was routed to a cheaper model" in plain(screen.query_one("#ov-month"))
        fake.set_summary(saved_month_micro_usd=-1_000_000)
        await poll(app, pilot)
        assert "routing cost ₹84.00 more" in plain(screen.query_one("#ov-month"))


async def test_overview_collapses_to_one_column_below_100_columns():
    app = make_app()
    async with app.run_test(size=SMALL) as pilot:
        await pilot.pause()
        screen = app.screen
        assert screen.has_class("-narrow") and screen.has_class("-short")
        left, right = screen.query_one("#ov-left"), screen.query_one("#ov-right")
        assert left.region.x == right.region.x  # stacked, not side by side
        for wid in ("#ov-spenders", "#ov-month", "#ov-providers"):  # all visible without scrolling
            region = screen.query_one(wid).region
            assert region.bottom <= 23, wid
        assert not screen.query_one("#ov-events").display
        await pilot.resize_terminal(120, 40)
        await pilot.pause()
        assert screen.has_class("-wide")
        assert screen.query_one("#ov-left").region.x < screen.query_one("#ov-right").region.x
        await pilot.press("2")  # resized while hidden: collapses when shown again
        await pilot.resize_terminal(80, 24)
        await pilot.press("1")
        await pilot.pause()
        assert app.screen is screen and screen.has_class("-narrow")
        assert screen.query_one("#ov-left").region.x == screen.query_one("#ov-right").region.x


# -- requests tail ---------------------------------------------------------------------------------

async def test_requests_tail_appends_new_rows_after_a_poll():
    fake = FakeSource.scene()
    app = make_app(fake)
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("2")
        screen = app.screen
        table = screen.table
        assert table.row_count == 10 and not screen.paused
        fake.add_requests(5, key="zoe")
        await poll(app, pilot)
        assert table.row_count == 15
        assert table.cursor_row == 14  # following the newest
        assert shown_keys(screen)[-5:] == ["zoe"] * 5
        assert "showing 15 of 15" in title(screen) and "following" in title(screen)
        row = table.get_row("req_00000011")
        assert [c.plain for c in row[:4]] == ["10:00:11", "zoe", "claude-sonnet-4-5", "200"]
        assert row[5].plain == "₹1.04" and row[6].plain == "850ms" and row[7].plain == "310ms"


async def test_routed_model_and_status_colours():
    app = make_app()
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("2")
        table = app.screen.table
        routed = table.get_row("req_00000007")
        assert routed[2].plain == "claude-opus-4-1→claude-haiku-4-5"
        assert str(table.get_row("req_00000001")[3].style) == "green"
        assert str(table.get_row("req_00000009")[3].style) == "yellow"  # 402
        assert str(table.get_row("req_00000010")[3].style) == "bold red"  # 529


async def test_moving_up_pauses_the_view_and_counts_new_rows_and_G_resumes():
    fake = FakeSource.scene()
    app = make_app(fake)
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("2")
        screen, table = app.screen, app.screen.table
        await pilot.press("up")
        assert screen.paused and "PAUSED" in app.badges()
        fake.add_requests(3, key="zoe")
        await poll(app, pilot)
        assert table.row_count == 10  # the view is frozen...
        assert len(app.state.requests) == 13  # ...collection is not
        assert "+3 new" in title(screen) and screen.pending == 3
        assert table.cursor_row == 8  # where the user left it
        await pilot.press("G")
        assert not screen.paused and "PAUSED" not in app.badges()
        assert table.row_count == 13 and table.cursor_row == 12
        assert "+3 new" not in title(screen)


async def test_end_key_and_returning_to_the_last_row_resume_following():
    fake = FakeSource.scene()
    app = make_app(fake)
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("2")
        screen, table = app.screen, app.screen.table
        await pilot.press("up", "up")
        fake.add_requests(2)
        await poll(app, pilot)
        assert screen.paused and table.row_count == 10
        await pilot.press("end")
        assert not screen.paused and table.row_count == 12
        await pilot.press("up")
        fake.add_requests(1)
        await poll(app, pilot)
        assert table.row_count == 12
        await pilot.press("down")  # back on the last row: follows again, missed row appended
        await pilot.pause()
        assert not screen.paused and table.row_count == 13 and table.cursor_row == 12


async def test_scrolling_up_pauses_the_view():
    fake = FakeSource.scene()
    fake.add_requests(100)
    app = make_app(fake)
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("2")
        await pilot.pause()
        screen, table = app.screen, app.screen.table
        assert table.max_scroll_y > 10 and table.scroll_y == table.max_scroll_y
        table.scroll_to(y=table.scroll_y - 10, animate=False)
        await pilot.pause()
        assert screen.paused
        fake.add_requests(4)
        await poll(app, pilot)
        assert "+4 new" in title(screen) and table.row_count == 110


async def test_space_pauses_the_view_only_and_resume_shows_everything_missed():
    fake = FakeSource.scene()
    app = make_app(fake)
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("2")
        screen, table = app.screen, app.screen.table
        await pilot.press("space")
        assert screen.paused and table.cursor_row == 9
        for _ in range(3):
            fake.add_requests(4)
            await poll(app, pilot)
        assert len(app.state.requests) == 22 and table.row_count == 10
        assert "PAUSED +12 new" in title(screen)
        await pilot.press("down")  # an explicit pause survives cursor moves
        assert screen.paused
        await pilot.press("space")
        assert not screen.paused and table.row_count == 22 and table.cursor_row == 21


async def test_filter_by_key_inverts_with_bang_and_esc_clears():
    fake = FakeSource.scene()
    app = make_app(fake)
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("2")
        screen = app.screen
        await pilot.press("slash", *"asha", "enter")
        await pilot.pause()
        assert shown_keys(screen) == ["asha"] * 3
        assert "filter asha" in title(screen) and "showing 3 of 3 matching (of 10)" in title(screen)
        fake.add_request(key="asha")
        fake.add_request(key="li")
        await poll(app, pilot)
        assert shown_keys(screen) == ["asha"] * 4 and "showing 4 of 4 matching (of 12)" in title(screen)
        await pilot.press("slash", "ctrl+u", *"!asha", "enter")  # ctrl+u empties the input first
        await pilot.pause()
        assert screen.filter_text == "!asha"
        assert shown_keys(screen) and "asha" not in shown_keys(screen)
        assert len(shown_keys(screen)) == 12 - 4
        await pilot.press("escape")
        await pilot.pause()
        assert screen.filter_text == "" and screen.table.row_count == 12
        assert "filter" not in title(screen)


async def test_typing_a_filter_applies_it_after_a_quiet_moment_and_esc_closes_the_box():
    fake = FakeSource.scene()
    app = make_app(fake)
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("2")
        screen = app.screen
        box = screen.query_one("#requests-filter")
        await pilot.press("slash", *"ash")
        assert box.has_class("-open") and box.has_focus and screen.filter_text == ""  # not per keystroke
        await pilot.pause(FILTER_DELAY + 0.2)
        assert screen.filter_text == "ash" and shown_keys(screen) == ["asha"] * 3 and box.has_class("-open")
        await pilot.press("escape")
        await pilot.pause(FILTER_DELAY + 0.2)
        assert not box.has_class("-open") and box.value == "" and screen.table.has_focus
        assert screen.filter_text == "" and screen.table.row_count == 10


async def test_filter_matches_model_provider_and_status():
    app = make_app()
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("2")
        screen = app.screen
        for text, expected in (("haiku", ["intern-sam"]), ("backup-sim", ["li"]), ("529", ["pranay"]),
                               ("INTERNS", ["intern-sam"])):
            screen.set_filter(text)
            await pilot.pause()
            assert shown_keys(screen) == expected, text


async def test_enter_opens_the_request_detail_with_attempts_and_y_copies_the_id():
    app = make_app()
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("2")
        table = app.screen.table
        table.move_cursor(row=table.get_row_index("req_00000008"))
        await pilot.pause()
        await pilot.press("y")
        assert app.clipboard == "req_00000008"
        await pilot.press("enter")
        await pilot.pause()
        detail = app.screen
        assert isinstance(detail, RequestDetail)
        attempts = [line.split() for line in rendered(detail.query_one("#detail-attempts").content).splitlines()]
        assert attempts[0] == ["#", "provider", "key", "model", "status", "latency", "error"]
        assert attempts[1][:3] == ["1", "primary-sim", "simulated"] and attempts[1][-2:] == ["HTTP", "529"]
        assert attempts[2][:2] == ["2", "backup-sim"] and len(attempts) == 3
        text = rendered(detail.query_one("#detail-summary").content)
        assert "req_00000008" in text and "li / frontend / acme" in text
        assert "2026-11-03 10:00:08 IST" in text
        usage_text = rendered(detail.query_one("#detail-usage").content)
        assert "cache read" in usage_text and "18,000" in usage_text and "at requested model" in usage_text
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, RequestsScreen)


async def test_the_whole_failover_chain_is_readable_at_80x24():
    app = make_app()
    async with app.run_test(size=SMALL) as pilot:
        await pilot.press("2")
        table = app.screen.table
        table.move_cursor(row=table.get_row_index("req_00000008"))
        await pilot.press("enter")
        await pilot.pause()
        screen = painted(app)
        assert "provider" in screen and "latency" in screen and "error" in screen  # the header, not cut
        chain = [line for line in screen.splitlines() if "primary-sim" in line or "backup-sim" in line]
        assert any("529" in line for line in chain) and any("backup-sim" in line and "200" in line for line in chain)


async def test_detail_shows_routing_savings_and_rule():
    app = make_app()
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("2")
        table = app.screen.table
        table.move_cursor(row=table.get_row_index("req_00000007"))
        await pilot.press("enter")
        await pilot.pause()
        detail = app.screen
        text = "".join(rendered(detail.query_one(w).content) for w in ("#detail-summary", "#detail-usage"))
        assert "team:0" in text and "claude-haiku-4-5" in text and "(routed)" in text
        assert "₹0.7056" in text  # saved: (10500 - 2100) micro-USD at 84/USD


async def test_a_long_tail_keeps_only_the_drawn_rows_of_rows_still_held():
    """Cells and drawn lines are kept per row for repaints; rows the cap evicted must not pile up there."""
    fake = FakeSource.scene()
    app = make_app(fake)
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("2")
        table = app.screen.table
        drawn = set()
        for _ in range(12):
            fake.add_requests(300)
            await poll(app, pilot)
            drawn |= set(table._cells)
        assert len(app.state.requests) == 3610 and table.row_count == ROW_CAP
        assert len(drawn) > 300  # every tick drew a screenful of new rows
        held = set(table.items()[i]["id"] for i in range(ROW_CAP))
        assert set(table._cells) <= held and {key for key, _ in table._lines} <= held  # evicted: pruned
        assert len(table._cells) < len(drawn)
        assert table.cursor_key in table._cells  # what is on screen now stays cached


async def test_row_cap_evicts_the_oldest_rows_without_a_rebuild():
    fake = FakeSource.scene()
    app = make_app(fake)
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("2")
        screen, table = app.screen, app.screen.table
        for _ in range(3):
            fake.add_requests(400)
            await poll(app, pilot)
        assert len(app.state.requests) == 1210
        kept = ROW_CAP  # 1210 > cap: exactly the 210 oldest go, in one pass (the table keeps its size)
        assert table.row_count == kept == len(table.items())
        assert f"showing {kept:,} of 1,210" in title(screen)
        first = table.row_key_at(0)
        assert first == f"req_{1210 - kept + 1:08d}" == table.items()[0]["id"] == table.item(first)["id"]
        assert "req_00000001" not in table  # evicted: gone from the index too
        with pytest.raises(KeyError):
            table.item("req_00000001")
        assert table.get_row_index("req_00001210") == kept - 1 == table.cursor_row
        fake.add_requests(5)
        await poll(app, pilot)
        assert table.row_count == ROW_CAP and table.cursor_row == ROW_CAP - 1
        assert table.row_key_at(0) == "req_00000216" and table.cursor_key == "req_00001215"


# -- TailTable: stock DataTable pixels, cheaper appends ---------------------------------------------

class _TableApp(App):
    def __init__(self, table_class):
        super().__init__()
        self.table_class = table_class

    def compose(self):
        yield self.table_class(cursor_type="row", zebra_stripes=True)


async def _script(table_class) -> list[str]:
    """The same edits on a table; a screenshot after each step (so a stale cache shows up)."""
    app = _TableApp(table_class)
    shots = []
    async with app.run_test(size=(60, 14)) as pilot:
        table = app.query_one(DataTable)
        table.fixed_columns = 1
        for label in ("n", "key", "model", "cost"):
            table.add_column(label, key=label)

        def add(i, model="sonnet"):
            table.add_row(Text(str(i)), Text(f"key-{i % 3}"), Text(model, style="cyan" if i % 2 else ""),
                          Text(f"{i * 1.5:.2f}", justify="right"), key=str(i))

        async def shot():
            await pilot.pause()
            shots.append(re.sub(r"terminal-\d+", "T", app.export_screenshot()))

        for i in range(20):
            add(i)
        table.move_cursor(row=table.row_count - 1)
        await shot()
        for i in range(20, 23):  # appends; 21 widens the auto-width model column
            add(i, "a-much-longer-model-name" if i == 21 else "haiku")
            table.move_cursor(row=table.row_count - 1)
            await shot()
        table.update_cell("20", "cost", Text("77.70", justify="right"))  # same width, new content
        await shot()
        if isinstance(table, TailTable):
            table.drop_oldest(5)  # shifts every row index (zebra parity, click metadata)
        else:
            for i in range(5):
                table.remove_row(str(i))
        await shot()
        table.update_cell("10", "cost", Text("999.00", justify="right"), update_width=True)
        add(23)
        table.move_cursor(row=table.row_count - 1)
        await shot()
        table.move_cursor(row=table.get_row_index("10"))  # scroll back up to the updated row
        await shot()
    return shots


async def test_tail_table_renders_exactly_like_datatable():
    stock, tail = await _script(DataTable), await _script(TailTable)
    assert "a-much-longer-model-name" in stock[2] and "77.70" in stock[4] and "999.00" in stock[-1]
    assert len(set(stock)) == len(stock)  # every step changed the picture
    for step, (expected, actual) in enumerate(zip(stock, tail)):
        assert actual == expected, f"step {step}"


async def _tail_shots(size) -> tuple[list[str], bool]:
    """The Requests screen at each step of a script: following, cursor moved up (paused), scrolled
    sideways (only 80 columns are too narrow for every column), and blurred."""
    fake = FakeSource.scene()
    app = make_app(fake)
    shots = []
    async with app.run_test(size=size) as pilot:
        await pilot.press("2")
        fake.add_requests(300)
        await poll(app, pilot)
        await pilot.pause()
        shots.append(app.export_screenshot())
        await pilot.press("up", "up")
        await pilot.pause()
        shots.append(app.export_screenshot())
        app.screen.table.scroll_to(x=20, animate=False, immediate=True)
        await pilot.pause()
        shots.append(app.export_screenshot())
        app.set_focus(None)
        await pilot.pause()
        shots.append(app.export_screenshot())
        plain_box = app.screen.table._plain_box()
    return [re.sub(r"terminal-\d+", "terminal", shot) for shot in shots], plain_box  # ids hash the title


@pytest.mark.parametrize("no_color", [False, True], ids=["colour", "NO_COLOR"])
@pytest.mark.parametrize("size", [SMALL, WIDE], ids=["80x24", "120x40"])
async def test_the_tail_paints_its_lines_exactly_like_textuals_styles_pass(monkeypatch, size, no_color):
    """The tail's table has a plain box (the border is its frame's), so LiveTail skips Textual's per-line
    styles pass; the picture must be the same as through that pass, app line filters (NO_COLOR) included."""
    if no_color:
        monkeypatch.setenv("NO_COLOR", "1")
    else:
        monkeypatch.delenv("NO_COLOR", raising=False)
    fast, plain_box = await _tail_shots(size)
    assert plain_box  # the fast path was taken
    monkeypatch.setattr(LiveTail, "_plain_box", lambda self: False)
    styled, _ = await _tail_shots(size)
    assert len(set(fast)) == (4 if size == SMALL else 3)  # every step changed the picture
    for step, (expected, actual) in enumerate(zip(styled, fast)):
        assert actual == expected, f"step {step}"


async def test_a_tail_with_its_own_border_takes_textuals_styles_pass():
    class Bordered(App):
        CSS = "LiveTail { border: round red; padding: 0 1; }"

        def compose(self):
            yield LiveTail(id="t")

    app = Bordered()
    async with app.run_test(size=(40, 8)) as pilot:
        table = app.query_one(LiveTail)
        table.add_column("name")
        table.add_row("alpha", key="a")
        await pilot.pause()
        assert not table._plain_box()
        lines = [line.text for line in table.render_lines(table.region.reset_offset)]
        assert lines[0].startswith("╭") and lines[-1].startswith("╰")
        assert lines[1].startswith("│  name") and lines[2].startswith("│  alpha"), lines  # border, padding, cell pad


# -- failover feed ---------------------------------------------------------------------------------

async def test_failover_feed_shows_events_with_severity_and_counts():
    fake = FakeSource.scene()
    app = make_app(fake)
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("4")
        screen, table = app.screen, app.screen.table
        assert table.row_count == 4
        assert "4 events" in title(screen) and "1 failovers" in title(screen) and "3 circuit changes" in title(screen)
        rows = [table.get_row_at(i) for i in range(4)]
        assert [r[1].plain for r in rows] == ["failover", "circuit", "circuit", "circuit"]
        assert [str(r[3].style) for r in rows] == ["yellow", "red", "yellow", "green"]
        assert rows[1][3].plain == "closed → open" and rows[1][2].plain == "primary-sim/simulated"
        assert "primary-sim/simulated open" in plain(screen.query_one("#failover-circuits"))
        fake.add_failover("pranay", "anthropic", "backup-sim", "HTTP 500")
        await poll(app, pilot)
        assert table.row_count == 5 and table.cursor_row == 4 and "5 events" in title(screen)
        table.move_cursor(row=0)
        await pilot.press("y")
        assert app.clipboard == "req_00000008"
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, RequestDetail) and app.screen.row["id"] == "req_00000008"


# -- small terminals -------------------------------------------------------------------------------

@pytest.mark.parametrize("size", [SMALL, WIDE])
async def test_every_screen_renders_without_exceptions(size):
    fake = FakeSource.scene()
    app = make_app(fake)
    async with app.run_test(size=size) as pilot:
        for key in "123456789":
            await pilot.press(key)
            fake.add_requests(2)
            await poll(app, pilot)
            assert app.screen.query_one("#status-header")
        await pilot.press("2", "enter")
        await pilot.pause()
        assert isinstance(app.screen, RequestDetail)
    assert app.return_code in (None, 0)


# -- a failing fetch -------------------------------------------------------------------------------

async def test_a_failing_view_does_not_stop_the_request_tail():
    fake = FakeSource.scene()
    app = make_app(fake)
    async with app.run_test(size=WIDE) as pilot:  # the overview shows budgets: they are fetched
        screen = app.screen

        async def broken_budgets():
            raise ArithmeticError("overflow in burn rate")
        fake.budgets = broken_budgets
        app._slow_tick = 0.0  # the budgets fetch is due on this tick
        fake.add_requests(3, key="zoe")
        await poll(app, pilot)
        assert len(app.state.requests) == 13  # collection kept going
        assert app.state.connected and app.state.error == "budgets: overflow in burn rate"
        header = plain(screen.query_one("#status-header"))
        assert "⚠ budgets: overflow in burn rate" in header and "DISCONNECTED" not in header
        await pilot.press("2")
        await pilot.pause()
        assert app.screen.table.row_count == 13
        fake.fail_with(ConnectionError("gateway gone"))  # the heartbeat fails too: disconnected
        await poll(app, pilot)
        assert not app.state.connected and "overview: gateway gone" in plain(app.screen.query_one("#status-header"))
        fake.fail_with(None)
        fake.add_requests(1)
        await poll(app, pilot)  # the requests screen does not fetch budgets: nothing fails
        assert app.state.connected and app.state.error is None and app.screen.table.row_count == 14


async def test_budgets_are_fetched_only_for_screens_that_show_them():
    fake = FakeSource.scene()
    calls = []
    real = fake.budgets

    async def counted():
        calls.append(1)
        return await real()
    fake.budgets = counted
    app = make_app(fake)
    async with app.run_test(size=WIDE) as pilot:
        assert calls  # the overview (first screen) shows the hottest budgets
        await pilot.press("2")
        await pilot.pause()
        before = len(calls)
        for _ in range(3):
            app._slow_tick = 0.0
            await poll(app, pilot)
        assert len(calls) == before  # the requests tail never asks for budget status
        app._slow_tick = 0.0
        await pilot.press("3")  # switching to the budgets screen catches up at once
        await pilot.pause()
        await pilot.pause()
        assert len(calls) == before + 1


# -- cost ------------------------------------------------------------------------------------------

async def test_a_burst_of_rows_draws_only_the_visible_lines(monkeypatch):
    """500 rows in one tick: each drawn line is built once; rows scrolled past are never drawn."""
    fake = FakeSource.scene()
    app = make_app(fake)
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("2")
        await pilot.pause()
        table = app.screen.table
        drawn: list = []
        real = LiveTail._row_cells  # a row's line is drawn (on a cache miss) right after its cells are read

        def counting(self, key):
            drawn.append(key)
            return real(self, key)
        monkeypatch.setattr(LiveTail, "_row_cells", counting)
        import app.tui.screens.requests as requests_screen
        formatted: list = []
        real_cells = requests_screen.row_cells

        def counting_cells(r, *args):
            formatted.append(r["id"])
            return real_cells(r, *args)
        monkeypatch.setattr(requests_screen, "row_cells", counting_cells)
        fake.add_requests(500)
        await poll(app, pilot)
        await pilot.pause()
        rows = drawn
        visible = table.scrollable_content_region.height - 1  # below the header
        assert table.row_count == 510 and table.cursor_row == 509
        assert rows and len(rows) <= visible + 1, (len(rows), visible)
        assert rows[-1] == table.row_key_at(509)  # the newest row is on screen
        assert table.row_key_at(0) not in rows
        assert len(formatted) <= visible + 1 and set(formatted) <= set(rows)  # cells made only for drawn rows
        drawn.clear()
        table.refresh()  # a repaint with nothing new re-uses every cached line
        await pilot.pause()
        assert [k for k in drawn if k is not None] == []


async def test_a_full_tail_takes_new_rows_without_a_layout_pass(monkeypatch):
    """At the row cap a tick appends and evicts at once: the table keeps its size and the header its
    lines, so the screen only repaints (a layout pass per tick cost ~10 ms at 500 requests/s)."""
    fake = FakeSource.scene()
    app = make_app(fake)
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("2")
        fake.add_requests(ROW_CAP + 10)
        await poll(app, pilot)
        await pilot.pause()
        screen, table = app.screen, app.screen.table
        assert table.row_count == ROW_CAP
        layouts = count_layouts(monkeypatch, screen)
        size = table.virtual_size
        for _ in range(3):
            fake.add_requests(50)
            await poll(app, pilot)
            await pilot.pause()
        assert table.row_count == ROW_CAP and table.virtual_size == size
        assert table.cursor_key == table.row_key_at(ROW_CAP - 1) == app.state.requests[-1]["id"]
        assert layouts == []


async def test_a_growing_tail_takes_new_rows_without_a_layout_pass(monkeypatch):
    """Below the row cap the table grows every tick: under a vertical scrollbar already shown, only the
    scrollbar changes (a layout pass per tick cost 8-12 ms), and the view still follows the newest row
    and shows what a laid-out table shows."""
    fake = FakeSource.scene()
    app = make_app(fake)
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("2")
        fake.add_requests(100)
        await poll(app, pilot)
        await pilot.pause()
        screen, table = app.screen, app.screen.table
        assert table.show_vertical_scrollbar
        layouts = count_layouts(monkeypatch, screen)
        for _ in range(3):
            before = table.row_count
            fake.add_requests(50)
            await poll(app, pilot)
            await pilot.pause()
            assert table.row_count == before + 50 and table.virtual_size.height == table.row_count + 1
            assert table.scroll_y == table.max_scroll_y > 0  # following: the newest row is the last line
            assert table.vertical_scrollbar.window_virtual_size == table.row_count + 1
            assert table.cursor_key == table.row_key_at(table.row_count - 1) == app.state.requests[-1]["id"]
        assert layouts == []
        grown = app.export_screenshot()
        screen.refresh(layout=True)  # what a full layout of the same rows shows
        await pilot.pause()
        assert layouts and app.export_screenshot() == grown


async def test_a_tail_lays_the_screen_out_when_it_first_needs_a_scrollbar_or_wider_columns(monkeypatch):
    fake = FakeSource.scene()
    app = make_app(fake)
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("2")
        await pilot.pause()
        screen, table = app.screen, app.screen.table
        layouts = count_layouts(monkeypatch, screen)
        assert not table.show_vertical_scrollbar and table.row_count < table.size.height
        fake.add_requests(100)
        await poll(app, pilot)
        await pilot.pause()
        assert table.show_vertical_scrollbar and layouts  # the first scrollbar takes a column: laid out
        layouts.clear()
        table.add_row(*(["x" * 60] * len(COLUMNS)), key="wide")  # wider columns: a horizontal scrollbar
        await pilot.pause()
        assert table.show_horizontal_scrollbar and layouts


async def test_the_tail_frame_repaints_only_its_top_line_when_the_counts_change(monkeypatch):
    """The frame's title counts rows every tick; that repaints the title line, not the frame's ~40 lines,
    and the screen looks exactly as after a full repaint."""
    fake = FakeSource.scene()
    app = make_app(fake)
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("2")
        await pilot.pause()
        frame = app.screen.frame
        drawn: list[int] = []
        real = type(frame).render_line

        def counting(self, y):
            if self is frame:
                drawn.append(y)
            return real(self, y)
        monkeypatch.setattr(type(frame), "render_line", counting)
        before = title(app.screen)
        fake.add_requests(7)
        await poll(app, pilot)
        await pilot.pause()
        assert title(app.screen) != before and "showing 17 of 17" in title(app.screen)
        assert drawn == []  # its content lines (under the table) were not drawn again
        shot = app.export_screenshot()
        frame.refresh()
        await pilot.pause()
        assert len(drawn) >= frame.size.height - 2  # a full repaint draws them all...
        assert app.export_screenshot() == shot  # ...and shows the same screen


# -- a real gateway --------------------------------------------------------------------------------

async def test_real_gateway_requests_show_up_in_the_table(tmp_path):
    async with running_gateway(tmp_path) as (server, source):
        app = ConsoleApp(source, poll_interval=3600)
        async with app.run_test(size=WIDE) as pilot:
            await pilot.press("2")
            statuses = await send_messages(server, 3, key="dev-a")
            assert statuses == [200, 200, 200]
            screen = app.screen
            for _ in range(50):  # the log row is published when the request finishes
                await poll(app, pilot)
                if screen.table.row_count >= 3:
                    break
                await asyncio.sleep(0.05)
            assert screen.table.row_count == 3
            rows = screen.table.items()
            assert {r["key"] for r in rows} == {"dev-a"} and {r["provider"] for r in rows} == {"sim"}
            assert all(r["status"] == 200 for r in rows)
            assert "showing 3 of 3" in title(screen)
            assert app.state.overview["summary"]["requests_total"] == 3


# -- snapshots -------------------------------------------------------------------------------------

async def _quiet(pilot) -> None:
    """Wait for the first poll (the snapshot pilot can start before on_mount's poll ends), then drop
    the toasts the scene's events raised."""
    for _ in range(100):
        if pilot.app.state.last_poll:
            break
        await pilot.pause(0.01)
    await pilot.pause()
    pilot.app.clear_notifications()
    await pilot.pause()


@pytest.mark.parametrize("size", [SMALL, WIDE], ids=["80x24", "120x40"])
def test_snapshot_overview(snap_compare, size):
    assert snap_compare(make_app(), terminal_size=size, run_before=_quiet)


@pytest.mark.parametrize("size", [SMALL, WIDE], ids=["80x24", "120x40"])
def test_snapshot_requests(snap_compare, size):
    async def run_before(pilot):
        await pilot.press("2")
        await _quiet(pilot)
    assert snap_compare(make_app(), terminal_size=size, run_before=run_before)


async def test_a_poll_landing_on_a_screen_still_mounting_its_header_waits_for_the_next_tick():
    """A poll can finish just as a switched-to screen is mounting its children; it must not crash the app."""
    app = make_app()
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("2")
        assert isinstance(app.screen, RequestsScreen)
        await app.screen.query_one("#status-header").remove()  # as if not mounted yet
        app.refresh_screen()  # raised NoMatches before
        await app.poll()
        await pilot.pause()
        assert app.is_running and isinstance(app.screen, RequestsScreen)


async def test_on_ready_runs_once_after_the_first_poll_is_on_screen():
    """The runner settles the heap (collect + freeze) in on_ready: it must come after the console's first
    screen holds data, and only once (a freeze per poll would keep every row alive forever)."""
    from app.tui.app import ConsoleApp
    from app.tui.status_header import StatusHeader
    seen = []
    fake = FakeSource.scene()
    app = ConsoleApp(fake, poll_interval=3600.0,
                     on_ready=lambda: seen.append(app.screen.query_one(StatusHeader).plain))
    async with app.run_test(size=WIDE) as pilot:
        await pilot.pause()
        await pilot.pause()
        for _ in range(3):
            await poll(app, pilot)
        assert len(seen) == 1 and "req/s" in seen[0]


def painted(app) -> str:
    """Every character the console would write for the current screen (modals over their background), a line
    of the screen per line."""
    update = app.screen._compositor.render_update(full=True, screen_stack=app._background_screens)
    return "\n".join("".join(segment.text for segment in strip) for strip in update.strips)


CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")  # but painted()'s newlines


async def test_control_codes_in_data_are_painted_as_visible_stand_ins():
    """A served model, an error and a failover reason come from upstreams: an escape sequence in them
    (OSC 52 sets the operator's clipboard, CSI 2J clears the screen) is drawn as ␛… and never reaches the
    terminal, on the tail (its own paint path), the detail, the failover feed and a toast."""
    fake = FakeSource.scene()
    app = make_app(fake)
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("2")
        fake.add_request(served_model="evil\x1b]52;c;aGk=\x07", status=502, error_type="api_error",
                         error_message="upstream said \x1b[2J\u202egnp.exe", provider="ev\x9bil")
        fake.add_breaker("ev\x1bil", "main", "closed", "open", reason="HTTP 500 \x1b[31mred")
        fake.add_failover("pranay", "ev\x1bil", "backup", reason="boom\x07")
        await poll(app, pilot)
        tail = painted(app)
        assert not CONTROL.search(tail), repr(CONTROL.search(tail))
        assert "evil␛]52;c;aGk=␇" in tail and "ev\ufffdil" in tail
        (line,) = [line for line in tail.splitlines() if "evil" in line]
        assert line.endswith("│") and len(line) == WIDE[0]  # measured as painted: the frame still lines up
        app.screen.table.action_last()
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, RequestDetail)
        detail = painted(app)
        assert not CONTROL.search(detail) and "upstream said ␛[2J\ufffdgnp.exe" in detail
        await pilot.press("escape", "4")
        await pilot.pause()
        feed = painted(app)
        assert not CONTROL.search(feed) and "ev␛il" in feed


async def test_every_painted_line_goes_through_the_printable_filter():
    """Text that reaches a widget without passing the source (here a toast) is still painted without its
    control codes: the app's line filter is the last guard."""
    app = make_app()
    async with app.run_test(size=WIDE, notifications=True) as pilot:
        app.notify("upstream \x1b]52;c;aGk=\x07 said \x1b[2J", markup=False, timeout=30)
        await pilot.pause()
        await pilot.pause()
        screen = painted(app)
        assert "upstream ␛]52;c;aGk= said ␛[2J" in screen and not CONTROL.search(screen)  # Textual drops BEL itself


def test_the_printable_filter_keeps_clean_lines_and_replaces_control_codes_one_for_one():
    from rich.segment import Segment
    from rich.style import Style

    from app.tui.printable_filter import PrintableFilter
    red = Style(color="red")
    clean = [Segment("claude-sonnet-4-5", red), Segment("  ₹1.04 modèle")]
    assert PrintableFilter().apply(clean, None) is clean
    dirty = [Segment("ok", red), Segment("a\x1b[2Jb\x9b\u202e", red), Segment("", None, [(1,)])]
    assert PrintableFilter().apply(dirty, None) == [Segment("ok", red), Segment("a␛[2Jb\ufffd\ufffd", red),
                                                    Segment("", None, [(1,)])]
