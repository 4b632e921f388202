"""The gateway over real HTTP on 127.0.0.1: client (official SDK or raw aiohttp) -> gateway (in process)
-> `anthropic` provider -> the mock-upstream subprocess, which records what it received."""
from __future__ import annotations

import asyncio
import gc
import json
import re
import sqlite3
import subprocess
import time
import types
import uuid
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path

import aiohttp
import anthropic
import pytest
import yaml
from aiohttp import web
from aiohttp.test_utils import TestServer
from multidict import CIMultiDict

from app.core.config import config_from_text
from app.core.messages_body import MessagesBody
from app.proxy.server import GatewayServer

from conftest import ROOT, UPSTREAM_KEY, VK_A, VK_B, bifrost_cmd, free_port, gateway_yaml, wait_for_port

pytestmark = pytest.mark.filterwarnings("ignore:The model .* is deprecated:DeprecationWarning")

MODEL = "claude-sonnet-4-5"  # priced in config/pricing.yaml
HI = [{"role": "user", "content": "hi"}]
SESSION = "5d6658e4-17a5-40d5-a791-88ba8dcda57a"
CLAUDE_UA = "claude-cli/2.1.197 (external, sdk-cli)"
ODD_BETA = "made-up-beta-2099-01-01,claude-code-20250219"
BASH = {
    "name": "Bash",
    "description": "Executes a bash command and returns its output.",
    "input_schema": {"type": "object", "properties": {"command": {"type": "string"},
                                                     "description": {"type": "string"}},
                     "required": ["command"]},
}
DEFAULT_MOCK = {"latency_ms": 0, "tokens_per_second": 0, "reply_text": None, "error_rate_429": 0,
                "error_rate_500": 0, "error_rate_529": 0, "retry_after": 1, "fail_mid_stream_rate": 0, "seed": None}


# ----------------------------------------------------------------------------- helpers

def price_of(model: str) -> dict[str, Decimal]:
    """USD per million tokens == micro-USD per token, read straight from the price file."""
    entry = yaml.safe_load((ROOT / "config" / "pricing.yaml").read_text(encoding="utf-8"))["models"][model]
    rates = {k: Decimal(str(entry[k])) for k in ("input", "output")}
    for k in ("cache_write_5m", "cache_write_1h", "cache_read"):
        rates[k] = Decimal(str(entry[k])) if entry.get(k) is not None else rates["input"]
    return rates


def hand_cost(model: str, *, input_tokens: int, output_tokens: int, cache_read: int = 0, cache_write_5m: int = 0,
              cache_write_1h: int = 0) -> int:
    """Exact micro-USD of one (short-context) request, rounded once, half-even."""
    r = price_of(model)
    total = (input_tokens * r["input"] + output_tokens * r["output"] + cache_read * r["cache_read"]
             + cache_write_5m * r["cache_write_5m"] + cache_write_1h * r["cache_write_1h"])
    return int(total.to_integral_value(ROUND_HALF_EVEN))


def sdk(server: GatewayServer, key: str = VK_A, **kw) -> anthropic.AsyncAnthropic:
    headers = {"User-Agent": CLAUDE_UA, "X-Claude-Code-Session-Id": SESSION, **kw.pop("default_headers", {})}
    return anthropic.AsyncAnthropic(base_url=f"{server.url}/anthropic", api_key=key, max_retries=kw.pop("max_retries", 0),
                                    default_headers=headers, **kw)


async def http(method: str, url: str, *, body=None, headers: dict | None = None,
               timeout: float = 15) -> tuple[int, dict, bytes]:
    """One raw request: (status, lower-cased headers, full body bytes)."""
    data = body if isinstance(body, (bytes, str)) or body is None else json.dumps(body)
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout)) as session:
        async with session.request(method, url, data=data, headers=headers if headers is not None else {}) as resp:
            raw = await resp.read()
            return resp.status, {k.lower(): v for k, v in resp.headers.items()}, raw


async def post_messages(server, body, *, key: str | None = VK_A, headers: dict | None = None,
                        path: str = "/anthropic/v1/messages"):
    h = {"content-type": "application/json", "anthropic-version": "2023-06-01"}
    if key is not None:
        h["x-api-key"] = key
    h.update(headers or {})
    return await http("POST", server.url + path, body=body, headers=h)


async def upstream_requests(upstream: str) -> list[dict]:
    status, _, raw = await http("GET", f"{upstream}/_mock/requests")
    assert status == 200
    return [r for r in json.loads(raw) if not r["path_qs"].startswith("/_mock")]


async def set_upstream(upstream: str, **settings) -> None:
    status, _, raw = await http("POST", f"{upstream}/_mock/settings", body={**DEFAULT_MOCK, **settings})
    assert status == 200, raw


async def log_rows(server: GatewayServer, *, want: int = 1, timeout: float = 3.0) -> list[dict]:
    """Rows of the request log once at least `want` are there (the row is written after the response ends)."""
    deadline = time.monotonic() + timeout
    while True:
        await server.gateway.writer.flush()
        con = sqlite3.connect(server.config.sqlite_path)
        con.row_factory = sqlite3.Row
        try:
            rows = [dict(r) for r in con.execute("SELECT * FROM request_log ORDER BY ts, id")]
        finally:
            con.close()
        if len(rows) >= want or time.monotonic() > deadline:
            return rows
        await asyncio.sleep(0.02)


def sse_blocks(raw: bytes) -> list[tuple[str | None, dict]]:
    """(event name or None, data JSON) for every SSE block of a raw stream."""
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


def without_ids(blocks):
    """SSE blocks with the per-response random ids blanked, to compare two streams of the same request."""
    out = []
    for event, data in blocks:
        data = json.loads(json.dumps(data))
        if isinstance(data.get("message"), dict):
            data["message"].pop("id", None)
        if isinstance(data.get("content_block"), dict):
            data["content_block"].pop("id", None)
        out.append((event, data))
    return out


def anthropic_error_body(raw: bytes, etype: str) -> dict:
    body = json.loads(raw)
    assert body["type"] == "error"
    assert body["error"]["type"] == etype
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    return body


@pytest.fixture(scope="module")
def shared_upstream():
    """One mock-upstream subprocess for the module (requires UPSTREAM_KEY); `gateway` resets it per test."""
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
async def gateway(tmp_path, shared_upstream, test_env):
    """Like conftest's `gateway` (in-process gateway -> mock-upstream subprocess) but with the upstream
    shared by the module: its settings are reset and its recorded requests cleared first."""
    await set_upstream(shared_upstream)
    status, _, _ = await http("DELETE", f"{shared_upstream}/_mock/requests")
    assert status == 200
    config = config_from_text(gateway_yaml(tmp_path, shared_upstream), "test.yaml", base_dir=tmp_path)
    server = GatewayServer(config, port=0)
    await server.start()
    server.upstream_url = shared_upstream
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
async def gateway_to(tmp_path, test_env):
    """Start extra gateways whose `anthropic` provider points at a given base URL; stopped afterwards."""
    servers = []

    async def start(base_url: str) -> GatewayServer:
        d = tmp_path / f"gw{len(servers)}"
        d.mkdir()
        server = GatewayServer(config_from_text(gateway_yaml(d, base_url), "test.yaml", base_dir=d), port=0)
        await server.start()
        servers.append(server)
        return server

    yield start
    for s in servers:
        await s.stop()


