"""Routing, failover, key rotation and circuit breakers over real HTTP on 127.0.0.1:
client (official SDK or raw aiohttp) -> gateway (in process) -> providers a, b, c (type anthropic) ->
three `mock-upstream` subprocesses A, B, C, which record what they received."""
from __future__ import annotations

import asyncio
import json
import random
import sqlite3
import subprocess
import time
import uuid
from decimal import ROUND_HALF_EVEN, Decimal

import aiohttp
import anthropic
import pytest
import yaml
from conftest import ROOT, UPSTREAM_KEY, VK_A, bifrost_cmd, free_port, wait_for_port

from app.core.config import config_from_text
from app.proxy.failover import hold_until_content, stream_error
from app.proxy.providers.base import UpstreamReply
from app.proxy.server import GatewayServer

pytestmark = pytest.mark.filterwarnings("ignore:The model .* is deprecated:DeprecationWarning")

ADMIN_TOKEN = "admin-failover-test-7c1e5b2a9d"
WRONG_UPSTREAM_KEY = "sk-ant-wrong-key-for-rotation"
SONNET, OPUS = "claude-sonnet-4-5", "claude-opus-4-1"  # both priced in config/pricing.yaml
HI = [{"role": "user", "content": "hi"}]
MOCK_DEFAULTS = {"latency_ms": 0, "tokens_per_second": 0, "reply_text": None, "error_rate_429": 0,
                 "error_rate_500": 0, "error_rate_529": 0, "retry_after": 1, "fail_mid_stream_rate": 0,
                 "seed": None, "fail_after_deltas": None}
ADMIN = {"authorization": f"Bearer {ADMIN_TOKEN}"}


# ----------------------------------------------------------------------------- helpers

async def http(method: str, url: str, *, body=None, headers: dict | None = None,
               timeout: float = 15) -> tuple[int, dict, bytes]:
    data = None if body is None else (body if isinstance(body, (bytes, str)) else json.dumps(body))
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout)) as session, \
            session.request(method, url, data=data, headers=headers or {}) as resp:
        return resp.status, {k.lower(): v for k, v in resp.headers.items()}, await resp.read()


def message(model: str = SONNET, **extra) -> dict:
    return {"model": model, "max_tokens": 64, "messages": HI, **extra}


async def post(server: GatewayServer, body: dict, *, key: str = VK_A, headers: dict | None = None,
               session: aiohttp.ClientSession | None = None) -> tuple[int, dict, bytes]:
    h = {"content-type": "application/json", "anthropic-version": "2023-06-01", "x-api-key": key, **(headers or {})}
    if session is None:
        return await http("POST", f"{server.url}/anthropic/v1/messages", body=body, headers=h)
    async with session.post(f"{server.url}/anthropic/v1/messages", data=json.dumps(body), headers=h) as resp:
        return resp.status, {k.lower(): v for k, v in resp.headers.items()}, await resp.read()


async def admin(server: GatewayServer, method: str, path: str, body=None) -> tuple[int, object]:
    status, _, raw = await http(method, f"{server.url}{path}", body=body,
                                headers={**ADMIN, "content-type": "application/json"})
    return status, json.loads(raw)


async def upstream_requests(url: str) -> list[dict]:
    status, _, raw = await http("GET", f"{url}/_mock/requests")
    assert status == 200
    return [r for r in json.loads(raw) if r["path_qs"].startswith("/v1/messages")]


async def set_mock(url: str, **settings) -> None:
    status, _, raw = await http("POST", f"{url}/_mock/settings", body={**MOCK_DEFAULTS, **settings})
    assert status == 200, raw


async def log_rows(server: GatewayServer, want: int = 1, timeout: float = 3.0) -> list[dict]:
    """Rows of the request log once at least `want` are there (written after the response ends)."""
    deadline = time.monotonic() + timeout
    while True:
        rows = await query(server, "SELECT * FROM request_log ORDER BY ts, id")
        if len(rows) >= want or time.monotonic() > deadline:
            for r in rows:
                r["attempts"] = json.loads(r["attempts"]) if r["attempts"] else []
            return rows
        await asyncio.sleep(0.02)


async def query(server: GatewayServer, sql: str) -> list[dict]:
    await server.gateway.writer.flush()
    con = sqlite3.connect(server.config.sqlite_path)
    con.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in con.execute(sql)]
    finally:
        con.close()


def chain(row: dict) -> list[tuple[str, int]]:
    return [(a["provider"], a["status"]) for a in row["attempts"]]


def sse_blocks(raw: bytes) -> list[tuple[str | None, dict]]:
    out = []
    for block in raw.replace(b"\r\n", b"\n").split(b"\n\n"):
        if not block.strip():
            continue
        event, data = None, []
        for line in block.split(b"\n"):
            if line.startswith(b"event:"):
                event = line[6:].strip().decode()
            elif line.startswith(b"data:"):
                data.append(line[5:].lstrip(b" "))
        out.append((event, json.loads(b"\n".join(data)) if data else {}))
    return out


