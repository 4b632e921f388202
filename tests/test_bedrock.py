"""The Bedrock provider against a local fake Bedrock Runtime (tests/bedrock_fake.py) that checks SigV4 with
its own implementation, plus the event-stream decoder on its own and against botocore's decoder."""
from __future__ import annotations

import asyncio
import base64
import importlib.util
import json
import struct
import subprocess
import sys
import uuid
import zlib

import aiohttp
import pytest

from app.core.config import Provider, ProviderKey, config_from_text
from app.core.messages_body import MessagesBody
from app.core.secrets import SecretRef
from app.core.usage import StreamUsage, Usage
from app.proxy.eventstream import EventStreamDecoder, EventStreamError
from app.proxy.providers.base import UpstreamCall
from app.proxy.providers.bedrock_models import ModelTable, bedrock_body
from bedrock_fake import FakeBedrock, chunk_frame, default_events, default_message, encode_frame, exception_frame
from conftest import ROOT

HAS_BOTOCORE = importlib.util.find_spec("botocore") is not None
needs_botocore = pytest.mark.skipif(not HAS_BOTOCORE, reason="botocore not installed (pip install 'bifrost-tui[bedrock]')")

AK, SK, TOKEN = "AKIAFAKEBEDROCK00001", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYFAKEKEY01", "IQoJb3JpZ2luX2Vj//fake+token=="
MODEL = "claude-sonnet-4-5-20250929"
US_ID = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
CC_BETA = ("claude-code-20250219,context-1m-2025-08-07,interleaved-thinking-2025-05-14,thinking-token-count-2026-05-13,"
           "context-management-2025-06-27,prompt-caching-scope-2026-01-05,effort-2025-11-24")
BASH = {"name": "Bash", "description": "Run a command.",
        "input_schema": {"type": "object", "properties": {"command": {"type": "string"}}, "required": ["command"]}}
CLIENT_HEADERS = {"anthropic-beta": CC_BETA, "anthropic-version": "2023-06-01", "X-Stainless-Lang": "js",
                  "User-Agent": "claude-cli/2.1.197 (external, sdk-cli)", "x-app": "cli",
                  "X-Claude-Code-Session-Id": "5d6658e4-17a5-40d5-a791-88ba8dcda57a"}


# ----------------------------------------------------------------------------- helpers

def parse_sse(raw: bytes) -> list[tuple[str, dict]]:
    """Strict: every block is `event: X` + `data: <json of type X>`; anything else fails the test."""
    assert raw.endswith(b"\n\n"), raw[-200:]
    out = []
    for block in raw.decode("utf-8").split("\n\n")[:-1]:
        lines = block.split("\n")
        assert len(lines) == 2 and lines[0].startswith("event: ") and lines[1].startswith("data: "), block[:200]
        event, data = lines[0][7:], json.loads(lines[1][6:])
        assert data["type"] == event
        out.append((event, data))
    return out


def make_call(model: str = MODEL, stream: bool = True, headers: dict | None = None, **extra) -> UpstreamCall:
    body = {"model": model, "max_tokens": 1024, "system": [{"type": "text", "text": "You are Claude Code."}],
            "messages": [{"role": "user", "content": [{"type": "text", "text": "run echo"}]}], "tools": [BASH],
            "metadata": {"user_id": '{"session_id":"s1"}'}, **extra}
    if stream:
        body["stream"] = True
    raw = json.dumps(body).encode()
    return UpstreamCall("/v1/messages", "beta=true", raw, MessagesBody.of_document(body, raw), model, stream,
                        dict(CLIENT_HEADERS if headers is None else headers))


@pytest.fixture
def aws_env(monkeypatch):
    monkeypatch.setenv("BF_TEST_AWS_AK", AK)
    monkeypatch.setenv("BF_TEST_AWS_SK", SK)
    monkeypatch.setenv("BF_TEST_AWS_SK_WRONG", SK[:-1] + "X")
    monkeypatch.setenv("BF_TEST_AWS_TOKEN", TOKEN)


def key(name="k1", secret="BF_TEST_AWS_SK", token=False, weight=1) -> ProviderKey:
    return ProviderKey(name, secret=SecretRef("env", secret), access_key_id=SecretRef("env", "BF_TEST_AWS_AK"),
                       session_token=SecretRef("env", "BF_TEST_AWS_TOKEN") if token else None, weight=weight)


@pytest.fixture
async def fake():
    async with FakeBedrock(access_key_id=AK, secret=SK) as f:
        yield f


