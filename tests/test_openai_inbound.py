"""The OpenAI-compatible inbound routes (/openai/v1/chat/completions, /openai/v1/models) driven by the official
`openai` Python SDK against an in-process gateway:

(a) served by an Anthropic upstream (the mock-upstream subprocess): what the upstream received is a correct
    Anthropic Messages body, and the answer comes back as a chat.completion (or chunk stream);
(b) served natively by an OpenAI-format upstream (tests/openai_fake.py, strict like api.openai.com): what
    the fake received matches what the SDK sent, field by field;
(c) OpenAI-shaped errors (auth, budget, rate limit, access, bad bodies, unknown paths) and the models list.
"""
from __future__ import annotations

import contextlib
import json
import sqlite3
from fnmatch import fnmatch

import aiohttp
import openai
import pytest
from openai import AsyncOpenAI

from app.core.config import config_from_text
from app.core.usage import Usage
from app.mock.engine import DEFAULT_REPLY
from app.proxy.server import GatewayServer
from openai_fake import FAKE_KEY, REPLY, TOOL_PREFIX  # noqa: I001
from openai_fake import openai_fake, openai_fake_module  # noqa: F401 (fixtures)
from tests.conftest import UPSTREAM_KEY, VK_A, VK_B

CHAT_PATH = "/openai/v1/chat/completions"
BASH = {"type": "function", "function": {
    "name": "Bash", "description": "Run a shell command and return its output.",
    "parameters": {"type": "object", "properties": {"command": {"type": "string", "description": "the command"},
                                                    "description": {"type": "string"}},
                   "required": ["command"], "additionalProperties": False}}}
READ = {"type": "function", "function": {
    "name": "Read", "description": "Read a file.",
    "parameters": {"type": "object", "properties": {"path": {"type": "string"}}, "required": ["path"]}}}

ANTHROPIC_PROVIDER = ("  - {{name: anthropic, type: anthropic, base_url: {url}, "
                      "keys: [{{name: main, secret: env:BIFROST_TEST_UPSTREAM_KEY}}]}}\n")
OAI_PROVIDER = ("  - {{name: oai, type: openai, base_url: {url}, "
                "keys: [{{name: k, secret: env:BIFROST_TEST_OAI_KEY}}]}}\n")
DEFAULT_KEYS = ("  - {name: dev-a, team: backend, key: env:BIFROST_TEST_VK_A}\n"
                "  - {name: dev-b, key: env:BIFROST_TEST_VK_B}\n")


# ----------------------------------------------------------------------------- helpers

def config_yaml(tmp_path, providers: str, keys: str = DEFAULT_KEYS) -> str:
    return (f"storage: {{sqlite: {str(tmp_path / 'bifrost.db')!r}}}\n"
            "timezone: Asia/Kolkata\ncurrency: {code: INR, symbol: '₹', per_usd: 84.0}\n"
            "customers: [{name: acme}]\nteams: [{name: backend, customer: acme}]\n"
            f"providers:\n{providers}virtual_keys:\n{keys}")


@contextlib.asynccontextmanager
async def running(tmp_path, providers: str, keys: str = DEFAULT_KEYS):
    config = config_from_text(config_yaml(tmp_path, providers, keys), "test.yaml", base_dir=tmp_path)
    server = GatewayServer(config, port=0)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


def sdk(gateway, key: str = VK_A) -> AsyncOpenAI:
    return AsyncOpenAI(base_url=f"{gateway.url}/openai/v1", api_key=key, max_retries=0)


async def log_rows(gateway) -> list[dict]:
    await gateway.gateway.writer.flush()
    with sqlite3.connect(gateway.config.sqlite_path) as db:
        db.row_factory = sqlite3.Row
        return [dict(r) for r in db.execute("SELECT * FROM request_log ORDER BY ts")]


async def upstream_messages(upstream_url: str) -> list[dict]:
    """The Messages requests the mock upstream received, oldest first."""
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{upstream_url}/_mock/requests") as resp:
            assert resp.status == 200
            recorded = await resp.json()
    return [r for r in recorded if r["path_qs"].split("?")[0] == "/v1/messages"]


async def set_mock(upstream_url: str, **settings) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{upstream_url}/_mock/settings", json=settings) as resp:
            assert resp.status == 200, await resp.text()


def expected_cost(gateway, model: str, row: dict) -> int:
    usage = Usage(input_tokens=row["input_tokens"], output_tokens=row["output_tokens"],
                  cache_read_tokens=row["cache_read_tokens"], cache_write_5m_tokens=row["cache_write_5m_tokens"],
                  cache_write_1h_tokens=row["cache_write_1h_tokens"])
    return gateway.gateway.prices.cost(model, usage).total_micro_usd


def assert_row(row: dict, *, key: str, provider: str, model: str, stream: bool, status: int = 200) -> None:
    assert row["path"] == CHAT_PATH
    assert row["key_name"] == key
    assert row["provider"] == provider
    assert row["requested_model"] == model
    assert row["status"] == status and row["error_type"] is None, row
    assert row["stream"] == int(stream)
    assert row["user_agent"].startswith("AsyncOpenAI/Python"), row["user_agent"]
    assert row["input_tokens"] > 0 and row["output_tokens"] > 0
    assert row["priced"] == 1


