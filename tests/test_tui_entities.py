"""Keys / Teams / Customers / Providers screens and their forms, against a REAL in-process gateway.

The console talks to the gateway through LocalSource → AdminService, exactly as `bifrost-tui` does,
so every change made in a form really persists (SQLite) and really changes what the proxy does.
Snapshots use a scripted source with fixed data (tests/__snapshots__/)."""
from __future__ import annotations

import asyncio
import io
import re
import sqlite3
import time
from copy import deepcopy
from pathlib import Path

import aiohttp
import keyring
import keyring.backend
import keyring.backends.fail
import pytest
from rich.console import Console
from textual.widgets import Button, Checkbox, DataTable, Input, Select

from app.core.config import config_from_text
from app.core.keys import hash_key
from app.core.money import display_to_micro_usd
from app.proxy.server import GatewayServer
from app.service.admin import AdminService
from app.service.console_source import LocalSource
from app.tui.app import ConsoleApp
from app.tui.confirm import Confirm
from app.tui.diff_view import DiffConfirm
from app.tui.forms import (BudgetRow, EntityForm, FieldError, KeyForm, KeyValueModal, Notice, ProviderSecretForm,
                           RuleRow, TeamForm, error_slot, format_fallbacks, format_targets, format_when,
                           parse_amount, parse_count, parse_fallbacks, parse_targets, parse_when, patch_of)
from app.tui.screens.entities import CustomersScreen, KeysScreen, ProvidersScreen, TeamsScreen
from conftest import VK_A, VK_B

MODEL = "claude-sonnet-4-5"
# ~6,000 input tokens (about 2 US cents): a one-word prompt's spend is so small that the budget status'
# projected run-out date overflows (app/core/budget_status.py, reported), which the console shows as a
# load error instead of the table.
PROMPT = "hello " * 6000
SIZE = (120, 40)


def config_yaml(tmp_path: Path) -> str:
    return (f"storage: {{sqlite: {str(tmp_path / 'bifrost.db')!r}}}\n"
            "timezone: Asia/Kolkata\ncurrency: {code: INR, symbol: '₹', per_usd: 84.0}\n"
            "customers: [{name: acme, budgets: [{limit: 100000, period: 1M}]}, {name: globex}]\n"
            "teams: [{name: backend, customer: acme, budgets: [{limit: 50000, period: 1M}]}, {name: web}]\n"
            "providers:\n"
            "  - {name: sim, type: mock}\n"
            "  - {name: anthropic, type: anthropic, base_url: 'http://127.0.0.1:9', models: ['none-*'],\n"
            "     keys: [{name: main, secret: env:BIFROST_TEST_UPSTREAM_KEY},\n"
            "            {name: backup, secret: env:BIFROST_TEST_UPSTREAM_KEY}]}\n"
            "virtual_keys:\n"
            "  - {name: dev-a, team: backend, key: env:BIFROST_TEST_VK_A,\n"
            "     budgets: [{limit: 2000, period: 1d}, {limit: 25000, period: 1M}],\n"
            "     rate_limit: {requests_per_minute: 600}, allowed_models: ['claude-*']}\n"
            "  - {name: dev-b, key: env:BIFROST_TEST_VK_B, customer: globex}\n")


@pytest.fixture
async def server(tmp_path, test_env):
    config = config_from_text(config_yaml(tmp_path), "test.yaml", base_dir=tmp_path)
    srv = GatewayServer(config, port=0)
    await srv.start()
    try:
        yield srv
    finally:
        await srv.stop()


def console(server, readonly: bool = False) -> ConsoleApp:
    return ConsoleApp(LocalSource(server.gateway, AdminService(server.gateway), server.url), readonly=readonly)


async def until(pilot, predicate, timeout: float = 5.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.05)


async def show(pilot, key: str, cls):
    await pilot.press(key)
    screen = await until(pilot, lambda: isinstance(pilot.app.screen, cls) and pilot.app.screen, what=cls.__name__)
    await until(pilot, lambda: screen._loaded and not screen._loading, what=f"{cls.__name__} data")
    return screen


async def modal(pilot, cls):
    return await until(pilot, lambda: isinstance(pilot.app.screen, cls) and pilot.app.screen, what=cls.__name__)


def row_names(screen) -> list[str]:
    return [key.value for key in screen.table.rows]


def cell(screen, name: str, column: str) -> str:
    value = screen.table.get_cell(name, column)
    return getattr(value, "plain", str(value))


async def post(server, key: str, model: str = MODEL) -> aiohttp.ClientResponse:
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{server.url}/anthropic/v1/messages",
                                headers={"x-api-key": key, "anthropic-version": "2023-06-01"},
                                json={"model": model, "max_tokens": 32,
                                      "messages": [{"role": "user", "content": PROMPT}]}) as resp:
            await resp.read()
            return resp


def screen_text(app) -> str:
    """What the terminal shows now, as plain text (modals over their background)."""
    console = Console(width=app.size.width, height=app.size.height, file=io.StringIO(), record=True,
                      force_terminal=True, legacy_windows=False)
    console.print(app.screen._compositor.render_update(full=True, screen_stack=app._background_screens))
    return console.export_text()