@pytest.fixture
async def provider_for(aws_env):
    from app.proxy.providers.bedrock import BedrockProvider
    started = []

    async def build(url: str, keys=None, profile: str | None = "us", model_map=None, models=None):
        spec = Provider(name="bedrock", type="bedrock", region="us-east-1", base_url=url, keys=keys or [key()],
                        inference_profile=profile, model_map=model_map or {}, models=models)
        p = BedrockProvider(spec)
        await p.start()
        started.append(p)
        return p
    yield build
    for p in started:
        await p.close()


async def drain(reply) -> bytes:
    assert reply.is_stream, (reply.status, reply.body)
    out = b""
    async for chunk in reply.chunks:
        out += chunk
    return out


# ----------------------------------------------------------------------------- event-stream decoder

FRAMES = [chunk_frame(e) for e in default_events()]


def test_decoder_single_bytes_and_many_frames_per_feed():
    data = b"".join(FRAMES)
    one_by_one = EventStreamDecoder()
    got = [m for i in range(len(data)) for m in one_by_one.feed(data[i:i + 1])]
    assert one_by_one.pending == 0
    at_once = EventStreamDecoder().feed(data)
    assert len(got) == len(at_once) == len(FRAMES)
    for msg, event in zip(at_once, default_events()):
        assert msg.headers == {":event-type": "chunk", ":content-type": "application/json", ":message-type": "event"}
        assert json.loads(base64.b64decode(json.loads(msg.payload)["bytes"])) == event
    assert [m.payload for m in got] == [m.payload for m in at_once]


def test_decoder_split_in_prelude_headers_and_crc():
    frame = FRAMES[0]
    for cut in (3, 11, 12, 20, len(frame) - 3):
        d = EventStreamDecoder()
        assert d.feed(frame[:cut]) == [] and d.pending == cut
        assert len(d.feed(frame[cut:] + FRAMES[1][:5])) == 1 and d.pending == 5


def test_decoder_crc_mismatch_keeps_good_frames_and_refuses_more():
    bad = bytearray(FRAMES[2])
    bad[20] ^= 0x40
    d = EventStreamDecoder()
    with pytest.raises(EventStreamError, match="message CRC") as info:
        d.feed(FRAMES[0] + FRAMES[1] + bytes(bad) + FRAMES[3])
    assert len(info.value.messages) == 2
    with pytest.raises(EventStreamError):
        d.feed(FRAMES[3])
    prelude_bad = bytearray(FRAMES[0])
    prelude_bad[1] ^= 0x01  # total length changed: the prelude CRC catches it before any length is trusted
    with pytest.raises(EventStreamError, match="prelude CRC"):
        EventStreamDecoder().feed(bytes(prelude_bad))


def test_decoder_header_value_types():
    block = b""
    values = [(0, b"", True), (1, b"", False), (2, b"\xff", -1), (3, struct.pack(">h", -2), -2),
              (4, struct.pack(">i", 70000), 70000), (5, struct.pack(">q", 2**40), 2**40),
              (6, struct.pack(">H", 3) + b"\x00\x01\x02", b"\x00\x01\x02"), (7, struct.pack(">H", 2) + b"ok", "ok"),
              (8, struct.pack(">q", 1_700_000_000_000), 1_700_000_000_000), (9, uuid.UUID(int=7).bytes, uuid.UUID(int=7).bytes)]
    for i, (kind, raw, _) in enumerate(values):
        name = f"h{i}".encode()
        block += bytes([len(name)]) + name + bytes([kind]) + raw
    total = 12 + len(block) + 2 + 4
    prelude = struct.pack(">II", total, len(block))
    prelude += struct.pack(">I", zlib.crc32(prelude))
    msg = prelude + block + b"{}"
    (decoded,) = EventStreamDecoder().feed(msg + struct.pack(">I", zlib.crc32(msg)))
    assert decoded.headers == {f"h{i}": v for i, (_, _, v) in enumerate(values)} and decoded.payload == b"{}"


@needs_botocore
def test_fake_frames_decode_with_botocore_too():
    """The fake's hand-made frames are valid for an independent decoder (botocore's), not just ours."""
    from botocore.eventstream import EventStreamBuffer
    buf = EventStreamBuffer()
    buf.add_data(b"".join(FRAMES) + exception_frame("throttlingException", "slow down"))
    ours = EventStreamDecoder().feed(b"".join(FRAMES) + exception_frame("throttlingException", "slow down"))
    theirs = list(buf)
    assert [(m.headers, m.payload) for m in theirs] == [(m.headers, m.payload) for m in ours]
    assert ours[-1].message_type == "exception" and ours[-1].headers[":exception-type"] == "throttlingException"


