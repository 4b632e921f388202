"""Request-path JSON with orjson: the same 400s as the stdlib parser had, and token estimates that match
the stdlib-based count character for character."""
from __future__ import annotations

import json
import random

import pytest

from app.core.tokens import block_text, count_chars, estimate_tokens, json_chars, scan_prompt
from app.proxy.errors import Refusal
from app.proxy.pipeline import parse_body


def refusal_of(raw: bytes) -> Refusal:
    with pytest.raises(Refusal) as caught:
        parse_body(raw)
    return caught.value


@pytest.mark.parametrize("raw", [
    b"", b"{", b"not json", b'{"model": "m"} trailing', b'{"model": "m\x01"}',
    b'{"model": "m", "x": NaN}', b'{"model": "m", "x": Infinity}', b'{"model": "m", "x": -Infinity}',
    b'{"model": "m", "x": 1e400}',  # json.loads made this inf
    b'{"model": "m", "x": "\\ud800"}',  # lone surrogate escape
    '{"model": "m", "x": "\ud800"}'.encode("utf-8", "surrogatepass"),  # raw lone surrogate
    b'{"model": "\xff"}',  # invalid UTF-8
    b"[" * 5000 + b"]" * 5000,  # json.loads raised RecursionError here (a 500)
])
def test_invalid_json_is_a_400(raw):
    refusal = refusal_of(raw)
    assert (refusal.status, refusal.message) == (400, "The request body is not valid JSON.")


@pytest.mark.parametrize("raw", [b"[]", b'"model"', b"1", b"null"])
def test_non_object_is_a_400(raw):
    refusal = refusal_of(raw)
    assert (refusal.status, refusal.message) == (400, "The request body must be a JSON object.")


@pytest.mark.parametrize("raw", [b"{}", b'{"model": ""}', b'{"model": 3}', b'{"model": null}'])
def test_missing_model_is_a_400(raw):
    refusal = refusal_of(raw)
    assert (refusal.status, refusal.message) == (400, "model: a model name (string) is required.")


def test_valid_bodies_parse_like_the_stdlib():
    raw = json.dumps({"model": "claude-sonnet-4-5", "max_tokens": 10, "temperature": 0.7, "n": 2 ** 63,
                      "messages": [{"role": "user", "content": "héllo \U0001f600 \\ \" \n"}]},
                     ensure_ascii=False).encode()
    assert parse_body(raw) == json.loads(raw)
    assert parse_body(b'\xef\xbb\xbf{"model": "m"}') == {"model": "m"}  # json.loads ignored a UTF-8 BOM too
    assert parse_body(b'{"model": "a", "model": "b"}') == {"model": "b"}  # last duplicate wins, as in json


def _random_json(rng: random.Random, depth: int = 0):
    alphabet = [chr(i) for i in range(0x80)] + ["é", "ß", "\u07ff", "\u0800", "中", "\u2028", "\ufeff", "😀",
                                                "\U0010ffff", "\ud800", "\udfff"]
    text = lambda n: "".join(rng.choice(alphabet) for _ in range(rng.randint(0, n)))  # noqa: E731
    k = rng.random()
    if depth > 3 or k < 0.3:
        return text(12)
    if k < 0.4:
        return rng.choice([rng.randint(-2 ** 63, 2 ** 64 - 1), 2 ** 80, -2 ** 70])
    if k < 0.45:
        return rng.choice([True, False, None, 0.5, 1.25, -3.0, 123.456, 0.0])
    if k < 0.7:
        return [_random_json(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    return {text(5): _random_json(rng, depth + 1) for _ in range(rng.randint(0, 4))}


def test_json_chars_is_the_length_of_compact_ascii_json():
    rng = random.Random(7)
    for _ in range(3000):
        value = _random_json(rng)
        assert json_chars(value) == len(json.dumps(value, separators=(",", ":"))), repr(value)
    assert json_chars({1: "non-string key"}) == len(json.dumps({1: "non-string key"}, separators=(",", ":")))


def test_estimate_matches_the_text_building_scan():
    """count_chars (the request path) and the fingerprinting scan (built text) agree, non-ASCII included."""
    schema = {"type": "object", "properties": {"path": {"type": "string", "description": "Chemin d'accès — 文件"}},
              "required": ["path"]}
    body = {"model": "m", "tools": [{"name": "Read", "description": "Lit un fichier ✓", "input_schema": schema},
                                    {"name": "NoSchema"}, "not a tool"],
            "system": [{"type": "text", "text": "x-anthropic-billing-header: cc"}, {"type": "text", "text": "Système"}],
            "messages": [{"role": "user", "content": "Bonjour 😀"},
                         {"role": "assistant", "content": [
                             {"type": "thinking", "thinking": "hmm"},
                             {"type": "tool_use", "id": "t1", "name": "Read", "input": {"path": "/tmp/é", "n": 2 ** 70}}]},
                         {"role": "user", "content": [
                             {"type": "tool_result", "tool_use_id": "t1", "content": [{"type": "text", "text": "ok ñ"}]},
                             {"type": "tool_result", "tool_use_id": "t2", "content": "plain"},
                             {"type": "image", "source": {}}, "bare string"]},
                         "not a message"]}
    fingerprinted = scan_prompt(body, fingerprint=True)
    assert count_chars(body) == (fingerprinted.chars, fingerprinted.messages)
    assert estimate_tokens(body) == fingerprinted.tokens == scan_prompt(body, fingerprint=False).tokens
    tool_use = body["messages"][1]["content"][1]
    assert len(block_text(tool_use)) == len("Read") + json_chars(tool_use["input"])


@pytest.mark.parametrize("model, code", [("m\x1b[2J", "U+001B"), ("m\x07", "U+0007"), ("m\u009b", "U+009B"),
                                         ("m\x7f", "U+007F"), ("m\u202e", "U+202E")])
def test_a_model_name_with_a_control_character_is_a_400(model, code):
    refusal = refusal_of(json.dumps({"model": model}).encode())
    assert (refusal.status, refusal.message) == (400, f"model: the model name contains a control character ({code}).")


@pytest.mark.parametrize("model", ["claude-sonnet-4-5", "anthropic.claude-3-5-haiku-20241022-v1:0", "qwen2.5 7b",
                                   "modèle-ü", "gpt-4o\u00a0mini"])
def test_printable_model_names_pass(model):
    assert parse_body(json.dumps({"model": model}).encode())["model"] == model
