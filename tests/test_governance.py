"""Governance over real HTTP: budgets (reserve, settle, the concurrent race), rate limits, access rules,
counters across restarts and reloads, the management API and /api/me, and Claude Code meeting a used-up
budget. In-process gateways (`anthropic` provider) -> the mock-upstream subprocess.

Money: INR at 84 per USD. The probe body below costs exactly COST micro-USD on claude-sonnet-4-5
($3 / $15 per million input / output tokens): 5 input tokens ("hi" = (2+3)//4 + 4 per message) and
5 output tokens (max_tokens 5 truncates the simulated 13-token reply): 5*3 + 5*15 = 90.
With no output history the gateway expects min(4096, max_tokens) = 5 output tokens, so its
reservation for this body is also 90.
"""
from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import time
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import aiohttp
import pytest

from app.core.config import config_from_text, load_config
from app.core.keys import hash_key
from app.core.messages_body import MessagesBody
from app.proxy.server import GatewayServer

from conftest import ROOT, UPSTREAM_KEY, VK_A, VK_B, bifrost_cmd, free_port, wait_for_port

MODEL = "claude-sonnet-4-5"
BODY = {"model": MODEL, "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]}
COST = 90  # micro-USD, see the module docstring
IST = ZoneInfo("Asia/Kolkata")
ADMIN_TOKEN = "adm-test-7c1e9a55d2b84f0e"
VK_C = "vk-test-c-1111aaaa2222bbbb3333cccc4444dddd"
VK_D = "vk-test-d-5555eeee6666ffff7777aaaa8888bbbb"
VK_E = "vk-test-e-9999cccc0000dddd1111eeee2222ffff"
VK_F = "vk-test-f-3333bbbb4444cccc5555dddd6666eeee"
DEFAULT_MOCK = {"latency_ms": 0, "tokens_per_second": 0, "reply_text": None, "error_rate_429": 0,
                "error_rate_500": 0, "error_rate_529": 0, "retry_after": 1, "fail_mid_stream_rate": 0, "seed": None}


# ----------------------------------------------------------------------------- helpers

async def http(method: str, url: str, *, body=None, headers: dict | None = None,
               timeout: float = 15) -> tuple[int, dict, bytes]:
    data = body if isinstance(body, (bytes, str)) or body is None else json.dumps(body)
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout)) as session:
        async with session.request(method, url, data=data, headers=headers or {}) as resp:
            return resp.status, {k.lower(): v for k, v in resp.headers.items()}, await resp.read()


async def post_messages(server: GatewayServer, key: str | None, body: dict | None = None):
    headers = {"content-type": "application/json", "anthropic-version": "2023-06-01"}
    if key is not None:
        headers["x-api-key"] = key
    return await http("POST", f"{server.url}/anthropic/v1/messages", body=body or BODY, headers=headers)


async def admin(server: GatewayServer, method: str, path: str, body=None, token: str | None = ADMIN_TOKEN):
    headers = {"content-type": "application/json"}
    if token is not None:
        headers["authorization"] = f"Bearer {token}"
    status, hdrs, raw = await http(method, f"{server.url}{path}", body=body, headers=headers)
    return status, hdrs, (json.loads(raw) if raw else None)


async def me(server: GatewayServer, key: str) -> tuple[int, dict, dict]:
    status, hdrs, raw = await http("GET", f"{server.url}/api/me", headers={"x-api-key": key})
    return status, hdrs, json.loads(raw)


async def set_upstream(upstream: str, **settings) -> None:
    status, _, raw = await http("POST", f"{upstream}/_mock/settings", body={**DEFAULT_MOCK, **settings})
    assert status == 200, raw


async def upstream_messages(upstream: str) -> list[dict]:
    status, _, raw = await http("GET", f"{upstream}/_mock/requests")
    assert status == 200
    return [r for r in json.loads(raw) if r["path_qs"].split("?")[0] == "/v1/messages"]


async def log_rows(server: GatewayServer, key: str | None = None) -> list[dict]:
    await server.gateway.writer.flush()
    con = sqlite3.connect(server.config.sqlite_path)
    con.row_factory = sqlite3.Row
    try:
        rows = [dict(r) for r in con.execute("SELECT * FROM request_log ORDER BY ts, id")]
    finally:
        con.close()
    return [r for r in rows if key is None or r["key_name"] == key]


async def counter(server: GatewayServer, level: str, entity: str, window_key: str) -> int | None:
    await server.gateway.writer.flush()
    con = sqlite3.connect(server.config.sqlite_path)
    try:
        row = con.execute("SELECT spent_micro_usd FROM budget_counters WHERE level=? AND entity=? AND window_key=?",
                          (level, entity, window_key)).fetchone()
    finally:
        con.close()
    return row[0] if row else None


def error_of(raw: bytes, etype: str) -> str:
    body = json.loads(raw)
    assert body["type"] == "error", body
    assert body["error"]["type"] == etype, body
    return body["error"]["message"]


def inr_limit(micro: int | Decimal) -> str:
    """The INR amount (exact decimal text) that is `micro` micro-USD at 84 INR/USD."""
    return str(Decimal(micro) * 84 / Decimal(1_000_000))


def ist_now() -> datetime:
    return datetime.now(IST)


def next_reset(period: str, at: datetime | None = None) -> str:
    """The next calendar window start in Asia/Kolkata, as the gateway prints it (IST has no DST)."""
    today = (at or ist_now()).astimezone(IST).date()
    if period == "1d":
        d = today + timedelta(days=1)
    elif period == "1w":
        d = today + timedelta(days=7 - today.weekday())
    elif period == "1M":
        d = date(today.year + 1, 1, 1) if today.month == 12 else date(today.year, today.month + 1, 1)
    else:
        d = date(today.year + 1, 1, 1)
    return f"{d:%Y-%m-%d} 00:00 IST"


def assert_resets(message: str, head: str, period: str, since: datetime) -> None:
    """`message` is `head` + " Resets <next window start>." (either side of a boundary passed during the test)."""
    assert message in {f"{head} Resets {next_reset(period, at)}." for at in (since, ist_now())}, message


def month_key() -> str:
    return f"1M:{ist_now():%Y-%m}"