# ----------------------------------------------------------------------------- model table and body

def test_model_resolution_and_serves(aws_env):
    from app.proxy.providers.bedrock import BedrockProvider

    def p(profile="us", model_map=None, models=None):
        return BedrockProvider(Provider(name="b", type="bedrock", region="us-east-1", keys=[key()], models=models,
                                        inference_profile=profile, model_map=model_map or {}))
    assert p().resolve(MODEL) == US_ID and p().resolve("claude-sonnet-4-5") == US_ID
    assert p(None).resolve("claude-haiku-4-5") == "anthropic.claude-haiku-4-5-20251001-v1:0"
    assert p("global").resolve("claude-opus-4-6") == "global.anthropic.claude-opus-4-6-v1"
    assert p().resolve("claude-opus-4-6[1m]") == "us.anthropic.claude-opus-4-6-v1"
    assert p().serves(MODEL) and not p().serves("claude-unknown-9") and not p().serves("gpt-5")
    assert not p("apac").serves("claude-opus-4-5")  # AWS lists no apac profile for Opus 4.5
    assert p().serves("eu.anthropic.claude-sonnet-4-6") and p().resolve("eu.anthropic.claude-sonnet-4-6") == \
        "eu.anthropic.claude-sonnet-4-6"  # already a Bedrock id: as it is
    arn = "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc123"
    mapped = p(model_map={"gw-main": arn, "claude-sonnet-4-5": "anthropic.claude-sonnet-4-6", "gw-h": "claude-haiku-4-5"})
    assert mapped.resolve("gw-main") == arn and mapped.serves("gw-main")
    assert mapped.resolve("claude-sonnet-4-5") == "anthropic.claude-sonnet-4-6"  # model_map wins over the table
    assert mapped.resolve("gw-h") == "us.anthropic.claude-haiku-4-5-20251001-v1:0"
    assert not p(models=["claude-haiku-*"]).serves(MODEL)
    assert any("inference_profile" in w for w in p(None).warnings) and not p().warnings


def test_shipped_table_loads():
    table = ModelTable.load(ROOT / "config" / "bedrock_models.yaml")
    assert table.lookup("claude-sonnet-4-5").id == "anthropic.claude-sonnet-4-5-20250929-v1:0"
    assert "interleaved-thinking-2025-05-14" in table.betas and "claude-code-20250219" not in table.betas
    assert table.allowed_betas("global.anthropic.claude-opus-4-7") == {"interleaved-thinking-2025-05-14"}


def test_body_conversion_pure():
    body = make_call().body_json
    out = bedrock_body(body, {"Anthropic-Beta": "a, b", "anthropic-beta": "b,c"}, frozenset({"a", "c"}))
    assert out["anthropic_version"] == "bedrock-2023-05-31" and "model" not in out and "stream" not in out
    assert out["anthropic_beta"] == ["a", "c"] and out["messages"] == body["messages"] and body["stream"] is True
    assert bedrock_body(body, {"anthropic-beta": "x"}, frozenset({"*"}))["anthropic_beta"] == ["x"]
    assert "anthropic_beta" not in bedrock_body(body, {}, frozenset({"*"}))
    assert bedrock_body({**body, "metadata": {"user_id": "u", "tags": ["t"]}}, {}, frozenset())["metadata"] == {"user_id": "u"}


def test_render_edge_cases_and_error_names():
    from app.proxy.providers.bedrock import anthropic_error, render
    start = {"type": "message_start", "message": {"id": "m", "type": "message", "role": "assistant", "content": [],
                                                  "usage": {"input_tokens": 1, "output_tokens": 1}}}
    (msg,) = EventStreamDecoder().feed(chunk_frame(start))
    out, ended = render(msg, "claude-x")
    assert not ended and parse_sse(out)[0][1]["message"]["model"] == "claude-x"
    other = encode_frame({":event-type": "initial-response", ":message-type": "event"}, b"{}")
    assert render(EventStreamDecoder().feed(other)[0], "m") == (b"", False)
    junk = encode_frame({":event-type": "chunk", ":message-type": "event"}, b'{"bytes": "not base64!"}')
    out, ended = render(EventStreamDecoder().feed(junk)[0], "m")
    assert ended and parse_sse(out)[0][0] == "error"
    failure = encode_frame({":message-type": "error", ":error-code": "InternalFailure", ":error-message": "boom"}, b"")
    out, ended = render(EventStreamDecoder().feed(failure)[0], "m")
    assert ended and "InternalFailure" in parse_sse(out)[0][1]["error"]["message"]
    status, body = anthropic_error(429, {}, b'{"__type": "com.amazon.coral#ThrottlingException", "message": "slow"}')
    assert status == 429 and json.loads(body)["error"] == {"type": "rate_limit_error",
                                                           "message": "Bedrock ThrottlingException: slow"}
    assert anthropic_error(503, {}, b"<html>down</html>")[0] == 529
    assert anthropic_error(424, {"x-amzn-errortype": "Weird:x"}, b"{}")[0] == 502