# ----------------------------------------------------------------------------- non-streaming, via the SDK

async def test_sdk_message_reply_usage_and_what_upstream_received(gateway):
    async with sdk(gateway) as client:
        msg = await client.messages.create(model=MODEL, max_tokens=100, messages=HI)
    assert msg.type == "message" and msg.role == "assistant"
    assert msg.content[0].type == "text" and msg.content[0].text == "Hello from the bifrost-tui simulated provider."
    assert msg.stop_reason == "end_turn"
    assert msg.usage.input_tokens > 0 and msg.usage.output_tokens > 0

    [seen] = await upstream_requests(gateway.upstream_url)
    assert seen["path_qs"] == "/v1/messages"
    headers = {k.lower(): v for k, v in seen["headers"].items()}
    assert headers["x-api-key"] == UPSTREAM_KEY
    assert "authorization" not in headers
    blob = json.dumps(seen["headers"])
    assert VK_A not in blob and VK_B not in blob


async def test_sdk_message_log_row(gateway):
    async with sdk(gateway) as client:
        msg = await client.messages.create(model=MODEL, max_tokens=100, messages=HI)
    [row] = await log_rows(gateway)
    assert row["key_name"] == "dev-a" and row["team"] == "backend" and row["customer"] == "acme"
    assert row["requested_model"] == MODEL and row["served_model"] == MODEL
    assert row["provider"] == "anthropic" and row["provider_key"] == "main"
    assert row["status"] == 200 and row["error_type"] is None
    assert row["stream"] == 0
    assert row["input_tokens"] == msg.usage.input_tokens
    assert row["output_tokens"] == msg.usage.output_tokens
    assert row["cache_read_tokens"] == 0 and row["cache_write_5m_tokens"] == 0
    expected = hand_cost(MODEL, input_tokens=msg.usage.input_tokens, output_tokens=msg.usage.output_tokens)
    assert expected > 0
    assert row["cost_micro_usd"] == expected and row["priced"] == 1
    assert row["latency_ms"] > 0
    assert row["ttft_ms"] is None
    assert row["user_agent"] == CLAUDE_UA
    assert row["session_id"] == SESSION
    assert row["path"] == "/v1/messages"


CC_BODY = (
    '{"model": "claude-sonnet-4-5",\n'
    '  "messages": [{"role":"user","content":[{"type":"text","text":"<system-reminder>\\nctx \\u00e9 caf\u00e9'
    ' \\ud83d\\ude00\\n</system-reminder>"},{"type":"text","text":"say hi"}]},'
    '{"role": "system", "content": "Available agent types for the Agent tool: ..."},'
    '{"role":"assistant","content":[{"type":"text","text":"ok"}]},'
    '{"role":"user","content":[{"type":"text","text":"again","cache_control":{"type":"ephemeral"}}]}],\n'
    '  "system": [{"type":"text","text":"x-anthropic-billing-header: cc_version=2.1.197.c40; cc_entrypoint=sdk-cli;"},'
    '{"type":"text","text":"You are a Claude agent.","cache_control":{"type":"ephemeral"}}],\n'
    '  "tools": [{"name":"Bash","description":"Run a command.","input_schema":{"$schema":'
    '"https://json-schema.org/draft/2020-12/schema","type":"object","properties":{"command":{"type":"string"}},'
    '"required":["command"],"additionalProperties":false}},'
    '{"name":"DeferredToolPlaceholder","defer_loading":true,"description":"later","input_schema":{"type":"object"}}],\n'
    '  "metadata": {"user_id": "{\\"device_id\\":\\"3a3f0a9f\\",\\"account_uuid\\":\\"\\",\\"session_id\\":'
    '\\"c1594430-0fa0-49a2-ae32-7a560b5a610c\\"}"},\n'
    '  "max_tokens": 64000, "thinking": {"type": "adaptive"},\n'
    '  "context_management": {"edits": [{"type": "clear_thinking_20251015", "keep": "all"}]},\n'
    '  "output_config": {"effort": "high"}, "x_future_field": [1.0, 1e3, 0.10, -0.0]%s}'
)


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
async def test_raw_claude_code_request_is_forwarded_untouched(gateway, stream):
    text = CC_BODY % (', "stream": true' if stream else "")
    json.loads(text)  # a valid body, just not in the form a re-serialiser would produce
    raw_body = text.encode("utf-8")
    status, headers, reply = await post_messages(gateway, raw_body, key=None, path="/anthropic/v1/messages?beta=true",
                                                 headers={"x-api-key": VK_A, "anthropic-beta": ODD_BETA,
                                                          "user-agent": CLAUDE_UA, "x-app": "cli",
                                                          "X-Claude-Code-Session-Id": SESSION,
                                                          "anthropic-dangerous-direct-browser-access": "true"})
    assert status == 200, reply
    if stream:
        assert headers["content-type"].startswith("text/event-stream")
        assert sse_blocks(reply)[-1][0] == "message_stop"
    else:
        assert json.loads(reply)["type"] == "message"

    [seen] = await upstream_requests(gateway.upstream_url)
    assert seen["path_qs"] == "/v1/messages?beta=true"
    assert seen["body"] == text  # byte for byte (the recorder decodes UTF-8)
    assert seen["body"].encode("utf-8") == raw_body
    headers_seen = {k.lower(): v for k, v in seen["headers"].items()}
    assert headers_seen["anthropic-beta"] == ODD_BETA
    assert headers_seen["anthropic-version"] == "2023-06-01"
    assert headers_seen["x-api-key"] == UPSTREAM_KEY
    assert "authorization" not in headers_seen and "x-bf-vk" not in headers_seen
    blob = json.dumps(seen["headers"])
    assert VK_A not in blob and VK_B not in blob