def price_of(model: str) -> dict[str, Decimal]:
    """USD per million tokens == micro-USD per token, straight from the price file."""
    entry = yaml.safe_load((ROOT / "config" / "pricing.yaml").read_text(encoding="utf-8"))["models"][model]
    rates = {k: Decimal(str(entry[k])) for k in ("input", "output")}
    for k in ("cache_write_5m", "cache_write_1h", "cache_read"):
        rates[k] = Decimal(str(entry[k])) if entry.get(k) is not None else rates["input"]
    return rates


def hand_cost(model: str, row: dict) -> int:
    r = price_of(model)
    total = (row["input_tokens"] * r["input"] + row["output_tokens"] * r["output"]
             + row["cache_read_tokens"] * r["cache_read"] + row["cache_write_5m_tokens"] * r["cache_write_5m"]
             + row["cache_write_1h_tokens"] * r["cache_write_1h"])
    return int(total.to_integral_value(ROUND_HALF_EVEN))


async def breaker_states(server: GatewayServer) -> dict[tuple[str, str], str]:
    status, body = await admin(server, "GET", "/api/breakers")
    assert status == 200
    return {(b["provider"], b["key"]): b["state"] for b in body["data"]}


# ----------------------------------------------------------------------------- fixtures

@pytest.fixture(scope="module")
def upstreams():
    """Three `mock-upstream` subprocesses A, B, C for the module, each requiring UPSTREAM_KEY."""
    started = {}
    try:
        for name in "abc":
            port = free_port()
            proc = subprocess.Popen(bifrost_cmd("mock-upstream", "--port", str(port), "--require-key", UPSTREAM_KEY),
                                    cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            started[name] = (proc, port)
        for proc, port in started.values():
            wait_for_port(port, proc)
        yield {name: f"http://127.0.0.1:{port}" for name, (_, port) in started.items()}
    finally:
        for proc, _ in started.values():
            proc.terminate()
        for proc, _ in started.values():
            proc.wait(timeout=10)


@pytest.fixture
async def ups(upstreams, monkeypatch):
    """The upstreams with default settings and no recorded requests; the env the configs refer to."""
    monkeypatch.setenv("BIFROST_TEST_UPSTREAM_KEY", UPSTREAM_KEY)
    monkeypatch.setenv("BIFROST_TEST_WRONG_KEY", WRONG_UPSTREAM_KEY)
    monkeypatch.setenv("BIFROST_TEST_VK_A", VK_A)
    monkeypatch.setenv("BIFROST_TEST_ADMIN_TOKEN", ADMIN_TOKEN)
    for url in upstreams.values():
        await set_mock(url)
        assert (await http("DELETE", f"{url}/_mock/requests"))[0] == 200
    return upstreams


@pytest.fixture
async def make_gateway(tmp_path, ups):
    """make_gateway(key={...}, providers={"a": {...}}) -> a started GatewayServer with providers a, b, c
    (type anthropic, one key `main` each) and one virtual key `dev` (VK_A); stopped afterwards."""
    servers = []

    async def start(key: dict | None = None, providers: dict | None = None) -> GatewayServer:
        specs = []
        for name in "abc":
            spec = {"name": name, "type": "anthropic", "base_url": ups[name],
                    "keys": [{"name": "main", "secret": "env:BIFROST_TEST_UPSTREAM_KEY"}]}
            spec.update((providers or {}).get(name, {}))
            specs.append(spec)
        config = {
            "storage": {"sqlite": str(tmp_path / f"bifrost{len(servers)}.db")},
            "timezone": "UTC",
            "server": {"admin_token": "env:BIFROST_TEST_ADMIN_TOKEN"},
            "providers": specs,
            "virtual_keys": [{"name": "dev", "key": "env:BIFROST_TEST_VK_A", **(key or {})}],
        }
        server = GatewayServer(config_from_text(yaml.safe_dump(config), "failover.yaml", base_dir=tmp_path), port=0)
        await server.start()
        servers.append(server)
        return server

    yield start
    for s in servers:
        await s.stop()


def closed_port_url() -> str:
    return f"http://127.0.0.1:{free_port()}"  # nothing listens there: connection refused


# ----------------------------------------------------------------------------- failover chain

CHAIN_CASES = {
    "429": ({"error_rate_429": 1.0}, {}, 429),
    "500": ({"error_rate_500": 1.0}, {}, 500),
    "refused": ({}, {"base_url": "CLOSED"}, 502),
    "timeout": ({"latency_ms": 3000}, {"first_byte_timeout_s": 0.5}, 504),
}


async def test_the_rule_that_routed_a_request_stays_on_its_row_when_a_fallback_serves(make_gateway, ups):
    await set_mock(ups["a"], error_rate_529=1.0)
    rule = {"when": {"model": "claude-opus-*"}, "targets": [{"provider": "a", "model": SONNET}]}
    server = await make_gateway(key={"routing": [rule], "fallbacks": [{"provider": "b"}]})
    status, _, raw = await post(server, {**message(), "model": OPUS})
    assert status == 200, raw
    (row,) = await log_rows(server)
    assert chain(row) == [("a", 529), ("b", 200)] and row["provider"] == "b"
    assert (row["rule"], row["requested_model"], row["served_model"]) == ("key:0", OPUS, OPUS)


@pytest.mark.parametrize("case", [
    "429", "500", "refused",
    "timeout",
])
async def test_chain_a_b_c(make_gateway, ups, case):
    a_settings, a_spec, a_status = CHAIN_CASES[case]
    if a_spec.get("base_url") == "CLOSED":
        a_spec = {**a_spec, "base_url": closed_port_url()}
    await set_mock(ups["a"], **a_settings)
    await set_mock(ups["b"], error_rate_529=1.0)
    server = await make_gateway(key={"fallbacks": [{"provider": "b"}, {"provider": "c"}]}, providers={"a": a_spec})
    started = time.monotonic()
    async with anthropic.AsyncAnthropic(base_url=f"{server.url}/anthropic", api_key=VK_A, max_retries=0) as client:
        reply = await client.messages.create(**message())
    elapsed = time.monotonic() - started
    assert reply.content[0].text and reply.model == SONNET

    (row,) = await log_rows(server)
    assert row["status"] == 200 and row["provider"] == "c" and row["served_model"] == SONNET
    assert chain(row) == [("a", a_status), ("b", 529), ("c", 200)], row["attempts"]
    assert [bool(a.get("error")) for a in row["attempts"]] == [True, True, False]
    assert row["rule"] is None and row["error_type"] is None

    events = await query(server, "SELECT * FROM failover_events ORDER BY ts")
    assert [(e["from_provider"], e["to_provider"], e["request_id"], e["key_name"]) for e in events] == \
        [("a", "b", row["id"], "dev"), ("b", "c", row["id"], "dev")]
    assert "529" in events[1]["reason"]
    status, listed = await admin(server, "GET", "/api/failovers")
    assert status == 200
    assert sorted((f["from"], f["to"]) for f in listed["data"]) == [("a", "b"), ("b", "c")]
    assert all(f["request_id"] == row["id"] for f in listed["data"])
    bus = [e.payload for e in server.gateway.events.events if e.kind == "failover"]
    assert [(p["from"], p["to"], p["request_id"]) for p in bus] == [("a", "b", row["id"]), ("b", "c", row["id"])]

    assert len(await upstream_requests(ups["b"])) == 1 and len(await upstream_requests(ups["c"])) == 1
    if case == "timeout":
        assert elapsed < 2.5  # gave up on A after its first-byte timeout, not its 3 s latency


async def test_timeout_before_the_stream_starts(make_gateway, ups):
    await set_mock(ups["a"], latency_ms=1500)  # no response headers for 1.5 s
    server = await make_gateway(key={"fallbacks": [{"provider": "b"}]},
                                providers={"a": {"first_byte_timeout_s": 0.5}})
    started = time.monotonic()
    status, _, raw = await post(server, message(stream=True))
    assert status == 200
    events = [e for e, _ in sse_blocks(raw)]
    assert events.count("message_start") == 1 and "error" not in events and events[-1] == "message_stop"
    (row,) = await log_rows(server)
    assert row["provider"] == "b" and chain(row) == [("a", 504), ("b", 200)]
    assert time.monotonic() - started < 1.3


# ----------------------------------------------------------------------------- key rotation

async def test_bad_provider_key_rotates_to_the_other_key_before_failing_over(make_gateway, ups):
    keys = [{"name": "wrong", "secret": "env:BIFROST_TEST_WRONG_KEY", "weight": 1_000_000},  # tried first
            {"name": "right", "secret": "env:BIFROST_TEST_UPSTREAM_KEY", "weight": 1}]
    server = await make_gateway(key={"fallbacks": [{"provider": "b"}]}, providers={"a": {"keys": keys}})
    status, _, raw = await post(server, message())
    assert status == 200, raw
    (row,) = await log_rows(server)
    assert row["provider"] == "a" and row["provider_key"] == "right"
    assert [(a["provider"], a["key"], a["status"]) for a in row["attempts"]] == \
        [("a", "wrong", 401), ("a", "right", 200)]
    assert await upstream_requests(ups["b"]) == []  # rotated within a, never fell back
    assert [r["headers"].get("x-api-key") for r in await upstream_requests(ups["a"])] == \
        [WRONG_UPSTREAM_KEY, UPSTREAM_KEY]
    states = await breaker_states(server)
    assert states[("a", "wrong")] == "bad" and states[("a", "right")] == "closed"
    status, providers = await admin(server, "GET", "/api/providers")
    circuits = {c["key"]: c["state"] for p in providers["data"] if p["name"] == "a" for c in p["circuits"]}
    assert circuits == {"wrong": "bad", "right": "closed"}
    # the bad key is not tried again
    assert (await post(server, message()))[0] == 200
    assert [r["headers"].get("x-api-key") for r in await upstream_requests(ups["a"])][2:] == [UPSTREAM_KEY]
    # an operator reset brings it back
    status, snap = await admin(server, "POST", "/api/breakers/a/wrong/reset")
    assert status == 200 and snap["state"] == "closed"
    assert (await breaker_states(server))[("a", "wrong")] == "closed"


async def test_provider_with_only_bad_keys_fails_over(make_gateway, ups):
    keys = [{"name": "wrong", "secret": "env:BIFROST_TEST_WRONG_KEY"}]
    server = await make_gateway(key={"fallbacks": [{"provider": "b"}]}, providers={"a": {"keys": keys}})
    status, _, raw = await post(server, message())
    assert status != 401, raw  # never tell Claude Code its key is wrong for a provider-key problem
    assert status == 200, raw
    (row,) = await log_rows(server)
    assert row["provider"] == "b" and chain(row) == [("a", 401), ("b", 200)]


async def test_rate_limited_key_rotates(make_gateway, ups):
    """Both keys valid: a 429 opens one key's circuit for its retry-after; the next requests use the other key."""
    keys = [{"name": "k1", "secret": "env:BIFROST_TEST_UPSTREAM_KEY", "weight": 1_000_000},
            {"name": "k2", "secret": "env:BIFROST_TEST_UPSTREAM_KEY", "weight": 1}]
    await set_mock(ups["a"], error_rate_429=1.0, retry_after=30)
    server = await make_gateway(key={"fallbacks": [{"provider": "b"}]}, providers={"a": {"keys": keys}})
    status, _, _ = await post(server, message())
    assert status == 200
    (row,) = await log_rows(server)
    # k1 429 -> rotated to k2 (429 too: the upstream limits the account) -> failed over to b
    assert [(a["provider"], a["key"], a["status"]) for a in row["attempts"]] == \
        [("a", "k1", 429), ("a", "k2", 429), ("b", "main", 200)]
    states = await breaker_states(server)
    assert states[("a", "k1")] == "open" and states[("a", "k2")] == "open"
    status, body = await admin(server, "GET", "/api/breakers")
    assert all(25 < b["retry_in_s"] <= 30 for b in body["data"] if b["provider"] == "a")  # retry-after: 30


# ----------------------------------------------------------------------------- never on the client's own error

async def test_never_fails_over_on_the_clients_400(make_gateway, ups):
    server = await make_gateway(key={"fallbacks": [{"provider": "b"}, {"provider": "c"}]})
    status, _, raw = await post(server, message(max_tokens=0))
    assert status == 400, raw
    assert json.loads(raw)["error"]["type"] == "invalid_request_error"
    assert len(await upstream_requests(ups["a"])) == 1
    assert await upstream_requests(ups["b"]) == [] and await upstream_requests(ups["c"]) == []
    (row,) = await log_rows(server)
    assert row["provider"] == "a" and chain(row) == [("a", 400)]
    assert await query(server, "SELECT * FROM failover_events") == []


# ----------------------------------------------------------------------------- streams

async def test_stream_fails_over_before_the_first_content_event(make_gateway, ups):
    await set_mock(ups["a"], fail_mid_stream_rate=1.0)  # message_start, then an overloaded error
    server = await make_gateway(key={"fallbacks": [{"provider": "b"}]})
    status, headers, raw = await post(server, message(stream=True))
    assert status == 200 and headers["content-type"].startswith("text/event-stream")
    blocks = sse_blocks(raw)
    events = [e for e, _ in blocks]
    assert events.count("message_start") == 1 and "error" not in events
    assert events[-1] == "message_stop" and "content_block_delta" in events
    assert len(await upstream_requests(ups["a"])) == 1 and len(await upstream_requests(ups["b"])) == 1
    (row,) = await log_rows(server)
    assert row["status"] == 200 and row["provider"] == "b" and row["error_type"] is None
    assert [a["provider"] for a in row["attempts"]] == ["a", "b"]
    assert "overloaded_error" in row["attempts"][0]["error"] and "error" not in row["attempts"][1]
    assert row["output_tokens"] > 0  # usage from B's stream


async def test_stream_error_after_first_content_is_relayed_not_failed_over(make_gateway, ups):
    # paced (20 ms per delta) so content_block_start reaches the gateway before the deltas and the error
    await set_mock(ups["a"], fail_after_deltas=2, tokens_per_second=200)
    server = await make_gateway(key={"fallbacks": [{"provider": "b"}]})
    status, _, raw = await post(server, message(stream=True))
    assert status == 200
    blocks = sse_blocks(raw)
    events = [e for e, _ in blocks]
    assert events.count("content_block_delta") == 2 and events[-1] == "error"
    assert events.index("content_block_delta") < events.index("error")
    assert blocks[-1][1]["error"]["type"] == "overloaded_error"
    assert "message_stop" not in events
    assert await upstream_requests(ups["b"]) == []
    (row,) = await log_rows(server)
    assert row["provider"] == "a" and row["error_type"] == "overloaded_error"
    assert row["output_tokens"] >= 2 and "output tokens estimated from the 2 content deltas" in row["error_message"]
    assert chain(row) == [("a", 200)]
    assert await query(server, "SELECT * FROM failover_events") == []


def _sse(event: str, data: dict) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n".encode()


async def _chunks(*chunks: bytes):
    for c in chunks:
        yield c


async def test_held_opening_commits_at_the_first_content_event():
    start = _sse("message_start", {"type": "message_start", "message": {"id": "m", "usage": {}}})
    block = _sse("content_block_start", {"type": "content_block_start", "index": 0,
                                         "content_block": {"type": "text", "text": ""}})
    error = _sse("error", {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}})
    reply = UpstreamReply(200, {}, chunks=_chunks(start, error))
    held = await hold_until_content(reply, 1.0)
    assert stream_error(held) == ("overloaded_error", "Overloaded")
    reply = UpstreamReply(200, {}, chunks=_chunks(start, block, error))
    held = await hold_until_content(reply, 1.0)
    assert held == start + block and stream_error(held) is None
    assert b"".join([c async for c in reply.chunks]) == start + block + error  # nothing is lost
    with pytest.raises(asyncio.TimeoutError):
        await hold_until_content(UpstreamReply(200, {}, chunks=_slow(start)), 0.1)