async def collect(stream) -> tuple[list, str, dict, object]:
    """(chunks, text, {index: {id, name, arguments}}, the usage of the last chunk)."""
    chunks, text, calls = [], "", {}
    async for chunk in stream:
        chunks.append(chunk)
        for choice in chunk.choices:
            text += choice.delta.content or ""
            for call in choice.delta.tool_calls or ():
                slot = calls.setdefault(call.index, {"id": None, "name": "", "arguments": ""})
                slot["id"] = call.id or slot["id"]
                if call.function:
                    slot["name"] += call.function.name or ""
                    slot["arguments"] += call.function.arguments or ""
    return chunks, text, calls, chunks[-1].usage if chunks else None


def finish_reasons(chunks) -> list[str]:
    return [c.finish_reason for chunk in chunks for c in chunk.choices if c.finish_reason]


@pytest.fixture
def oai_env(monkeypatch, test_env):
    monkeypatch.setenv("BIFROST_TEST_OAI_KEY", FAKE_KEY)


@pytest.fixture
async def anthropic_gw(tmp_path, mock_upstream, test_env):
    """Only the Anthropic provider (no simulated fallback that would hide an upstream error)."""
    async with running(tmp_path, ANTHROPIC_PROVIDER.format(url=mock_upstream)) as gw:
        gw.upstream_url = mock_upstream
        yield gw


@pytest.fixture
async def oai_gw(tmp_path, openai_fake, oai_env):  # noqa: F811
    async with running(tmp_path, OAI_PROVIDER.format(url=openai_fake.base_url)) as gw:
        gw.fake = openai_fake
        yield gw


# ============================================================================= (a) Anthropic upstream

async def test_anthropic_upstream_plain_completion(gateway):
    async with sdk(gateway) as client:
        raw = await client.chat.completions.with_raw_response.create(
            model="claude-sonnet-4-5", max_tokens=200, temperature=0.5,
            messages=[{"role": "system", "content": "You are terse."}, {"role": "user", "content": "say hi"}])
    reply = raw.parse()
    assert raw.headers["content-type"].startswith("application/json")
    assert reply.object == "chat.completion"
    assert reply.id.startswith("chatcmpl-")
    assert reply.model == "claude-sonnet-4-5"
    (choice,) = reply.choices
    assert choice.message.role == "assistant"
    assert choice.message.content == DEFAULT_REPLY
    assert choice.message.tool_calls is None
    assert choice.finish_reason == "stop"
    assert reply.usage.prompt_tokens > 0 and reply.usage.completion_tokens > 0
    assert reply.usage.total_tokens == reply.usage.prompt_tokens + reply.usage.completion_tokens

    (sent,) = await upstream_messages(gateway.upstream_url)
    assert sent["headers"].get("x-api-key") == UPSTREAM_KEY
    assert VK_A not in json.dumps(sent["headers"]), "the virtual key leaked upstream"
    assert sent["json"] == {"model": "claude-sonnet-4-5", "system": "You are terse.", "max_tokens": 200,
                            "temperature": 0.5, "messages": [{"role": "user", "content": [
                                {"type": "text", "text": "say hi"}]}]}

    (row,) = await log_rows(gateway)
    assert_row(row, key="dev-a", provider="anthropic", model="claude-sonnet-4-5", stream=False)
    assert (row["team"], row["customer"]) == ("backend", "acme")
    assert row["input_tokens"] + row["cache_read_tokens"] == reply.usage.prompt_tokens
    assert row["output_tokens"] == reply.usage.completion_tokens
    assert row["cost_micro_usd"] == expected_cost(gateway, "claude-sonnet-4-5", row) > 0


async def test_anthropic_upstream_stream_with_usage(gateway):
    async with sdk(gateway) as client:
        stream = await client.chat.completions.create(
            model="claude-sonnet-4-5", stream=True, stream_options={"include_usage": True},
            messages=[{"role": "user", "content": "say hi"}])
        chunks, text, calls, usage = await collect(stream)
    assert text == DEFAULT_REPLY and calls == {}
    assert chunks[0].choices[0].delta.role == "assistant"
    assert all(c.object == "chat.completion.chunk" and c.model == "claude-sonnet-4-5" for c in chunks)
    assert len({c.id for c in chunks}) == 1
    assert finish_reasons(chunks) == ["stop"]
    # include_usage: every chunk carries usage null except the last one, which has no choices
    assert chunks[-1].choices == [] and usage is not None
    assert all(c.usage is None for c in chunks[:-1])
    assert usage.prompt_tokens > 0 and usage.completion_tokens > 0
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens

    (sent,) = await upstream_messages(gateway.upstream_url)
    assert sent["json"]["stream"] is True
    assert sent["json"]["messages"] == [{"role": "user", "content": [{"type": "text", "text": "say hi"}]}]
    assert sent["json"]["max_tokens"] > 0  # Anthropic requires it; the SDK sent none

    (row,) = await log_rows(gateway)
    assert_row(row, key="dev-a", provider="anthropic", model="claude-sonnet-4-5", stream=True)
    assert row["input_tokens"] + row["cache_read_tokens"] == usage.prompt_tokens
    assert row["output_tokens"] == usage.completion_tokens
    assert row["cost_micro_usd"] == expected_cost(gateway, "claude-sonnet-4-5", row) > 0
    assert row["ttft_ms"] is not None