def set_input(screen, selector: str, value: str) -> None:
    screen.query_one(selector, Input).value = value


async def add_row(pilot, form, button: str):
    """Click "+ budget" / "+ rule" and wait for the new row (the button moves down under it)."""
    cls = BudgetRow if button == "#add-budget" else RuleRow
    before = len(form.query(cls))
    widget = form.query_one(button, Button)
    await until(pilot, lambda: not widget.has_class("-active"), what="button ready")  # 0.2 s press effect
    await pilot.click(widget)
    await until(pilot, lambda: len(form.query(cls)) == before + 1, what=f"{cls.__name__} added")


async def save_and_confirm(pilot, form) -> DiffConfirm:
    await pilot.press("ctrl+s")
    return await modal(pilot, DiffConfirm)


# -- the text codecs ---------------------------------------------------------------------------------
def test_routing_text_parses_into_the_api_structures_and_back():
    when = parse_when("model=claude-sonnet-4* max_input_tokens=2000 tools=false header.x-team=web* "
                      "budget_used_pct_above=80.5")
    assert when == {"model": "claude-sonnet-4*", "max_input_tokens": 2000, "tools": False,
                    "header": {"x-team": "web*"}, "budget_used_pct_above": 80.5}
    assert parse_when(format_when(when)) == when
    assert parse_when("") == {}
    targets = parse_targets("anthropic:claude-haiku-4-5-20251001*80, bedrock*20")
    assert targets == [{"provider": "anthropic", "model": "claude-haiku-4-5-20251001", "weight": 80},
                       {"provider": "bedrock", "weight": 20}]
    assert parse_targets(format_targets(targets)) == targets
    assert parse_targets("sim") == [{"provider": "sim", "weight": 1}]
    assert format_targets([{"provider": "sim", "weight": 1}]) == "sim"
    bedrock = parse_targets("bedrock:anthropic.claude-3-5-sonnet-20240620-v1:0*3")  # a model id with a colon
    assert bedrock == [{"provider": "bedrock", "model": "anthropic.claude-3-5-sonnet-20240620-v1:0", "weight": 3}]
    assert parse_fallbacks("bedrock, openai:gpt-4o") == [{"provider": "bedrock"},
                                                          {"provider": "openai", "model": "gpt-4o"}]
    assert format_fallbacks(parse_fallbacks("bedrock, openai:gpt-4o")) == "bedrock, openai:gpt-4o"
    assert parse_fallbacks("  ") == []


@pytest.mark.parametrize("fn, text, message", [
    (parse_when, "model", "expected condition=value"),
    (parse_when, "colour=red", "unknown condition 'colour'"),
    (parse_when, "max_input_tokens=lots", "max_input_tokens: expected a whole number"),
    (parse_when, "tools=maybe", "tools: expected true or false"),
    (parse_targets, "", "at least one target"),
    (parse_targets, "anthropic*0", "weight is a whole number above 0"),
    (parse_targets, "a,,b", "target 2 is empty"),
    (parse_targets, "anthropic: ", "a model name is expected"),
    (parse_fallbacks, "bedrock*2", "take no weight"),
    (parse_amount, "-5", "cannot be negative"),
    (parse_amount, "lots", "expected an amount"),
    (parse_amount, "", "required"),
    (parse_count, "0", "above 0"),
    (parse_count, "1.5", "whole number"),
])
def test_codec_errors_say_what_is_wrong(fn, text, message):
    with pytest.raises(FieldError) as info:
        fn(text)
    assert message in str(info.value)


def test_amounts_counts_patches_and_error_paths():
    assert parse_amount("₹25,000", "₹") == 25000 and parse_amount("12.50") == 12.5
    assert parse_count("100k") == 100_000 and parse_count("") is None and parse_count("1,000") == 1000
    old = {"name": "k", "team": "backend", "budgets": [{"limit": 2000, "period": "1d"}], "active": True,
           "routing": [], "fallbacks": []}
    new = {"name": "k", "team": None, "budgets": [{"limit": 2000.0, "period": "1d"}], "active": True,
           "routing": [], "fallbacks": [], "rate_limit": None, "allowed_models": None, "expires_at": None,
           "customer": None}
    assert patch_of("virtual_key", old, new) == {"team": None}
    assert error_slot("budgets[0].period") == ("budgets", 0, "period")
    assert error_slot("team") == ("team", None, "")
    assert error_slot("routing[1].targets[0].provider") == ("routing", 1, "targets[0].provider")


