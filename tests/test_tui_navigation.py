"""Getting around the console: esc goes back, the command palette reaches every action (and its Quit asks
like ctrl+q), ctrl+c says how to quit, and toasts come only when something changes state."""
from __future__ import annotations

from textual.command import CommandList, CommandPalette
from tui_harness import FakeSource, make_app

from app.tui.confirm import Confirm
from app.tui.forms.entity_form import KeyForm
from app.tui.screens.entities import KeysScreen, TeamsScreen
from app.tui.screens.overview import OverviewScreen
from app.tui.screens.requests import RequestsScreen

WIDE = (120, 40)


async def poll(app, pilot) -> None:
    await app.poll()
    await pilot.pause()


def record_toasts(app) -> list[str]:
    shown: list[str] = []
    app.notify = lambda message, **kw: shown.append(str(message))
    return shown


async def palette(pilot, query: str) -> None:
    await pilot.press("ctrl+p")
    await pilot.pause()
    assert isinstance(pilot.app.screen, CommandPalette)
    await pilot.press(*query)
    await pilot.pause(0.3)  # the palette searches in a worker
    await pilot.press("enter")
    await pilot.pause(0.3)


# -- esc ------------------------------------------------------------------------------------------------

async def test_esc_goes_back_through_the_screens_visited():
    app = make_app(FakeSource.scene())
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("2")
        await pilot.press("colon", *"key pranay", "enter")
        await pilot.pause()
        assert isinstance(app.screen, KeysScreen)
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, RequestsScreen)
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, OverviewScreen)
        await pilot.press("escape")  # nothing before the first screen: it stays
        await pilot.pause()
        assert isinstance(app.screen, OverviewScreen)


async def test_esc_clears_a_filter_first_and_goes_back_only_after():
    app = make_app(FakeSource.scene())
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("7", "6")
        screen = app.screen
        await pilot.press("slash", *"pra", "enter")
        await pilot.pause()
        assert screen.filtering()
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is screen and not screen.filtering()
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, TeamsScreen)


# -- the command palette ----------------------------------------------------------------------------

async def test_palette_quit_asks_like_ctrl_q_while_requests_are_in_flight():
    fake = FakeSource.scene()
    fake.set_summary(in_flight=3)
    app = make_app(fake)
    async with app.run_test(size=WIDE) as pilot:
        await poll(app, pilot)
        await palette(pilot, "Quit")
        assert isinstance(app.screen, Confirm), "the palette's Quit left without asking"
        assert "3 request(s) in flight" in str(app.screen.question)
        await pilot.press("n")
        await pilot.pause()
        assert app.is_running and isinstance(app.screen, OverviewScreen)


async def test_palette_opens_the_new_key_form_and_edits_a_named_key():
    app = make_app(FakeSource.scene())
    async with app.run_test(size=WIDE) as pilot:
        await app.refresh_names()
        await palette(pilot, "New key")
        assert isinstance(app.screen, KeyForm) and app.screen.original is None
        await pilot.press("escape")
        await pilot.pause()
        await palette(pilot, "Edit key pranay")
        assert isinstance(app.screen, KeyForm) and app.screen.original["name"] == "pranay"


async def test_palette_offers_no_changes_when_read_only():
    app = make_app(FakeSource.scene(), readonly=True)
    async with app.run_test(size=WIDE) as pilot:
        await app.refresh_names()
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"key pranay")
        await pilot.pause(0.3)
        commands = app.screen.query_one(CommandList)
        offered = [str(commands.get_option_at_index(i).prompt) for i in range(commands.option_count)]
        assert any("Jump to key pranay" in text for text in offered)
        assert not any(word in text for text in offered for word in ("Edit", "Delete", "Rotate", "New"))


async def test_ctrl_c_says_how_to_quit():
    app = make_app()
    async with app.run_test(size=WIDE) as pilot:
        shown = record_toasts(app)
        await pilot.press("ctrl+c")
        await pilot.pause()
        assert app.is_running and any("ctrl+q quits" in text for text in shown)


# -- toasts ---------------------------------------------------------------------------------------------