async def test_anthropic_upstream_stream_without_include_usage_has_no_usage_chunk(gateway):
    async with sdk(gateway) as client:
        stream = await client.chat.completions.create(model="claude-sonnet-4-5", stream=True,
                                                      messages=[{"role": "user", "content": "say hi"}])
        chunks, text, _, _ = await collect(stream)
    assert text == DEFAULT_REPLY
    assert all(c.usage is None and c.choices for c in chunks)
    assert finish_reasons(chunks) == ["stop"]
    (row,) = await log_rows(gateway)
    assert row["output_tokens"] > 0  # logged all the same


@pytest.mark.parametrize("streaming", [False, True], ids=["json", "stream"])
async def test_anthropic_upstream_tool_round_trip(gateway, streaming):
    messages = [{"role": "system", "content": "Use tools."}, {"role": "user", "content": "run echo hi"}]
    async with sdk(gateway) as client:
        if streaming:
            stream = await client.chat.completions.create(model="claude-sonnet-4-5", messages=messages,
                                                          tools=[BASH, READ], stream=True)
            chunks, text, calls, _ = await collect(stream)
            assert finish_reasons(chunks) == ["tool_calls"]
            assert text == ""
            (call,) = calls.values()
        else:
            reply = await client.chat.completions.create(model="claude-sonnet-4-5", messages=messages,
                                                         tools=[BASH, READ])
            assert reply.choices[0].finish_reason == "tool_calls"
            assert reply.choices[0].message.content is None
            (tool_call,) = reply.choices[0].message.tool_calls
            assert tool_call.type == "function"
            call = {"id": tool_call.id, "name": tool_call.function.name, "arguments": tool_call.function.arguments}
        assert call["name"] == "Bash"
        assert call["id"] and len(call["id"]) <= 40
        assert json.loads(call["arguments"])["command"] == "echo hi"

        messages += [{"role": "assistant", "content": None, "tool_calls": [
                         {"id": call["id"], "type": "function",
                          "function": {"name": "Bash", "arguments": call["arguments"]}}]},
                     {"role": "tool", "tool_call_id": call["id"], "content": "hi"}]
        if streaming:
            stream = await client.chat.completions.create(model="claude-sonnet-4-5", messages=messages,
                                                          tools=[BASH, READ], stream=True)
            chunks, text, calls, _ = await collect(stream)
            assert finish_reasons(chunks) == ["stop"] and calls == {}
        else:
            reply = await client.chat.completions.create(model="claude-sonnet-4-5", messages=messages,
                                                         tools=[BASH, READ])
            text = reply.choices[0].message.content
    assert text == "tool result received: hi"

    first, second = (r["json"] for r in await upstream_messages(gateway.upstream_url))
    for body in (first, second):
        assert body["system"] == "Use tools."
        assert body["tools"] == [
            {"name": "Bash", "description": BASH["function"]["description"],
             "input_schema": BASH["function"]["parameters"]},
            {"name": "Read", "description": READ["function"]["description"],
             "input_schema": READ["function"]["parameters"]}]
        assert "tool_choice" not in body
        assert body.get("stream", False) is streaming
    assert first["messages"] == [{"role": "user", "content": [{"type": "text", "text": "run echo hi"}]}]
    assert second["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "run echo hi"}]},
        {"role": "assistant", "content": [{"type": "tool_use", "id": call["id"], "name": "Bash",
                                           "input": json.loads(call["arguments"])}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": call["id"], "content": "hi"}]}]

    rows = await log_rows(gateway)
    assert len(rows) == 2
    for row in rows:
        assert_row(row, key="dev-a", provider="anthropic", model="claude-sonnet-4-5", stream=streaming)
        assert row["cost_micro_usd"] == expected_cost(gateway, "claude-sonnet-4-5", row) > 0


async def test_anthropic_upstream_multi_turn_and_tool_choice(gateway):
    messages = [{"role": "system", "content": "Be brief."},
                {"role": "user", "content": "hello"},
                {"role": "assistant", "content": "Hi! How can I help?"},
                {"role": "user", "content": [{"type": "text", "text": "tell me"}, {"type": "text", "text": "more"}]}]
    async with sdk(gateway, VK_B) as client:
        reply = await client.chat.completions.create(
            model="claude-haiku-4-5", messages=messages, max_completion_tokens=64, top_p=0.9, stop=["END"],
            tools=[BASH], tool_choice={"type": "function", "function": {"name": "Bash"}}, parallel_tool_calls=False,
            user="alice-42")
    assert reply.choices[0].message.content == DEFAULT_REPLY
    (sent,) = await upstream_messages(gateway.upstream_url)
    body = sent["json"]
    assert body["system"] == "Be brief."
    assert body["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "hello"}]},
        {"role": "assistant", "content": [{"type": "text", "text": "Hi! How can I help?"}]},
        {"role": "user", "content": [{"type": "text", "text": "tell me"}, {"type": "text", "text": "more"}]}]
    assert body["max_tokens"] == 64 and body["top_p"] == 0.9 and body["stop_sequences"] == ["END"]
    assert body["tool_choice"] == {"type": "tool", "name": "Bash", "disable_parallel_tool_use": True}
    assert body["metadata"] == {"user_id": "alice-42"}
    (row,) = await log_rows(gateway)
    assert_row(row, key="dev-b", provider="anthropic", model="claude-haiku-4-5", stream=False)
    assert row["team"] is None


# ============================================================================= (b) OpenAI-format upstream

async def test_openai_upstream_request_matches_what_the_sdk_sent(oai_gw):
    fake = oai_gw.fake
    fake.cached_tokens = 16
    messages = [{"role": "system", "content": "You are a careful assistant."},
                {"role": "user", "content": "say hi"}]
    tool_choice = {"type": "function", "function": {"name": "Read"}}
    async with sdk(oai_gw) as client:
        raw = await client.chat.completions.with_raw_response.create(
            model="gpt-4o", messages=messages, tools=[BASH, READ], tool_choice=tool_choice, temperature=0.3,
            top_p=0.9, stop=["END", "STOP"], max_completion_tokens=300, user="alice-42", parallel_tool_calls=False)
    reply = raw.parse()

    (rec,) = fake.completions
    assert rec.ok, rec.error
    sent = rec.json
    assert sent["model"] == "gpt-4o"
    assert sent["messages"] == messages
    assert sent["tools"] == [BASH, READ]
    assert sent["tool_choice"] == tool_choice
    assert sent["parallel_tool_calls"] is False
    assert sent["temperature"] == 0.3 and sent["top_p"] == 0.9
    assert sent["stop"] == ["END", "STOP"]
    # an OpenAI-compatible server that is not api.openai.com gets the classic field, same value
    assert sent["max_tokens"] == 300 and "max_completion_tokens" not in sent
    assert sent["user"] == "alice-42"
    assert "stream" not in sent and "stream_options" not in sent
    assert set(sent) == {"model", "messages", "tools", "tool_choice", "parallel_tool_calls", "temperature", "top_p",
                         "stop", "max_tokens", "user"}
    assert rec.header("authorization") == f"Bearer {FAKE_KEY}"
    assert VK_A not in json.dumps(rec.headers), "the virtual key leaked upstream"
    assert not any(k.lower().startswith(("anthropic-", "x-stainless")) for k in rec.headers), rec.headers

    answered = rec.answer["usage"]
    assert reply.choices[0].message.content == REPLY
    assert reply.choices[0].finish_reason == "stop"
    assert reply.model == "gpt-4o"
    assert reply.usage.prompt_tokens == answered["prompt_tokens"]
    assert reply.usage.completion_tokens == answered["completion_tokens"]
    assert reply.usage.prompt_tokens_details.cached_tokens == answered["prompt_tokens_details"]["cached_tokens"] == 16

    (row,) = await log_rows(oai_gw)
    assert_row(row, key="dev-a", provider="oai", model="gpt-4o", stream=False)
    assert row["provider_key"] == "k" and row["served_model"] == "gpt-4o"
    assert row["input_tokens"] == answered["prompt_tokens"] - 16 and row["cache_read_tokens"] == 16
    assert row["output_tokens"] == answered["completion_tokens"]
    assert row["cost_micro_usd"] == expected_cost(oai_gw, "gpt-4o", row) > 0


async def test_openai_upstream_stream_with_usage(oai_gw):
    fake = oai_gw.fake
    fake.cached_tokens = 8
    async with sdk(oai_gw) as client:
        stream = await client.chat.completions.create(
            model="gpt-4o", stream=True, stream_options={"include_usage": True}, max_tokens=500,
            messages=[{"role": "user", "content": "say hi"}])
        chunks, text, calls, usage = await collect(stream)
    (rec,) = fake.completions
    assert rec.ok, rec.error
    assert rec.json["stream"] is True and rec.json["stream_options"] == {"include_usage": True}
    assert rec.json["messages"] == [{"role": "user", "content": "say hi"}]
    assert rec.json["max_tokens"] == 500
    assert text == REPLY and calls == {}
    assert finish_reasons(chunks) == ["stop"]
    assert chunks[-1].choices == [] and all(c.usage is None for c in chunks[:-1])
    answered = rec.answer["usage"]
    assert (usage.prompt_tokens, usage.completion_tokens, usage.prompt_tokens_details.cached_tokens) == \
        (answered["prompt_tokens"], answered["completion_tokens"], 8)

    (row,) = await log_rows(oai_gw)
    assert_row(row, key="dev-a", provider="oai", model="gpt-4o", stream=True)
    assert (row["input_tokens"], row["cache_read_tokens"], row["output_tokens"]) == \
        (answered["prompt_tokens"] - 8, 8, answered["completion_tokens"])
    assert row["cost_micro_usd"] == expected_cost(oai_gw, "gpt-4o", row) > 0


async def test_openai_upstream_stream_tool_round_trip(oai_gw):
    fake = oai_gw.fake
    messages = [{"role": "user", "content": "run echo hi"}]
    async with sdk(oai_gw) as client:
        stream = await client.chat.completions.create(model="gpt-4o", messages=messages, tools=[BASH], stream=True,
                                                      stream_options={"include_usage": True})
        chunks, text, calls, _ = await collect(stream)
        assert finish_reasons(chunks) == ["tool_calls"] and text == ""
        (call,) = calls.values()
        fake_call = fake.completions[0].answer["tool_call"]
        assert call["id"] == fake_call["id"] and call["name"] == "Bash"
        assert json.loads(call["arguments"]) == json.loads(fake_call["arguments"])

        messages += [{"role": "assistant", "content": None, "tool_calls": [
                         {"id": call["id"], "type": "function",
                          "function": {"name": "Bash", "arguments": call["arguments"]}}]},
                     {"role": "tool", "tool_call_id": call["id"], "content": "hi"}]
        stream = await client.chat.completions.create(model="gpt-4o", messages=messages, tools=[BASH], stream=True,
                                                      stream_options={"include_usage": True})
        chunks, text, calls, _ = await collect(stream)
    assert text == TOOL_PREFIX + "hi" and calls == {}

    assert [r.status for r in fake.completions] == [200, 200], [r.error for r in fake.completions]
    second = fake.completions[1].json["messages"]
    assert second[0] == {"role": "user", "content": "run echo hi"}
    assert second[1]["role"] == "assistant" and not second[1].get("content")
    (sent_call,) = second[1]["tool_calls"]
    assert sent_call["id"] == call["id"] and sent_call["function"]["name"] == "Bash"
    assert json.loads(sent_call["function"]["arguments"]) == json.loads(call["arguments"])
    assert second[2] == {"role": "tool", "tool_call_id": call["id"], "content": "hi"}
    assert len(second) == 3

    rows = await log_rows(oai_gw)
    assert [r["provider"] for r in rows] == ["oai", "oai"]
    assert all(r["stream"] == 1 and r["status"] == 200 and r["error_type"] is None for r in rows)


async def test_openai_upstream_completion_limit_is_learned(oai_gw):
    """gpt-4o allows 16384 completion tokens: the first 400 names the limit, the gateway retries with it."""
    fake = oai_gw.fake
    async with sdk(oai_gw) as client:
        reply = await client.chat.completions.create(model="gpt-4o", max_tokens=20000,
                                                     messages=[{"role": "user", "content": "say hi"}])
    assert reply.choices[0].message.content == REPLY
    first, second = fake.completions
    assert first.status == 400 and "supports at most 16384 completion tokens" in first.error["message"]
    assert second.ok and second.json["max_tokens"] == 16384


async def test_openai_upstream_keeps_a_temperature_above_one(oai_gw):
    async with sdk(oai_gw) as client:
        await client.chat.completions.create(model="gpt-4o", temperature=1.5,
                                             messages=[{"role": "user", "content": "say hi"}])
    (rec,) = oai_gw.fake.completions
    assert rec.json["temperature"] == 1.5


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
async def test_openai_upstream_429_reaches_the_client_with_retry_after(oai_gw, stream):
    oai_gw.fake.fail_status, oai_gw.fake.retry_after = 429, "7"
    async with sdk(oai_gw) as client:
        with pytest.raises(openai.RateLimitError) as caught:
            await client.chat.completions.create(model="gpt-4o", stream=stream,
                                                 messages=[{"role": "user", "content": "say hi"}])
    err = caught.value
    assert err.status_code == 429
    assert err.response.headers.get("retry-after") == "7"
    assert "Rate limit reached for gpt-4o" in err.message
    assert err.type == "rate_limit_exceeded"
    (row,) = await log_rows(oai_gw)
    assert row["status"] == 429 and row["provider"] == "oai" and row["cost_micro_usd"] == 0


async def test_openai_upstream_500_is_a_server_error(oai_gw):
    oai_gw.fake.fail_status = 500
    async with sdk(oai_gw) as client:
        with pytest.raises(openai.InternalServerError) as caught:
            await client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "say hi"}])
    assert caught.value.status_code == 500
    assert caught.value.type == "server_error"
    assert "The server had an error" in caught.value.message


