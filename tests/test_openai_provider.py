"""OpenAIProvider against an OpenAI-compatible upstream played by a local aiohttp server that records every
request and answers from a script: URL, auth, query params, headers, translation, streams, errors."""
from __future__ import annotations

import json

import anthropic
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from app.core.config import Provider, ProviderKey
from app.core.messages_body import MessagesBody
from app.core.secrets import SecretRef
from app.proxy.providers.base import UpstreamCall, UpstreamUnavailable
from app.proxy.translate.gateway_thinking import signature
from app.proxy.providers.openai import OpenAIProvider

SECRET = "sk-openai-test-0123456789"
CLIENT_HEADERS = {"anthropic-version": "2023-06-01", "anthropic-beta": "claude-code-20250219",
                  "x-api-key": "sk-ant-client", "x-app": "cli", "User-Agent": "claude-cli/2.1.197"}
BASH = {"name": "Bash", "description": "Run a command",
        "input_schema": {"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object",
                         "properties": {"command": {"type": "string"}}, "required": ["command"]}}


def completion(content="hello from gpt", tool_calls=None, finish="stop"):
    message = {"role": "assistant", "content": content}
    if tool_calls:
        message["tool_calls"] = tool_calls
    return {"id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "gpt-4.1-2025-04-14",
            "choices": [{"index": 0, "message": message, "finish_reason": finish}],
            "usage": {"prompt_tokens": 50, "completion_tokens": 7, "total_tokens": 57,
                      "prompt_tokens_details": {"cached_tokens": 0}}}


def sse(*chunks) -> list[bytes]:
    return [b"data: " + json.dumps(c).encode() + b"\n\n" for c in chunks] + [b"data: [DONE]\n\n"]


def delta(d=None, finish=None, usage=None):
    return {"id": "chatcmpl-2", "object": "chat.completion.chunk", "created": 1, "model": "gpt-4.1",
            "choices": [] if d is None else [{"index": 0, "delta": d, "finish_reason": finish}], "usage": usage}


TOOL_STREAM = sse(
    delta({"role": "assistant", "content": ""}),
    delta({"tool_calls": [{"index": 0, "id": "call_x", "type": "function", "function": {"name": "Bash", "arguments": ""}}]}),
    delta({"tool_calls": [{"index": 0, "function": {"arguments": '{"comm'}}]}),
    delta({"tool_calls": [{"index": 0, "function": {"arguments": 'and": "ls -la"}'}}]}),
    delta({}, "tool_calls"),
    delta(None, usage={"prompt_tokens": 300, "completion_tokens": 12, "prompt_tokens_details": {"cached_tokens": 256}}),
)


class Upstream:
    """Scripted answers, one per request (the last one repeats); every request recorded."""

    def __init__(self):
        self.requests: list[dict] = []
        self.script: list[tuple] = [("json", 200, completion(), {})]
        self.server: TestServer | None = None

    async def handle(self, request: web.Request):
        body = await request.json()
        self.requests.append({"path": request.path, "query": dict(request.query), "headers": dict(request.headers),
                              "body": body})
        kind, status, payload, headers = self.script.pop(0) if len(self.script) > 1 else self.script[0]
        if kind == "json":
            return web.json_response(payload, status=status, headers=headers)
        response = web.StreamResponse(status=status, headers={"content-type": "text/event-stream", **headers})
        await response.prepare(request)
        for piece in payload:
            await response.write(piece)
        return response

    @property
    def url(self) -> str:
        return str(self.server.make_url("")).rstrip("/")


@pytest.fixture
async def upstream():
    up = Upstream()
    app = web.Application()
    app.router.add_post("/{tail:.*}", up.handle)
    async with TestServer(app, host="127.0.0.1") as server:
        up.server = server
        yield up


@pytest.fixture
def env_key(monkeypatch):
    monkeypatch.setenv("OA_TEST_KEY", SECRET)
    monkeypatch.setenv("OA_TEST_KEY2", SECRET + "-two")


async def make(base_url, keys=("OA_TEST_KEY",), **spec) -> OpenAIProvider:
    provider = OpenAIProvider(Provider(name="oa", type="openai", base_url=base_url, keys=[
        ProviderKey(f"k{i}", secret=SecretRef.parse(f"env:{name}")) for i, name in enumerate(keys)], **spec))
    await provider.start()
    return provider