# -- tables ------------------------------------------------------------------------------------------
async def test_keys_table_sort_filter_and_select_name(server):
    app = console(server)
    async with app.run_test(size=SIZE) as pilot:
        keys = await show(pilot, "6", KeysScreen)
        assert row_names(keys) == ["dev-a", "dev-b"]
        assert cell(keys, "dev-a", "budgets").startswith("₹2,000/d · ₹25,000/M")
        assert cell(keys, "dev-a", "budgets").endswith("0%")
        assert cell(keys, "dev-a", "team") == "backend" and cell(keys, "dev-b", "customer") == "globex"
        assert cell(keys, "dev-a", "rate") == "600 rpm" and cell(keys, "dev-a", "models") == "claude-*"
        assert cell(keys, "dev-a", "source") == "config" and cell(keys, "dev-a", "active") == "on"
        labels = [str(c.label) for c in keys.table.columns.values()]
        assert labels[0] == "name ▲"
        # s: the next column; S reverses; the indicator follows
        await pilot.press("s")
        assert keys.sort_column == 1 and str(keys.table.columns["team"].label) == "team ▲"
        assert row_names(keys) == ["dev-b", "dev-a"]  # "" < "backend"
        await pilot.press("S")
        assert str(keys.table.columns["team"].label) == "team ▼" and row_names(keys) == ["dev-a", "dev-b"]
        # a header click sorts by that column; a second click reverses it
        await pilot.click(DataTable, offset=(3, 1))
        await pilot.pause()
        assert keys.sort_column == 0 and not keys.sort_reverse and row_names(keys) == ["dev-a", "dev-b"]
        await pilot.click(DataTable, offset=(3, 1))
        await pilot.pause()
        assert keys.sort_reverse and row_names(keys) == ["dev-b", "dev-a"]
        assert "name ▼" in str(keys.table.border_title)
        # select_name moves the cursor to the row, whatever the order
        assert keys.select_name("dev-a") and keys.current_name() == "dev-a"
        # / filter (and ! inverts); the filter shows in the title; esc clears it
        await pilot.press("slash", *"dev-b", "enter")
        assert row_names(keys) == ["dev-b"] and "dev-b" in str(keys.table.border_title)
        keys.set_filter("!dev-b")
        assert row_names(keys) == ["dev-a"]
        assert keys.select_name("dev-b") and row_names(keys) == ["dev-b", "dev-a"]  # the filter hid it: cleared
        await pilot.press("escape")
        # y copies the name (OSC 52)
        keys.select_name("dev-a")
        await pilot.press("y")
        assert app.clipboard == "dev-a"
        # :key NAME and the palette's "jump to" land on the row
        app.switch_mode("overview")
        await pilot.pause()
        app.run_command(":key dev-b")
        await until(pilot, lambda: isinstance(app.screen, KeysScreen) and app.screen.current_name() == "dev-b")


async def test_jump_to_a_name_on_a_screen_not_shown_yet(server):
    app = console(server)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        app.run_command(":team web")  # the Teams screen is created by the jump: the row is selected once loaded
        await until(pilot, lambda: isinstance(app.screen, TeamsScreen) and app.screen.current_name() == "web",
                    what="jump")
        app.jump("customers", "globex")
        await until(pilot, lambda: isinstance(app.screen, CustomersScreen) and app.screen.current_name() == "globex",
                    what="jump")


async def test_teams_and_customers_tables(server):
    app = console(server)
    async with app.run_test(size=SIZE) as pilot:
        teams = await show(pilot, "7", TeamsScreen)
        assert row_names(teams) == ["backend", "web"]
        assert cell(teams, "backend", "customer") == "acme" and cell(teams, "backend", "keys") == "1"
        assert cell(teams, "backend", "budgets").startswith("₹50,000/M")
        customers = await show(pilot, "8", CustomersScreen)
        assert row_names(customers) == ["acme", "globex"]
        assert cell(customers, "acme", "teams") == "1" and cell(customers, "acme", "keys") == "1"
        assert cell(customers, "globex", "keys") == "1"  # dev-b, directly
        # a new team through the form, with routing defaults and fallbacks
        teams = await show(pilot, "7", TeamsScreen)
        await pilot.press("n")
        form = await modal(pilot, TeamForm)
        set_input(form, "#name", "data")
        form.query_one("#customer", Select).value = "globex"
        await add_row(pilot, form, "#add-rule")
        rule = form.query_one(RuleRow)
        rule.query_one(".rule-when", Input).value = "model=claude-haiku-* max_input_tokens=2000"
        rule.query_one(".rule-targets", Input).value = "sim:claude-haiku-4-5*3, anthropic*1"
        set_input(form, "#fallbacks", "anthropic:claude-sonnet-4-5, sim")
        diff = await save_and_confirm(pilot, form)
        text = {r[0]: r[2] for r in diff.rows}
        assert text["customer"] == "globex"
        assert text["routing rule 1"] == "model=claude-haiku-* max_input_tokens=2000 → sim:claude-haiku-4-5*3, anthropic*1"
        await pilot.press("y")
        await until(pilot, lambda: isinstance(app.screen, TeamsScreen) and "data" in row_names(app.screen))
        stored = AdminService(server.gateway).get("team", "data")
        assert stored["routing"] == [{"when": {"model": "claude-haiku-*", "max_input_tokens": 2000},
                                      "targets": [{"provider": "sim", "model": "claude-haiku-4-5", "weight": 3},
                                                  {"provider": "anthropic", "weight": 1}]}]
        assert stored["fallbacks"] == [{"provider": "anthropic", "model": "claude-sonnet-4-5"}, {"provider": "sim"}]
        assert stored["source"] == "api" and app.screen.current_name() == "data"