# ----------------------------------------------------------------------------- signing

@needs_botocore
async def test_signed_request_accepted_without_session_token(fake, provider_for):
    p = await provider_for(fake.url)
    reply = await p.messages(make_call(stream=False))
    assert reply.status == 200, reply.body
    rec = fake.requests[-1]
    assert rec.outcome == "ok" and rec.model_id == US_ID and rec.operation == "invoke"
    assert rec.headers["Authorization"].startswith(f"AWS4-HMAC-SHA256 Credential={AK}/")
    assert "/us-east-1/bedrock/aws4_request" in rec.headers["Authorization"]
    assert "X-Amz-Security-Token" not in rec.headers


@needs_botocore
async def test_signed_request_accepted_with_session_token(provider_for):
    async with FakeBedrock(access_key_id=AK, secret=SK, session_token=TOKEN) as f:
        p = await provider_for(f.url, keys=[key(token=True)])
        assert (await p.messages(make_call(stream=False))).status == 200
        assert f.requests[-1].headers["X-Amz-Security-Token"] == TOKEN
        assert "x-amz-security-token" in f.requests[-1].headers["Authorization"]
        p2 = await provider_for(f.url, keys=[key()])  # the token is required here
        reply = await p2.messages(make_call(stream=False))
        assert reply.status == 403 and f.requests[-1].outcome == "UnrecognizedClientException"


@needs_botocore
async def test_wrong_secret_is_permission_error(fake, provider_for):
    p = await provider_for(fake.url, keys=[key(secret="BF_TEST_AWS_SK_WRONG")])
    reply = await p.messages(make_call())
    assert reply.status == 403 and not reply.is_stream
    error = json.loads(reply.body)["error"]
    assert error["type"] == "permission_error" and "InvalidSignatureException" in error["message"]
    assert fake.requests[-1].outcome == "InvalidSignatureException"


@needs_botocore
async def test_url_encoding_of_ids_and_arns(fake, provider_for):
    arn = "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc123"
    p = await provider_for(fake.url, model_map={"gw-main": arn})
    assert (await p.messages(make_call(stream=False))).status == 200
    assert fake.requests[-1].raw_path == "/model/us.anthropic.claude-sonnet-4-5-20250929-v1%3A0/invoke"
    assert (await p.messages(make_call("gw-main"))).status == 200
    rec = fake.requests[-1]
    assert rec.raw_path == ("/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A123456789012%3Aapplication-inference-profile"
                            "%2Fabc123/invoke-with-response-stream") and rec.model_id == arn and rec.outcome == "ok"


# ----------------------------------------------------------------------------- body and replies

@needs_botocore
async def test_body_sent_upstream_and_no_client_headers(provider_for):
    accepted = {"interleaved-thinking-2025-05-14", "context-1m-2025-08-07", "context-management-2025-06-27",
                "effort-2025-11-24"}
    async with FakeBedrock(access_key_id=AK, secret=SK, accepted_betas=accepted) as f:
        p = await provider_for(f.url)
        call = make_call()
        assert (await p.messages(call)).status == 200
        sent = f.requests[-1].json
        assert sent["anthropic_beta"] == ["context-1m-2025-08-07", "interleaved-thinking-2025-05-14",
                                          "context-management-2025-06-27", "effort-2025-11-24"]
        assert {k: v for k, v in sent.items() if k not in ("anthropic_version", "anthropic_beta")} == \
            {k: v for k, v in call.body_json.items() if k not in ("model", "stream")}
        names = {n.lower() for n in f.requests[-1].headers}
        assert not names & {"anthropic-beta", "anthropic-version", "x-api-key", "x-stainless-lang", "x-app",
                            "x-claude-code-session-id"}
        assert f.requests[-1].headers["Authorization"].startswith("AWS4-HMAC-SHA256 ")