def call(body=None, stream=False, model="claude-opus-4-8") -> UpstreamCall:
    body = body or {"model": model, "max_tokens": 64000, "messages": [{"role": "user", "content": "hi"}],
                    "thinking": {"type": "adaptive"}, "metadata": {"user_id": "u1"}}
    if stream:
        body = {**body, "stream": True}
    raw = json.dumps(body).encode()
    return UpstreamCall("/v1/messages", "beta=true", raw, MessagesBody.of_document(body, raw), model, stream,
                        dict(CLIENT_HEADERS))


def sse_events(raw: bytes) -> list[tuple[str, dict]]:
    out = []
    for frame in raw.decode().strip().split("\n\n"):
        name, data = frame.split("\n")
        out.append((name.removeprefix("event: "), json.loads(data.removeprefix("data: "))))
    return out


async def test_json_reply_translated_and_only_our_headers_sent(upstream, env_key):
    provider = await make(upstream.url + "/v1", model_map={"claude-opus-4-8": "gpt-4.1"})
    try:
        reply = await provider.messages(call())
    finally:
        await provider.close()
    assert provider.translated is True and reply.status == 200 and reply.provider_key == "k0"
    assert reply.headers["content-type"] == "application/json"
    message = json.loads(reply.body)
    # Claude Code's body asks for thinking: the upstream did not reason, so the block is empty and ours
    assert message["content"] == [{"type": "thinking", "thinking": "", "signature": signature("")},
                                  {"type": "text", "text": "hello from gpt"}] and message["model"] == "claude-opus-4-8"
    assert message["stop_reason"] == "end_turn" and message["usage"]["input_tokens"] == 50
    sent = upstream.requests[0]
    assert sent["path"] == "/v1/chat/completions" and sent["query"] == {}  # the client's ?beta=true stays here
    assert sent["headers"]["Authorization"] == f"Bearer {SECRET}" and sent["headers"]["User-Agent"] == "bifrost-tui"
    lowered = {k.lower() for k in sent["headers"]}
    assert not lowered & {"x-api-key", "anthropic-version", "anthropic-beta", "x-app", "api-key"}
    assert sent["body"] == {"model": "gpt-4.1", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 64000,
                            "user": "u1"}  # a local server: the classic max_tokens field


async def test_azure_style_api_key_header_query_and_deployment_path(upstream, env_key):
    base = upstream.url + "/openai/deployments/gpt4o-prod"
    provider = await make(base, auth_header="api-key", query_params={"api-version": "2024-10-21"})
    try:
        reply = await provider.messages(call())
    finally:
        await provider.close()
    assert reply.status == 200
    sent = upstream.requests[0]
    assert sent["path"] == "/openai/deployments/gpt4o-prod/chat/completions"
    assert sent["query"] == {"api-version": "2024-10-21"}
    assert sent["headers"]["api-key"] == SECRET and "Authorization" not in sent["headers"]


def test_openai_hosts_get_max_completion_tokens():
    for url, field in [("https://api.openai.com/v1", "max_completion_tokens"),
                       ("https://myres.openai.azure.com/openai/deployments/d", "max_completion_tokens"),
                       ("http://127.0.0.1:11434/v1", "max_tokens"), ("https://openrouter.ai/api/v1", "max_tokens")]:
        provider = OpenAIProvider(Provider(name="p", type="openai", base_url=url))
        assert provider.token_field == field
        assert provider.request_body(call())[field] == 64000
    assert provider.serves("gpt-4.1") and provider.serves("o3-mini") and not provider.serves("claude-opus-4-8")


async def test_keyless_provider_sends_no_auth(upstream):
    provider = await make(upstream.url + "/v1", keys=())
    try:
        assert provider.available and provider.warnings == []
        reply = await provider.messages(call())
    finally:
        await provider.close()
    assert reply.status == 200 and reply.provider_key == "keyless"
    headers = {k.lower() for k in upstream.requests[0]["headers"]}
    assert "authorization" not in headers and "api-key" not in headers