# -- create a key ---------------------------------------------------------------------------------
async def test_create_key_through_the_form_shows_the_value_once_and_it_works(server, tmp_path):
    app = console(server)
    async with app.run_test(size=SIZE) as pilot:
        keys = await show(pilot, "6", KeysScreen)
        await pilot.press("n")
        form = await modal(pilot, KeyForm)
        await pilot.press(*"dev-new")  # the name field has the focus
        form.query_one("#team", Select).value = "backend"
        await add_row(pilot, form, "#add-budget")
        row = form.query_one(BudgetRow)
        row.query_one(".budget-limit", Input).value = "1,500"
        row.query_one(".budget-period", Select).value = "1w"
        set_input(form, "#requests_per_minute", "120")
        set_input(form, "#allowed_models", "claude-sonnet-*, claude-haiku-*")
        diff = await save_and_confirm(pilot, form)
        rows = {r[0]: (r[1], r[2]) for r in diff.rows}
        assert rows["name"] == ("–", "dev-new") and rows["budget 1"] == ("–", "₹1,500/w")
        assert rows["team"] == ("–", "backend") and rows["requests/min"] == ("–", "120")
        await pilot.press("y")
        shown = await modal(pilot, KeyValueModal)
        value = shown.value
        assert value.startswith("vk-") and shown.key_name == "dev-new"
        assert "will not be shown again" in str(shown.query_one("#key-warning").render())
        await pilot.press("c")  # copy (OSC 52)
        assert app.clipboard == value
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, KeysScreen) and "dev-new" in row_names(app.screen))
        assert app.screen.current_name() == "dev-new"
        assert not any(isinstance(s, KeyValueModal) for s in app.screen_stack)  # shown once
        assert cell(keys, "dev-new", "source") == "api" and cell(keys, "dev-new", "budgets").startswith("₹1,500/w")
        # the value is nowhere on screen any more
        assert all(value not in str(c) for c in keys._cells["dev-new"])
        # the key works at once against the proxy
        resp = await post(server, value)
        assert resp.status == 200
        resp = await post(server, value, model="gpt-4o")  # allowed_models is enforced
        assert resp.status == 403
    # SQLite holds only the hash, never the value
    await server.gateway.writer.flush()
    raw = Path(tmp_path / "bifrost.db").read_bytes()
    for wal in tmp_path.glob("bifrost.db-wal"):
        raw += wal.read_bytes()
    assert value.encode() not in raw
    with sqlite3.connect(tmp_path / "bifrost.db") as db:
        spec = db.execute("SELECT spec FROM entities WHERE kind='virtual_key' AND name='dev-new'").fetchone()[0]
    assert hash_key(value) in spec and value not in spec


async def test_local_validation_shows_messages_under_the_fields_and_saves_nothing(server):
    app = console(server)
    admin = AdminService(server.gateway)
    before = [k["name"] for k in admin.list("virtual_key")]
    async with app.run_test(size=SIZE) as pilot:
        await show(pilot, "6", KeysScreen)
        await pilot.press("n")
        form = await modal(pilot, KeyForm)
        set_input(form, "#name", "bad key")
        await add_row(pilot, form, "#add-budget")
        await add_row(pilot, form, "#add-budget")
        first, second = form.query(BudgetRow)
        first.query_one(".budget-limit", Input).value = "-5"
        second.query_one(".budget-limit", Input).value = "100"
        second.query_one(".budget-rolling", Checkbox).value = True
        second.query_one(".budget-window", Input).value = "2x"
        set_input(form, "#tokens_per_minute", "lots")
        await add_row(pilot, form, "#add-rule")
        form.query_one(RuleRow).query_one(".rule-when", Input).value = "modle=claude-*"
        set_input(form, "#fallbacks", "sim*2")
        set_input(form, "#expires_at", "next tuesday")
        await pilot.press("ctrl+s")
        await pilot.pause(0.2)
        assert isinstance(app.screen, KeyForm)  # no diff, nothing sent
        errors = form.errors()
        assert "cannot be negative" in errors["budgets[0]"]
        assert "rolling window is N hours or days" in errors["budgets[1]"] and "'2x'" in errors["budgets[1]"]
        assert "tokens/min" in errors["tokens_per_minute"]
        assert "unknown condition 'modle'" in errors["routing[0]"]
        assert "take no weight" in errors["fallbacks"]
        assert "ISO 8601" in errors["expires_at"]
        assert "letters, digits" in errors["name"]
        # the messages sit under their inputs and are visible
        assert first.query_one(".budget-error").display
        # fix them one by one: the messages go away on the next save
        set_input(form, "#name", "dev-ok")
        first.query_one(".budget-limit", Input).value = "5"
        second.query_one(".budget-window", Input).value = "5h"
        set_input(form, "#tokens_per_minute", "")
        form.query_one(RuleRow).query_one(".rule-when", Input).value = "model=claude-*"
        form.query_one(RuleRow).query_one(".rule-targets", Input).value = "sim"
        set_input(form, "#fallbacks", "")
        set_input(form, "#expires_at", "")
        await save_and_confirm(pilot, form)
        assert form.errors() == {}
        await pilot.press("n")  # back to the form: still nothing saved
        await modal(pilot, KeyForm)
        await pilot.press("escape")  # the form has changes: esc asks first
        await modal(pilot, Confirm)
        await pilot.press("y")
        await until(pilot, lambda: isinstance(app.screen, KeysScreen))
    assert [k["name"] for k in admin.list("virtual_key")] == before