async def test_models_of_an_openai_format_gateway(oai_gw):
    async with sdk(oai_gw) as client:
        ids = [m.id async for m in client.models.list()]
    assert "gpt-4o" in ids and "gpt-4o-mini" in ids
    assert not [i for i in ids if i.startswith("claude")], ids  # the only provider serves gpt-*, o1* …


# ============================================================================= (c) OpenAI-shaped errors

async def test_bad_key_is_401_authentication_error(gateway):
    async with sdk(gateway, "vk-wrong-key") as client:
        with pytest.raises(openai.AuthenticationError) as caught:
            await client.chat.completions.create(model="claude-sonnet-4-5",
                                                 messages=[{"role": "user", "content": "hi"}])
    err = caught.value
    assert err.status_code == 401
    assert err.body["type"] == "invalid_request_error" and err.code == "invalid_api_key"
    assert "Invalid virtual key" in err.message
    assert err.response.headers.get("x-should-retry") == "false"
    (row,) = await log_rows(gateway)
    assert (row["path"], row["status"], row["key_name"]) == (CHAT_PATH, 401, None)
    assert await upstream_messages(gateway.upstream_url) == []


async def test_used_up_budget_is_402(tmp_path, mock_upstream, test_env):
    keys = "  - {name: broke, key: env:BIFROST_TEST_VK_A, budgets: [{limit: 0, period: 1M}]}\n"
    async with running(tmp_path, ANTHROPIC_PROVIDER.format(url=mock_upstream), keys) as gw:
        async with sdk(gw) as client:
            with pytest.raises(openai.APIStatusError) as caught:
                await client.chat.completions.create(model="claude-sonnet-4-5",
                                                     messages=[{"role": "user", "content": "hi"}])
        err = caught.value
        assert err.status_code == 402
        assert "Monthly budget for key broke is used up" in err.message
        assert err.type == "insufficient_quota" and err.code == "budget_exceeded"
        assert err.response.headers.get("x-should-retry") == "false"
        (row,) = await log_rows(gw)
        assert (row["path"], row["status"], row["key_name"], row["error_type"]) == \
            (CHAT_PATH, 402, "broke", "billing_error")
        assert await upstream_messages(mock_upstream) == []