async def test_stream_translated_with_event_lines(upstream, env_key):
    upstream.script = [("sse", 200, TOOL_STREAM, {"x-request-id": "req_up_1"})]
    provider = await make(upstream.url + "/v1")
    try:
        reply = await provider.messages(call({"model": "gpt-4.1", "max_tokens": 100, "tools": [BASH],
                                              "messages": [{"role": "user", "content": "list"}]},
                                             stream=True, model="gpt-4.1"))
        assert reply.is_stream and reply.headers == {"content-type": "text/event-stream; charset=utf-8",
                                                     "request-id": "req_up_1"}
        raw = b"".join([c async for c in reply.chunks])
        reply.close()
    finally:
        await provider.close()
    sent = upstream.requests[0]["body"]
    assert sent["stream"] is True and sent["stream_options"] == {"include_usage": True}
    assert sent["tools"][0]["function"]["parameters"] == {"type": "object", "properties": {"command": {
        "type": "string"}}, "required": ["command"]}
    assert upstream.requests[0]["headers"]["Accept"] == "text/event-stream"
    events = sse_events(raw)
    assert [n for n, _ in events] == ["message_start", "content_block_start", "content_block_delta",
                                      "content_block_delta", "content_block_stop", "message_delta", "message_stop"]
    assert events[0][1]["message"]["usage"]["input_tokens"] > 0  # the local estimate until the real count
    assert events[1][1]["content_block"] == {"type": "tool_use", "id": "call_x", "name": "Bash", "input": {}}
    assert json.loads("".join(d["delta"]["partial_json"] for n, d in events if n == "content_block_delta")) == \
        {"command": "ls -la"}
    assert events[-2][1]["delta"]["stop_reason"] == "tool_use"
    assert events[-2][1]["usage"] == {"input_tokens": 44, "output_tokens": 12, "cache_creation_input_tokens": 0,
                                      "cache_read_input_tokens": 256}


async def test_server_that_ignores_stream_true_is_replayed_as_a_stream(upstream, env_key):
    upstream.script = [("json", 200, completion(None, [{"id": "call_9", "type": "function", "function": {
        "name": "Bash", "arguments": '{"command": "pwd"}'}}], "tool_calls"), {})]
    provider = await make(upstream.url + "/v1")
    try:
        reply = await provider.messages(call(stream=True))
        events = sse_events(b"".join([c async for c in reply.chunks]))
    finally:
        await provider.close()
    assert events[0][0] == "message_start" and events[-1][0] == "message_stop"
    assert events[1][1]["content_block"]["type"] == "thinking"  # thinking asked for: an empty block first
    assert events[4][1]["content_block"]["name"] == "Bash" and events[-2][1]["delta"]["stop_reason"] == "tool_use"


async def test_429_relayed_in_anthropic_shape_with_retry_after(upstream, env_key):
    error = {"error": {"message": "Rate limit reached for gpt-4.1", "type": "requests", "param": None,
                       "code": "rate_limit_exceeded"}}
    upstream.script = [("json", 429, error, {"retry-after": "7"})]
    provider = await make(upstream.url + "/v1", keys=("OA_TEST_KEY", "OA_TEST_KEY2"))
    try:
        reply = await provider.messages(call())
    finally:
        await provider.close()
    assert reply.status == 429 and reply.headers["retry-after"] == "7"
    assert json.loads(reply.body) == {"type": "error", "error": {"type": "rate_limit_error",
                                                                 "message": "Rate limit reached for gpt-4.1"}}
    assert len(upstream.requests) == 2  # rotated to the second key first
    assert {r["headers"]["Authorization"] for r in upstream.requests} == {f"Bearer {SECRET}", f"Bearer {SECRET}-two"}
    assert reply.attempts and reply.attempts[0]["status"] == 429


async def test_quota_exhausted_says_do_not_retry_and_500_is_api_error(upstream, env_key):
    upstream.script = [("json", 429, {"error": {"message": "You exceeded your current quota",
                                                "type": "insufficient_quota", "code": "insufficient_quota"}}, {}),
                       ("json", 500, {"error": {"message": "The server had an error", "type": "server_error"}}, {})]
    provider = await make(upstream.url + "/v1")
    try:
        quota = await provider.messages(call())
        provider.board = type(provider.board)()  # forget the rate-limit circuit of the first reply
        server = await provider.messages(call())
    finally:
        await provider.close()
    assert quota.status == 429 and quota.headers["x-should-retry"] == "false"
    assert server.status == 500 and json.loads(server.body)["error"] == {"type": "api_error",
                                                                         "message": "The server had an error"}