async def _slow(first: bytes):
    yield first
    await asyncio.sleep(5)
    yield b""


async def test_error_after_content_in_the_same_read_is_not_a_pre_content_error():
    start = _sse("message_start", {"type": "message_start", "message": {"id": "m", "usage": {}}})
    block = _sse("content_block_start", {"type": "content_block_start", "index": 0,
                                         "content_block": {"type": "text", "text": ""}})
    delta = _sse("content_block_delta", {"type": "content_block_delta", "index": 0,
                                         "delta": {"type": "text_delta", "text": "Hello"}})
    error = _sse("error", {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}})
    held = await hold_until_content(UpstreamReply(200, {}, chunks=_chunks(start + block + delta + error)), 1.0)
    assert stream_error(held) is None  # the error came after content: the relay's business, not a failover


# ----------------------------------------------------------------------------- every target fails

async def test_every_target_fails_529(make_gateway, ups):
    for name in "abc":
        await set_mock(ups[name], error_rate_529=1.0, retry_after=7)
    server = await make_gateway(key={"fallbacks": [{"provider": "b"}, {"provider": "c"}]})
    status, headers, raw = await post(server, message())
    assert status == 529
    body = json.loads(raw)
    assert body["type"] == "error" and body["error"]["type"] == "overloaded_error" and body["error"]["message"]
    assert headers.get("retry-after") == "7"
    (row,) = await log_rows(server)
    assert row["status"] == 529 and row["error_type"] == "overloaded_error" and row["provider"] == "c"
    assert chain(row) == [("a", 529), ("b", 529), ("c", 529)]
    # the SDK sees the same
    async with anthropic.AsyncAnthropic(base_url=f"{server.url}/anthropic", api_key=VK_A, max_retries=0) as client:
        with pytest.raises(anthropic.APIStatusError) as info:
            await client.messages.create(**message())
    assert info.value.status_code == 529 and info.value.response.headers.get("retry-after") == "7"