async def test_rate_limit_is_429_with_retry_after(tmp_path, mock_upstream, test_env):
    keys = "  - {name: k-rpm, key: env:BIFROST_TEST_VK_A, rate_limit: {requests_per_minute: 1}}\n"
    async with running(tmp_path, ANTHROPIC_PROVIDER.format(url=mock_upstream), keys) as gw:
        async with sdk(gw) as client:
            await client.chat.completions.create(model="claude-sonnet-4-5", messages=[{"role": "user", "content": "a"}])
            with pytest.raises(openai.RateLimitError) as caught:
                await client.chat.completions.create(model="claude-sonnet-4-5",
                                                     messages=[{"role": "user", "content": "b"}])
        err = caught.value
        assert err.status_code == 429
        assert 1 <= int(err.response.headers["retry-after"]) <= 60
        assert "Rate limit for key k-rpm: 1 requests per minute reached." in err.message
        assert err.type == "rate_limit_exceeded" and err.code == "rate_limit_exceeded"
        assert len(await upstream_messages(mock_upstream)) == 1


async def test_upstream_429_from_anthropic_is_relayed_openai_shaped(anthropic_gw):
    await set_mock(anthropic_gw.upstream_url, error_rate_429=1.0, retry_after=3)
    async with sdk(anthropic_gw) as client:
        with pytest.raises(openai.RateLimitError) as caught:
            await client.chat.completions.create(model="claude-sonnet-4-5", messages=[{"role": "user", "content": "a"}])
    err = caught.value
    assert err.response.headers.get("retry-after") == "3"
    assert err.type == "rate_limit_exceeded" and err.message
    assert isinstance(err.body, dict) and set(err.body) >= {"message", "type", "param", "code"}