async def test_completion_limit_learned_from_a_400(upstream, env_key):
    too_many = {"error": {"message": "max_tokens is too large: 64000. This model supports at most 16384 completion "
                                     "tokens, whereas you provided 64000.", "type": "invalid_request_error",
                          "param": "max_tokens", "code": "invalid_value"}}
    upstream.script = [("json", 400, too_many, {}), ("json", 200, completion(), {})]
    provider = await make("https://api.openai.com/v1")
    provider.url = upstream.url + "/v1/chat/completions"
    try:
        first = await provider.messages(call())
        second = await provider.messages(call())
    finally:
        await provider.close()
    assert first.status == second.status == 200
    assert [r["body"]["max_completion_tokens"] for r in upstream.requests] == [64000, 16384, 16384]


async def test_token_field_switched_when_the_model_wants_the_other(upstream, env_key):
    unsupported = {"error": {"message": "Unsupported parameter: 'max_tokens' is not supported with this model. Use "
                                        "'max_completion_tokens' instead.", "type": "invalid_request_error",
                             "param": "max_tokens", "code": "unsupported_parameter"}}
    upstream.script = [("json", 400, unsupported, {}), ("json", 200, completion(), {})]
    provider = await make(upstream.url + "/v1")
    try:
        reply = await provider.messages(call())
    finally:
        await provider.close()
    assert reply.status == 200
    assert ["max_tokens" in r["body"] for r in upstream.requests] == [True, False]
    assert upstream.requests[1]["body"]["max_completion_tokens"] == 64000


async def test_plain_400_is_not_retried(upstream, env_key):
    upstream.script = [("json", 400, {"error": {"message": "Invalid 'messages[0].content'", "param": "messages"}}, {})]
    provider = await make(upstream.url + "/v1")
    try:
        reply = await provider.messages(call())
    finally:
        await provider.close()
    assert reply.status == 400 and len(upstream.requests) == 1
    assert json.loads(reply.body)["error"]["type"] == "invalid_request_error"


async def test_connect_refused_is_upstream_unavailable(env_key):
    provider = await make("http://127.0.0.1:9/v1")
    try:
        with pytest.raises(UpstreamUnavailable) as caught:
            await provider.messages(call())
        assert caught.value.status == 502 and "unreachable" in str(caught.value)
        assert await provider.count_tokens(call()) is None
    finally:
        await provider.close()


async def test_anthropic_sdk_through_the_provider(upstream, env_key):
    """A minimal relay in front of the provider (what the gateway does), the official SDK as the client."""
    upstream.script = [("sse", 200, TOOL_STREAM, {}), ("json", 200, completion("plain answer"), {})]
    provider = await make(upstream.url + "/v1")

    async def relay(request):
        body = await request.json()
        reply = await provider.messages(UpstreamCall("/v1/messages", request.query_string, b"",
                                                     MessagesBody.of_document(body, b""), body["model"],
                                                     bool(body.get("stream")), {}))
        if not reply.is_stream:
            return web.Response(status=reply.status, body=reply.body, headers=reply.headers)
        response = web.StreamResponse(status=reply.status, headers=reply.headers)
        await response.prepare(request)
        async for piece in reply.chunks:
            await response.write(piece)
        reply.close()
        return response

    app = web.Application()
    app.router.add_post("/v1/messages", relay)
    try:
        async with TestServer(app, host="127.0.0.1") as gateway, \
                anthropic.AsyncAnthropic(base_url=str(gateway.make_url("")), api_key="vk", max_retries=0) as client:
            stream = client.messages.stream(model="gpt-4.1", max_tokens=100, tools=[BASH],
                                            messages=[{"role": "user", "content": "list files"}])
            async with stream as events:
                final = await events.get_final_message()
            plain = await client.messages.create(model="gpt-4.1", max_tokens=100,
                                                 messages=[{"role": "user", "content": "hi"}])
    finally:
        await provider.close()
    assert final.content[0].type == "tool_use" and final.content[0].input == {"command": "ls -la"}
    assert final.stop_reason == "tool_use" and final.usage.cache_read_input_tokens == 256
    assert plain.content[0].text == "plain answer" and plain.stop_reason == "end_turn"