@needs_botocore
async def test_non_streaming_reply(provider_for):
    async with FakeBedrock(access_key_id=AK, secret=SK, message=default_message(model=None)) as f:
        p = await provider_for(f.url)
        reply = await p.messages(make_call(stream=False))
        assert reply.status == 200 and reply.provider_key == "k1" and reply.headers["request-id"] == "req-fake-1"
        assert json.loads(reply.body) == {**default_message(model=None), "model": MODEL}


@needs_botocore
async def test_stream_becomes_the_same_anthropic_events(fake, provider_for):
    p = await provider_for(fake.url)
    reply = await p.messages(make_call())
    assert reply.status == 200 and reply.headers["content-type"].startswith("text/event-stream")
    events = parse_sse(await drain(reply))
    assert [e for _, e in events] == default_events()
    usage = StreamUsage()
    for name, data in events:
        usage.on_event(name, data)
    assert usage.usage == Usage(input_tokens=12, output_tokens=42, cache_read_tokens=4000,
                                cache_write_5m_tokens=100, cache_write_1h_tokens=200)
    assert usage.seen_message_stop and usage.stop_reason == "tool_use" and usage.model == MODEL
    partial = "".join(d["delta"]["partial_json"] for _, d in events
                      if d["type"] == "content_block_delta" and d["delta"]["type"] == "input_json_delta")
    assert json.loads(partial) == {"command": "echo hi", "description": "say hi"}


@needs_botocore
@pytest.mark.parametrize("behaviour,status,etype", [
    ("throttle", 429, "rate_limit_error"), ("quota", 429, "rate_limit_error"),
    ("unavailable", 529, "overloaded_error"), ("not_ready", 529, "overloaded_error"),
    ("validation", 400, "invalid_request_error"), ("not_found", 404, "not_found_error"),
    ("internal", 500, "api_error")])
async def test_http_errors_become_anthropic_errors(fake, provider_for, behaviour, status, etype):
    p = await provider_for(fake.url)
    fake.script = [behaviour]
    reply = await p.messages(make_call())
    assert reply.status == status and not reply.is_stream, reply.body
    assert json.loads(reply.body)["error"]["type"] == etype


@needs_botocore
async def test_throttled_key_rotates_to_the_next(fake, provider_for):
    p = await provider_for(fake.url, keys=[key("first", weight=1000), key("second")])
    fake.script = ["throttle"]
    call = make_call()
    call.prefer_key = "first"
    reply = await p.messages(call)
    assert reply.status == 200 and reply.provider_key == "second"
    assert [a["status"] for a in reply.attempts] == [429]
    await drain(reply)


@needs_botocore
@pytest.mark.parametrize("exception,etype", [("modelStreamErrorException", "api_error"),
                                             ("throttlingException", "rate_limit_error"),
                                             ("serviceUnavailableException", "overloaded_error")])
async def test_mid_stream_exception_becomes_error_event(provider_for, exception, etype):
    async with FakeBedrock(access_key_id=AK, secret=SK, stream_exception=(exception, "it broke")) as f:
        p = await provider_for(f.url)
        f.script = ["mid_stream_error"]
        events = parse_sse(await drain(await p.messages(make_call())))
        assert [e for _, e in events[:-1]] == default_events()[:4]
        assert events[-1][1]["error"]["type"] == etype and exception in events[-1][1]["error"]["message"]


@needs_botocore
@pytest.mark.parametrize("behaviour,words", [("bad_crc", "CRC"), ("truncate", "middle of a frame")])
async def test_broken_framing_ends_with_error_and_no_garbage(fake, provider_for, behaviour, words):
    p = await provider_for(fake.url)
    fake.script = [behaviour]
    events = parse_sse(await drain(await p.messages(make_call())))  # parse_sse rejects any stray bytes
    good = 4 if behaviour == "bad_crc" else len(default_events()) - 1
    assert [e for _, e in events[:-1]] == default_events()[:good]
    assert events[-1][0] == "error" and words in events[-1][1]["error"]["message"]


@needs_botocore
async def test_close_aborts_the_upstream_stream(fake, provider_for):
    fake.pace_s = 0.02
    p = await provider_for(fake.url)
    reply = await p.messages(make_call())
    first = await reply.chunks.__anext__()
    assert first.startswith(b"event: message_start")
    reply.close()
    for _ in range(100):
        if fake.requests[-1].aborted:
            break
        await asyncio.sleep(0.02)
    assert fake.requests[-1].aborted