async def test_failover_toasts_once_per_pair_and_circuits_only_when_they_open_or_close():
    fake = FakeSource()
    app = make_app(fake)
    async with app.run_test(size=WIDE) as pilot:
        await poll(app, pilot)  # history from before the console opened is never toasted
        shown = record_toasts(app)
        for _ in range(5):
            fake.add_failover("maria", "primary", "backup", "HTTP 529")
        fake.add_failover("maria", "backup", "third", "HTTP 500")
        fake.add_breaker("primary", "main", "closed", "open")
        fake.add_breaker("primary", "main", "open", "half-open")
        fake.add_breaker("primary", "main", "half-open", "closed")
        await poll(app, pilot)
        assert [t for t in shown if "failing over" in t] == ["failing over primary → backup: HTTP 529 (every event: "
                                                             "screen 4)", "failing over backup → third: HTTP 500 "
                                                                          "(every event: screen 4)"]
        circuits = [t for t in shown if "primary/main" in t]
        assert circuits == ["primary/main: circuit closed → open", "primary/main: recovered (circuit closed)"]
        fake.add_failover("maria", "primary", "backup", "HTTP 529")
        await poll(app, pilot)
        assert len([t for t in shown if "failing over" in t]) == 2  # the same pair within the quiet minute


async def test_no_toast_covers_a_form():
    fake = FakeSource.scene()
    app = make_app(fake)
    async with app.run_test(size=WIDE) as pilot:
        await poll(app, pilot)
        await pilot.press("6", "n")
        await pilot.pause()
        assert isinstance(app.screen, KeyForm)
        shown = record_toasts(app)
        fake.add_failover("maria", "primary", "backup", "HTTP 529")
        fake.add_breaker("primary", "main", "closed", "open")
        await poll(app, pilot)
        assert shown == []


# -- what a row says ------------------------------------------------------------------------------------

async def test_a_keys_customer_is_its_teams_when_it_has_none_of_its_own():
    fake = FakeSource.scene()
    fake.entities_by_kind["virtual_key"].append({"name": "solo"})  # no team, no customer
    app = make_app(fake)
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("6")
        await pilot.pause(0.3)
        screen = app.screen
        column = [c.key for c in screen.columns()].index("customer")
        cells = {name: str(screen.table.get_row(name)[column]) for name in ("pranay", "solo")}
        assert cells == {"pranay": "acme", "solo": "–"}


async def test_the_footer_of_help_shows_helps_keys_not_the_screens_below():
    app = make_app(FakeSource.scene())
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("6", "question_mark")
        await pilot.pause()
        footer = painted_last_line(app)
        assert "Close" in footer and "New" not in footer and "Rotate" not in footer


def painted_last_line(app) -> str:
    update = app.screen._compositor.render_update(full=True, screen_stack=app._background_screens)
    return "".join(segment.text for segment in update.strips[-1])


async def test_a_forms_footer_shows_the_forms_keys():
    app = make_app(FakeSource.scene())
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("6")
        await pilot.pause(0.3)
        await pilot.press("n")
        await pilot.pause()
        assert isinstance(app.screen, KeyForm)
        footer = painted_last_line(app)
        assert "Save" in footer and "Rotate" not in footer and "Disable" not in footer


async def test_the_command_line_shows_what_is_typed():
    app = make_app(FakeSource.scene())
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("colon", *"key pra")
        await pilot.pause()
        assert "key pra" in painted_last_line(app)
        await pilot.press(*"nay", "enter")
        await pilot.pause(0.3)
        assert isinstance(app.screen, KeysScreen)


async def test_a_dialog_opens_over_no_toast():
    fake = FakeSource.scene()
    app = make_app(fake)
    async with app.run_test(size=WIDE, notifications=True) as pilot:
        await poll(app, pilot)
        fake.add_breaker("primary", "main", "closed", "open")
        await poll(app, pilot)
        assert len(app._notifications) == 1
        await pilot.press("question_mark")
        await pilot.pause()
        assert len(app._notifications) == 0


async def test_the_header_behind_a_dialog_stays_live():
    fake = FakeSource.scene()
    app = make_app(fake)
    async with app.run_test(size=WIDE) as pilot:
        await poll(app, pilot)
        await pilot.press("question_mark")
        await pilot.pause()
        fake.set_summary(uptime_s=7384.0)  # 2h03m
        await poll(app, pilot)
        update = app.screen._compositor.render_update(full=True, screen_stack=app._background_screens)
        top = "".join(segment.text for segment in update.strips[0])
        assert "up 2h03m" in top