def yaml_config(upstream: str, *, keys: str, customers: str = "[{name: acme}]",
                teams: str = "[{name: backend, customer: acme}]", provider_extra: str = "",
                admin_token: bool = True, sqlite: str = "bifrost.db") -> str:
    server = "server: {admin_token: env:BIFROST_TEST_ADMIN_TOKEN}\n" if admin_token else ""
    return (f"{server}storage: {{sqlite: {sqlite}}}\n"
            "timezone: Asia/Kolkata\ncurrency: {code: INR, symbol: '₹', per_usd: 84}\n"
            f"customers: {customers}\nteams: {teams}\n"
            f"providers:\n  - {{name: anthropic, type: anthropic, base_url: {upstream}, "
            f"keys: [{{name: main, secret: env:BIFROST_TEST_UPSTREAM_KEY}}]{provider_extra}}}\n"
            f"virtual_keys:\n{keys}")


KEYS_AB = ("  - {name: dev-a, team: backend, key: env:BIFROST_TEST_VK_A}\n"
           "  - {name: dev-b, key: env:BIFROST_TEST_VK_B}\n")


@contextlib.asynccontextmanager
async def running(config):
    server = GatewayServer(config, port=0)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


def from_text(tmp_path: Path, text: str):
    return config_from_text(text, "test.yaml", base_dir=tmp_path)


