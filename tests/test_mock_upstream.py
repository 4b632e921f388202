"""The simulated Anthropic upstream, over real HTTP on 127.0.0.1, with the official SDK as the client."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass

import aiohttp
import anthropic
import pytest
from aiohttp.test_utils import TestServer

from app.mock.engine import DEFAULT_REPLY, MockEngine, MockSettings, estimate_tokens
from app.mock.server import ENGINE, build_mock_app

KEY = "sk-ant-test-123"
MODEL = "claude-opus-4-8"
HI = [{"role": "user", "content": "hi"}]
BASH = {
    "name": "Bash",
    "description": "Executes a bash command and returns its output.",
    "input_schema": {"type": "object", "properties": {"command": {"type": "string"}}, "required": ["command"]},
}


@dataclass
class Upstream:
    url: str
    engine: MockEngine


@pytest.fixture
async def upstream():
    app = build_mock_app(require_api_key=KEY)
    async with TestServer(app, host="127.0.0.1") as server:
        yield Upstream(str(server.make_url("/")).rstrip("/"), app[ENGINE])


@pytest.fixture
async def client(upstream):
    async with anthropic.AsyncAnthropic(base_url=upstream.url, api_key=KEY, max_retries=0) as c:
        yield c


@pytest.fixture
async def http():
    async with aiohttp.ClientSession() as session:
        yield session


async def post_raw(http, upstream, body, path="/v1/messages?beta=true", headers=None):
    """POST and return (response, text); SSE replies are read to the end."""
    headers = {"x-api-key": KEY, "anthropic-version": "2023-06-01", **(headers or {})}
    async with http.post(upstream.url + path, json=body, headers=headers) as resp:
        return resp, await resp.text()


def sse_events(text: str) -> list[tuple[str, dict]]:
    events = []
    for frame in text.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in frame.split("\n"))
        events.append((lines["event"], json.loads(lines["data"])))
    return events


async def set_mock(http, upstream, **settings):
    async with http.post(upstream.url + "/_mock/settings", json=settings) as resp:
        return resp.status, await resp.json()


async def test_non_streaming_reply_parsed_by_sdk(client):
    msg = await client.messages.create(model=MODEL, max_tokens=100, messages=HI)
    assert msg.content[0].text == DEFAULT_REPLY
    assert msg.model == MODEL and msg.stop_reason == "end_turn" and msg.id.startswith("msg_sim_")
    assert msg.usage.input_tokens > 0 and msg.usage.output_tokens > 1
    assert msg.usage.cache_creation_input_tokens == 0 and msg.usage.cache_read_input_tokens == 0
    assert msg._request_id.startswith("req_sim_")


async def test_streaming_matches_non_streaming(client):
    plain = await client.messages.create(model=MODEL, max_tokens=100, messages=HI)
    async with client.messages.stream(model=MODEL, max_tokens=100, messages=HI) as stream:
        text = "".join([piece async for piece in stream.text_stream])
        final = await stream.get_final_message()
    assert text == DEFAULT_REPLY
    assert final.stop_reason == "end_turn"
    assert final.usage.output_tokens == plain.usage.output_tokens
    assert final.usage.input_tokens == plain.usage.input_tokens


async def test_raw_sse_shape_and_headers(http, upstream):
    body = {"model": MODEL, "max_tokens": 100, "messages": HI, "stream": True}
    resp, text = await post_raw(http, upstream, body)
    assert resp.status == 200
    assert resp.headers["content-type"] == "text/event-stream; charset=utf-8"
    assert resp.headers["x-bifrost-simulated"] == "true"
    assert resp.headers["request-id"].startswith("req_sim_")
    events = sse_events(text)
    names = [name for name, _ in events]
    assert names[:3] == ["message_start", "content_block_start", "ping"]
    assert names[-4:] == ["content_block_delta", "content_block_stop", "message_delta", "message_stop"]
    assert all(name == data["type"] for name, data in events)
    start = events[0][1]["message"]
    assert start["usage"]["output_tokens"] == 1 and start["usage"]["input_tokens"] > 0
    deltas = [d["delta"]["text"] for n, d in events if n == "content_block_delta"]
    assert len(deltas) > 1 and "".join(deltas) == DEFAULT_REPLY
    assert events[-2][1]["delta"]["stop_reason"] == "end_turn"


async def test_tool_use_round_trip(client, http, upstream):
    turn1 = [{"role": "user", "content": [{"type": "text", "text": "<system-reminder>ctx</system-reminder>"},
                                          {"type": "text", "text": "run echo hi"}]}]
    async with client.messages.stream(model=MODEL, max_tokens=1000, messages=turn1, tools=[BASH]) as stream:
        first = await stream.get_final_message()
    tool_use = first.content[0]
    assert first.stop_reason == "tool_use"
    assert tool_use.type == "tool_use" and tool_use.name == "Bash" and tool_use.id.startswith("toolu_sim_")
    assert tool_use.input == {"command": "echo hi", "description": "simulated"}

    raw_body = {"model": MODEL, "max_tokens": 1000, "messages": turn1, "tools": [BASH], "stream": True}
    _, text = await post_raw(http, upstream, raw_body)
    partials = [d["delta"]["partial_json"] for n, d in sse_events(text) if n == "content_block_delta"]
    assert len(partials) >= 2 and json.loads("".join(partials))["command"] == "echo hi"

    turn2 = turn1 + [
        {"role": "assistant", "content": [tool_use.model_dump()]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": tool_use.id, "content": "hi\n",
                                      "is_error": False, "cache_control": {"type": "ephemeral"}}]},
    ]
    second = await client.messages.create(model=MODEL, max_tokens=1000, messages=turn2, tools=[BASH])
    assert second.stop_reason == "end_turn"
    assert second.content[0].text == "tool result received: hi"


async def test_max_tokens_truncates(client):
    msg = await client.messages.create(model=MODEL, max_tokens=2, messages=HI)
    assert msg.stop_reason == "max_tokens" and msg.usage.output_tokens == 2
    assert DEFAULT_REPLY.startswith(msg.content[0].text) and msg.content[0].text != DEFAULT_REPLY


def cached_system(ttl: str | None = None) -> list[dict]:
    cache_control = {"type": "ephemeral", **({"ttl": ttl} if ttl else {})}
    return [{"type": "text", "text": "You are a simulated agent. " * 200, "cache_control": cache_control}]


async def test_cache_creation_then_read(client):
    first = await client.messages.create(model=MODEL, max_tokens=50, messages=HI, system=cached_system())
    second = await client.messages.create(model=MODEL, max_tokens=50, messages=HI, system=cached_system())
    created = first.usage.cache_creation_input_tokens
    assert created > 1000 and first.usage.cache_read_input_tokens == 0
    assert first.usage.cache_creation.ephemeral_5m_input_tokens == created
    assert first.usage.cache_creation.ephemeral_1h_input_tokens == 0
    assert second.usage.cache_read_input_tokens == created and second.usage.cache_creation_input_tokens == 0
    assert second.usage.input_tokens == first.usage.input_tokens > 0


async def test_cache_1h_ttl_and_streaming_usage(client):
    async with client.messages.stream(model=MODEL, max_tokens=50, messages=HI, system=cached_system("1h")) as s:
        final = await s.get_final_message()
    assert final.usage.cache_creation_input_tokens > 1000
    assert final.usage.cache_creation.ephemeral_1h_input_tokens == final.usage.cache_creation_input_tokens
    assert final.usage.cache_creation.ephemeral_5m_input_tokens == 0


async def test_cache_growing_conversation_reads_previous_prefix(client):
    """Claude Code style: a changing billing block, then cached system blocks and a cached last user block."""
    def body(turns: int, billing: str) -> dict:
        system = [{"type": "text", "text": f"x-anthropic-billing-header: cc_version=2.1.197.{billing};"},
                  *cached_system()]
        messages = []
        for i in range(turns):
            messages += [{"role": "user", "content": [{"type": "text", "text": f"question {i} " * 50}]},
                         {"role": "assistant", "content": [{"type": "text", "text": f"answer {i} " * 50}]}]
        messages.append({"role": "user", "content": [{"type": "text", "text": "next", "cache_control": {"type": "ephemeral"}}]})
        return {"model": MODEL, "max_tokens": 50, "system": system, "messages": messages}

    one = await client.messages.create(**body(1, "a1b"))
    two = await client.messages.create(**body(2, "c2d"))
    assert one.usage.cache_read_input_tokens == 0
    assert two.usage.cache_read_input_tokens > 1000  # the system prefix, despite the new billing block
    assert 0 < two.usage.cache_creation_input_tokens < one.usage.cache_creation_input_tokens


async def test_count_tokens_proportional(client):
    small = await client.messages.count_tokens(model=MODEL, messages=[{"role": "user", "content": "word " * 100}])
    large = await client.messages.count_tokens(model=MODEL, messages=[{"role": "user", "content": "word " * 1000}])
    assert small.input_tokens > 0
    assert 8 < large.input_tokens / small.input_tokens < 11


async def test_models_list(client):
    page = await client.models.list()
    ids = [m.id for m in page.data]
    assert MODEL in ids and all("simulated" in m.display_name for m in page.data)


@pytest.mark.parametrize(
    ("setting", "status", "kind", "exc"),
    [
        ("error_rate_429", 429, "rate_limit_error", anthropic.RateLimitError),
        ("error_rate_500", 500, "api_error", anthropic.InternalServerError),
        ("error_rate_529", 529, "overloaded_error", anthropic.OverloadedError),
    ],
)
async def test_error_injection(client, http, upstream, setting, status, kind, exc):
    assert (await set_mock(http, upstream, **{setting: 1.0}))[0] == 200
    with pytest.raises(exc) as info:
        await client.messages.create(model=MODEL, max_tokens=50, messages=HI)
    err = info.value
    assert err.status_code == status and err.body["type"] == "error" and err.body["error"]["type"] == kind
    assert err.response.headers["request-id"].startswith("req_sim_")
    assert err.response.headers.get("retry-after") == (None if status == 500 else "1")


async def test_mid_stream_error(client, http, upstream):
    await set_mock(http, upstream, fail_mid_stream_rate=1.0)
    with pytest.raises(anthropic.APIStatusError) as info:
        async with client.messages.stream(model=MODEL, max_tokens=50, messages=HI) as stream:
            await stream.get_final_message()
    assert info.value.body["error"]["type"] == "overloaded_error"
    _, text = await post_raw(http, upstream, {"model": MODEL, "max_tokens": 50, "messages": HI, "stream": True})
    assert [name for name, _ in sse_events(text)] == ["message_start", "error"]


async def test_auth(http, upstream):
    body = {"model": MODEL, "max_tokens": 50, "messages": HI}
    async with http.post(upstream.url + "/v1/messages", json=body) as resp:
        assert resp.status == 401 and (await resp.json())["error"]["type"] == "authentication_error"
    resp, _ = await post_raw(http, upstream, body, headers={"x-api-key": "wrong"})
    assert resp.status == 401
    resp, _ = await post_raw(http, upstream, body, headers={"x-api-key": KEY})
    assert resp.status == 200
    async with anthropic.AsyncAnthropic(base_url=upstream.url, api_key="wrong", max_retries=0) as bad:
        with pytest.raises(anthropic.AuthenticationError):
            await bad.messages.create(model=MODEL, max_tokens=50, messages=HI)


@pytest.mark.parametrize(
    ("drop", "replace"),
    [("model", None), ("messages", None), ("max_tokens", None), ("messages", []), ("max_tokens", 0)],
)
async def test_validation_names_the_field(http, upstream, drop, replace):
    body = {"model": MODEL, "max_tokens": 50, "messages": HI}
    if replace is None:
        del body[drop]
    else:
        body[drop] = replace
    resp, text = await post_raw(http, upstream, body)
    error = json.loads(text)["error"]
    assert resp.status == 400 and error["type"] == "invalid_request_error" and drop in error["message"]


async def test_accepts_claude_code_shaped_body(http, upstream):
    body = {
        "model": MODEL, "max_tokens": 64000, "stream": True,
        "messages": [{"role": "user", "content": [{"type": "text", "text": "hi", "cache_control": {"type": "ephemeral"}}]},
                     {"role": "system", "content": "Available agent types: ..."},
                     {"role": "user", "content": "say hi"}],
        "system": cached_system(),
        "tools": [BASH, {"name": "DeferredToolPlaceholder", "defer_loading": True, "input_schema": {"type": "object"}}],
        "metadata": {"user_id": json.dumps({"device_id": "ab" * 32, "session_id": "s"})},
        "thinking": {"type": "adaptive"},
        "context_management": {"edits": [{"type": "clear_thinking_20251015", "keep": "all"}]},
        "output_config": {"effort": "high"},
    }
    headers = {"anthropic-beta": "claude-code-20250219,some-future-beta-2030-01-01", "anthropic-version": "2099-01-01"}
    resp, text = await post_raw(http, upstream, body, headers=headers)
    assert resp.status == 200 and sse_events(text)[-1][0] == "message_stop"


async def test_recorded_requests(client, http, upstream):
    body = {"model": MODEL, "max_tokens": 50, "messages": HI}
    await post_raw(http, upstream, body, headers={"X-Custom-Header": "Value"})
    await client.messages.create(model=MODEL, max_tokens=50, messages=HI)
    async with http.get(upstream.url + "/_mock/requests") as resp:
        recorded = await resp.json()
    assert [r["path_qs"] for r in recorded] == ["/v1/messages?beta=true", "/v1/messages"]
    assert recorded[0]["method"] == "POST" and recorded[0]["headers"]["X-Custom-Header"] == "Value"
    assert json.loads(recorded[0]["body"]) == body and recorded[0]["json"] == body
    assert recorded[1]["headers"]["Authorization"] == f"Bearer {KEY}"
    async with http.delete(upstream.url + "/_mock/requests") as resp:
        assert resp.status == 200
    async with http.get(upstream.url + "/_mock/requests") as resp:
        assert await resp.json() == []


async def test_settings_endpoint(http, upstream):
    async with http.get(upstream.url + "/_mock/settings") as resp:
        assert (await resp.json())["latency_ms"] == 0.0
    status, updated = await set_mock(http, upstream, latency_ms=5, reply_text="custom")
    assert status == 200 and updated["latency_ms"] == 5.0 and upstream.engine.settings.reply_text == "custom"
    status, error = await set_mock(http, upstream, no_such_setting=1)
    assert status == 400 and "no_such_setting" in error["error"]["message"]
    status, _ = await set_mock(http, upstream, error_rate_429=2)
    assert status == 400 and upstream.engine.settings.error_rate_429 == 0.0


# ------------------------------------------------------------------ the engine in-process


def test_settings_from_mapping_rejects_unknown_and_bad_values():
    assert MockSettings.from_mapping({"latency_ms": 10}).latency_ms == 10.0
    with pytest.raises(ValueError, match="bogus"):
        MockSettings.from_mapping({"bogus": 1})
    with pytest.raises(ValueError, match="error_rate_500"):
        MockSettings.from_mapping({"error_rate_500": -0.1})


async def test_seeded_error_injection_is_deterministic():
    body = {"model": MODEL, "max_tokens": 10, "messages": HI}

    async def statuses() -> list[int]:
        engine = MockEngine(MockSettings(error_rate_429=0.3, error_rate_529=0.3, seed=7))
        return [(await engine.messages(body)).status for _ in range(50)]

    first = await statuses()
    assert first == await statuses() and {200, 429, 529} <= set(first)


async def test_latency_and_pacing():
    engine = MockEngine(MockSettings(latency_ms=50, tokens_per_second=200))
    started = time.perf_counter()
    reply = await engine.messages({"model": MODEL, "max_tokens": 100, "messages": HI, "stream": True})
    assert time.perf_counter() - started >= 0.045
    started = time.perf_counter()
    chunks = [chunk async for chunk in reply.chunks]
    assert time.perf_counter() - started >= 12 / 200  # 13 reply tokens at 200 tokens/s
    assert chunks[-1].startswith(b"event: message_stop")


def test_estimate_tokens_on_large_bodies():
    tools = [{**BASH, "name": f"Tool{i}", "description": "d" * 1500} for i in range(25)]
    body = {"model": MODEL, "max_tokens": 10, "tools": tools, "system": cached_system(),
            "messages": [{"role": "user", "content": [{"type": "text", "text": "x" * 40_000}]}]}
    assert 60_000 < len(json.dumps(body)) < 90_000
    tokens = estimate_tokens(body)  # its cost is in bench/ (the Claude-Code-sized scenario), not timed here
    assert 15_000 < tokens < 25_000


async def test_server_handles_client_disconnect(upstream):
    await asyncio.sleep(0)  # the fixture is up
    upstream.engine.settings = MockSettings(tokens_per_second=50)
    body = {"model": MODEL, "max_tokens": 100, "messages": HI, "stream": True}
    async with aiohttp.ClientSession() as session:
        async with session.post(upstream.url + "/v1/messages", json=body, headers={"x-api-key": KEY}) as resp:
            assert (await resp.content.readline()).startswith(b"event: message_start")
    upstream.engine.settings = MockSettings()
    async with aiohttp.ClientSession() as session:
        async with session.post(upstream.url + "/v1/messages", json=body, headers={"x-api-key": KEY}) as resp:
            assert resp.status == 200 and "message_stop" in await resp.text()