async def test_every_target_unreachable(make_gateway, ups):
    server = await make_gateway(key={"fallbacks": [{"provider": "b"}]},
                                providers={"a": {"base_url": closed_port_url()}, "b": {"base_url": closed_port_url()}})
    status, _, raw = await post(server, message())
    assert status == 502
    assert json.loads(raw)["type"] == "error"
    (row,) = await log_rows(server)
    assert chain(row) == [("a", 502), ("b", 502)] and row["status"] == 502


# ----------------------------------------------------------------------------- circuit breaker

async def test_circuit_breaker_opens_skips_then_probes(make_gateway, ups):
    await set_mock(ups["a"], error_rate_500=1.0)
    server = await make_gateway(key={"fallbacks": [{"provider": "b"}]},
                                providers={"a": {"breaker_failures": 2, "breaker_cooldown_s": 1}})
    assert (await breaker_states(server))[("a", "main")] == "closed"
    assert (await post(server, message()))[0] == 200
    assert (await breaker_states(server))[("a", "main")] == "closed"  # one failure of two
    assert (await post(server, message()))[0] == 200
    assert (await breaker_states(server))[("a", "main")] == "open"
    opened_at = time.monotonic()
    assert len(await upstream_requests(ups["a"])) == 2

    # open: straight to b, A is not contacted
    assert (await post(server, message()))[0] == 200
    assert len(await upstream_requests(ups["a"])) == 2
    rows = await log_rows(server, want=3)
    assert chain(rows[0]) == [("a", 500), ("b", 200)] and chain(rows[2]) == [("b", 200)]
    breaker_events = [(e.payload["from"], e.payload["to"]) for e in server.gateway.events.events
                      if e.kind == "breaker"]
    assert breaker_events == [("closed", "open")]

    # after the cool-down one probe reaches A (now healthy, but slow so the half-open state is visible)
    await set_mock(ups["a"], latency_ms=400)
    await asyncio.sleep(max(0.0, 1.05 - (time.monotonic() - opened_at)))
    probe = asyncio.create_task(post(server, message()))
    deadline = time.monotonic() + 2
    while (await breaker_states(server))[("a", "main")] != "half-open":
        assert time.monotonic() < deadline, "the probe never started"
        await asyncio.sleep(0.02)
    # a concurrent request is not a second probe: it is served by b
    status, _, _ = await post(server, message())
    assert status == 200
    assert (await probe)[0] == 200
    assert len(await upstream_requests(ups["a"])) == 3  # exactly one probe
    assert (await breaker_states(server))[("a", "main")] == "closed"
    rows = await log_rows(server, want=5)
    by_provider = sorted(r["provider"] for r in rows[3:])
    assert by_provider == ["a", "b"]
    assert [(e.payload["from"], e.payload["to"]) for e in server.gateway.events.events if e.kind == "breaker"] == \
        [("closed", "open"), ("open", "half-open"), ("half-open", "closed")]
    # closed again: A serves directly
    assert (await post(server, message()))[0] == 200
    assert len(await upstream_requests(ups["a"])) == 4