async def test_model_not_allowed_is_403(tmp_path, mock_upstream, test_env):
    keys = "  - {name: k-haiku, key: env:BIFROST_TEST_VK_A, allowed_models: ['claude-haiku-*']}\n"
    async with running(tmp_path, ANTHROPIC_PROVIDER.format(url=mock_upstream), keys) as gw:
        async with sdk(gw) as client:
            with pytest.raises(openai.PermissionDeniedError) as caught:
                await client.chat.completions.create(model="claude-sonnet-4-5",
                                                     messages=[{"role": "user", "content": "hi"}])
            ok = await client.chat.completions.create(model="claude-haiku-4-5",
                                                      messages=[{"role": "user", "content": "hi"}])
        err = caught.value
        assert err.status_code == 403
        assert "Model claude-sonnet-4-5 is not allowed for key k-haiku" in err.message
        assert err.type == "permission_error"
        assert err.response.headers.get("x-should-retry") == "false"
        assert ok.choices[0].message.content == DEFAULT_REPLY
        assert len(await upstream_messages(mock_upstream)) == 1


@pytest.mark.parametrize("payload", [b"{not json", b"[1, 2]", b"\xff\xfe"], ids=["broken", "array", "binary"])
async def test_invalid_json_is_400(gateway, payload):
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{gateway.url}{CHAT_PATH}", data=payload,
                             headers={"Authorization": f"Bearer {VK_A}", "content-type": "application/json"}) as resp:
            assert resp.status == 400
            assert resp.content_type == "application/json"
            body = await resp.json()
    assert set(body) == {"error"}
    assert body["error"]["type"] == "invalid_request_error"
    assert "JSON" in body["error"]["message"]
    assert await upstream_messages(gateway.upstream_url) == []


async def test_n_above_one_is_400_naming_the_param(gateway):
    async with sdk(gateway) as client:
        with pytest.raises(openai.BadRequestError) as caught:
            await client.chat.completions.create(model="claude-sonnet-4-5", n=2,
                                                 messages=[{"role": "user", "content": "hi"}])
    err = caught.value
    assert err.status_code == 400 and err.type == "invalid_request_error"
    assert err.body["message"].startswith("n: ") and "n > 1" in err.body["message"]
    assert await upstream_messages(gateway.upstream_url) == []
    (row,) = await log_rows(gateway)
    assert (row["path"], row["status"], row["key_name"]) == (CHAT_PATH, 400, "dev-a")


async def test_a_model_name_with_control_characters_is_400_naming_the_param(gateway):
    async with sdk(gateway) as client:
        with pytest.raises(openai.BadRequestError) as caught:
            await client.chat.completions.create(model="claude-sonnet-4-5\x1b]52;c;aGk=\x07",
                                                 messages=[{"role": "user", "content": "hi"}])
    err = caught.value
    assert err.status_code == 400 and err.type == "invalid_request_error" and err.param == "model"
    assert "control character (U+001B)" in err.body["message"]
    assert await upstream_messages(gateway.upstream_url) == []
    (row,) = await log_rows(gateway)
    assert row["status"] == 400 and not row["requested_model"]

async def test_n_above_one_sets_the_param_field(gateway):
    async with sdk(gateway) as client:
        with pytest.raises(openai.BadRequestError) as caught:
            await client.chat.completions.create(model="claude-sonnet-4-5", n=2,
                                                 messages=[{"role": "user", "content": "hi"}])
    assert caught.value.param == "n"