async def test_server_side_errors_land_under_the_right_field(server):
    app = console(server)
    admin = AdminService(server.gateway)
    await admin.create("team", {"name": "temp"})
    async with app.run_test(size=SIZE) as pilot:
        await show(pilot, "6", KeysScreen)
        await pilot.press("n")
        form = await modal(pilot, KeyForm)
        set_input(form, "#name", "dev-c")
        form.query_one("#team", Select).value = "temp"
        await add_row(pilot, form, "#add-rule")
        form.query_one(RuleRow).query_one(".rule-targets", Input).value = "nowhere:claude-x"
        # an unknown provider is caught by the form itself, before the diff, in the source's words
        await pilot.press("ctrl+s")
        await until(pilot, lambda: form.errors().get("routing[0]"), what="provider error")
        assert isinstance(app.screen, KeyForm)
        assert form.errors()["routing[0]"] == ("targets[0].provider: no provider named 'nowhere'; "
                                               "providers: anthropic, sim")
        form.query_one(RuleRow).query_one(".rule-targets", Input).value = "sim"
        await admin.delete("team", "temp")  # someone else removes the team meanwhile
        await save_and_confirm(pilot, form)
        await pilot.press("y")
        await until(pilot, lambda: isinstance(app.screen, KeyForm) and form.errors(), what="server errors")
        errors = form.errors()
        assert "no team named 'temp'" in errors["team"]
        assert "dev-c" not in [k["name"] for k in admin.list("virtual_key")]
        # a name that exists already is refused at the name field
        form.query_one("#team", Select).value = Select.NULL
        set_input(form, "#name", "dev-a")
        await save_and_confirm(pilot, form)
        await pilot.press("y")
        await until(pilot, lambda: "name" in form.errors(), what="name error")
        assert "already exists" in form.errors()["name"]


# -- edit, disable, rotate, delete ----------------------------------------------------------------------
async def test_edit_budget_shows_a_diff_then_the_ledger_has_the_new_limit_and_the_spend(server):
    gw = server.gateway
    assert (await post(server, VK_A)).status == 200

    def daily():
        return next(s for s in gw.ledger.budgets_of("key", "dev-a") if s.ref.period == "1d")

    deadline = time.monotonic() + 5
    while daily().spent == 0 and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    spent = daily().spent
    assert spent > 0
    app = console(server)
    async with app.run_test(size=SIZE) as pilot:
        keys = await show(pilot, "6", KeysScreen)
        keys.select_name("dev-a")
        await pilot.press("e")
        form = await modal(pilot, KeyForm)
        assert form.query_one("#team", Select).value == "backend"
        assert not form.query("#name")  # a name cannot change
        first = form.query(BudgetRow).first()
        assert first.query_one(".budget-limit", Input).value == "2000"
        # nothing changed: no diff, a message
        await pilot.press("ctrl+s")
        await until(pilot, lambda: "form-error" in form.errors())
        assert form.errors()["form-error"] == "nothing changed"
        first.query_one(".budget-limit", Input).value = "3000"
        diff = await save_and_confirm(pilot, form)
        assert diff.rows == [("budget 1", "₹2,000/d", "₹3,000/d")]  # only what changes
        assert "₹2,000/d" in screen_text(app) and "₹3,000/d" in screen_text(app)
        await pilot.press("n")  # back to the form, nothing saved yet
        await modal(pilot, KeyForm)
        assert daily().limit_micro == display_to_micro_usd(2000, gw.config.currency)
        await save_and_confirm(pilot, form)
        await pilot.press("y")
        await until(pilot, lambda: isinstance(app.screen, KeysScreen))
        assert daily().limit_micro == display_to_micro_usd(3000, gw.config.currency)
        assert daily().spent == spent  # the spend is kept
        await until(pilot, lambda: cell(keys, "dev-a", "budgets").startswith("₹3,000/d"), what="table refresh")
        assert cell(keys, "dev-a", "source") == "api"


async def test_remove_a_budget_and_the_rate_limit(server):
    app = console(server)
    async with app.run_test(size=SIZE) as pilot:
        keys = await show(pilot, "6", KeysScreen)
        keys.select_name("dev-a")
        await pilot.press("enter")  # enter edits too
        form = await modal(pilot, KeyForm)
        monthly = list(form.query(BudgetRow))[1]
        await pilot.click(monthly.query_one(".budget-remove"))
        await until(pilot, lambda: len(form.query(BudgetRow)) == 1, what="row removed")
        set_input(form, "#requests_per_minute", "")
        set_input(form, "#max_concurrent", "4")
        diff = await save_and_confirm(pilot, form)
        assert diff.rows == [("budget 2", "₹25,000/M", "–"), ("requests/min", "600", "–"),
                             ("max concurrent", "–", "4")]
        await pilot.press("y")
        await until(pilot, lambda: isinstance(app.screen, KeysScreen))
    stored = AdminService(server.gateway).get("virtual_key", "dev-a")
    assert stored["budgets"] == [{"limit": 2000, "period": "1d"}] and stored["rate_limit"] == {"max_concurrent": 4}
    assert [s.ref.period for s in server.gateway.ledger.budgets_of("key", "dev-a")] == ["1d"]