async def test_stream_failures_before_content_open_the_circuit(make_gateway, ups):
    await set_mock(ups["a"], fail_mid_stream_rate=1.0)
    server = await make_gateway(key={"fallbacks": [{"provider": "b"}]},
                                providers={"a": {"breaker_failures": 2, "breaker_cooldown_s": 30}})
    for _ in range(3):
        assert (await post(server, message(stream=True)))[0] == 200
    assert (await breaker_states(server))[("a", "main")] == "open"
    assert len(await upstream_requests(ups["a"])) == 2  # the third went straight to b


# ----------------------------------------------------------------------------- weighted routing and rules

async def test_weighted_routing_80_20_over_http(make_gateway, ups):
    server = await make_gateway(key={"routing": [{"when": {}, "targets": [{"provider": "a", "weight": 80},
                                                                          {"provider": "b", "weight": 20}]}]})
    server.gateway.planner.rng = random.Random(424242)
    gate = asyncio.Semaphore(30)
    async with aiohttp.ClientSession() as session:
        async def one():
            async with gate:
                return (await post(server, message(max_tokens=8), session=session))[0]
        statuses = await asyncio.gather(*(one() for _ in range(300)))
    assert statuses == [200] * 300
    rows = await log_rows(server, want=300)
    assert len(rows) == 300 and all(r["rule"] == "key:0" for r in rows)
    served_a = sum(r["provider"] == "a" for r in rows)
    assert 210 <= served_a <= 270, served_a  # 70 % .. 90 %
    assert len(await upstream_requests(ups["a"])) == min(served_a, 200)  # the mock keeps the last 200


