"""The key / team forms as QA drove them: expiries in the config's timezone, esc asking before it
throws changes away, every invalid field reported at once (and cleared when edited), unknown providers
caught before the diff, and the focus on the first failing field.

The expiry tests run against a REAL in-process gateway whose config says America/New_York, so what the
admin service stores is checked, not just what the form shows; the rest use the scripted FakeSource."""
from __future__ import annotations

import re

import time
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from textual.widgets import Button, Checkbox, Input

from app.core.config import config_from_text
from app.proxy.server import GatewayServer
from app.service.admin import AdminService
from app.service.console_source import LocalSource
from app.tui.app import ConsoleApp
from app.tui.confirm import Confirm
from app.tui.diff_view import DiffConfirm
from app.tui.forms import BudgetRow, KeyForm, RuleRow, TeamForm, parse_expires, patch_of
from app.tui.forms.field_text import expiry_text
from app.tui.screens.entities import KeysScreen, TeamsScreen
from tui_harness import FakeSource, make_app

SIZE = (120, 40)
NEW_YORK = ZoneInfo("America/New_York")
# 23:59 on New Year's Eve in New York is 04:59 UTC the next day: QA's key expired 5 hours early.
NYE_UTC = datetime(2027, 1, 1, 4, 59, tzinfo=UTC)
LATER = datetime.now(UTC).year + 10
LATER_NYE_UTC = datetime(LATER + 1, 1, 1, 4, 59, tzinfo=UTC)  # 23:59 on 31 Dec of LATER in New York


def new_york_yaml(tmp_path: Path, extra_keys: str = "") -> str:
    return (f"storage: {{sqlite: {str(tmp_path / 'bifrost.db')!r}}}\n"
            "timezone: America/New_York\ncurrency: {code: USD, symbol: '$', per_usd: 1}\n"
            "providers:\n  - {name: primary-sim, type: mock}\n  - {name: backup-sim, type: mock}\n"
            "virtual_keys:\n"
            "  - {name: dev-a, key: env:BIFROST_TEST_VK_A}\n" + extra_keys)


@pytest.fixture
async def new_york_gateway(tmp_path, test_env):
    srv = GatewayServer(config_from_text(new_york_yaml(tmp_path), "test.yaml", base_dir=tmp_path), port=0)
    await srv.start()
    try:
        yield srv
    finally:
        await srv.stop()


async def until(pilot, predicate, timeout: float = 5.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.05)
    return value


async def screen_of(pilot, cls):
    return await until(pilot, lambda: isinstance(pilot.app.screen, cls) and pilot.app.screen, what=cls.__name__)


async def open_form(pilot, screen_key: str, screen_cls, name: str | None, form_cls=KeyForm):
    """Show a table screen, then the form: edit `name`, or a new entity when None."""
    await pilot.press(screen_key)
    screen = await screen_of(pilot, screen_cls)
    await until(pilot, lambda: screen._loaded and not screen._loading, what="table data")
    if name is None:
        await pilot.press("n")
    else:
        screen.select_name(name)
        await pilot.press("e")
    return await screen_of(pilot, form_cls)


def set_input(form, selector: str, value: str) -> None:
    form.query_one(selector, Input).value = value


async def add_row(pilot, form, button: str, cls):
    """Click "+ budget" / "+ rule" and return the new row."""
    before = len(form.query(cls))
    widget = form.query_one(button, Button)
    await until(pilot, lambda: not widget.has_class("-active"), what="button ready")  # 0.2 s press effect
    widget.scroll_visible(animate=False, immediate=True)
    await pilot.pause()
    await pilot.click(widget)
    await until(pilot, lambda: len(form.query(cls)) == before + 1, what=f"{cls.__name__} added")
    return list(form.query(cls))[-1]


# -- expiries: a time without an offset is in the config's timezone, everywhere --------------------------
def test_the_rule_in_the_codecs():
    assert parse_expires("2026-12-31T23:59", NEW_YORK) == "2026-12-31T23:59-05:00"
    assert parse_expires("2026-07-01T12:00", NEW_YORK) == "2026-07-01T12:00-04:00"  # daylight saving time
    assert parse_expires("2026-12-31T23:59:00+05:30", NEW_YORK) == "2026-12-31T13:29-05:00"  # same instant
    assert parse_expires("  ", NEW_YORK) is None
    assert expiry_text("2027-01-01T04:59:00+00:00", NEW_YORK) == "2026-12-31T23:59-05:00"
    # re-saving an unchanged expiry shown in another offset is not a change
    old = {"name": "k", "expires_at": "2027-01-01T04:59:00+00:00"}
    assert patch_of("virtual_key", old, {"name": "k", "expires_at": "2026-12-31T23:59-05:00"}) == {}
    assert patch_of("virtual_key", old, {"name": "k", "expires_at": "2026-12-31T23:59+00:00"}) == {
        "expires_at": "2026-12-31T23:59+00:00"}


