"""A Messages body's facts read without parsing its prompt (the request path) agree with the facts of the
whole parsed document, and every body the fast path cannot read is parsed whole with the same 400s."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import orjson
import pytest

from app.core.messages_body import MessagesBody
from app.proxy.errors import Refusal
from app.proxy.pipeline import read_messages_body

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
import run as bench  # noqa: E402 - the benchmark's Claude Code-shaped body

FACTS = ("model", "stream", "max_tokens", "temperature", "thinking", "tools", "messages", "images", "input_tokens")
IMAGE = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}}
SCHEMA = {"type": "object", "properties": {"path": {"type": "string", "description": "Chemin — 文件"}}}

BODIES = {
    "claude-code": bench.claude_code_body(),
    "plain": {"model": "claude-haiku-4-5", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]},
    "image-in-tool-result": {
        "model": "claude-sonnet-4-5", "max_tokens": 100, "stream": True, "temperature": 0.2,
        "thinking": {"type": "adaptive"}, "tools": [{"name": "Read", "description": "Lit ✓", "input_schema": SCHEMA}],
        "system": [{"type": "text", "text": "Système"}],
        "messages": [{"role": "user", "content": "regarde 😀"},
                     {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "Read", "input": {}}]},
                     {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": [IMAGE]}]}]},
    "the-word-image-only-in-text": {
        "model": "m", "max_tokens": 5, "thinking": {"type": "disabled"}, "tools": [],
        "messages": [{"role": "user", "content": [{"type": "text", "text": 'say "image" and {"type":"image"}'}]}]},
    "no-messages": {"model": "m", "system": "be brief"},
}


def facts(body: MessagesBody) -> tuple:
    return tuple(getattr(body, name) for name in FACTS)


@pytest.mark.parametrize("name", list(BODIES))
def test_facts_read_from_bytes_equal_the_documents(name):
    document = BODIES[name]
    raw = orjson.dumps(document)
    fast = MessagesBody.decode(raw)
    assert fast.raw is raw and fast._json is None and fast._images is None  # the prompt was not parsed
    assert facts(fast) == facts(MessagesBody.of_document(document, raw))
    assert fast._json is None  # not even to find images
    assert fast.json == document and fast.json is fast.json  # until asked for, then once


def test_the_facts_themselves():
    body = MessagesBody.decode(orjson.dumps(BODIES["image-in-tool-result"]))
    assert (body.model, body.stream, body.max_tokens, body.temperature) == ("claude-sonnet-4-5", True, 100, 0.2)
    assert (body.thinking, body.tools, body.messages, body.images) == (True, True, 3, True)
    text_only = MessagesBody.decode(orjson.dumps(BODIES["the-word-image-only-in-text"]))
    assert (text_only.thinking, text_only.tools, text_only.images) == (False, False, False)


def test_the_estimate_is_a_token_per_four_bytes_of_prompt_json_plus_four_a_message():
    tool = {"name": "Bash", "description": "run", "input_schema": {"type": "object"}}
    document = {"model": "m", "max_tokens": 999, "metadata": {"user_id": "x" * 400}, "tools": [tool],
                "system": "sys", "messages": [{"role": "user", "content": "hello"},
                                              {"role": "assistant", "content": [{"type": "text", "text": "yo"}]}]}
    prompt = [orjson.dumps(tool), b'"sys"', b'"hello"', orjson.dumps([{"type": "text", "text": "yo"}])]
    chars = sum(map(len, prompt))
    expected = (chars + 3) // 4 + 4 * 2
    assert MessagesBody.decode(orjson.dumps(document)).input_tokens == expected
    assert MessagesBody.of_document(document, b"").input_tokens == expected
    # the client's own bytes count: spaces and \u escapes (the Python SDK's json.dumps) estimate higher
    spaced = json.dumps({**document, "system": "système"}).encode()
    assert MessagesBody.decode(spaced).input_tokens > MessagesBody.of_document(json.loads(spaced), b"").input_tokens


def test_a_claude_code_body_estimates_within_a_tenth_of_the_text_count():
    """The previous estimate counted the prompt's text characters; JSON bytes add its structure."""
    from app.core.tokens import estimate_tokens
    document = bench.claude_code_body()
    by_text = estimate_tokens(document)
    by_bytes = MessagesBody.decode(orjson.dumps(document)).input_tokens
    assert by_text <= by_bytes <= by_text * 1.1


@pytest.mark.parametrize("raw", [
    b'\xef\xbb\xbf{"model": "m", "messages": []}',  # a BOM
    b'{"model": "m", "messages": "not a list"}',
    b'{"model": "m", "messages": [{"role": "user", "content": "a"}, "not a message"]}',
    b'{"model": "m", "tools": {"not": "a list"}}',
    b'{"model": "m", "x": ' + b"[" * 1010 + b"]" * 1010 + b"}",  # deeper than msgspec reads, within orjson's limit
])
def test_other_shapes_are_parsed_whole(raw):
    body = read_messages_body(raw)
    assert body._json is not None and body.model == "m"
    with pytest.raises(ValueError):
        MessagesBody.decode(raw)


@pytest.mark.parametrize("raw", [
    b"", b"{", b"not json", b'{"model": "m"} trailing', b'{"model": "m\x01"}',
    b'{"model": "m", "x": NaN}', b'{"model": "m", "messages": [{"content": Infinity}]}',
    b'{"model": "m", "x": "\\ud800"}', '{"model": "m", "x": "\ud800"}'.encode("utf-8", "surrogatepass"),
    b'{"model": "\xff"}', b'{"model": "m", "messages": [{"content": "\xff"}]}', b"[" * 5000 + b"]" * 5000,
])
def test_invalid_json_is_the_same_400(raw):
    with pytest.raises(Refusal) as caught:
        read_messages_body(raw)
    assert (caught.value.status, caught.value.message) == (400, "The request body is not valid JSON.")


@pytest.mark.parametrize("raw, message", [
    (b"[]", "The request body must be a JSON object."),
    (b'{"model": 3, "messages": []}', "model: a model name (string) is required."),
    (b'{"messages": []}', "model: a model name (string) is required."),
    (b'{"model": "m\\u001b[2J"}', "model: the model name contains a control character (U+001B)."),
])
def test_shape_errors_are_the_same_400s(raw, message):
    with pytest.raises(Refusal) as caught:
        read_messages_body(raw)
    assert (caught.value.status, caught.value.message) == (400, message)


def test_an_out_of_range_number_in_the_prompt_goes_upstream_and_still_has_a_document():
    """orjson refuses 1e400; the fast path skips the prompt's numbers, so the body goes to the provider as
    sent (which answers it). A translating provider still gets a document (the stdlib reads it as inf)."""
    raw = b'{"model": "m", "messages": [{"role": "user", "content": [{"type": "text", "x": 1e400}]}]}'
    body = read_messages_body(raw)
    assert body.messages == 1 and body.raw is raw
    assert body.json["messages"][0]["content"][0]["x"] == float("inf")