async def test_rule_rewrites_the_model_and_prices_both(make_gateway, ups):
    rule = {"when": {"model": "claude-opus-*", "max_input_tokens": 1000, "tools": False},
            "targets": [{"provider": "a", "model": SONNET}]}
    server = await make_gateway(key={"routing": [rule]})
    await set_mock(ups["a"], reply_text="A reasonably long simulated answer so output tokens weigh in the cost.")
    body = {"model": OPUS, "max_tokens": 200, "temperature": 0.3, "system": "Be terse.",
            "metadata": {"user_id": "u-1"}, "messages": [{"role": "user", "content": "Summarise ünïcode ✓"}]}
    status, _, raw = await post(server, body)
    assert status == 200, raw
    assert json.loads(raw)["model"] == SONNET
    (received,) = await upstream_requests(ups["a"])
    assert received["json"] == {**body, "model": SONNET}  # only the model differs
    (row,) = await log_rows(server)
    assert (row["requested_model"], row["served_model"], row["rule"], row["provider"]) == (OPUS, SONNET, "key:0", "a")
    assert row["output_tokens"] > 10
    assert row["cost_micro_usd"] == hand_cost(SONNET, row)
    assert row["requested_cost_micro_usd"] == hand_cost(OPUS, row)
    assert row["requested_cost_micro_usd"] > 4 * row["cost_micro_usd"] > 0  # opus-4-1 costs 5x sonnet-4-5

    # the same request with tools, or too long, does not match: served as asked
    tool = {"name": "Bash", "description": "run", "input_schema": {"type": "object"}}
    assert (await post(server, {**body, "tools": [tool]}))[0] == 200
    assert (await post(server, {**body, "messages": [{"role": "user", "content": "word " * 2000}]}))[0] == 200
    rows = await log_rows(server, want=3)
    assert [(r["requested_model"], r["served_model"], r["rule"]) for r in rows[1:]] == [(OPUS, OPUS, None)] * 2
    assert rows[1]["requested_cost_micro_usd"] == rows[1]["cost_micro_usd"] == hand_cost(OPUS, rows[1])
    assert [r["json"]["model"] for r in (await upstream_requests(ups["a"]))[1:]] == [OPUS, OPUS]


