"""Reasoning end to end, through the real gateway on 127.0.0.1 with the official SDKs as clients:

- the `anthropic` SDK served by an OpenAI-compatible upstream that reasons (tests/openai_fake.py sending
  `reasoning_content` or `reasoning`, as DeepSeek, vLLM and OpenRouter do): the thinking block comes first;
  a later request carrying it goes back to that upstream without it, or, when the upstream fails, over to an
  Anthropic-format upstream (the mock-upstream subprocess, which records requests) without it;
- the `openai` SDK served by an Anthropic-format upstream that thinks (a small fake here): `reasoning_effort`
  arrives as `thinking`, the thinking comes back as `reasoning_content`.
"""
from __future__ import annotations

import contextlib
import json

import aiohttp
import anthropic
import pytest
from aiohttp import web
from openai import AsyncOpenAI, BadRequestError

from app.proxy.translate.gateway_thinking import MARK, SIGNATURE_PREFIX, signature
from local_app import serve_locally
from openai_fake import FAKE_KEY, REPLY, FakeOpenAI
from tests.conftest import UPSTREAM_KEY, VK_A, running_gateway

SONNET = "claude-sonnet-4-5"
THOUGHT = "The user wants the files listed; Bash can do that."
BASH = {"name": "Bash", "description": "Run a shell command.",
        "input_schema": {"type": "object", "properties": {"command": {"type": "string"}}, "required": ["command"]}}


@contextlib.asynccontextmanager
async def gateway(tmp_path, monkeypatch, providers: str, key_extra: str = ""):
    monkeypatch.setenv("BIFROST_TEST_OAI_KEY", FAKE_KEY)
    monkeypatch.setenv("BIFROST_TEST_UPSTREAM_KEY", UPSTREAM_KEY)
    monkeypatch.setenv("BIFROST_TEST_VK_A", VK_A)
    async with running_gateway(tmp_path, providers, f"  - {{name: dev-a, key: env:BIFROST_TEST_VK_A{key_extra}}}\n") as gw:
        yield gw


def oai_provider(fake: FakeOpenAI) -> str:
    return (f"  - {{name: oai, type: openai, base_url: {fake.base_url}, "
            "keys: [{name: k, secret: env:BIFROST_TEST_OAI_KEY}], models: ['claude-*']}\n")


def anthropic_provider(url: str) -> str:
    return f"  - {{name: anthropic, type: anthropic, base_url: {url}, keys: [{{name: main, secret: env:BIFROST_TEST_UPSTREAM_KEY}}]}}\n"


def claude(gw) -> anthropic.AsyncAnthropic:
    return anthropic.AsyncAnthropic(base_url=f"{gw.url}/anthropic", api_key=VK_A, max_retries=0)


async def mock_requests(upstream_url: str, path: str = "/v1/messages") -> list[dict]:
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{upstream_url}/_mock/requests") as resp:
            recorded = await resp.json()
    return [r for r in recorded if r["path_qs"].split("?")[0] == path]


async def first_tool_turn(client):
    """Turn 1 of a Bash tool loop with thinking on, streamed: (its messages, the thinking setting, turn 1)."""
    thinking = {"type": "enabled", "budget_tokens": 1024}
    first = [{"role": "user", "content": "run ls"}]
    async with client.messages.stream(model=SONNET, max_tokens=2000, messages=first, tools=[BASH],
                                      thinking=thinking) as stream:
        return first, thinking, await stream.get_final_message()

async def continue_tool_loop(client, first: list, turn1, thinking: dict):
    """Turn 2 of a Bash tool loop: the history with turn 1 and the tool's result, streamed; (history, turn 2)."""
    tool_use = turn1.content[1]
    history = [*first, {"role": "assistant", "content": [b.model_dump() for b in turn1.content]},
               {"role": "user", "content": [{"type": "tool_result", "tool_use_id": tool_use.id,
                                             "content": "a.py\nb.py"}]}]
    async with client.messages.stream(model=SONNET, max_tokens=2000, messages=history, tools=[BASH],
                                      thinking=thinking) as stream:
        turn2 = await stream.get_final_message()
    assert turn2.content[0].text.startswith("tool result received: a.py")
    return history, turn2


# ============================================================ anthropic SDK <- gateway <- OpenAI-compatible upstream