@pytest.mark.parametrize("method, path", [("POST", "/openai/v1/completions"), ("GET", "/openai/v1/nope"),
                                          ("POST", "/openai/v1/embeddings")])
async def test_unknown_openai_path_is_404_json(gateway, method, path):
    async with aiohttp.ClientSession() as http:
        async with http.request(method, f"{gateway.url}{path}", json={"model": "x"},
                                headers={"Authorization": f"Bearer {VK_A}"}) as resp:
            assert resp.status == 404
            assert resp.content_type == "application/json"
            body = await resp.json()
    assert body["error"]["type"] == "not_found_error"
    assert path in body["error"]["message"]
    assert set(body["error"]) == {"message", "type", "param", "code"}


async def test_unknown_openai_path_through_the_sdk(gateway):
    async with sdk(gateway) as client:
        with pytest.raises(openai.NotFoundError) as caught:
            await client.completions.create(model="claude-sonnet-4-5", prompt="hi")
    assert caught.value.status_code == 404 and caught.value.type == "not_found_error"


async def test_models_list_only_allowed_models(tmp_path, mock_upstream, test_env):
    keys = ("  - {name: k-haiku, key: env:BIFROST_TEST_VK_A, allowed_models: ['claude-haiku-*']}\n"
            "  - {name: k-all, key: env:BIFROST_TEST_VK_B}\n")
    async with running(tmp_path, ANTHROPIC_PROVIDER.format(url=mock_upstream), keys) as gw:
        async with sdk(gw, VK_A) as client:
            page = await client.models.list()
            limited = [m.id for m in page.data]
            assert all(m.object == "model" for m in page.data)
        async with sdk(gw, VK_B) as client:
            everything = [m.id async for m in client.models.list()]
        async with sdk(gw, "vk-nobody") as client:
            with pytest.raises(openai.AuthenticationError):
                await client.models.list()
    assert limited and all(fnmatch(m, "claude-haiku-*") for m in limited), limited
    # the only provider is anthropic (claude-*): no gpt model is listed, even for an unrestricted key
    assert "claude-sonnet-4-5" in everything and set(limited) < set(everything)
    assert all(m.startswith("claude-") for m in everything), everything


async def test_max_tokens_reached_is_finish_reason_length(gateway):
    async with sdk(gateway) as client:
        reply = await client.chat.completions.create(model="claude-sonnet-4-5", max_tokens=2,
                                                     messages=[{"role": "user", "content": "say hi"}])
        stream = await client.chat.completions.create(model="claude-sonnet-4-5", max_tokens=2, stream=True,
                                                      messages=[{"role": "user", "content": "say hi"}])
        chunks, text, _, _ = await collect(stream)
    assert reply.choices[0].finish_reason == "length"
    assert reply.choices[0].message.content and reply.choices[0].message.content != DEFAULT_REPLY
    assert finish_reasons(chunks) == ["length"] and text == reply.choices[0].message.content


async def test_upstream_error_after_content_ends_the_stream_with_an_openai_error(anthropic_gw):
    await set_mock(anthropic_gw.upstream_url, fail_after_deltas=1)
    received = ""
    async with sdk(anthropic_gw) as client:
        stream = await client.chat.completions.create(model="claude-sonnet-4-5", stream=True,
                                                      messages=[{"role": "user", "content": "say hi"}])
        with pytest.raises(openai.APIError) as caught:
            async for chunk in stream:
                for choice in chunk.choices:
                    received += choice.delta.content or ""
    assert received and DEFAULT_REPLY.startswith(received) and received != DEFAULT_REPLY
    assert "Overloaded" in caught.value.message
    (row,) = await log_rows(anthropic_gw)
    assert row["path"] == CHAT_PATH and row["error_type"] == "overloaded_error"


@pytest.mark.parametrize("extra", [{"stop": 5}, {"stream": True, "stream_options": "yes"}],
                         ids=["stop", "stream_options"])
async def test_malformed_optional_fields_are_openai_shaped_400(gateway, extra):
    body = {"model": "claude-sonnet-4-5", "messages": [{"role": "user", "content": "hi"}], **extra}
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{gateway.url}{CHAT_PATH}", json=body,
                             headers={"Authorization": f"Bearer {VK_A}"}) as resp:
            status, content_type, text = resp.status, resp.content_type, await resp.text()
    rows = await log_rows(gateway)
    assert (status, content_type) == (400, "application/json"), text
    assert json.loads(text)["error"]["type"] == "invalid_request_error"
    assert [r["status"] for r in rows] == [400]


@pytest.mark.parametrize("field, value, says", [
    ("max_tokens", 0, "max_tokens: must be an integer of at least 1; got 0"), ("max_tokens", -5, "got -5"),
    ("max_completion_tokens", "abc", 'max_completion_tokens: must be an integer of at least 1; got "abc"'),
    ("max_tokens", 1.5, "got 1.5"), ("max_completion_tokens", True, "got true")])