async def test_yaml_and_admin_api_read_a_time_without_offset_in_the_config_timezone(new_york_gateway, tmp_path):
    # the YAML: quoted text, and a timestamp YAML itself reads
    config = config_from_text(new_york_yaml(tmp_path, "  - {name: q, key: env:BIFROST_TEST_VK_B, "
                                                      "expires_at: '2026-12-31T23:59'}\n"
                                                      "  - {name: u, key: env:BIFROST_TEST_VK_B, "
                                                      "expires_at: 2026-12-31 23:59:00}\n"), "t.yaml")
    assert [k.expires_at for k in config.virtual_keys[1:]] == [NYE_UTC, NYE_UTC]
    # POST and PATCH /api/keys (the admin service the routes call)
    admin = AdminService(new_york_gateway.gateway)
    created, _ = await admin.create("virtual_key", {"name": "dev-new", "expires_at": "2026-12-31T23:59"})
    assert datetime.fromisoformat(created["expires_at"]) == NYE_UTC
    assert created["expires_at"] == "2026-12-31T23:59:00-05:00"
    patched = await admin.update("virtual_key", "dev-a", {"expires_at": "2026-07-01T12:00"})
    assert patched["expires_at"] == "2026-07-01T12:00:00-04:00"
    # an explicit offset is kept as given
    patched = await admin.update("virtual_key", "dev-a", {"expires_at": "2026-12-31T23:59:00+05:30"})
    assert patched["expires_at"] == "2026-12-31T23:59:00+05:30"


async def test_form_reads_shows_and_stores_an_expiry_in_the_config_timezone(new_york_gateway):
    gw = new_york_gateway.gateway
    app = ConsoleApp(LocalSource(gw, AdminService(gw), new_york_gateway.url))
    async with app.run_test(size=SIZE) as pilot:
        form = await open_form(pilot, "6", KeysScreen, "dev-a")
        expires = form.query_one("#expires_at", Input)
        assert re.search(r"YYYY-MM-DDThh:mm-0[45]:00", expires.placeholder), expires.placeholder  # EST or EDT now
        assert "America/New_York" in expires.placeholder
        expires.value = f"{LATER}-12-31T23:59"  # years ahead, whenever this runs
        await pilot.press("ctrl+s")
        diff = await screen_of(pilot, DiffConfirm)
        assert diff.rows == [("expires at", "never", f"{LATER}-12-31T23:59-05:00")]  # the instant, with its offset
        await pilot.press("y")
        await screen_of(pilot, KeysScreen)
        stored = AdminService(gw).get("virtual_key", "dev-a")["expires_at"]
        assert datetime.fromisoformat(stored) == LATER_NYE_UTC
        assert next(k for k in gw.config.virtual_keys if k.name == "dev-a").expires_at == LATER_NYE_UTC
        # re-opened: shown in New York time; saving it untouched changes nothing
        form = await open_form(pilot, "6", KeysScreen, "dev-a")
        assert form.query_one("#expires_at", Input).value == f"{LATER}-12-31T23:59-05:00"
        await pilot.press("ctrl+s")
        await until(pilot, lambda: form.errors().get("form-error") == "nothing changed", what="nothing changed")
        # a new expiry already past is refused in the form (the key would be refused at once)
        form.query_one("#expires_at", Input).value = "2020-01-01T00:00"
        await pilot.press("ctrl+s")
        await until(pilot, lambda: "has passed" in (form.errors().get("expires_at") or ""), what="past expiry")