async def test_disable_and_enable_a_key(server):
    app = console(server)
    async with app.run_test(size=SIZE) as pilot:
        keys = await show(pilot, "6", KeysScreen)
        keys.select_name("dev-a")
        await pilot.press("d")
        question = await modal(pilot, Confirm)
        assert "403" in str(question.query_one("#confirm-question").render())
        await pilot.press("n")  # declined: nothing happens
        await until(pilot, lambda: isinstance(app.screen, KeysScreen))
        assert (await post(server, VK_A)).status == 200
        await pilot.press("d")
        await modal(pilot, Confirm)
        await pilot.press("y")
        await until(pilot, lambda: cell(keys, "dev-a", "active") == "off", what="disabled")
        resp = await post(server, VK_A)
        assert resp.status == 403 and resp.headers.get("x-should-retry") == "false"
        await pilot.press("d")
        await modal(pilot, Confirm)
        await pilot.press("y")
        await until(pilot, lambda: cell(keys, "dev-a", "active") == "on", what="enabled")
        assert (await post(server, VK_A)).status == 200


async def test_rotate_a_key_shows_the_new_value_once(server):
    app = console(server)
    async with app.run_test(size=SIZE) as pilot:
        keys = await show(pilot, "6", KeysScreen)
        keys.select_name("dev-b")
        await pilot.press("r")
        await modal(pilot, Confirm)
        await pilot.press("y")
        shown = await modal(pilot, KeyValueModal)
        value = shown.value
        assert shown.rotated and value.startswith("vk-") and value != VK_B
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, KeysScreen))
        assert shown.value == ""  # not kept after closing
        assert (await post(server, VK_B)).status == 401
        assert (await post(server, value)).status == 200


async def test_delete_a_team_still_used_shows_the_conflict_then_deleting_works(server):
    app = console(server)
    async with app.run_test(size=SIZE) as pilot:
        teams = await show(pilot, "7", TeamsScreen)
        teams.select_name("backend")
        await pilot.press("delete")
        await modal(pilot, Confirm)
        await pilot.press("y")
        notice = await modal(pilot, Notice)
        assert "still used by key dev-a" in notice.message
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, TeamsScreen))
        assert "backend" in row_names(teams)
        teams.select_name("web")
        await pilot.press("delete")
        await modal(pilot, Confirm)
        await pilot.press("y")
        await until(pilot, lambda: row_names(teams) == ["backend"], what="row removed")
        assert "web" not in [t["name"] for t in AdminService(server.gateway).list("team")]


# -- read-only ------------------------------------------------------------------------------------------
async def test_readonly_hides_and_disables_every_change(server):
    app = console(server, readonly=True)
    async with app.run_test(size=SIZE) as pilot:
        for key, cls in (("6", KeysScreen), ("7", TeamsScreen), ("8", CustomersScreen), ("9", ProvidersScreen)):
            screen = await show(pilot, key, cls)
            actions = {b.binding.action for b in screen.active_bindings.values()}
            assert not actions & {"new", "edit", "disable", "delete", "rotate", "set_secret"}, cls
            assert "open_filter" in actions
            footer = " ".join(str(w.render()) for w in screen.query("FooterKey"))
            for word in ("New", "Edit", "Disable", "Rotate", "Delete", "Set API key"):
                assert word not in footer
            assert "READ-ONLY" in str(screen.table.border_subtitle)
        keys = await show(pilot, "6", KeysScreen)
        keys.select_name("dev-a")
        for k in ("n", "e", "d", "r", "delete", "enter"):
            await pilot.press(k)
            await pilot.pause(0.1)
            assert app.screen is keys, k
        providers = await show(pilot, "9", ProvidersScreen)
        await pilot.press("k")
        await pilot.pause(0.1)
        assert app.screen is providers
    assert AdminService(server.gateway).get("virtual_key", "dev-a")["active"] is True


async def test_mutations_are_in_the_footer_when_not_readonly(server):
    app = console(server)
    async with app.run_test(size=SIZE) as pilot:
        keys = await show(pilot, "6", KeysScreen)
        actions = {b.binding.action for b in keys.active_bindings.values() if b.enabled}
        assert {"new", "edit", "disable", "delete", "rotate"} <= actions
        ids = {b.binding.id for b in keys.active_bindings.values()}
        assert {"entity-new", "entity-edit", "key-disable", "key-rotate", "entity-delete", "entity-copy"} <= ids