def _owned_by_app(obj) -> bool:
    """Is this garbage object app code's: a function defined in app/, a cell holding one, an app class's instance?"""
    if isinstance(obj, types.FunctionType):
        return "/app/" in obj.__code__.co_filename
    if isinstance(obj, types.CellType):
        try:
            return _owned_by_app(obj.cell_contents)
        except ValueError:  # an empty cell
            return False
    return type(obj).__module__.startswith("app.")


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
async def test_a_request_leaves_no_reference_cycles_behind(gateway, stream):
    """Reference counting frees a request's objects at once; a cycle waits for the cyclic collector, whose
    pauses stop every thread (a recursive closure per request made young collections ~3 ms at 500/s)."""
    text = (CC_BODY % (', "stream": true' if stream else "")).encode()
    headers = {"x-api-key": VK_A, "user-agent": CLAUDE_UA, "X-Claude-Code-Session-Id": SESSION}
    status, _, reply = await post_messages(gateway, text, key=None, headers=headers)  # warm: first-use caches
    assert status == 200, reply
    gc.collect()
    gc.set_debug(gc.DEBUG_SAVEALL)  # unreachable cycles go to gc.garbage instead of being freed
    try:
        for _ in range(5):
            status, _, reply = await post_messages(gateway, text, key=None, headers=headers)
            assert status == 200, reply
        await asyncio.sleep(0.2)  # the request log's writer has taken the rows
        gc.collect()
        ours = [o for o in gc.garbage if _owned_by_app(o)]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
    assert ours == [], f"{len(ours)} objects of app code freed only by the cyclic collector: {ours[:5]}"


async def test_virtual_key_in_every_header_style_never_reaches_upstream(gateway):
    for headers in ({"x-api-key": VK_A}, {"authorization": f"Bearer {VK_A}"}, {"x-bf-vk": VK_B},
                    {"x-api-key": VK_A, "authorization": f"Bearer {VK_B}", "x-bf-vk": VK_A}):
        status, _, reply = await post_messages(gateway, {"model": MODEL, "max_tokens": 10, "messages": HI},
                                               key=None, headers=headers)
        assert status == 200, (headers, reply)
    seen = await upstream_requests(gateway.upstream_url)
    assert len(seen) == 4
    for r in seen:
        blob = json.dumps(r["headers"])
        assert VK_A not in blob and VK_B not in blob
        assert {k.lower(): v for k, v in r["headers"].items()}["x-api-key"] == UPSTREAM_KEY


async def test_repeated_header_lines_all_reach_upstream(gateway_to):
    """HTTP allows a header to be split over several lines; every anthropic-beta value must still arrive."""
    got: list[list[str]] = []

    async def messages(request: web.Request) -> web.Response:
        got.append(request.headers.getall("anthropic-beta", []))
        return web.json_response({"id": "msg_1", "type": "message", "role": "assistant", "model": MODEL,
                                  "content": [{"type": "text", "text": "ok"}], "stop_reason": "end_turn",
                                  "stop_sequence": None, "usage": {"input_tokens": 1, "output_tokens": 1}})

    app = web.Application()
    app.router.add_post("/v1/messages", messages)
    async with TestServer(app, host="127.0.0.1") as fake:
        server = await gateway_to(str(fake.make_url("")).rstrip("/"))
        headers = CIMultiDict([("x-api-key", VK_A), ("content-type", "application/json"),
                               ("anthropic-beta", "made-up-beta-2099-01-01"),
                               ("anthropic-beta", "claude-code-20250219")])
        status, _, raw = await http("POST", f"{server.url}/anthropic/v1/messages",
                                    body={"model": MODEL, "max_tokens": 5, "messages": HI}, headers=headers)
    assert status == 200, raw
    [lines] = got
    values = [v.strip() for line in lines for v in line.split(",")]
    assert sorted(values) == ["claude-code-20250219", "made-up-beta-2099-01-01"]


async def test_headers_the_client_names_in_connection_stay_on_its_hop(gateway):
    """`Connection: keep-alive, X-Hop-Secret` makes X-Hop-Secret hop-by-hop (RFC 9110 7.6.1): not forwarded."""
    reader, writer = await asyncio.open_connection("127.0.0.1", gateway.port)
    body = json.dumps({"model": MODEL, "max_tokens": 5, "messages": HI}).encode()
    writer.write(b"POST /anthropic/v1/messages HTTP/1.1\r\nHost: gw\r\n"
                 b"Connection: keep-alive, X-Hop-Secret,  x-other-hop \r\nX-Hop-Secret: hop\r\n"
                 b"X-Other-Hop: hop2\r\nX-End-To-End: kept\r\n"
                 + f"x-api-key: {VK_A}\r\ncontent-type: application/json\r\ncontent-length: {len(body)}\r\n\r\n".encode()
                 + body)
    await writer.drain()
    status_line = await asyncio.wait_for(reader.readline(), 10)
    writer.close()
    assert b" 200 " in status_line, status_line
    [seen] = await upstream_requests(gateway.upstream_url)
    names = {k.lower(): v for k, v in seen["headers"].items()}
    assert names["x-end-to-end"] == "kept"
    assert "x-hop-secret" not in names and "x-other-hop" not in names


async def test_upstream_cookies_are_never_stored_or_sent_back(gateway_to):
    """A provider (or a CDN in front of it) that sets a cookie must not see it again: one developer's
    cookie would otherwise go upstream with every other developer's requests."""
    seen_cookies: list[str | None] = []

    async def messages(request: web.Request) -> web.Response:
        seen_cookies.append(request.headers.get("cookie"))
        reply = web.json_response({"id": "msg_1", "type": "message", "role": "assistant", "model": MODEL,
                                   "content": [{"type": "text", "text": "ok"}], "stop_reason": "end_turn",
                                   "stop_sequence": None, "usage": {"input_tokens": 1, "output_tokens": 1}})
        reply.set_cookie("__cf_bm", "session-of-whoever-came-first", path="/")
        return reply

    app = web.Application()
    app.router.add_post("/v1/messages", messages)
    async with TestServer(app, host="127.0.0.1") as fake:
        # by name, not by IP: a cookie jar keeps no cookies of IP-address hosts
        server = await gateway_to(f"http://localhost:{fake.port}")
        for key in (VK_A, VK_B, VK_A):
            status, headers, raw = await http("POST", f"{server.url}/anthropic/v1/messages", headers={"x-api-key": key},
                                              body={"model": MODEL, "max_tokens": 5, "messages": HI})
            assert status == 200, raw
            assert "set-cookie" not in {k.lower() for k in headers}  # not relayed to the client either
    assert seen_cookies == [None, None, None]


async def test_base_url_without_path_prefix(gateway):
    async with anthropic.AsyncAnthropic(base_url=gateway.url, api_key=VK_A, max_retries=0) as client:
        msg = await client.messages.create(model=MODEL, max_tokens=10, messages=HI)
        counted = await client.messages.count_tokens(model=MODEL, messages=HI)
    assert msg.content[0].text and counted.input_tokens > 0
    status, _, _ = await http("GET", f"{gateway.url}/v1/models", headers={"x-api-key": VK_A})
    assert status == 200
    [row] = [r for r in await log_rows(gateway) if r["path"] == "/v1/messages"]
    assert row["key_name"] == "dev-a" and row["status"] == 200