async def test_when_the_providers_cannot_be_listed_the_source_still_refuses_after_the_diff(new_york_gateway):
    gw = new_york_gateway.gateway
    source = LocalSource(gw, AdminService(gw), new_york_gateway.url)

    async def providers_unavailable():
        raise OSError("the gateway went away")

    source.providers = providers_unavailable
    app = ConsoleApp(source)
    async with app.run_test(size=SIZE) as pilot:
        form = await open_form(pilot, "6", KeysScreen, "dev-a")
        set_input(form, "#fallbacks", "tomorrow")
        await pilot.press("ctrl+s")
        await screen_of(pilot, DiffConfirm)  # not checked locally: the diff comes
        await pilot.press("y")
        await until(pilot, lambda: isinstance(app.screen, KeyForm) and form.errors(), what="source error")
        assert form.errors() == {"fallbacks": "item 1 provider: no provider named 'tomorrow'; "
                                              "providers: backup-sim, primary-sim"}
        await until(pilot, lambda: app.focused is form.query_one("#fallbacks"), what="focus on fallbacks")
    assert AdminService(gw).get("virtual_key", "dev-a").get("fallbacks") in (None, [])


# -- esc on a form with changes asks first ---------------------------------------------------------------
async def test_esc_on_an_edited_form_asks_and_no_keeps_the_form():
    fake = FakeSource.scene()
    app = make_app(fake)
    async with app.run_test(size=SIZE) as pilot:
        form = await open_form(pilot, "6", KeysScreen, "pranay")
        set_input(form, "#requests_per_minute", "120")
        await pilot.press("escape")
        question = await screen_of(pilot, Confirm)
        assert "Discard your changes?" in str(question.query_one("#confirm-question").render())
        await pilot.press("n")  # keep editing: the form and its change are still there
        assert await screen_of(pilot, KeyForm) is form
        assert form.query_one("#requests_per_minute", Input).value == "120"
        await pilot.press("escape")
        await screen_of(pilot, Confirm)
        await pilot.press("y")
        await screen_of(pilot, KeysScreen)
        assert fake.calls == []  # discarded, nothing sent
        # a change undone is no change: esc closes at once, and so does an untouched form
        form = await open_form(pilot, "6", KeysScreen, "pranay")
        set_input(form, "#allowed_models", "claude-*")
        set_input(form, "#allowed_models", "")
        await pilot.press("escape")
        await screen_of(pilot, KeysScreen)
        await open_form(pilot, "6", KeysScreen, None)
        await pilot.press("escape")
        await screen_of(pilot, KeysScreen)


async def test_esc_on_a_form_with_an_added_row_asks():
    app = make_app(FakeSource.scene())
    async with app.run_test(size=SIZE) as pilot:
        form = await open_form(pilot, "7", TeamsScreen, "backend", TeamForm)
        await add_row(pilot, form, "#add-budget", BudgetRow)
        await pilot.press("escape")
        await screen_of(pilot, Confirm)
        await pilot.press("n")
        await screen_of(pilot, TeamForm)


# -- validation: everything at once, cleared when edited, providers checked, focus on the first ----------
async def test_every_invalid_field_is_reported_at_once_and_the_focus_goes_to_the_first():
    fake = FakeSource.scene()
    app = make_app(fake)
    async with app.run_test(size=SIZE) as pilot:
        form = await open_form(pilot, "6", KeysScreen, None)
        row = await add_row(pilot, form, "#add-budget", BudgetRow)
        row.query_one(".budget-limit", Input).value = "100"
        row.query_one(".budget-rolling", Checkbox).value = True
        row.query_one(".budget-window", Input).value = "2x"
        set_input(form, "#requests_per_minute", "0")
        set_input(form, "#tokens_per_minute", "lots")
        set_input(form, "#max_concurrent", "1.5")
        set_input(form, "#expires_at", "next tuesday")
        form.query_one("#expires_at", Input).focus()
        await pilot.press("ctrl+s")
        await until(pilot, lambda: "expires_at" in form.errors(), what="errors")
        errors = form.errors()
        assert errors["name"] == "required: a name"
        assert "rolling window" in errors["budgets[0]"]
        assert "requests/min" in errors["requests_per_minute"] and "above 0" in errors["requests_per_minute"]
        assert "tokens/min" in errors["tokens_per_minute"] and "'lots'" in errors["tokens_per_minute"]
        assert "max concurrent" in errors["max_concurrent"]
        assert "ISO 8601" in errors["expires_at"] and "Asia/Kolkata" in errors["expires_at"]  # the config's
        assert isinstance(app.screen, KeyForm) and fake.calls == []
        # the focus is on the first failing field of the form: the name
        await until(pilot, lambda: app.focused is form.query_one("#name"), what="focus on the name")
        # typing a name clears its stale message at once; the others stay until their field is edited
        await pilot.press(*"dev-new")
        await until(pilot, lambda: "name" not in form.errors(), what="name message cleared")
        set_input(form, "#tokens_per_minute", "100k")
        await until(pilot, lambda: "tokens_per_minute" not in form.errors(), what="tok/min message cleared")
        assert {"budgets[0]", "requests_per_minute", "max_concurrent", "expires_at"} <= set(form.errors())
        # the next save recomputes every line: the focus moves to the first still failing, the budget
        await pilot.press("ctrl+s")
        await until(pilot, lambda: app.focused is row.query_one(".budget-window"), what="focus on the window")
        assert "name" not in form.errors() and "tokens_per_minute" not in form.errors()