async def test_an_output_limit_that_is_not_a_positive_integer_is_400(gateway, field, value, says):
    """As OpenAI answers: a client asking for 0 (or "abc") tokens must not get the default thousands."""
    async with sdk(gateway) as client:
        with pytest.raises(openai.BadRequestError) as caught:
            await client.chat.completions.create(model="claude-sonnet-4-5", **{field: value},
                                                 messages=[{"role": "user", "content": "hi"}])
    err = caught.value
    assert err.status_code == 400 and err.type == "invalid_request_error" and err.param == field
    assert says in err.body["message"]
    assert await upstream_messages(gateway.upstream_url) == []


async def test_the_output_limit_asked_for_is_the_one_sent_upstream(gateway):
    async with sdk(gateway) as client:
        await client.chat.completions.create(model="claude-sonnet-4-5", max_completion_tokens=7,
                                             messages=[{"role": "user", "content": "hi"}])
        await client.chat.completions.create(model="claude-sonnet-4-5", max_tokens=9, max_completion_tokens=None,
                                             messages=[{"role": "user", "content": "hi"}])
    sent = await upstream_messages(gateway.upstream_url)
    assert [json.loads(r["body"])["max_tokens"] for r in sent] == [7, 9]


# ============================================================================= the fake itself

def fake_call_cases():
    ok = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}
    call = {"id": "call_1", "type": "function", "function": {"name": "Bash", "arguments": "{}"}}
    tool = {"type": "function", "function": {"name": "Bash", "parameters": {"type": "object", "properties": {}}}}
    return [
        ({**ok, "thinking": {"type": "adaptive"}}, "thinking"),
        ({**ok, "top_k": 5}, "top_k"),
        ({**ok, "messages": [{"role": "user", "content": [{"type": "text", "text": "hi",
                                                          "cache_control": {"type": "ephemeral"}}]}]},
         "messages[0].content[0]"),
        ({**ok, "tools": [{"type": "function", "function": {"name": "Bash", "parameters": {
            "$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object"}}}]},
         "tools[0].function.parameters"),
        ({**ok, "messages": [{"role": "developer", "content": "x"}]}, "messages[0].role"),
        ({**ok, "messages": [{"role": "user", "content": "x"}, {"role": "assistant", "tool_calls": [call]}]},
         "messages.[1].role"),
        ({**ok, "messages": [{"role": "user", "content": "x"}, {"role": "assistant", "tool_calls": [call]},
                             {"role": "user", "content": "y"}]}, "messages.[1].role"),
        ({**ok, "messages": [{"role": "user", "content": "x"}, {"role": "tool", "tool_call_id": "call_1",
                                                                "content": "y"}]}, "messages.[1].role"),
        ({**ok, "messages": [{"role": "assistant", "tool_calls": [{**call, "id": "toolu_" + "x" * 40}]},
                             {"role": "tool", "tool_call_id": "toolu_" + "x" * 40, "content": "y"}]},
         "messages[0].tool_calls[0].id"),
        ({**ok, "user": "u" * 65}, "user"),
        ({**ok, "stream_options": {"include_usage": True}}, "stream_options"),
        ({**ok, "tool_choice": "auto"}, "tool_choice"),
        ({**ok, "tools": [{"type": "function", "function": {"name": "Bash", "description": "d" * 1025}}]},
         "tools[0].function.description"),
        ({**ok, "tools": [tool], "tool_choice": {"type": "function", "function": {"name": "Read"}}},
         "tool_choice.function.name"),
        ({**ok, "temperature": 2.5}, "temperature"),
        ({**ok, "stop": ["a", "b", "c", "d", "e"]}, "stop"),
        ({**ok, "max_tokens": 64000}, "max_tokens"),
        ({**ok, "messages": [{"role": "user", "content": [{"type": "tool_result", "content": "x"}]}]},
         "messages[0].content[0].type"),
    ]


@pytest.mark.parametrize("body, param", fake_call_cases())
async def test_the_fake_refuses_what_openai_refuses(openai_fake, body, param):  # noqa: F811
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{openai_fake.base_url}/chat/completions", json=body,
                             headers={"Authorization": f"Bearer {FAKE_KEY}"}) as resp:
            assert resp.status == 400
            error = (await resp.json())["error"]
    assert error["type"] == "invalid_request_error" and error["param"] == param, error
    assert openai_fake.rejected and not any(r.ok for r in openai_fake.requests)


@pytest.mark.parametrize("auth, code", [(None, None), ("Bearer sk-wrong-key-000000", "invalid_api_key"),
                                        (f"Basic {FAKE_KEY}", "invalid_api_key")])
async def test_the_fake_requires_a_configured_bearer_key(openai_fake, auth, code):  # noqa: F811
    headers = {"Authorization": auth} if auth else {}
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{openai_fake.base_url}/chat/completions", headers=headers,
                             json={"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}) as resp:
            assert resp.status == 401
            assert (await resp.json())["error"]["code"] == code


async def test_the_fake_on_its_own_thread_serves_a_gateway(openai_fake_module, tmp_path, oai_env):  # noqa: F811 (pytest fixture)
    fake = openai_fake_module
    fake.reset()
    async with running(tmp_path, OAI_PROVIDER.format(url=fake.base_url)) as gw:
        async with sdk(gw) as client:
            reply = await client.chat.completions.create(model="gpt-4o-mini",
                                                         messages=[{"role": "user", "content": "say hi"}])
    assert reply.choices[0].message.content == REPLY
    (rec,) = fake.completions
    assert rec.ok and rec.answer["model"] == "gpt-4o-mini-2024-07-18"