@pytest.fixture(scope="module")
def upstream():
    """One mock-upstream subprocess for the module; `up` resets it before each test."""
    port = free_port()
    proc = subprocess.Popen(bifrost_cmd("mock-upstream", "--port", str(port), "--require-key", UPSTREAM_KEY),
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wait_for_port(port, proc)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture
async def up(upstream, test_env, monkeypatch):
    monkeypatch.setenv("BIFROST_TEST_ADMIN_TOKEN", ADMIN_TOKEN)
    for name, value in (("C", VK_C), ("D", VK_D), ("E", VK_E), ("F", VK_F)):
        monkeypatch.setenv(f"BIFROST_TEST_VK_{name}", value)
    await set_upstream(upstream)
    status, _, _ = await http("DELETE", f"{upstream}/_mock/requests")
    assert status == 200
    return upstream


def assert_budget_402(status: int, headers: dict, raw: bytes) -> str:
    assert status == 402, raw
    assert headers.get("x-should-retry") == "false"
    return error_of(raw, "billing_error")


# ----------------------------------------------------------------------------- 1. the race

async def test_concurrent_requests_never_overspend_the_budget(up, tmp_path):
    async with running(from_text(tmp_path, yaml_config(up, keys=KEYS_AB))) as gw:
        status, _, raw = await post_messages(gw, VK_B)  # probe: the cost of one request, on another key
        assert status == 200, raw
        (probe,) = await log_rows(gw, "dev-b")
        cost = probe["cost_micro_usd"]
        assert cost == COST

        limit_micro = Decimal(cost) * Decimal("10.5")  # room for 10 requests, not 11
        status, _, data = await admin(gw, "PATCH", "/api/keys/dev-a",
                                      {"budgets": [{"limit": float(inr_limit(limit_micro)), "period": "1M"}]})
        assert status == 200, data
        (budget,) = data["budget_status"]
        assert budget["limit_micro_usd"] == 945 and budget["spent_micro_usd"] == 0
        limit = budget["limit_micro_usd"]

        entry = gw.gateway.directory.by_name["dev-a"]
        tokens = MessagesBody.decode(json.dumps(BODY).encode()).input_tokens  # what the request path estimates
        _, estimate = gw.gateway.governor.estimate(entry, MODEL, tokens, BODY["max_tokens"])
        assert estimate == COST

        await set_upstream(up, latency_ms=200)
        headers = {"content-type": "application/json", "anthropic-version": "2023-06-01", "x-api-key": VK_A}
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
            async def one():
                async with session.post(f"{gw.url}/anthropic/v1/messages", data=json.dumps(BODY),
                                        headers=headers) as resp:
                    return resp.status, {k.lower(): v for k, v in resp.headers.items()}, await resp.read()
            results = await asyncio.gather(*(one() for _ in range(50)))

        statuses = [s for s, _, _ in results]
        assert set(statuses) <= {200, 402, 429}, statuses
        for status, hdrs, raw in results:
            if status == 402:
                assert hdrs.get("x-should-retry") == "false"
                assert "budget for key dev-a" in error_of(raw, "billing_error")
            elif status == 429:
                assert hdrs.get("retry-after") == "2"
                assert "held by requests in flight" in error_of(raw, "rate_limit_error")
        admitted = statuses.count(200)
        assert statuses.count(429) > 0  # they overlapped: some were refused only because of the others' holds
        assert admitted >= limit // estimate == 10, statuses

        rows = await log_rows(gw, "dev-a")
        assert len(rows) == 50
        assert sum(r["status"] == 200 for r in rows) == admitted
        spent = sum(r["cost_micro_usd"] or 0 for r in rows)
        assert spent <= limit + cost, (spent, limit)
        assert spent == admitted * COST
        assert gw.gateway.ledger.total_reserved() == 0
        assert all(s.reserved == 0 for s in gw.gateway.ledger.states.values())
        assert await counter(gw, "key", "dev-a", month_key()) == spent
        assert len(await upstream_messages(up)) == admitted + 1  # the refused ones never left the gateway


# ----------------------------------------------------------------------------- 2. budget tiers

TIER_KEYS = (
    "  - {name: k-key, team: frontend, key: env:BIFROST_TEST_VK_A, budgets: [{limit: 0.001, period: 1M}]}\n"
    "  - {name: k-team, team: backend, key: env:BIFROST_TEST_VK_B, budgets: [{limit: 100, period: 1M}]}\n"
    "  - {name: k-cust, customer: acme, key: env:BIFROST_TEST_VK_C, budgets: [{limit: 100, period: 1M}]}\n"
    "  - {name: k-prov, team: frontend, key: env:BIFROST_TEST_VK_D, budgets: [{limit: 100, period: 1M}]}\n"
    "  - {name: k-used, team: frontend, key: env:BIFROST_TEST_VK_E, budgets: [{limit: 10, period: 1M}]}\n")


async def test_each_budget_tier_blocks_on_its_own(up, tmp_path):
    config = yaml_config(
        up, keys=TIER_KEYS,
        customers="[{name: acme, budgets: [{limit: 0.001, period: 1w}]}, {name: globex}]",
        teams="[{name: backend, customer: globex, budgets: [{limit: 0.001, period: 1d}]}, "
              "{name: frontend, customer: globex}]")
    since = ist_now()
    async with running(from_text(tmp_path, config)) as gw:
        # 0.001 INR = 11.9 -> 12 micro-USD ("₹0.0010"); the request needs 90 ("₹0.0076"); nothing spent ("₹0.00")
        cases = [
            (VK_A, "1M", "Monthly budget for key k-key cannot cover this request: ₹0.00 of ₹0.0010 spent, "
                         "this request needs about ₹0.0076."),
            (VK_B, "1d", "Daily budget for team backend cannot cover this request: ₹0.00 of ₹0.0010 spent, "
                         "this request needs about ₹0.0076."),
            (VK_C, "1w", "Weekly budget for customer acme cannot cover this request: ₹0.00 of ₹0.0010 spent, "
                         "this request needs about ₹0.0076."),
        ]
        for key, period, head in cases:
            message = assert_budget_402(*await post_messages(gw, key))
            assert_resets(message, head, period, since)
            assert "₹" in message and " of " in message and "Resets " in message and message.endswith(" IST.")

        status, _, raw = await post_messages(gw, VK_D)  # key, team and customer of k-prov have room
        assert status == 200, raw
        status, _, data = await admin(gw, "PUT", "/api/providers/anthropic/budgets",
                                      {"budgets": [{"limit": 0.001, "period": "1Y"}]})
        assert status == 200, data
        message = assert_budget_402(*await post_messages(gw, VK_D))
        # the provider budget added now starts from this year's logged spend on it: k-prov's 90 micro-USD
        assert_resets(message, "Yearly budget for provider anthropic is used up: ₹0.0076 of ₹0.0010.", "1Y", since)
        assert len(await upstream_messages(up)) == 1  # only k-prov's first request left the gateway
        assert gw.gateway.ledger.total_reserved() == 0


async def test_used_up_monthly_budget_message(up, tmp_path):
    teams = "[{name: backend, customer: acme}, {name: frontend, customer: acme}]"
    async with running(from_text(tmp_path, yaml_config(up, keys=TIER_KEYS, teams=teams))) as gw:
        status, _, raw = await post_messages(gw, VK_E)
        assert status == 200, raw
        # lower the limit under what was spent: 0.0042 INR = 50 micro-USD; spent 90 micro-USD = ₹0.00756
        status, _, data = await admin(gw, "PATCH", "/api/keys/k-used",
                                      {"budgets": [{"limit": 0.0042, "period": "1M"}]})
        assert status == 200, data
        assert data["budget_status"][0]["spent_micro_usd"] == COST
        since = ist_now()
        message = assert_budget_402(*await post_messages(gw, VK_E))
        assert_resets(message, "Monthly budget for key k-used is used up: ₹0.0076 of ₹0.0042.", "1M", since)
        rows = await log_rows(gw, "k-used")
        assert [(r["status"], r["error_type"]) for r in rows] == [(200, None), (402, "billing_error")]
        assert rows[1]["cost_micro_usd"] == 0


async def test_budget_held_by_in_flight_request_is_429_retry_after_2(up, tmp_path):
    keys = "  - {name: dev-a, key: env:BIFROST_TEST_VK_A, budgets: [{limit: " + inr_limit(150) + ", period: 1M}]}\n"
    async with running(from_text(tmp_path, yaml_config(up, keys=keys))) as gw:
        await set_upstream(up, latency_ms=600)
        first = asyncio.create_task(post_messages(gw, VK_A))
        for _ in range(200):  # until the first request holds its reservation
            if gw.gateway.ledger.total_reserved():
                break
            await asyncio.sleep(0.01)
        assert gw.gateway.ledger.total_reserved() == COST
        status, headers, raw = await post_messages(gw, VK_A)  # 0 spent + 90 held + 90 > 150, but 0 + 90 fits
        assert status == 429 and headers.get("retry-after") == "2"
        assert "x-should-retry" not in headers
        message = error_of(raw, "rate_limit_error")
        assert message == ("Monthly budget for key dev-a is nearly used: ₹0.00 spent and ₹0.0076 held by requests "
                           "in flight, of ₹0.0126. Retry when they finish.")
        assert (await first)[0] == 200
        assert_budget_402(*await post_messages(gw, VK_A))  # now 90 spent: 90 + 90 > 150 is a real 402


# ----------------------------------------------------------------------------- 3. rate limits

RATE_KEYS = (
    "  - {name: k-rpm, key: env:BIFROST_TEST_VK_A, rate_limit: {requests_per_minute: 2}}\n"
    "  - {name: k-conc, key: env:BIFROST_TEST_VK_B, rate_limit: {max_concurrent: 1}}\n"
    "  - {name: k-tpm, key: env:BIFROST_TEST_VK_C, rate_limit: {tokens_per_minute: 12}}\n"
    "  - {name: k-huge, key: env:BIFROST_TEST_VK_D, rate_limit: {tokens_per_minute: 3}}\n")


async def test_requests_per_minute(up, tmp_path):
    async with running(from_text(tmp_path, yaml_config(up, keys=RATE_KEYS))) as gw:
        for _ in range(2):
            assert (await post_messages(gw, VK_A))[0] == 200
        status, headers, raw = await post_messages(gw, VK_A)
        assert status == 429
        assert 1 <= int(headers["retry-after"]) <= 60
        assert error_of(raw, "rate_limit_error") == "Rate limit for key k-rpm: 2 requests per minute reached."
        assert len(await upstream_messages(up)) == 2
        assert (await post_messages(gw, VK_B))[0] == 200  # another key is not affected


async def test_rate_limits_go_on_counting_across_a_restart(up, tmp_path):
    """Requests and tokens of the last minute are read back from the request log at start: a restart
    is not a way to get a fresh minute. Refusals decided before the limiter (a wrong key) are not counted."""
    config = from_text(tmp_path, yaml_config(up, keys=RATE_KEYS))
    async with running(config) as gw:
        assert (await post_messages(gw, VK_A))[0] == 200
        assert (await post_messages(gw, VK_C))[0] == 200  # 10 real tokens of k-tpm's 12 a minute
        assert (await post_messages(gw, "vk-not-a-key-000000000000000000"))[0] == 401
        assert (await post_messages(gw, VK_A, b"{not json"))[0] == 400  # refused before the limiter: not counted
    async with running(config) as gw:  # a new process's worth of state, the same SQLite file
        assert (await post_messages(gw, VK_A))[0] == 200  # 1 before the restart + this = 2 a minute
        status, headers, raw = await post_messages(gw, VK_A)
        assert status == 429 and 1 <= int(headers["retry-after"]) <= 60
        assert error_of(raw, "rate_limit_error") == "Rate limit for key k-rpm: 2 requests per minute reached."
        status, _, raw = await post_messages(gw, VK_C)
        assert status == 429 and "(10 used in the last minute)" in error_of(raw, "rate_limit_error")
        assert (await post_messages(gw, VK_B))[0] == 200  # nothing carried over for a key that sent nothing
    assert len(await upstream_messages(up)) == 4


async def test_a_request_refused_by_a_budget_after_the_limiter_still_counts_after_a_restart(up, tmp_path):
    keys = "  - {name: k-broke, key: env:BIFROST_TEST_VK_A, rate_limit: {requests_per_minute: 2}, " \
           "budgets: [{limit: 0, period: 1M}]}\n"
    config = from_text(tmp_path, yaml_config(up, keys=keys))
    async with running(config) as gw:
        assert (await post_messages(gw, VK_A))[0] == 402  # admitted by the limiter, then refused by the budget
    async with running(config) as gw:
        assert (await post_messages(gw, VK_A))[0] == 402
        status, _, raw = await post_messages(gw, VK_A)
        assert status == 429 and "2 requests per minute" in error_of(raw, "rate_limit_error")


async def test_max_concurrent(up, tmp_path):
    async with running(from_text(tmp_path, yaml_config(up, keys=RATE_KEYS))) as gw:
        await set_upstream(up, latency_ms=500)
        results = await asyncio.gather(post_messages(gw, VK_B), post_messages(gw, VK_B))
        assert sorted(s for s, _, _ in results) == [200, 429]
        _, headers, raw = next(r for r in results if r[0] == 429)
        assert headers.get("retry-after") == "1"
        assert "Too many concurrent requests for key k-conc" in error_of(raw, "rate_limit_error")
        assert len(await upstream_messages(up)) == 1
        await set_upstream(up)
        assert (await post_messages(gw, VK_B))[0] == 200  # the slot was released


async def test_tokens_per_minute_counts_real_usage(up, tmp_path):
    async with running(from_text(tmp_path, yaml_config(up, keys=RATE_KEYS))) as gw:
        # admitted on its 5-token input estimate; corrected to 5 + 5 = 10 real tokens when it ends
        assert (await post_messages(gw, VK_C))[0] == 200
        # 10 + 5 > 12 (on the estimate alone, 5 + 5 would have fitted)
        status, headers, raw = await post_messages(gw, VK_C)
        assert status == 429
        assert 1 <= int(headers["retry-after"]) <= 60
        assert error_of(raw, "rate_limit_error") == ("Rate limit for key k-tpm: 12 tokens per minute reached "
                                                     "(10 used in the last minute).")
        assert len(await upstream_messages(up)) == 1


async def test_request_larger_than_tpm_is_not_retried(up, tmp_path):
    async with running(from_text(tmp_path, yaml_config(up, keys=RATE_KEYS))) as gw:
        status, headers, raw = await post_messages(gw, VK_D)  # 5 input tokens > 3 per minute
        assert status == 429
        assert "larger than the 3 tokens per minute limit of key k-huge" in error_of(raw, "rate_limit_error")
        assert headers.get("x-should-retry") == "false"


# ----------------------------------------------------------------------------- 4. access

ACCESS_KEYS = (
    "  - {name: k-haiku, key: env:BIFROST_TEST_VK_A, allowed_models: ['claude-haiku-*', 'claude-3-5-haiku*']}\n"
    "  - {name: k-off, key: env:BIFROST_TEST_VK_B, active: false}\n"
    "  - {name: k-old, key: env:BIFROST_TEST_VK_C, expires_at: '2020-01-01T00:00:00+05:30'}\n"
    "  - {name: k-ok, key: env:BIFROST_TEST_VK_D, expires_at: '2099-01-01T00:00:00+05:30'}\n")


async def test_access_rules_refuse_with_403_before_the_upstream(up, tmp_path):
    async with running(from_text(tmp_path, yaml_config(up, keys=ACCESS_KEYS))) as gw:
        cases = [
            (VK_A, "Model claude-sonnet-4-5 is not allowed for key k-haiku. Allowed: claude-haiku-*, "
                   "claude-3-5-haiku*."),
            (VK_B, "Virtual key k-off is disabled. Ask your gateway admin to re-enable it."),
            (VK_C, "Virtual key k-old expired at 2020-01-01T00:00+05:30."),
        ]
        for key, expected in cases:
            status, headers, raw = await post_messages(gw, key)
            assert status == 403, raw
            assert headers.get("x-should-retry") == "false"
            assert error_of(raw, "permission_error") == expected
        assert await upstream_messages(up) == []
        rows = await log_rows(gw)
        assert sorted((r["key_name"], r["status"]) for r in rows) == [("k-haiku", 403), ("k-off", 403),
                                                                       ("k-old", 403)]
        assert (await post_messages(gw, VK_D))[0] == 200  # not yet expired
        haiku = {**BODY, "model": "claude-haiku-4-5"}
        assert (await post_messages(gw, VK_A, haiku))[0] == 200  # an allowed model passes


# ----------------------------------------------------------------------------- 5. counters survive

def budget_keys(limit: str) -> str:
    return ("  - {name: dev-a, team: backend, key: env:BIFROST_TEST_VK_A, budgets: [{limit: " + limit
            + ", period: 1M}]}\n  - {name: dev-b, key: env:BIFROST_TEST_VK_B}\n")


async def test_restart_keeps_spend(up, tmp_path):
    path = tmp_path / "bifrost.yaml"
    path.write_text(yaml_config(up, keys=budget_keys(inr_limit(135))), encoding="utf-8")  # 1.5 requests
    async with running(load_config(path)) as a:
        assert (await post_messages(a, VK_A))[0] == 200
        assert (await log_rows(a, "dev-a"))[0]["cost_micro_usd"] == COST
    async with running(load_config(path)) as b:
        status, _, data = await me(b, VK_A)
        assert status == 200
        assert data["budgets"][0]["spent_micro_usd"] == COST
        assert data["budgets"][0]["limit_micro_usd"] == 135
        message = assert_budget_402(*await post_messages(b, VK_A))  # 90 + 90 > 135
        assert message.startswith("Monthly budget for key dev-a cannot cover this request: ₹0.0076 of ₹0.0113 spent")
        assert (await post_messages(b, VK_B))[0] == 200
    async with running(load_config(path)) as c:  # and again: nothing counted twice
        _, _, data = await me(c, VK_A)
        assert data["budgets"][0]["spent_micro_usd"] == COST
        assert await counter(c, "key", "dev-a", month_key()) == COST


async def test_the_live_ring_keeps_records_without_their_charges_and_the_counters_get_them(up, tmp_path):
    """`finish` hands a record's charges to the writer, then drops them: the rings the console and the live
    API keep hold ~1000-5000 records, and 8 charges each (every tier on) were a third of what the garbage
    collector had to scan there. The spend itself must still reach the counters, exactly once."""
    path = tmp_path / "bifrost.yaml"
    path.write_text(yaml_config(up, keys=budget_keys("10")), encoding="utf-8")
    async with running(load_config(path)) as gw:
        assert (await post_messages(gw, VK_A))[0] == 200
        record = gw.gateway.events.recent_requests[-1].payload
        assert record.key_name == "dev-a" and record.cost_micro_usd == COST
        assert tuple(record.charges) == ()
        assert await counter(gw, "key", "dev-a", month_key()) == COST


async def test_reload_keeps_spend_and_applies_the_new_limit(up, tmp_path):
    path = tmp_path / "bifrost.yaml"
    path.write_text(yaml_config(up, keys=budget_keys("10")), encoding="utf-8")
    async with running(load_config(path)) as gw:
        assert (await post_messages(gw, VK_A))[0] == 200
        path.write_text(yaml_config(up, keys=budget_keys("0.0042")), encoding="utf-8")  # 50 micro-USD
        status, _, data = await admin(gw, "POST", "/api/reload")
        assert status == 200, data
        _, _, data = await me(gw, VK_A)
        assert (data["budgets"][0]["spent_micro_usd"], data["budgets"][0]["limit_micro_usd"]) == (COST, 50)
        message = assert_budget_402(*await post_messages(gw, VK_A))
        assert message.startswith("Monthly budget for key dev-a is used up: ₹0.0076 of ₹0.0042.")

        path.write_text(yaml_config(up, keys=budget_keys("10")), encoding="utf-8")
        status, _, _ = await admin(gw, "POST", "/api/reload")
        assert status == 200
        assert (await post_messages(gw, VK_A))[0] == 200
        _, _, data = await me(gw, VK_A)
        assert data["budgets"][0]["spent_micro_usd"] == 2 * COST
        assert await counter(gw, "key", "dev-a", month_key()) == 2 * COST


async def test_budget_added_mid_window_starts_from_the_logged_spend(up, tmp_path):
    async with running(from_text(tmp_path, yaml_config(up, keys=KEYS_AB))) as gw:
        for key in (VK_B, VK_B, VK_A):
            assert (await post_messages(gw, key))[0] == 200
        status, _, data = await admin(gw, "PATCH", "/api/keys/dev-b", {"budgets": [{"limit": 1, "period": "1M"}]})
        assert status == 200, data
        assert data["budget_status"][0]["spent_micro_usd"] == 2 * COST
        status, _, data = await admin(gw, "PATCH", "/api/teams/backend", {"budgets": [{"limit": 1, "period": "1d"}]})
        assert status == 200, data
        assert data["budget_status"][0]["spent_micro_usd"] == COST  # dev-a is the backend team's only key
        assert (await post_messages(gw, VK_B))[0] == 200
        _, _, data = await admin(gw, "GET", "/api/keys/dev-b/budgets")
        assert data["data"][0]["spent_micro_usd"] == 3 * COST
        assert await counter(gw, "key", "dev-b", month_key()) == 3 * COST


async def test_budget_removed_and_readded_counts_the_window_spend(up, tmp_path):
    async with running(from_text(tmp_path, yaml_config(up, keys=KEYS_AB))) as gw:
        budgets = {"budgets": [{"limit": 1, "period": "1M"}]}
        assert (await post_messages(gw, VK_B))[0] == 200
        assert (await admin(gw, "PATCH", "/api/keys/dev-b", budgets))[2]["budget_status"][0]["spent_micro_usd"] == COST
        assert (await admin(gw, "PATCH", "/api/keys/dev-b", {"budgets": []}))[0] == 200
        assert (await post_messages(gw, VK_B))[0] == 200
        status, _, data = await admin(gw, "PATCH", "/api/keys/dev-b", budgets)
        assert status == 200
        assert data["budget_status"][0]["spent_micro_usd"] == 2 * COST


# ----------------------------------------------------------------------------- 6. management API

async def test_management_api_auth(up, tmp_path):
    async with running(from_text(tmp_path, yaml_config(up, keys=KEYS_AB))) as gw:
        for token in (None, "wrong-token", VK_A, ADMIN_TOKEN + "x"):
            status, headers, data = await admin(gw, "GET", "/api/keys", token=token)
            assert status == 401, (token, data)
            assert data["type"] == "error" and data["error"]["type"] == "authentication_error"
            assert "admin token" in data["error"]["message"]
        status, _, raw = await http("GET", f"{gw.url}/api/keys", headers={"x-api-key": ADMIN_TOKEN})
        assert status == 401  # the admin token belongs in Authorization: Bearer
        status, _, data = await admin(gw, "GET", "/api/keys")
        assert status == 200 and sorted(k["name"] for k in data["data"]) == ["dev-a", "dev-b"]
        # a virtual key as Bearer does not open the management API, but /api/me accepts it
        status, _, _ = await http("GET", f"{gw.url}/api/me", headers={"authorization": f"Bearer {VK_A}"})
        assert status == 200


async def test_live_stream_sends_requests_and_lets_go_when_the_console_leaves(up, tmp_path):
    """GET /api/live/stream (what `attach` could follow): each finished request as an SSE event; a console
    that hangs up is unsubscribed at once (its handler is cancelled), not at the next keep-alive."""
    keys = "  - {name: dev-a, key: env:BIFROST_TEST_VK_A}\n"
    async with running(from_text(tmp_path, yaml_config(up, keys=keys))) as gw:
        bus = gw.gateway.events
        before = len(bus._subscribers)
        async with aiohttp.ClientSession() as session:
            resp = await session.get(f"{gw.url}/api/live/stream", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
            assert resp.status == 200 and resp.headers["content-type"].startswith("text/event-stream")
            assert await wait_until(lambda: len(bus._subscribers) == before + 1, 5)
            assert (await post_messages(gw, VK_A))[0] == 200
            seen = b""
            while b"event: request" not in seen or not seen.endswith(b"\n\n"):
                seen += await asyncio.wait_for(resp.content.readany(), 5)
            data = json.loads(seen.split(b"event: request", 1)[1].split(b"data: ", 1)[1].split(b"\n", 1)[0])
            assert data["key"] == "dev-a" and data["status"] == 200
            resp.close()
        assert await wait_until(lambda: len(bus._subscribers) == before, 5), "the stream's subscriber stayed"


async def test_the_months_request_and_error_counts_survive_a_restart(up, tmp_path):
    """The console's "this month" panel: counted from the log at start, like the month's spend."""
    keys = "  - {name: dev-a, key: env:BIFROST_TEST_VK_A}\n"
    config = from_text(tmp_path, yaml_config(up, keys=keys))
    async with running(config) as gw:
        assert (await post_messages(gw, VK_A))[0] == 200
        assert (await post_messages(gw, "vk-not-a-key-000000000000000000"))[0] == 401
    async with running(config) as gw:
        summary = gw.gateway.live.summary(0)
        assert (summary["requests_month"], summary["errors_month"]) == (2, 1)
        assert (summary["requests_total"], summary["errors_total"]) == (0, 0)  # this process's own
        assert (await post_messages(gw, VK_A))[0] == 200
        assert gw.gateway.live.summary(0)["requests_month"] == 3


async def test_a_model_without_a_price_cannot_slip_past_a_budget(up, tmp_path):
    """A request no budget could charge (its model has no price) is refused where budgets apply, and served
    (logged as cost unknown) where none do; a routed step with a price still serves it."""
    unpriced = "claude-unpriced-9"
    keys = ("  - {name: dev-a, key: env:BIFROST_TEST_VK_A, budgets: [{limit: 100, period: 1M}]}\n"
            "  - {name: dev-c, key: env:BIFROST_TEST_VK_C}\n"
            "  - name: dev-d\n    key: env:BIFROST_TEST_VK_D\n    budgets: [{limit: 100, period: 1M}]\n"
            f"    fallbacks: [{{provider: anthropic, model: {MODEL}}}]\n")
    async with running(from_text(tmp_path, yaml_config(up, keys=keys, teams="[]"))) as gw:
        status, headers, raw = await post_messages(gw, VK_A, {**BODY, "model": unpriced})
        assert status == 403 and headers["x-should-retry"] == "false"
        assert f"Model {unpriced} has no price" in error_of(raw, "permission_error")
        assert await upstream_messages(up) == []
        assert (await post_messages(gw, VK_C, {**BODY, "model": unpriced}))[0] == 200  # no budget to hold
        status, _, raw = await post_messages(gw, VK_D, {**BODY, "model": unpriced})
        assert status == 200, raw  # the fallback's model has a price
        assert [json.loads(r["body"])["model"] for r in await upstream_messages(up)] == [unpriced, MODEL]
        rows = await log_rows(gw, "dev-d")
        assert rows[-1]["served_model"] == MODEL and rows[-1]["cost_micro_usd"] > 0


async def test_management_api_disabled_without_admin_token(up, tmp_path):
    async with running(from_text(tmp_path, yaml_config(up, keys=KEYS_AB, admin_token=False))) as gw:
        for token in (None, ADMIN_TOKEN, VK_A):
            status, _, data = await admin(gw, "GET", "/api/keys", token=token)
            assert status == 401
            assert data["error"]["type"] == "authentication_error"
            assert "disabled" in data["error"]["message"]
        assert (await post_messages(gw, VK_A))[0] == 200


async def test_management_api_crud(up, tmp_path):
    async with running(from_text(tmp_path, yaml_config(up, keys=KEYS_AB))) as gw:
        status, _, created = await admin(gw, "POST", "/api/keys", {
            "name": "new-dev", "team": "backend", "budgets": [{"limit": 100, "period": "1M"}],
            "rate_limit": {"requests_per_minute": 50}})
        assert status == 201, created
        value = created["key"]
        assert isinstance(value, str) and value.startswith("vk-new-dev-") and len(value) > 30
        assert created["key_hash"] == hash_key(value)
        status, _, again = await admin(gw, "POST", "/api/keys", {"name": "new-dev"})
        assert status == 409

        for path in ("/api/keys/new-dev", "/api/keys", "/api/budgets", "/api/keys/new-dev/budgets"):
            status, _, data = await admin(gw, "GET", path)
            assert status == 200
            assert value not in json.dumps(data), path
        _, _, got = await admin(gw, "GET", "/api/keys/new-dev")
        assert "key" not in got and got["team"] == "backend" and got["usable"] is True

        status, _, raw = await post_messages(gw, value)
        assert status == 200, raw
        assert [r["status"] for r in await log_rows(gw, "new-dev")] == [200]

        status, _, patched = await admin(gw, "PATCH", "/api/keys/new-dev", {"budgets": [{"limit": 50, "period": "1d"}]})
        assert status == 200, patched
        assert [(b["period"], b["limit"]) for b in patched["budget_status"]] == [("1d", 50.0)]
        assert patched["budget_status"][0]["spent_micro_usd"] == COST  # today's spend, from the log

        status, _, bad = await admin(gw, "PATCH", "/api/keys/new-dev", {"budgets": [{"limit": 5, "period": "2d"}]})
        assert status == 400
        assert bad["error"]["type"] == "invalid_request_error"
        assert [f["path"] for f in bad["error"]["fields"]] == ["budgets[0].period"]
        status, _, bad = await admin(gw, "POST", "/api/keys", {"name": "x", "budgets": [{"period": "1M"}],
                                                               "team": "nope"})
        assert status == 400
        assert {f["path"] for f in bad["error"]["fields"]} >= {"budgets[0].limit", "team"}
        _, _, still = await admin(gw, "GET", "/api/keys/new-dev")
        assert [b["period"] for b in still["budgets"]] == ["1d"]  # a refused change changed nothing

        status, _, data = await admin(gw, "DELETE", "/api/teams/backend")
        assert status == 409
        assert "key dev-a" in data["error"]["message"] and "key new-dev" in data["error"]["message"]

        status, _, rotated = await admin(gw, "POST", "/api/keys/new-dev/rotate")
        assert status == 200, rotated
        new_value = rotated["key"]
        assert new_value != value and new_value.startswith("vk-new-dev-")
        status, _, raw = await post_messages(gw, value)
        assert status == 401
        assert error_of(raw, "authentication_error")
        assert (await post_messages(gw, new_value))[0] == 200

        status, _, _ = await admin(gw, "DELETE", "/api/keys/new-dev")
        assert status == 200
        assert (await post_messages(gw, new_value))[0] == 401
        status, _, _ = await admin(gw, "GET", "/api/keys/new-dev")
        assert status == 404

        await gw.gateway.writer.flush()
    stored = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("bifrost.db"))
    for secret in (value, new_value, VK_A, VK_B):
        assert secret.encode() not in stored
    assert hash_key(value).encode() in stored or hash_key(new_value).encode() in stored


async def test_api_created_key_survives_restart(up, tmp_path):
    config = yaml_config(up, keys=KEYS_AB)
    async with running(from_text(tmp_path, config)) as a:
        status, _, created = await admin(a, "POST", "/api/keys", {"name": "new-dev",
                                                                  "budgets": [{"limit": 1, "period": "1M"}]})
        assert status == 201
        assert (await post_messages(a, created["key"]))[0] == 200
    async with running(from_text(tmp_path, config)) as b:
        status, _, data = await me(b, created["key"])
        assert status == 200
        assert data["key"] == "new-dev" and data["budgets"][0]["spent_micro_usd"] == COST


# ----------------------------------------------------------------------------- 7. /api/me

async def test_api_me_shows_only_the_callers_key(up, tmp_path):
    keys = ("  - {name: dev-a, team: backend, key: env:BIFROST_TEST_VK_A, budgets: [{limit: 100, period: 1M}, "
            "{limit: 5, period: 5h, rolling: true}], rate_limit: {requests_per_minute: 30, max_concurrent: 4}, "
            "allowed_models: ['claude-sonnet-*']}\n"
            "  - {name: dev-secret-neighbour, team: backend, key: env:BIFROST_TEST_VK_B, "
            "budgets: [{limit: 7, period: 1M}]}\n"
            "  - {name: other-customer-key, key: env:BIFROST_TEST_VK_C}\n")
    async with running(from_text(tmp_path, yaml_config(up, keys=keys))) as gw:
        for key in (VK_A, VK_B, VK_C):
            assert (await post_messages(gw, key))[0] == 200
        status, _, data = await me(gw, VK_A)
        assert status == 200
        assert data["key"] == "dev-a" and data["team"] == "backend" and data["customer"] == "acme"
        monthly, rolling = data["budgets"]
        assert monthly["period"] == "1M" and monthly["limit"] == 100.0
        assert monthly["spent_micro_usd"] == COST and monthly["spent"] == 0.0076  # 90 micro-USD = ₹0.00756
        assert monthly["limit_micro_usd"] == 1_190_476  # ₹100 / 84, rounded half-even
        assert monthly["remaining"] == 99.9924  # (1,190,476 - 90) micro-USD = ₹99.99242
        assert datetime.fromisoformat(monthly["resets_at"]).astimezone(IST).strftime("%Y-%m-%d %H:%M IST") == \
            next_reset("1M")
        assert rolling["period"] == "5h" and rolling["rolling"] is True and rolling["resets_at"] is None
        assert rolling["spent_micro_usd"] == COST
        assert data["rate_limit"] == {"requests_per_minute": 30, "max_concurrent": 4}
        assert data["rate_usage"]["requests_last_minute"] == 1
        assert data["allowed_models"] == ["claude-sonnet-*"]
        assert data["currency"] == {"code": "INR", "symbol": "₹"}
        text = json.dumps(data)
        assert "dev-secret-neighbour" not in text and "other-customer-key" not in text
        assert VK_A not in text and VK_B not in text

        for headers in ({"x-api-key": "vk-not-a-key"}, {}, {"authorization": f"Bearer {ADMIN_TOKEN}"}):
            status, hdrs, raw = await http("GET", f"{gw.url}/api/me", headers=headers)
            assert status == 401
            assert hdrs.get("x-should-retry") == "false"
            error_of(raw, "authentication_error")


# ----------------------------------------------------------------------------- 8. Claude Code

@pytest.mark.e2e
async def test_claude_code_stops_at_once_on_a_used_up_budget(up, tmp_path, claude_bin):
    keys = "  - {name: broke, key: env:BIFROST_TEST_VK_A, budgets: [{limit: 0, period: 1M}]}\n"
    async with running(from_text(tmp_path, yaml_config(up, keys=keys))) as gw:
        home, work = tmp_path / "home", tmp_path / "work"
        home.mkdir()
        work.mkdir()
        env = {"PATH": os.environ.get("PATH") or "/usr/local/bin:/usr/bin:/bin", "HOME": str(home),
               "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1", "ANTHROPIC_BASE_URL": f"{gw.url}/anthropic",
               "ANTHROPIC_API_KEY": VK_A}
        started, since = time.monotonic(), ist_now()
        proc = await asyncio.create_subprocess_exec(
            claude_bin, "-p", "say hi", "--output-format", "json", cwd=work, env=env,
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            start_new_session=True)
        try:
            out, err = await asyncio.wait_for(proc.communicate(), 20)
        except asyncio.TimeoutError:
            os.killpg(proc.pid, signal.SIGKILL)
            await proc.wait()
            pytest.fail("Claude Code kept going for 20 s on a used-up budget (retrying?)")
        elapsed = time.monotonic() - started
        text = out.decode("utf-8", "replace") + err.decode("utf-8", "replace")
        assert proc.returncode != 0, text
        assert elapsed < 20
        assert "402" in text, text
        assert any(f"Monthly budget for key broke is used up: ₹0.00 of ₹0.00. Resets {next_reset('1M', at)}." in text
                   for at in (since, ist_now())), text
        lines = [line for line in out.decode("utf-8", "replace").splitlines() if line.strip().startswith("{")]
        assert lines, text
        result = json.loads(lines[-1])
        assert result["is_error"] is True and result["api_error_status"] == 402
        assert result["result"].startswith("API Error: 402 Monthly budget for key broke is used up: ₹0.00 of ₹0.00.")
        rows = await log_rows(gw, "broke")
        messages = [r for r in rows if r["path"] == "/v1/messages"]
        assert [(r["status"], r["error_type"]) for r in messages] == [(402, "billing_error")]
        assert await upstream_messages(up) == []


# ----------------------------------------------------------------------------- reservations always end

async def wait_until(predicate, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        await asyncio.sleep(0.02)
    return predicate()


@pytest.mark.parametrize("stream", [False, True])
async def test_client_disconnect_releases_the_reservation(up, tmp_path, stream):
    keys = "  - {name: dev-a, key: env:BIFROST_TEST_VK_A, budgets: [{limit: 10, period: 1M}]}\n"
    async with running(from_text(tmp_path, yaml_config(up, keys=keys))) as gw:
        if stream:  # the client leaves mid-stream (13 tokens at 10 tokens/s)
            await set_upstream(up, tokens_per_second=10)
        else:  # the client leaves while the upstream is still thinking (for longer than this test waits)
            await set_upstream(up, latency_ms=20_000)
        body = {**BODY, "max_tokens": 100, "stream": stream}
        headers = {"content-type": "application/json", "anthropic-version": "2023-06-01", "x-api-key": VK_A}
        async with aiohttp.ClientSession() as session:
            if stream:
                resp = await session.post(f"{gw.url}/anthropic/v1/messages", data=json.dumps(body), headers=headers)
                assert resp.status == 200
                await resp.content.readany()
                assert gw.gateway.ledger.total_reserved() > 0
                resp.close()
            else:
                with pytest.raises(asyncio.TimeoutError):
                    await asyncio.wait_for(session.post(f"{gw.url}/anthropic/v1/messages", data=json.dumps(body),
                                                        headers=headers), 0.3)
                assert gw.gateway.ledger.total_reserved() > 0
        assert await wait_until(lambda: gw.gateway.ledger.total_reserved() == 0, 5), \
            gw.gateway.ledger.total_reserved()
        assert await wait_until(lambda: gw.gateway.metrics.in_flight == 0, 5)
        (row,) = await log_rows(gw, "dev-a")
        assert (row["status"], row["error_type"]) == (499, "client_disconnected")  # cancelled, not awaited
        _, _, data = await me(gw, VK_A)
        assert data["budgets"][0]["reserved_micro_usd"] == 0
        assert data["budgets"][0]["spent_micro_usd"] == (row["cost_micro_usd"] or 0)
        assert await counter(gw, "key", "dev-a", month_key()) == (row["cost_micro_usd"] or 0)


async def test_unreachable_upstream_releases_the_reservation(tmp_path, test_env, monkeypatch):
    monkeypatch.setenv("BIFROST_TEST_ADMIN_TOKEN", ADMIN_TOKEN)
    keys = "  - {name: dev-a, key: env:BIFROST_TEST_VK_A, budgets: [{limit: 10, period: 1M}]}\n"
    async with running(from_text(tmp_path, yaml_config(f"http://127.0.0.1:{free_port()}", keys=keys))) as gw:
        status, _, raw = await post_messages(gw, VK_A)
        assert status in (502, 504), raw
        assert gw.gateway.ledger.total_reserved() == 0
        _, _, data = await me(gw, VK_A)
        assert (data["budgets"][0]["spent_micro_usd"], data["budgets"][0]["reserved_micro_usd"]) == (0, 0)


# ----------------------------------------------------------------------------- more budget shapes

async def test_two_budgets_with_the_same_period_charge_once(up, tmp_path):
    keys = ("  - {name: dev-a, key: env:BIFROST_TEST_VK_A, budgets: [{limit: 0.0126, period: 1M}, "
            "{limit: 100, period: 1M}]}\n")
    try:
        config = from_text(tmp_path, yaml_config(up, keys=keys))
    except Exception:  # refusing the config is a fix too
        return
    async with running(config) as gw:
        assert (await post_messages(gw, VK_A))[0] == 200
        assert await counter(gw, "key", "dev-a", month_key()) == COST
        _, _, data = await me(gw, VK_A)
        assert [b["spent_micro_usd"] for b in data["budgets"]] == [COST, COST]
        # 90 spent + 90 > 150 micro-USD (₹0.0126): the stricter budget must refuse the next request
        assert (await post_messages(gw, VK_A))[0] == 402


async def test_restart_keeps_rolling_spend(up, tmp_path):
    keys = ("  - {name: dev-a, key: env:BIFROST_TEST_VK_A, budgets: [{limit: " + inr_limit(135)
            + ", period: 5h, rolling: true}]}\n")
    path = tmp_path / "bifrost.yaml"
    path.write_text(yaml_config(up, keys=keys), encoding="utf-8")
    async with running(load_config(path)) as a:
        assert (await post_messages(a, VK_A))[0] == 200
    async with running(load_config(path)) as b:
        _, _, data = await me(b, VK_A)
        assert data["budgets"][0]["spent_micro_usd"] == COST
        message = assert_budget_402(*await post_messages(b, VK_A))
        assert message == ("Rolling 5-hour budget for key dev-a cannot cover this request: ₹0.0076 of ₹0.0113 spent, "
                           "this request needs about ₹0.0076. Spend older than 5h stops counting as time passes.")


async def test_rolling_budget_added_mid_window_starts_from_the_logged_spend(up, tmp_path):
    async with running(from_text(tmp_path, yaml_config(up, keys=KEYS_AB))) as gw:
        assert (await post_messages(gw, VK_B))[0] == 200
        status, _, data = await admin(gw, "PATCH", "/api/keys/dev-b",
                                      {"budgets": [{"limit": 1, "period": "5h", "rolling": True}]})
        assert status == 200, data
        assert data["budget_status"][0]["spent_micro_usd"] == COST
        assert (await post_messages(gw, VK_B))[0] == 200
        _, _, data = await me(gw, VK_B)
        assert data["budgets"][0]["spent_micro_usd"] == 2 * COST