@pytest.mark.parametrize("field", ["reasoning_content", "reasoning"])
async def test_anthropic_sdk_streams_the_upstreams_reasoning_as_the_first_block(tmp_path, monkeypatch, field):
    async with FakeOpenAI(reasoning=THOUGHT, reasoning_field=field, piece_chars=7) as fake:
        async with gateway(tmp_path, monkeypatch, oai_provider(fake)) as gw, claude(gw) as client:
            kinds = []
            async with client.messages.stream(model=SONNET, max_tokens=2000, messages=[
                    {"role": "user", "content": "hello"}], thinking={"type": "enabled", "budget_tokens": 1024}) as stream:
                async for event in stream:
                    kinds.append(event.type)
                final = await stream.get_final_message()
            assert [b.type for b in final.content] == ["thinking", "text"]
            assert final.content[0].thinking == THOUGHT and final.content[1].text == REPLY
            assert final.content[0].signature == signature(THOUGHT) and final.content[0].signature.startswith(
                SIGNATURE_PREFIX)
            assert kinds.count("thinking") == -(-len(THOUGHT) // 7)  # one per reasoning delta, as they arrived
            assert kinds.index("signature") < kinds.index("text")
            assert final.stop_reason == "end_turn"

            # the next turn carries the thinking block back: the strict upstream (which refuses any `thinking`
            # key) gets the conversation without it
            history = [{"role": "user", "content": "hello"},
                       {"role": "assistant", "content": [b.model_dump() for b in final.content]},
                       {"role": "user", "content": "again"}]
            again = await client.messages.create(model=SONNET, max_tokens=2000, messages=history)
            assert [b.type for b in again.content] == ["thinking", "text"]  # not streamed: the same block first
            assert again.content[0].thinking == THOUGHT
            sent = fake.completions[-1]
            assert sent.ok, sent.error
            assert sent.json["messages"][1] == {"role": "assistant", "content": REPLY}
            assert MARK not in sent.raw


async def test_a_history_with_the_gateways_thinking_fails_over_to_anthropic_without_it(
        tmp_path, monkeypatch, mock_upstream):
    """Turn 1 is served by the reasoning OpenAI-compatible upstream (thinking + a Bash call); for turn 2 (the
    tool result) that upstream fails, and the mock Anthropic upstream gets the history without the forged
    thinking block, and without `thinking` (Anthropic would want the tool loop's assistant turn to start with
    a thinking block it signed). The fast path is untouched for bodies without the mark."""
    async with FakeOpenAI(reasoning=THOUGHT) as fake:
        providers = oai_provider(fake) + anthropic_provider(mock_upstream)
        async with gateway(tmp_path, monkeypatch, providers, ", fallbacks: [{provider: anthropic}]") as gw, \
                claude(gw) as client:
            first, thinking, turn1 = await first_tool_turn(client)
            assert [b.type for b in turn1.content] == ["thinking", "tool_use"] and turn1.stop_reason == "tool_use"
            assert not await mock_requests(mock_upstream)  # served by the OpenAI-compatible upstream

            fake.fail_status = 500
            tool_use = turn1.content[1]
            history, turn2 = await continue_tool_loop(client, first, turn1, thinking)
            assert fake.completions[-1].status == 500  # tried first, then failed over

            [received] = await mock_requests(mock_upstream)
            assert MARK.decode() not in received["body"]
            body = received["json"]
            assert body["messages"][1] == {"role": "assistant", "content": [tool_use.model_dump()]}
            assert "thinking" not in body and body["tools"][0]["name"] == "Bash"

            # a new user turn (no tool loop) keeps thinking on; Claude's own thinking would be kept too
            claudes = {"type": "thinking", "thinking": "Claude's own.", "signature": "EqoBCkgIARAB"}
            later = [*history, {"role": "assistant", "content": [claudes, *[b.model_dump() for b in turn2.content]]},
                     {"role": "user", "content": "thanks"}]
            await client.messages.create(model=SONNET, max_tokens=2000, messages=later, thinking=thinking)
            body = (await mock_requests(mock_upstream))[-1]["json"]
            assert body["thinking"] == thinking
            assert body["messages"][1]["content"] == [tool_use.model_dump()]
            assert body["messages"][3]["content"][0] == claudes

            # count_tokens goes the same way (the Anthropic provider counts; the OpenAI one cannot)
            await client.messages.count_tokens(model=SONNET, messages=history, tools=[BASH], thinking=thinking)
            [counted] = await mock_requests(mock_upstream, "/v1/messages/count_tokens")
            assert MARK.decode() not in counted["body"]

            # a body without the mark reaches the Anthropic upstream byte for byte
            raw = json.dumps({"model": SONNET, "max_tokens": 50, "messages": [
                {"role": "user", "content": "plain"}]}, indent=1).encode()
            async with aiohttp.ClientSession() as http:
                async with http.post(f"{gw.url}/v1/messages", data=raw, headers={
                        "x-api-key": VK_A, "content-type": "application/json"}) as resp:
                    assert resp.status == 200
            assert (await mock_requests(mock_upstream))[-1]["body"].encode() == raw


# ============================================================ openai SDK <- gateway <- Anthropic upstream that thinks

def sse(name: str, data: dict) -> bytes:
    return f"event: {name}\ndata: {json.dumps(data)}\n\n".encode()


class ThinkingClaude:
    """An Anthropic Messages upstream that thinks before it answers: a thinking block (signed), a
    redacted_thinking block, then the text; JSON or Claude's SSE sequence. Records the request bodies."""

    def __init__(self) -> None:
        self.bodies: list[dict] = []
        self.url = ""
        self._runner: web.AppRunner | None = None

    async def __aenter__(self) -> ThinkingClaude:
        app = web.Application()
        app.router.add_post("/v1/messages", self.handle)
        self._runner, self.url = await serve_locally(app)
        return self

    async def __aexit__(self, *exc) -> None:
        await self._runner.cleanup()

    async def handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self.bodies.append(body)
        usage = {"input_tokens": 20, "output_tokens": 60}
        content = [{"type": "thinking", "thinking": THOUGHT, "signature": "EqQBCgIYAhIM1gbcDa9GJwZA"},
                   {"type": "redacted_thinking", "data": "EmwKAhgBEgy3va3pzix"}, {"type": "text", "text": "Done."}]
        message = {"id": "msg_think1", "type": "message", "role": "assistant", "model": body["model"],
                   "content": content, "stop_reason": "end_turn", "stop_sequence": None, "usage": usage}
        if not body.get("stream"):
            return web.json_response(message)
        response = web.StreamResponse(headers={"content-type": "text/event-stream; charset=utf-8"})
        await response.prepare(request)
        events = [sse("message_start", {"type": "message_start", "message": {
            **message, "content": [], "stop_reason": None, "usage": {**usage, "output_tokens": 1}}})]
        for index, block in enumerate(content):
            empty = {"type": "thinking", "thinking": "", "signature": ""} if block["type"] == "thinking" else \
                block if block["type"] == "redacted_thinking" else {"type": "text", "text": ""}
            events.append(sse("content_block_start", {"type": "content_block_start", "index": index,
                                                      "content_block": empty}))
            if block["type"] == "thinking":
                deltas = [{"type": "thinking_delta", "thinking": THOUGHT[i:i + 10]} for i in range(0, len(THOUGHT), 10)]
                deltas.append({"type": "signature_delta", "signature": block["signature"]})
            elif block["type"] == "text":
                deltas = [{"type": "text_delta", "text": block["text"]}]
            else:
                deltas = []
            events += [sse("content_block_delta", {"type": "content_block_delta", "index": index, "delta": d})
                       for d in deltas]
            events.append(sse("content_block_stop", {"type": "content_block_stop", "index": index}))
        events.append(sse("message_delta", {"type": "message_delta", "usage": {"output_tokens": 60},
                                            "delta": {"stop_reason": "end_turn", "stop_sequence": None}}))
        events.append(sse("message_stop", {"type": "message_stop"}))
        for event in events:
            await response.write(event)
        await response.write_eof()
        return response


async def test_openai_sdk_reasoning_effort_and_reasoning_content_through_an_anthropic_upstream(tmp_path, monkeypatch):
    async with ThinkingClaude() as upstream, \
            gateway(tmp_path, monkeypatch, anthropic_provider(upstream.url)) as gw, \
            AsyncOpenAI(base_url=f"{gw.url}/openai/v1", api_key=VK_A, max_retries=0) as client:
        messages = [{"role": "user", "content": "Is 1001 prime?"}]
        completion = await client.chat.completions.create(model=SONNET, messages=messages, reasoning_effort="low",
                                                          temperature=0.3)
        message = completion.choices[0].message
        assert message.content == "Done."
        assert message.reasoning_content == THOUGHT  # redacted thinking and signatures stay behind
        assert "EmwK" not in completion.model_dump_json() and "EqQB" not in completion.model_dump_json()
        sent = upstream.bodies[-1]
        assert sent["thinking"] == {"type": "enabled", "budget_tokens": 2048}
        assert sent["max_tokens"] == 4096 + 2048 and "temperature" not in sent

        stream = await client.chat.completions.create(model=SONNET, messages=messages, reasoning_effort="high",
                                                      max_completion_tokens=20000, stream=True,
                                                      stream_options={"include_usage": True})
        reasoning, text, order = "", "", []
        async for chunk in stream:
            for choice in chunk.choices:
                piece = getattr(choice.delta, "reasoning_content", None)
                if piece:
                    reasoning += piece
                    order.append("reasoning")
                if choice.delta.content:
                    text += choice.delta.content
                    order.append("content")
        assert reasoning == THOUGHT and text == "Done."
        assert order.index("content") == len(order) - 1  # every reasoning delta before the answer
        assert upstream.bodies[-1]["thinking"] == {"type": "enabled", "budget_tokens": 10000}
        assert upstream.bodies[-1]["max_tokens"] == 20000

        # continuing a tool call: no thinking (Anthropic would want its signed block back)
        follow = [*messages, {"role": "assistant", "content": None, "tool_calls": [
            {"id": "toolu_1", "type": "function", "function": {"name": "calc", "arguments": "{}"}}]},
            {"role": "tool", "tool_call_id": "toolu_1", "content": "7 * 11 * 13"}]
        tools = [{"type": "function", "function": {"name": "calc", "parameters": {"type": "object", "properties": {}}}}]
        await client.chat.completions.create(model=SONNET, messages=follow, tools=tools, reasoning_effort="low")
        assert "thinking" not in upstream.bodies[-1] and upstream.bodies[-1]["max_tokens"] == 4096


async def test_an_unknown_reasoning_effort_is_a_400_naming_the_param(tmp_path, monkeypatch):
    async with ThinkingClaude() as upstream, \
            gateway(tmp_path, monkeypatch, anthropic_provider(upstream.url)) as gw, \
            AsyncOpenAI(base_url=f"{gw.url}/openai/v1", api_key=VK_A, max_retries=0) as client:
        with pytest.raises(BadRequestError) as caught:
            await client.chat.completions.create(model=SONNET, reasoning_effort="extreme",
                                                 messages=[{"role": "user", "content": "hi"}])
        assert caught.value.status_code == 400 and caught.value.param == "reasoning_effort"
        assert not upstream.bodies


async def test_a_tool_turn_without_reasoning_continues_on_anthropic_with_thinking_off(
        tmp_path, monkeypatch, mock_upstream):
    """The OpenAI-compatible upstream does not reason. A client that asked for thinking still gets a thinking
    block first (empty, the gateway's signature), so when the tool loop continues on an Anthropic-format
    upstream the gateway sees the turn was not Claude's and sends it without `thinking`: Anthropic refuses a
    tool loop whose last assistant turn does not start with a thinking block when thinking is on."""
    async with FakeOpenAI() as fake:
        providers = oai_provider(fake) + anthropic_provider(mock_upstream)
        async with gateway(tmp_path, monkeypatch, providers, ", fallbacks: [{provider: anthropic}]") as gw, \
                claude(gw) as client:
            first, thinking, turn1 = await first_tool_turn(client)
            assert [b.type for b in turn1.content] == ["thinking", "tool_use"]
            assert turn1.content[0].thinking == "" and turn1.content[0].signature.startswith(SIGNATURE_PREFIX)
            created = await client.messages.create(model=SONNET, max_tokens=2000, messages=first, tools=[BASH],
                                                   thinking=thinking)
            assert [b.type for b in created.content] == ["thinking", "tool_use"]
            plain = await client.messages.create(model=SONNET, max_tokens=2000, messages=first, tools=[BASH])
            assert [b.type for b in plain.content] == ["tool_use"]  # no thinking asked, no block

            fake.fail_status = 500
            tool_use = turn1.content[1]
            history, turn2 = await continue_tool_loop(client, first, turn1, thinking)
            [received] = await mock_requests(mock_upstream)
            assert MARK.decode() not in received["body"] and "thinking" not in received["json"]
            assert received["json"]["messages"][1] == {"role": "assistant", "content": [tool_use.model_dump()]}