async def test_unknown_fallback_and_routing_providers_are_flagged_before_the_diff():
    fake = FakeSource.scene()
    app = make_app(fake)
    async with app.run_test(size=SIZE) as pilot:
        form = await open_form(pilot, "6", KeysScreen, "pranay")
        set_input(form, "#fallbacks", "backup-sim, tomorrow")
        await pilot.press("ctrl+s")
        await until(pilot, lambda: "fallbacks" in form.errors(), what="fallback error")
        assert form.errors() == {"fallbacks": "item 2 provider: no provider named 'tomorrow'; "
                                              "providers: anthropic, backup-sim, primary-sim"}
        assert isinstance(app.screen, KeyForm) and fake.calls == []  # no diff, nothing sent
        await until(pilot, lambda: app.focused is form.query_one("#fallbacks"), what="focus on fallbacks")
        # a routing target too, in the rule's own line
        set_input(form, "#fallbacks", "backup-sim")
        rule = await add_row(pilot, form, "#add-rule", RuleRow)
        rule.query_one(".rule-targets", Input).value = "primary-sim*3, yesterday*1"
        await pilot.press("ctrl+s")
        await until(pilot, lambda: "routing[0]" in form.errors(), what="routing error")
        assert "targets[1].provider: no provider named 'yesterday'" in form.errors()["routing[0]"]
        await until(pilot, lambda: app.focused is rule.query_one(".rule-targets"), what="focus on the targets")
        # fixed: now the diff
        rule.query_one(".rule-targets", Input).value = "primary-sim*3, backup-sim*1"
        await pilot.press("ctrl+s")
        diff = await screen_of(pilot, DiffConfirm)
        assert ("fallbacks", "–", "backup-sim") in diff.rows


# -- allowed_models: a pattern matching no known model is a note with the diff, never an error --------------
async def test_an_allowed_models_pattern_matching_no_known_model_is_a_warning_with_the_diff():
    fake = FakeSource.scene()
    app = make_app(fake)
    async with app.run_test(size=SIZE) as pilot:
        form = await open_form(pilot, "6", KeysScreen, "pranay")
        set_input(form, "#allowed_models", "claude-sonet-*, claude-haiku-*")
        await pilot.press("ctrl+s")
        diff = await screen_of(pilot, DiffConfirm)
        warning = str(diff.query_one("#diff-warning").render())
        assert "'claude-sonet-*' matches no model the gateway knows" in warning and "haiku" not in warning
        assert form.errors() == {}  # not an error: the model may be newer than the price table
        await pilot.press("y")  # saved all the same
        await screen_of(pilot, KeysScreen)
        assert [c[:3] for c in fake.calls] == [("update", "virtual_key", "pranay")]
        assert fake.calls[0][3]["allowed_models"] == ["claude-sonet-*", "claude-haiku-*"]
        # patterns that all match: no warning
        form = await open_form(pilot, "6", KeysScreen, "pranay")
        set_input(form, "#allowed_models", "claude-sonnet-*")
        await pilot.press("ctrl+s")
        diff = await screen_of(pilot, DiffConfirm)
        assert not diff.query("#diff-warning")
        await pilot.press("n")
        # the source cannot say which models it knows: no note, the diff as before
        await screen_of(pilot, KeyForm)

        async def unavailable():
            raise OSError("the gateway went away")

        fake.models = unavailable
        set_input(form, "#allowed_models", "claude-sonet-*")
        await pilot.press("ctrl+s")
        diff = await screen_of(pilot, DiffConfirm)
        assert not diff.query("#diff-warning") and ("allowed models", "claude-sonet-*, claude-haiku-*",
                                                    "claude-sonet-*") in diff.rows