# ----------------------------------------------------------------------------- streaming

async def test_sdk_stream_text_final_message_and_log_row(gateway):
    async with sdk(gateway) as client:
        async with client.messages.stream(model=MODEL, max_tokens=100, messages=HI) as stream:
            text = "".join([t async for t in stream.text_stream])
            final = await stream.get_final_message()
    assert text == "Hello from the bifrost-tui simulated provider."
    assert final.content[0].text == text
    assert final.stop_reason == "end_turn"
    assert final.usage.output_tokens > 1

    [row] = await log_rows(gateway)
    assert row["stream"] == 1 and row["status"] == 200 and row["error_type"] is None
    assert row["key_name"] == "dev-a" and row["provider"] == "anthropic" and row["provider_key"] == "main"
    assert row["served_model"] == MODEL
    assert row["ttft_ms"] is not None and 0 < row["ttft_ms"] <= row["latency_ms"]
    assert row["output_tokens"] == final.usage.output_tokens
    assert row["input_tokens"] == final.usage.input_tokens
    assert row["cost_micro_usd"] == hand_cost(MODEL, input_tokens=final.usage.input_tokens,
                                              output_tokens=final.usage.output_tokens)
    assert row["session_id"] == SESSION and row["user_agent"] == CLAUDE_UA


async def test_sdk_create_stream_true(gateway):
    async with sdk(gateway) as client:
        events = [e async for e in await client.messages.create(model=MODEL, max_tokens=100, messages=HI,
                                                                  stream=True)]
    kinds = [e.type for e in events]
    assert kinds[0] == "message_start" and kinds[-1] == "message_stop"
    text = "".join(e.delta.text for e in events if e.type == "content_block_delta")
    assert text == "Hello from the bifrost-tui simulated provider."


async def test_raw_stream_keeps_every_event_line_and_matches_upstream(gateway):
    body = {"model": MODEL, "max_tokens": 100, "stream": True,
            "messages": [{"role": "user", "content": "hello there"}]}
    status, headers, relayed = await post_messages(gateway, body, path="/anthropic/v1/messages?beta=true")
    assert status == 200
    assert headers["content-type"].startswith("text/event-stream")
    # what the upstream produces for the same request, fetched directly
    up_status, _, direct = await http("POST", f"{gateway.upstream_url}/v1/messages?beta=true", body=body,
                                      headers={"x-api-key": UPSTREAM_KEY, "content-type": "application/json"})
    assert up_status == 200

    got, want = sse_blocks(relayed), sse_blocks(direct)
    assert all(event is not None for event, _ in got), "an SSE block lost its event: line"
    assert relayed.count(b"event: ") == direct.count(b"event: ") == len(want)
    for event, data in got:  # the event: name agrees with the data's type
        assert event == data["type"]
    assert [e for e, _ in got] == [e for e, _ in want]
    assert {"message_start", "content_block_start", "ping", "content_block_delta", "content_block_stop",
            "message_delta", "message_stop"} <= {e for e, _ in got}
    assert without_ids(got) == without_ids(want)


# ----------------------------------------------------------------------------- tools