# -- providers ------------------------------------------------------------------------------------------
async def test_providers_screen_shows_simulated_and_circuits(server):
    gw = server.gateway
    client = next(c for c in gw.providers if c.name == "anthropic")
    main = next(k for k in client.keys if k.name == "main")
    gw.board.failure(client.breaker(main), time.monotonic(), "HTTP 529", retry_after=30)
    app = console(server)
    async with app.run_test(size=SIZE) as pilot:
        providers = await show(pilot, "9", ProvidersScreen)
        assert row_names(providers) == ["anthropic", "sim"]
        assert cell(providers, "sim", "mode").strip() == "SIMULATED"
        assert cell(providers, "anthropic", "mode") == "live"
        assert cell(providers, "anthropic", "keys") == "main, backup"
        circuits = providers.table.get_cell("anthropic", "circuits")
        assert re.fullmatch(r"main open \d+s · backup closed", circuits.plain)
        assert any("red" in str(span.style) for span in circuits.spans)
        assert cell(providers, "sim", "circuits") == "simulated closed"
        gw.board.success(client.breaker(main))
        await until(pilot, lambda: "main closed" in cell(providers, "anthropic", "circuits"), what="live circuit")


class MemoryKeyring(keyring.backend.KeyringBackend):
    priority = 1

    def __init__(self):
        super().__init__()
        self.entries: dict = {}

    def get_password(self, service, username):
        return self.entries.get((service, username))

    def set_password(self, service, username, password):
        self.entries[(service, username)] = password

    def delete_password(self, service, username):
        self.entries.pop((service, username), None)


@pytest.fixture
def swap_keyring():
    previous = keyring.get_keyring()
    yield keyring.set_keyring
    keyring.set_keyring(previous)


async def open_secret_form(pilot, name: str) -> ProviderSecretForm:
    providers = await show(pilot, "9", ProvidersScreen)
    providers.select_name(name)
    await pilot.press("k")
    return await modal(pilot, ProviderSecretForm)


async def test_provider_key_without_a_keyring_backend_says_so(server, swap_keyring):
    swap_keyring(keyring.backends.fail.Keyring())
    secret = "sk-ant-api03-secret-never-shown"
    app = console(server)
    async with app.run_test(size=SIZE) as pilot:
        form = await open_secret_form(pilot, "anthropic")
        assert form.query_one("#secret-key-name", Input).value == "main"
        assert form.query_one("#secret-value", Input).password  # masked
        assert "keyring:bifrost-tui/anthropic-main" in str(form.query_one("#secret-ref").render())
        await pilot.press(*secret)
        assert secret not in str(form.query_one("#secret-value").render())
        await pilot.press("ctrl+s")
        await until(pilot, lambda: form.errors().get("secret"), what="keyring error")
        message = form.errors()["secret"]
        assert "no OS keyring backend" in message and "env:" in message
        assert isinstance(app.screen, ProviderSecretForm)
        assert secret not in screen_text(app)
        box = form.query_one("#secret-value", Input)
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, ProvidersScreen))
        assert box.value == ""  # not kept after the form closes


async def test_provider_key_is_stored_in_the_keyring(server, swap_keyring):
    memory = MemoryKeyring()
    swap_keyring(memory)
    secret = "sk-ant-api03-another-secret"
    app = console(server)
    async with app.run_test(size=SIZE) as pilot:
        form = await open_secret_form(pilot, "anthropic")
        await pilot.press("ctrl+s")  # empty value: refused locally
        await until(pilot, lambda: form.errors().get("secret-value"), what="required")
        set_input(form, "#secret-key-name", "backup")
        await pilot.pause()
        assert "keyring:bifrost-tui/anthropic-backup" in str(form.query_one("#secret-ref").render())
        form.query_one("#secret-value", Input).focus()
        await pilot.press(*secret)
        box = form.query_one("#secret-value", Input)
        await pilot.press("ctrl+s")
        await until(pilot, lambda: isinstance(app.screen, ProvidersScreen), what="form closed")
        assert memory.entries == {("bifrost-tui", "anthropic-backup"): secret}
        assert box.value == ""
        assert secret not in screen_text(app)


# -- small terminals ----------------------------------------------------------------------------------
async def test_every_screen_and_form_renders_at_80x24(server):
    app = console(server)
    async with app.run_test(size=(80, 24)) as pilot:
        for key, cls, form_key, form_cls in (("6", KeysScreen, "e", KeyForm), ("7", TeamsScreen, "e", TeamForm),
                                             ("8", CustomersScreen, "n", EntityForm),
                                             ("9", ProvidersScreen, "k", ProviderSecretForm)):
            screen = await show(pilot, key, cls)
            assert screen.table.row_count >= 2
            assert screen.table.region.height >= 10
            await pilot.press(form_key)
            form = await modal(pilot, form_cls)
            save = form.query_one(Button)
            assert save.region.width > 0 and save.region.bottom <= 24  # the buttons stay on screen
            assert form.query_one("#form, Vertical").region.right <= 80
            await pilot.press("escape")
            await until(pilot, lambda screen=screen: app.screen is screen)


# -- snapshots ----------------------------------------------------------------------------------------
def _budget_status(level, entity, limit, spent, label="Monthly", period="1M"):
    pct = round(100 * spent / limit, 2) if limit else 0.0
    return {"level": level, "entity": entity, "period": period, "rolling": False, "label": label,
            "currency": "INR", "limit": float(limit), "spent": float(spent), "used_pct": pct,
            "resets_at_local": "2026-12-01 00:00 IST"}