async def test_budget_aware_downgrade(make_gateway, ups):
    rule = {"when": {"model": "claude-opus-*", "budget_used_pct_above": 80}, "targets": [{"provider": "a",
                                                                                         "model": SONNET}]}
    server = await make_gateway(key={"budgets": [{"limit": 100, "period": "1M"}], "routing": [rule]})
    await set_mock(ups["a"], reply_text="lorem ipsum dolor sit amet " * 60)
    status, _, _ = await post(server, message(OPUS, max_tokens=1000))
    assert status == 200
    (first,) = await log_rows(server)
    assert (first["served_model"], first["rule"]) == (OPUS, None)  # 0 % used: the rule does not match
    spent = first["cost_micro_usd"]
    assert spent > 20_000  # a real share of the lowered limit below
    # lower the limit so that > 80 % is used (85 %), leaving room for a small request
    limit_usd = (Decimal(spent) / Decimal("0.85") / Decimal(1_000_000)).quantize(Decimal("0.000001"))
    status, _ = await admin(server, "PATCH", "/api/keys/dev", {"budgets": [{"limit": float(limit_usd),
                                                                          "period": "1M"}]})
    assert status == 200
    status, budgets = await admin(server, "GET", "/api/keys/dev/budgets")
    assert status == 200 and 84 < budgets["data"][0]["used_pct"] < 86
    status, _, raw = await post(server, message(OPUS, max_tokens=16))
    assert status == 200, raw
    rows = await log_rows(server, want=2)
    assert (rows[1]["requested_model"], rows[1]["served_model"], rows[1]["rule"]) == (OPUS, SONNET, "key:0")
    assert (await upstream_requests(ups["a"]))[-1]["json"]["model"] == SONNET


async def test_session_stickiness(make_gateway, ups):
    server = await make_gateway(key={"routing": [{"when": {}, "targets": [{"provider": "a", "weight": 50},
                                                                          {"provider": "b", "weight": 50}]}]})
    session = str(uuid.uuid4())
    for _ in range(20):
        assert (await post(server, message(max_tokens=8), headers={"x-claude-code-session-id": session}))[0] == 200
    for _ in range(20):
        assert (await post(server, message(max_tokens=8),
                           headers={"x-claude-code-session-id": str(uuid.uuid4())}))[0] == 200
    rows = await log_rows(server, want=40)
    sticky = {r["provider"] for r in rows if r["session_id"] == session}
    assert len(sticky) == 1
    spread = [r["provider"] for r in rows if r["session_id"] != session]
    assert len(spread) == 20 and set(spread) == {"a", "b"}


# ----------------------------------------------------------------------------- budgets and failover

async def test_provider_budget_used_up_fails_over_but_key_budget_does_not(make_gateway, ups):
    server = await make_gateway(key={"fallbacks": [{"provider": "b"}]})
    assert (await post(server, message()))[0] == 200
    (first,) = await log_rows(server)
    assert first["provider"] == "a" and first["cost_micro_usd"] > 1
    status, _ = await admin(server, "PUT", "/api/providers/a/budgets",
                            {"budgets": [{"limit": 0.000001, "period": "1M"}]})  # 1 micro-USD: already used up
    assert status == 200
    status, _, raw = await post(server, message())
    assert status == 200, raw  # not a 402: provider a is out of budget, b is not
    rows = await log_rows(server, want=2)
    assert rows[1]["provider"] == "b" and chain(rows[1]) == [("a", 402), ("b", 200)]
    assert "provider budget" in rows[1]["attempts"][0]["error"]
    assert len(await upstream_requests(ups["a"])) == 1

    # the key's own budget used up: 402 at once, no provider is tried
    status, _ = await admin(server, "PATCH", "/api/keys/dev", {"budgets": [{"limit": 0.000001, "period": "1M"}]})
    assert status == 200
    status, headers, raw = await post(server, message())
    assert status == 402
    assert json.loads(raw)["error"]["type"] == "billing_error" and headers.get("x-should-retry") == "false"
    assert len(await upstream_requests(ups["a"])) == 1 and len(await upstream_requests(ups["b"])) == 1
    rows = await log_rows(server, want=3)
    assert rows[2]["status"] == 402 and rows[2]["error_type"] == "billing_error" and rows[2]["attempts"] == []