@needs_botocore
async def test_count_tokens_uses_the_foundation_model(fake, provider_for):
    p = await provider_for(fake.url)
    body = {"model": MODEL, "messages": [{"role": "user", "content": "hi"}], "tools": [BASH],
            "thinking": {"type": "enabled", "budget_tokens": 2000}}
    raw = json.dumps(body).encode()
    call = UpstreamCall("/v1/messages/count_tokens", "beta=true", raw, MessagesBody.of_document(body, raw), MODEL, False,
                        dict(CLIENT_HEADERS))
    reply = await p.count_tokens(call)
    assert reply.status == 200 and json.loads(reply.body) == {"input_tokens": 321}
    rec = fake.requests[-1]
    assert rec.raw_path == "/model/anthropic.claude-sonnet-4-5-20250929-v1%3A0/count-tokens"
    inner = json.loads(base64.b64decode(rec.json["input"]["invokeModel"]["body"]))
    assert inner["max_tokens"] == 2001 and inner["anthropic_version"] == "bedrock-2023-05-31" and "model" not in inner
    fake.script = ["validation"]
    assert await p.count_tokens(call) is None
    before = len(fake.requests)
    assert await p.count_tokens(call) is None and len(fake.requests) == before  # not asked again


# ----------------------------------------------------------------------------- botocore is optional

async def test_without_botocore_start_fails_with_the_install_hint(aws_env, monkeypatch):
    from app.proxy.providers import bedrock
    monkeypatch.setattr(bedrock, "_import_signer", lambda: None)
    p = bedrock.BedrockProvider(Provider(name="bed", type="bedrock", region="us-east-1", keys=[key()]))
    with pytest.raises(RuntimeError, match=r"pip install 'bifrost-tui\[bedrock\]'"):
        await p.start()


def test_gateway_imports_without_botocore():
    code = ("import sys; sys.modules['botocore'] = None\n"
            "import app.proxy.server, app.proxy.providers.bedrock, app.proxy.eventstream\n"
            "assert app.proxy.providers.bedrock._import_signer() is None\nprint('ok')")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr


# ----------------------------------------------------------------------------- through the whole gateway

@needs_botocore
async def test_through_the_gateway(fake, aws_env, tmp_path, monkeypatch):
    from app.proxy import gateway as gateway_module
    from app.proxy.providers.bedrock import BedrockProvider
    from app.proxy.server import GatewayServer
    original = gateway_module.build_provider
    monkeypatch.setattr(gateway_module, "build_provider",
                        lambda spec: BedrockProvider(spec) if spec.type == "bedrock" else original(spec))
    vk = "vk-bedrock-test-0123456789abcdef0123456789"
    monkeypatch.setenv("BF_TEST_VK", vk)
    text = (f"storage: {{sqlite: {str(tmp_path / 'b.db')!r}}}\n"
            "providers:\n"
            f"  - {{name: bedrock, type: bedrock, region: us-east-1, base_url: '{fake.url}', inference_profile: us,\n"
            "      keys: [{name: main, access_key_id: env:BF_TEST_AWS_AK, secret: env:BF_TEST_AWS_SK}]}\n"
            "virtual_keys:\n  - {name: dev, key: env:BF_TEST_VK}\n")
    server = GatewayServer(config_from_text(text, "test.yaml", base_dir=tmp_path), port=0)
    await server.start()
    try:
        async with aiohttp.ClientSession() as s:
            body = make_call().body_json
            async with s.post(f"{server.url}/v1/messages?beta=true", json=body,
                              headers={"x-api-key": vk, **CLIENT_HEADERS}) as r:
                assert r.status == 200, await r.text()
                events = parse_sse(await r.read())
            assert [e for _, e in events] == default_events()
            async with s.post(f"{server.url}/v1/messages", json={**body, "stream": False},
                              headers={"x-api-key": vk}) as r:
                assert r.status == 200 and (await r.json())["content"][0]["text"] == "hi from fake bedrock"
            fake.script = ["throttle"] * 3
            async with s.post(f"{server.url}/v1/messages", json={**body, "stream": False},
                              headers={"x-api-key": vk}) as r:
                assert r.status == 429 and (await r.json())["error"]["type"] == "rate_limit_error"
        assert all(rec.headers.get("x-api-key") is None for rec in fake.requests)
        assert all(vk not in json.dumps(rec.headers) for rec in fake.requests)
    finally:
        await server.stop()