@pytest.mark.parametrize("streaming", [False, True], ids=["plain", "stream"])
async def test_tool_use_and_tool_result_round_trip(gateway, streaming):
    ask = [{"role": "user", "content": "run echo hi"}]
    async with sdk(gateway) as client:
        if streaming:
            async with client.messages.stream(model=MODEL, max_tokens=200, tools=[BASH], messages=ask) as s:
                msg = await s.get_final_message()
        else:
            msg = await client.messages.create(model=MODEL, max_tokens=200, tools=[BASH], messages=ask)
        assert msg.stop_reason == "tool_use"
        [block] = msg.content
        assert block.type == "tool_use" and block.name == "Bash"
        assert block.input["command"] == "echo hi"

        follow_up = ask + [
            {"role": "assistant", "content": [{"type": "tool_use", "id": block.id, "name": "Bash",
                                               "input": block.input}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": block.id, "content": "hi"}]},
        ]
        if streaming:
            async with client.messages.stream(model=MODEL, max_tokens=200, tools=[BASH], messages=follow_up) as s:
                answer = await s.get_final_message()
        else:
            answer = await client.messages.create(model=MODEL, max_tokens=200, tools=[BASH], messages=follow_up)
    assert answer.stop_reason == "end_turn"
    assert answer.content[0].type == "text" and answer.content[0].text.endswith("hi")

    seen = await upstream_requests(gateway.upstream_url)
    assert seen[-1]["json"]["messages"][-1]["content"][0] == {"type": "tool_result", "tool_use_id": block.id,
                                                              "content": "hi"}
    rows = await log_rows(gateway, want=2)
    assert [r["status"] for r in rows] == [200, 200]
    assert all(r["stream"] == int(streaming) for r in rows)


# ----------------------------------------------------------------------------- prompt caching and cost

async def test_cache_tokens_and_cost_of_each_row(gateway):
    system = [{"type": "text", "text": f"cache probe {uuid.uuid4()} " + "You are a careful assistant. " * 150,
               "cache_control": {"type": "ephemeral"}}]
    usages = []
    async with sdk(gateway) as client:
        for _ in range(2):
            msg = await client.messages.create(model=MODEL, max_tokens=100, system=system, messages=HI)
            usages.append(msg.usage)
    first, second = usages
    assert first.cache_creation_input_tokens > 0 and (first.cache_read_input_tokens or 0) == 0
    assert second.cache_read_input_tokens > 0

    rows = await log_rows(gateway, want=2)
    assert len(rows) == 2
    r1, r2 = rows
    for row, u in ((r1, first), (r2, second)):
        assert row["input_tokens"] == u.input_tokens
        assert row["output_tokens"] == u.output_tokens
        assert row["cache_read_tokens"] == (u.cache_read_input_tokens or 0)
        assert row["cache_write_5m_tokens"] == (u.cache_creation_input_tokens or 0)
        assert row["cache_write_1h_tokens"] == 0
    assert r2["cache_read_tokens"] > 0
    assert r1["cost_micro_usd"] == hand_cost(MODEL, input_tokens=r1["input_tokens"],
                                             output_tokens=r1["output_tokens"],
                                             cache_write_5m=r1["cache_write_5m_tokens"])
    assert r2["cost_micro_usd"] == hand_cost(MODEL, input_tokens=r2["input_tokens"],
                                             output_tokens=r2["output_tokens"],
                                             cache_read=r2["cache_read_tokens"],
                                             cache_write_5m=r2["cache_write_5m_tokens"])
    assert r2["cost_micro_usd"] < r1["cost_micro_usd"]


async def test_cache_write_1h_is_priced_at_the_1h_rate(gateway):
    system = [{"type": "text", "text": f"one hour {uuid.uuid4()} " + "Long lived context. " * 120,
               "cache_control": {"type": "ephemeral", "ttl": "1h"}}]
    async with sdk(gateway) as client:
        msg = await client.messages.create(model=MODEL, max_tokens=50, system=system, messages=HI)
    assert msg.usage.cache_creation.ephemeral_1h_input_tokens > 0
    [row] = await log_rows(gateway)
    assert row["cache_write_1h_tokens"] == msg.usage.cache_creation.ephemeral_1h_input_tokens
    assert row["cache_write_5m_tokens"] == 0
    assert row["cost_micro_usd"] == hand_cost(MODEL, input_tokens=row["input_tokens"],
                                              output_tokens=row["output_tokens"],
                                              cache_write_1h=row["cache_write_1h_tokens"])


# ----------------------------------------------------------------------------- count_tokens

async def test_count_tokens_is_forwarded(gateway):
    async with sdk(gateway) as client:
        counted = await client.messages.count_tokens(model=MODEL, messages=HI, tools=[BASH])
    assert counted.input_tokens > 0
    seen = await upstream_requests(gateway.upstream_url)
    assert [r["path_qs"] for r in seen] == ["/v1/messages/count_tokens"]
    assert {k.lower(): v for k, v in seen[0]["headers"].items()}["x-api-key"] == UPSTREAM_KEY
    assert VK_A not in json.dumps(seen[0]["headers"])


@pytest.mark.parametrize("upstream_status", [404, 405])
async def test_count_tokens_falls_back_to_a_local_estimate(gateway_to, upstream_status):
    hits = []

    async def count(request: web.Request) -> web.Response:
        hits.append(request.path_qs)
        return web.json_response({"type": "error", "error": {"type": "not_found_error", "message": "no"}},
                                 status=upstream_status)

    app = web.Application()
    app.router.add_post("/v1/messages/count_tokens", count)
    async with TestServer(app, host="127.0.0.1") as fake:
        server = await gateway_to(str(fake.make_url("")).rstrip("/"))
        async with sdk(server) as client:
            counted = await client.messages.count_tokens(model=MODEL, messages=HI)
        status, _, raw = await post_messages(server, {"model": MODEL, "messages": HI},
                                             path="/anthropic/v1/messages/count_tokens?beta=true")
    assert hits, "the provider was not asked first"
    assert counted.input_tokens > 0
    assert status == 200 and json.loads(raw)["input_tokens"] == counted.input_tokens


async def test_count_tokens_with_unreachable_provider_is_estimated(gateway_to):
    server = await gateway_to(f"http://127.0.0.1:{free_port()}")
    async with sdk(server) as client:
        counted = await client.messages.count_tokens(model=MODEL, messages=HI)
    assert counted.input_tokens > 0
    # the estimate budgets reserve for the same body
    assert counted.input_tokens == MessagesBody.of_document({"model": MODEL, "messages": HI}, b"").input_tokens


async def test_count_tokens_follows_the_keys_access_rules_and_routing(tmp_path, shared_upstream, test_env,
                                                                      monkeypatch):
    """A disabled key or a model the key may not use is a 403, as for a message; an allowed count goes to the
    provider the key's messages are routed to, with the routed model (not to the first provider listed)."""
    await set_upstream(shared_upstream)
    await http("DELETE", f"{shared_upstream}/_mock/requests")
    routed = "vk-test-routed-5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b"
    monkeypatch.setenv("BIFROST_TEST_VK_ROUTED", routed)
    seen = []

    async def count(request: web.Request) -> web.Response:
        seen.append((request.headers.get("x-api-key"), await request.json()))
        return web.json_response({"input_tokens": 4242})

    app = web.Application()
    app.router.add_post("/v1/messages/count_tokens", count)
    async with TestServer(app, host="127.0.0.1") as fake:
        second = str(fake.make_url("")).rstrip("/")
        extra = ("  - {name: k-off, key: env:BIFROST_TEST_VK_B, active: false}\n"
                 "  - name: routed\n    key: env:BIFROST_TEST_VK_ROUTED\n"
                 "    allowed_models: ['claude-sonnet-*']\n"
                 "    routing: [{when: {model: 'claude-sonnet-*'}, targets: [{provider: second, "
                 "model: claude-haiku-4-5}]}]\n")
        yaml_text = gateway_yaml(tmp_path, shared_upstream, keys=extra).replace(
            "  - {name: sim, type: mock}\n",
            f"  - {{name: second, type: anthropic, base_url: {second}, keys: [{{name: k2, secret: env:BIFROST_TEST_UPSTREAM_KEY}}]}}\n")
        server = GatewayServer(config_from_text(yaml_text, "test.yaml", base_dir=tmp_path), port=0)
        await server.start()
        try:
            path = "/anthropic/v1/messages/count_tokens"
            status, headers, raw = await post_messages(server, {"model": MODEL, "messages": HI}, key=VK_B, path=path)
            assert status == 403 and headers["x-should-retry"] == "false"
            assert "disabled" in anthropic_error_body(raw, "permission_error")["error"]["message"]
            status, headers, raw = await post_messages(server, {"model": "claude-opus-4-1", "messages": HI},
                                                       key=routed, path=path)
            assert status == 403 and "not allowed" in anthropic_error_body(raw, "permission_error")["error"]["message"]
            async with sdk(server, key=routed) as client:
                counted = await client.messages.count_tokens(model=MODEL, messages=HI)
            assert counted.input_tokens == 4242
            assert [(key, body["model"]) for key, body in seen] == [(UPSTREAM_KEY, "claude-haiku-4-5")]
            assert await upstream_requests(shared_upstream) == []  # the first provider listed was not asked
            rows = await log_rows(server, want=3)
            assert [(r["key_name"], r["status"], r["provider"]) for r in rows] == [
                ("k-off", 403, None), ("routed", 403, None), ("routed", 200, "second")]
            assert rows[2]["served_model"] == "claude-haiku-4-5" and rows[2]["cost_micro_usd"] == 0
        finally:
            await server.stop()


@pytest.mark.parametrize("upstream_status", [401, 429, 529])
async def test_count_tokens_never_relays_the_providers_own_trouble(gateway_to, upstream_status):
    """A provider's bad key, rate limit or overload is not the client's: it gets the local estimate (an
    invalid x-api-key relayed from upstream would tell Claude Code its virtual key is wrong)."""
    async def count(request: web.Request) -> web.Response:
        return web.json_response({"type": "error", "error": {"type": "x", "message": "provider trouble"}},
                                 status=upstream_status)

    app = web.Application()
    app.router.add_post("/v1/messages/count_tokens", count)
    async with TestServer(app, host="127.0.0.1") as fake:
        server = await gateway_to(str(fake.make_url("")).rstrip("/"))
        status, _, raw = await post_messages(server, {"model": MODEL, "messages": HI},
                                             path="/anthropic/v1/messages/count_tokens")
    assert status == 200
    assert json.loads(raw)["input_tokens"] == MessagesBody.of_document({"model": MODEL, "messages": HI}, b"").input_tokens


@pytest.mark.parametrize("path", ["/anthropic/v1/messages", "/anthropic/v1/messages/count_tokens",
                                  "/openai/v1/chat/completions"])
async def test_a_body_over_the_size_limit_is_the_clients_413_in_its_shape(gateway, path):
    headers = {"content-type": "application/json", "x-api-key": VK_A, "authorization": f"Bearer {VK_A}"}
    over_limit = b'{"model":"claude-sonnet-4-5","messages":[{"role":"user","content":"' + b"a" * (64 * 1024 * 1024) + b'"}]}'
    status, got, raw = await http("POST", gateway.url + path, body=over_limit, headers=headers, timeout=60)
    assert status == 413 and got["x-should-retry"] == "false"
    body = json.loads(raw)
    if path.startswith("/openai"):
        assert body["error"]["type"] == "invalid_request_error" and "64 MiB" in body["error"]["message"]
    else:
        assert "64 MiB" in anthropic_error_body(raw, "request_too_large")["error"]["message"]
    rows = await log_rows(gateway)
    assert [(r["status"], r["error_type"]) for r in rows] == [(413, "request_too_large")]
    assert await upstream_requests(gateway.upstream_url) == []


async def test_the_sdk_does_not_upload_a_body_over_the_limit_again(gateway):
    """The official SDK retries a 500 (re-sending 64 MiB each time); a 413 with x-should-retry: false it does not."""
    async with sdk(gateway, max_retries=2) as client:
        with pytest.raises(anthropic.APIStatusError) as caught:
            await client.messages.create(model=MODEL, max_tokens=16,
                                         messages=[{"role": "user", "content": "a" * (64 * 1024 * 1024)}])
    assert caught.value.status_code == 413
    await asyncio.sleep(0.2)
    assert len(await log_rows(gateway)) == 1


# ----------------------------------------------------------------------------- models, pings, health, metrics

async def test_models_list_in_anthropic_format(gateway):
    status, headers, raw = await http("GET", f"{gateway.url}/anthropic/v1/models", headers={"x-api-key": VK_A})
    assert status == 200 and headers["content-type"].startswith("application/json")
    body = json.loads(raw)
    assert body["has_more"] is False
    assert body["data"] and all(m["type"] == "model" and isinstance(m["id"], str) for m in body["data"])
    ids = [m["id"] for m in body["data"]]
    assert MODEL in ids
    assert body["first_id"] == ids[0] and body["last_id"] == ids[-1]
    async with sdk(gateway) as client:
        page = await client.models.list()
    assert MODEL in [m.id for m in page.data]


async def test_models_list_needs_a_key(gateway):
    status, headers, raw = await http("GET", f"{gateway.url}/anthropic/v1/models")
    assert status == 401
    anthropic_error_body(raw, "authentication_error")


@pytest.mark.parametrize("path", ["/", "/anthropic", "/anthropic/", "/api/hello", "/anthropic/api/hello"])
@pytest.mark.parametrize("method", ["HEAD", "GET"])
async def test_prewarm_pings_answer_200_without_a_key(gateway, path, method):
    status, _, _ = await http(method, gateway.url + path)
    assert status == 200


async def test_health_is_json(gateway):
    status, headers, raw = await http("GET", f"{gateway.url}/health")
    assert status == 200 and headers["content-type"].startswith("application/json")
    body = json.loads(raw)
    assert body["status"] == "ok"


async def test_metrics_count_requests_by_key_and_have_a_histogram(gateway):
    async with sdk(gateway) as client:
        await client.messages.create(model=MODEL, max_tokens=10, messages=HI)
    await post_messages(gateway, {"model": MODEL, "max_tokens": 10, "messages": HI}, key="not-a-key")
    status, _, raw = await http("GET", f"{gateway.url}/metrics")
    assert status == 200
    text = raw.decode()
    ok = [line for line in text.splitlines() if line.startswith("bifrost_requests_total{")
          and 'key="dev-a"' in line and 'status="200"' in line]
    assert len(ok) == 1 and ok[0].endswith(" 1")
    assert re.search(r'^bifrost_requests_total\{[^}]*status="401"[^}]*\} 1$', text, re.M)
    assert "# TYPE bifrost_request_duration_seconds histogram" in text
    inf = re.findall(r'^bifrost_request_duration_seconds_bucket\{[^}]*le="\+Inf"[^}]*\} (\d+)$', text, re.M)
    assert inf and sum(int(n) for n in inf) == 2
    counts = re.findall(r"^bifrost_request_duration_seconds_count(?:\{[^}]*\})? (\d+)$", text, re.M)
    assert counts and sum(int(n) for n in counts) == 2
    assert VK_A not in text and "not-a-key" not in text


# ----------------------------------------------------------------------------- authentication

@pytest.mark.parametrize("headers,key_name", [
    ({"x-api-key": VK_A}, "dev-a"),
    ({"authorization": f"Bearer {VK_A}"}, "dev-a"),
    ({"x-bf-vk": VK_B}, "dev-b"),
    ({"x-api-key": VK_A, "authorization": "Bearer sk-ant-garbage-0000"}, "dev-a"),
    ({"x-api-key": "sk-ant-garbage-0000", "authorization": f"Bearer {VK_B}"}, "dev-b"),
], ids=["x-api-key", "bearer", "x-bf-vk", "valid-x-api-key+garbage-bearer", "garbage-x-api-key+valid-bearer"])
async def test_auth_header_styles(gateway, headers, key_name):
    status, _, raw = await post_messages(gateway, {"model": MODEL, "max_tokens": 10, "messages": HI}, key=None,
                                         headers=headers)
    assert status == 200, raw
    [row] = await log_rows(gateway)
    assert row["key_name"] == key_name and row["status"] == 200


async def test_sdk_auth_token_and_default_x_api_key(gateway):
    async with anthropic.AsyncAnthropic(base_url=f"{gateway.url}/anthropic", auth_token=VK_B, max_retries=0) as c:
        assert (await c.messages.create(model=MODEL, max_tokens=10, messages=HI)).content
    async with anthropic.AsyncAnthropic(base_url=f"{gateway.url}/anthropic", api_key="placeholder", max_retries=0,
                                        default_headers={"x-api-key": VK_A}) as c:
        assert (await c.messages.create(model=MODEL, max_tokens=10, messages=HI)).content
    rows = await log_rows(gateway, want=2)
    assert sorted(r["key_name"] for r in rows) == ["dev-a", "dev-b"]


@pytest.mark.parametrize("headers", [
    {},
    {"x-api-key": "vk-wrong-6b2f0c9e7d1a4b3c"},
    {"authorization": "Bearer vk-wrong-6b2f0c9e7d1a4b3c"},
    {"x-bf-vk": "vk-wrong-6b2f0c9e7d1a4b3c", "x-api-key": "sk-ant-wrong-too-99"},
    {"authorization": "Basic dXNlcjpwYXNz"},
], ids=["missing", "wrong-x-api-key", "wrong-bearer", "wrong-both", "not-bearer"])
async def test_auth_refused_with_401_no_retry(gateway, headers):
    status, resp_headers, raw = await post_messages(gateway, {"model": MODEL, "max_tokens": 10, "messages": HI},
                                                    key=None, headers=headers)
    assert status == 401
    anthropic_error_body(raw, "authentication_error")
    assert resp_headers["content-type"].startswith("application/json")
    assert resp_headers.get("x-should-retry") == "false"
    for presented in headers.values():
        secret = presented.split(" ")[-1]
        assert secret not in raw.decode() and secret not in json.dumps(resp_headers)
    assert await upstream_requests(gateway.upstream_url) == []
    [row] = await log_rows(gateway)
    assert row["status"] == 401 and row["key_name"] is None and row["error_type"]


async def test_sdk_wrong_key_raises_authentication_error(gateway):
    async with sdk(gateway, key="vk-nope-1234567890") as client:
        with pytest.raises(anthropic.AuthenticationError) as info:
            await client.messages.create(model=MODEL, max_tokens=10, messages=HI)
    assert info.value.status_code == 401
    assert "vk-nope-1234567890" not in json.dumps(info.value.body)


# ----------------------------------------------------------------------------- bad input

@pytest.mark.parametrize("body", [
    b"{not json",
    b"",
    b"\xff\xfe garbage",
    b'["a list"]',
    json.dumps({"max_tokens": 10, "messages": HI}).encode(),
    json.dumps({"model": "", "max_tokens": 10, "messages": HI}).encode(),
    json.dumps({"model": 42, "max_tokens": 10, "messages": HI}).encode(),
], ids=["invalid-json", "empty", "not-utf8", "not-an-object", "missing-model", "empty-model", "model-not-string"])
async def test_bad_request_body_is_400_invalid_request_error(gateway, body):
    status, headers, raw = await post_messages(gateway, body)
    assert status == 400
    assert headers["content-type"].startswith("application/json")
    anthropic_error_body(raw, "invalid_request_error")
    assert await upstream_requests(gateway.upstream_url) == []
    [row] = await log_rows(gateway)
    assert row["status"] == 400 and row["key_name"] == "dev-a"


@pytest.mark.parametrize("method,path", [("GET", "/anthropic/v1/nope"), ("POST", "/anthropic/v1/complete"),
                                         ("POST", "/anthropic/v1/messages/batches"), ("GET", "/no/such/path")])
async def test_unknown_route_is_anthropic_shaped_404(gateway, method, path):
    status, headers, raw = await http(method, gateway.url + path, headers={"x-api-key": VK_A})
    assert status == 404
    assert headers["content-type"].startswith("application/json")
    anthropic_error_body(raw, "not_found_error")


async def test_wrong_method_is_anthropic_shaped(gateway):
    status, headers, raw = await http("GET", f"{gateway.url}/anthropic/v1/messages", headers={"x-api-key": VK_A})
    assert status == 405
    body = json.loads(raw)
    assert body["type"] == "error" and body["error"]["message"]


# ----------------------------------------------------------------------------- upstream errors

@pytest.mark.parametrize("setting,status,etype", [("error_rate_529", 529, "overloaded_error"),
                                                  ("error_rate_429", 429, "rate_limit_error")])
@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
async def test_upstream_error_relayed_with_retry_after_and_logged(gateway, setting, status, etype, stream):
    await set_upstream(gateway.upstream_url, **{setting: 1.0}, retry_after=3)
    got, headers, raw = await post_messages(gateway, {"model": MODEL, "max_tokens": 10, "messages": HI,
                                                      "stream": stream})
    assert got == status
    anthropic_error_body(raw, etype)
    assert headers.get("retry-after") == "3"
    [row] = await log_rows(gateway)
    assert row["status"] == status and row["error_type"] == etype
    assert row["provider"] == "anthropic" and row["key_name"] == "dev-a"
    assert row["cost_micro_usd"] == 0 and row["input_tokens"] == 0


async def test_sdk_sees_overloaded_error(gateway):
    await set_upstream(gateway.upstream_url, error_rate_529=1.0)
    async with sdk(gateway) as client:
        with pytest.raises(anthropic.APIStatusError) as info:
            await client.messages.create(model=MODEL, max_tokens=10, messages=HI)
    assert info.value.status_code == 529
    assert info.value.body["error"]["type"] == "overloaded_error"



@pytest.mark.parametrize("model", [f"{MODEL}\x1b]52;c;aGVsbG8=\x07", f"{MODEL}\x1b[2J", f"{MODEL}\u009b31m"],
                         ids=["osc52", "csi", "c1-csi"])
async def test_a_model_name_with_control_characters_is_a_400(gateway, model):
    """A model name is logged and shown on the operator's terminal: escape sequences in it are refused
    (the official SDK sees an invalid_request_error naming the character), never sent upstream."""
    async with sdk(gateway) as client:
        with pytest.raises(anthropic.BadRequestError) as info:
            await client.messages.create(model=model, max_tokens=10, messages=HI)
    assert info.value.body["error"]["type"] == "invalid_request_error"
    assert "control character (U+" in info.value.body["error"]["message"]
    [row] = await log_rows(gateway)
    assert row["status"] == 400 and row["requested_model"] is None and row["provider"] is None
    assert await upstream_requests(gateway.upstream_url) == []

@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
async def test_unreachable_upstream_is_502_and_logged(gateway_to, stream):
    server = await gateway_to(f"http://127.0.0.1:{free_port()}")  # nothing listens there
    status, headers, raw = await post_messages(server, {"model": MODEL, "max_tokens": 10, "messages": HI,
                                                        "stream": stream})
    assert status == 502
    assert headers["content-type"].startswith("application/json")
    body = anthropic_error_body(raw, "api_error")
    assert UPSTREAM_KEY not in raw.decode() and VK_A not in raw.decode()
    assert body["error"]["message"]
    [row] = await log_rows(server)
    assert row["status"] == 502 and row["error_type"] and row["error_message"]
    assert row["key_name"] == "dev-a" and row["stream"] == int(stream)


async def test_upstream_overloaded_event_in_stream_reaches_client_and_is_logged(gateway):
    """The upstream answers 200 and then `event: error` overloaded_error before any content. The client must
    see an overloaded error: either as a 529 (nothing was relayed yet) or as the relayed `event: error`."""
    await set_upstream(gateway.upstream_url, fail_mid_stream_rate=1.0)
    status, headers, raw = await post_messages(gateway, {"model": MODEL, "max_tokens": 10, "messages": HI,
                                                         "stream": True})
    if status == 200:
        blocks = sse_blocks(raw)
        assert all(e is not None for e, _ in blocks)
        assert blocks[-1][0] == "error" and blocks[-1][1]["error"]["type"] == "overloaded_error"
        assert "content_block_delta" not in [e for e, _ in blocks]
    else:
        assert status == 529
        anthropic_error_body(raw, "overloaded_error")
    [row] = await log_rows(gateway)
    assert row["error_type"] == "overloaded_error" and row["stream"] == 1 and row["key_name"] == "dev-a"


async def test_upstream_connection_dropped_mid_stream_ends_with_an_error_event(gateway_to):
    async def half_stream(request: web.Request) -> web.StreamResponse:
        await request.read()
        resp = web.StreamResponse(headers={"content-type": "text/event-stream"})
        await resp.prepare(request)
        start = {"type": "message_start", "message": {"id": "msg_x", "type": "message", "role": "assistant",
                                                       "model": MODEL, "content": [], "stop_reason": None,
                                                       "usage": {"input_tokens": 7, "output_tokens": 1}}}
        await resp.write(f"event: message_start\ndata: {json.dumps(start)}\n\n".encode())
        await resp.write(b'event: content_block_start\ndata: {"type":"content_block_start","index":0,'
                         b'"content_block":{"type":"text","text":""}}\n\n')
        await resp.write(b'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,'
                         b'"delta":{"type":"text_delta","text":"par"}}\n\n')
        await asyncio.sleep(0.05)
        request.transport.close()  # the upstream dies mid-stream
        return resp

    app = web.Application()
    app.router.add_post("/v1/messages", half_stream)
    async with TestServer(app, host="127.0.0.1") as fake:
        server = await gateway_to(str(fake.make_url("")).rstrip("/"))
        status, _, raw = await post_messages(server, {"model": MODEL, "max_tokens": 10, "messages": HI,
                                                      "stream": True})
    assert status == 200
    blocks = sse_blocks(raw)
    assert blocks[0][0] == "message_start" and blocks[-1][0] == "error"
    assert all(e is not None for e, _ in blocks)
    [row] = await log_rows(server)
    assert row["error_type"] and row["input_tokens"] == 7


# ----------------------------------------------------------------------------- client disconnect

async def test_client_disconnect_mid_stream_abandons_upstream_and_logs_499(gateway):
    reply = " ".join(f"word{i}" for i in range(600))  # ~600 tokens at 20/s: half a minute if read to the end
    await set_upstream(gateway.upstream_url, tokens_per_second=20, reply_text=reply)
    body = json.dumps({"model": MODEL, "max_tokens": 4000, "stream": True, "messages": HI})
    started = time.monotonic()
    async with aiohttp.ClientSession() as session:
        resp = await session.post(f"{gateway.url}/anthropic/v1/messages?beta=true", data=body,
                                  headers={"x-api-key": VK_A, "content-type": "application/json"})
        assert resp.status == 200
        seen = b""
        while seen.count(b"event: content_block_delta") < 6:  # read a little of the answer, then hang up
            chunk = await asyncio.wait_for(resp.content.readany(), 10)
            assert chunk, "stream ended before the deltas"
            seen += chunk
        assert gateway.gateway.metrics.in_flight == 1
        resp.close()  # drop the connection mid-stream

    deadline = time.monotonic() + 3
    while gateway.gateway.metrics.in_flight and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    assert gateway.gateway.metrics.in_flight == 0, "the gateway kept reading the abandoned stream"
    assert time.monotonic() - started < 6

    [row] = await log_rows(gateway)
    assert row["status"] == 499 and row["error_type"] == "client_disconnected"
    assert row["stream"] == 1 and row["key_name"] == "dev-a"
    # charged the output relayed so far (no message_delta came), estimated from the deltas: at least what
    # this client read, and at most a delta or two more (the gateway may relay one before it sees the hang-up)
    deltas = [data for event, data in sse_blocks(seen[:seen.rfind(b"\n\n") + 2]) if event == "content_block_delta"]
    text = "".join(d["delta"]["text"] for d in deltas)
    assert len(text) // 4 - 1 <= row["output_tokens"] <= (len(text) + 2 * max(len(d["delta"]["text"]) for d in deltas)) // 4 + 2
    assert row["output_tokens"] > 1 and "output tokens estimated" in row["error_message"]
    assert row["input_tokens"] > 0 and row["latency_ms"] < 6000
    assert row["cost_micro_usd"] == hand_cost(MODEL, input_tokens=row["input_tokens"],
                                              output_tokens=row["output_tokens"])


# ----------------------------------------------------------------------------- secrets at rest

async def test_virtual_keys_are_never_stored(gateway):
    wrong = "vk-wrong-key-3c1d9e8f7a6b5c4d"
    async with sdk(gateway) as client:
        await client.messages.create(model=MODEL, max_tokens=10, messages=HI)
    await post_messages(gateway, {"model": MODEL, "max_tokens": 10, "messages": HI, "stream": True}, key=VK_B)
    await post_messages(gateway, b"{bad", key=VK_A)
    await post_messages(gateway, {"model": MODEL, "max_tokens": 10, "messages": HI}, key=wrong)
    rows = await log_rows(gateway, want=4)
    assert len(rows) == 4
    files = list(Path(gateway.config.sqlite_path).parent.glob(Path(gateway.config.sqlite_path).name + "*"))
    assert files
    for f in files:
        data = f.read_bytes()
        for secret in (VK_A, VK_B, wrong, UPSTREAM_KEY):
            assert secret.encode() not in data, f"{secret[:8]}... found in {f.name}"


async def test_store_content_logs_bodies_but_the_live_ring_holds_none(tmp_path, mock_upstream, test_env):
    """logging.store_content keeps prompt and response in the request log; the console's ring of recent
    requests (up to 1,000 records) must not keep up to 1 MB bodies each in memory too."""
    yaml_text = "logging: {store_content: true}\n" + gateway_yaml(tmp_path, mock_upstream)
    server = GatewayServer(config_from_text(yaml_text, "test.yaml", base_dir=tmp_path), port=0)
    await server.start()
    try:
        async with sdk(server) as client:
            await client.messages.create(model=MODEL, max_tokens=100, messages=HI)
        [row] = await log_rows(server)
        assert json.loads(row["prompt"])["messages"] == HI
        assert "simulated provider" in row["response"]
        [event] = server.gateway.events.requests_since(0)
        assert event.payload.prompt is None and event.payload.response is None
        assert event.payload.id == row["id"] and event.payload.status == 200
    finally:
        await server.stop()