async def test_provider_budget_failover_is_recorded_as_a_failover(make_gateway, ups):
    server = await make_gateway(key={"fallbacks": [{"provider": "b"}]},
                                providers={"a": {"budgets": [{"limit": 0.000001, "period": "1M"}]}})
    assert (await post(server, message()))[0] == 200
    (row,) = await log_rows(server)
    assert row["provider"] == "b" and chain(row) == [("a", 402), ("b", 200)]
    assert [(e.payload["from"], e.payload["to"]) for e in server.gateway.events.events if e.kind == "failover"] == \
        [("a", "b")]
    _, listed = await admin(server, "GET", "/api/failovers")
    assert [(f["from"], f["to"]) for f in listed["data"]] == [("a", "b")]


# ----------------------------------------------------------------------------- unexpected failures

async def test_an_unexpected_error_in_one_provider_fails_over_and_releases_its_reservation(make_gateway, ups,
                                                                                           monkeypatch):
    """A bug or a client-library failure (seen: aiohttp raising AttributeError on a response it could not
    read) in one attempt is that provider's failure: the next in the chain serves, the attempt is in the
    row, and its budget reservation is released (a leak would hold budget until a restart)."""
    server = await make_gateway(key={"fallbacks": [{"provider": "b"}], "budgets": [{"limit": 100, "period": "1M"}]})
    provider_a = next(p for p in server.gateway.providers if p.name == "a")

    async def broken(call, key):
        raise AttributeError("'NoneType' object has no attribute 'getall'")
    monkeypatch.setattr(provider_a, "send", broken)
    async with anthropic.AsyncAnthropic(base_url=f"{server.url}/anthropic", api_key=VK_A, max_retries=0) as client:
        reply = await client.messages.create(**message())
    assert reply.content[0].text
    (row,) = await log_rows(server)
    assert row["status"] == 200 and row["provider"] == "b" and chain(row) == [("a", 502), ("b", 200)]
    assert row["attempts"][0]["error"] == "gateway error: AttributeError"
    assert server.gateway.ledger.total_reserved() == 0
    assert len(await upstream_requests(ups["a"])) == 0 and len(await upstream_requests(ups["b"])) == 1


async def test_an_unexpected_error_with_no_fallback_is_a_502_in_the_callers_shape(make_gateway, ups, monkeypatch):
    server = await make_gateway(key={"budgets": [{"limit": 100, "period": "1M"}]})
    provider_a = next(p for p in server.gateway.providers if p.name == "a")

    async def broken(call, key):
        raise KeyError("content-type")
    monkeypatch.setattr(provider_a, "send", broken)
    async with anthropic.AsyncAnthropic(base_url=f"{server.url}/anthropic", api_key=VK_A, max_retries=0) as client:
        with pytest.raises(anthropic.InternalServerError) as caught:
            await client.messages.create(**message())
    assert caught.value.status_code == 502 and caught.value.body["error"]["type"] == "api_error"
    assert "gateway error: KeyError" in caught.value.body["error"]["message"]
    (row,) = await log_rows(server)
    assert row["status"] == 502 and chain(row) == [("a", 502)]
    assert server.gateway.ledger.total_reserved() == 0


async def test_a_gateway_failure_outside_the_providers_is_a_500_in_each_callers_shape(make_gateway, ups, monkeypatch):
    """Not aiohttp's text/plain 500: an Anthropic client gets an api_error, an OpenAI client a server_error,
    and both requests are in the log."""
    import openai

    import app.proxy.pipeline as pipeline
    server = await make_gateway()

    async def broken(*args, **kwargs):
        raise RuntimeError("a bug")
    monkeypatch.setattr(pipeline, "route_and_forward", broken)
    import app.proxy.openai_routes as openai_routes
    monkeypatch.setattr(openai_routes, "route_and_forward", broken)
    async with anthropic.AsyncAnthropic(base_url=f"{server.url}/anthropic", api_key=VK_A, max_retries=0) as client:
        with pytest.raises(anthropic.InternalServerError) as caught:
            await client.messages.create(**message())
    assert caught.value.status_code == 500 and caught.value.body["error"]["type"] == "api_error"
    async with openai.AsyncOpenAI(base_url=f"{server.url}/openai/v1", api_key=VK_A, max_retries=0) as client:
        with pytest.raises(openai.InternalServerError) as caught:
            await client.chat.completions.create(model=SONNET, messages=[{"role": "user", "content": "hi"}])
    assert caught.value.status_code == 500 and caught.value.body["type"] == "server_error"
    rows = await log_rows(server, want=2)
    assert [(r["status"], r["error_type"], r["error_message"]) for r in rows] == \
        [(500, "gateway_error", "RuntimeError")] * 2