SNAP_KEYS = [
    {"name": "dev-pranay", "team": "backend", "key_hash": "sha256:" + "1" * 64,
     "budgets": [{"limit": 2000, "period": "1d"}, {"limit": 25000, "period": "1M"}],
     "rate_limit": {"requests_per_minute": 60, "tokens_per_minute": 200000},
     "allowed_models": ["claude-sonnet-4*", "claude-haiku-*"],
     "routing": [{"when": {"model": "claude-sonnet-4*", "max_input_tokens": 2000},
                  "targets": [{"provider": "anthropic", "model": "claude-haiku-4-5-20251001", "weight": 80},
                              {"provider": "bedrock", "weight": 20}]}],
     "fallbacks": [{"provider": "bedrock"}, {"provider": "openai", "model": "gpt-4o"}],
     "active": True, "source": "api", "usable": True,
     "budget_status": [_budget_status("key", "dev-pranay", 2000, 1640, "Daily", "1d"),
                       _budget_status("key", "dev-pranay", 25000, 9100)]},
    {"name": "ci-runner", "customer": "acme", "key": "env:CI_KEY", "budgets": [{"limit": 500, "period": "5h",
                                                                               "rolling": True}],
     "routing": [], "fallbacks": [], "active": False, "source": "config", "usable": False,
     "budget_status": [_budget_status("key", "ci-runner", 500, 480, "5h", "5h")]},
    {"name": "dev-maya", "team": "web", "key_hash": "sha256:" + "2" * 64, "budgets": [{"limit": 10000,
                                                                                      "period": "1M"}],
     "routing": [], "fallbacks": [], "active": True, "source": "config", "usable": True,
     "budget_status": [_budget_status("key", "dev-maya", 10000, 2500)]},
]


class ScriptedSource:
    """Fixed data for snapshots (and nothing that changes with time)."""
    remote = False

    def __init__(self):
        self.data = {"virtual_key": deepcopy(SNAP_KEYS),
                     "team": [{"name": "backend", "customer": "acme", "budgets": [], "routing": [], "fallbacks": [],
                               "source": "config", "budget_status": []},
                              {"name": "web", "budgets": [], "routing": [], "fallbacks": [], "source": "config",
                               "budget_status": []}],
                     "customer": [{"name": "acme", "budgets": [], "source": "config", "budget_status": []}]}

    async def overview(self):
        return {"listen": "http://127.0.0.1:8080",
                "summary": {"uptime_s": 3725, "rps": 2.5, "error_pct": 0.4, "p50_ms": 820, "p95_ms": 2400,
                            "in_flight": 1, "spend_today_micro_usd": 12_000_000,
                            "spend_month_micro_usd": 310_000_000, "loop_lag_ms": 1.2},
                "currency": {"code": "INR", "symbol": "₹", "per_usd": "84.0"}, "timezone": "Asia/Kolkata",
                "providers": await self.providers()}

    async def requests_since(self, seq):
        return seq, []

    async def events_since(self, seq):
        return seq, []

    async def budgets(self):
        return []

    async def series(self, minutes=60):
        return {}

    async def entities(self, kind):
        return deepcopy(self.data[kind])

    async def providers(self):
        return [{"name": "anthropic", "type": "anthropic", "keys": ["main", "backup"], "budgets": [],
                 "budget_status": [], "available": True, "simulated": False, "served": True,
                 "circuits": [{"provider": "anthropic", "key": "main", "state": "open", "failures": 5,
                               "retry_in_s": 12.0, "last_error": "HTTP 529"},
                              {"provider": "anthropic", "key": "backup", "state": "closed", "failures": 0,
                               "retry_in_s": None, "last_error": None}]},
                {"name": "sim", "type": "mock", "keys": [], "budgets": [], "budget_status": [], "available": True,
                 "simulated": True, "served": True,
                 "circuits": [{"provider": "sim", "key": "simulated", "state": "closed", "failures": 0,
                               "retry_in_s": None, "last_error": None}]}]


@pytest.fixture
def steady_cursor(monkeypatch):
    monkeypatch.setattr(Input, "_toggle_cursor", lambda self: None)


def _keys_screen(edit: bool):
    async def run_before(pilot):
        app = pilot.app
        await pilot.press("6")
        screen = await until(pilot, lambda: isinstance(app.screen, KeysScreen) and app.screen._loaded
                             and app.screen)
        screen.select_name("dev-pranay")
        if edit:
            await pilot.press("e")
            await modal(pilot, KeyForm)
        await pilot.pause(0.2)
    return run_before


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
def test_snapshot_keys_screen(snap_compare, steady_cursor, size):
    assert snap_compare(ConsoleApp(ScriptedSource()), terminal_size=size, run_before=_keys_screen(edit=False))


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
def test_snapshot_key_edit_form(snap_compare, steady_cursor, size):
    assert snap_compare(ConsoleApp(ScriptedSource()), terminal_size=size, run_before=_keys_screen(edit=True))
