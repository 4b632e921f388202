"""Cheap, deterministic prompt-token estimates (about 4 characters a token), in one pass over a body.

Used for budget reservations and the local count_tokens fallback, and by the simulated provider,
which also fingerprints the cacheable prefix while it scans.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass

import orjson

MESSAGE_OVERHEAD_TOKENS = 4  # role markers and separators, per message
BILLING_PREFIX = "x-anthropic-billing-header:"  # Claude Code's per-request system block


# What each byte of orjson's UTF-8 output adds to the length of json.dumps' ASCII-escaped text: the lead
# byte of a 2-byte UTF-8 sequence (\uXXXX, 6 chars for 2 bytes) +4, of a 3-byte one (6 for 3) +3, of a
# 4-byte one (a surrogate pair, 12 for 4) +8, and DEL (escaped by json, not by orjson) +5.
_ESCAPE_CLASS = bytes(5 if b == 0x7F else 4 if 0xC0 <= b < 0xE0 else 3 if 0xE0 <= b < 0xF0 else
                      8 if 0xF0 <= b < 0xF8 else 0 for b in range(256))


def json_chars(value: object) -> int:
    """len(json.dumps(value, separators=(",", ":"))), computed from orjson's far cheaper output.

    Identical for strings, ints, bools, null and nesting; a float in exponent form may differ by a character
    or two (orjson writes 1e-7 and 1e22, json 1e-07 and 1e+22), and NaN/Infinity are null in orjson."""
    try:
        data = orjson.dumps(value)
    except TypeError:  # integers beyond 64 bits, non-string keys: the stdlib's own answer
        return len(json.dumps(value, separators=(",", ":")))
    if data.isascii() and b"\x7f" not in data:
        return len(data)
    classes = data.translate(_ESCAPE_CLASS)
    return len(data) + 4 * classes.count(4) + 3 * classes.count(3) + 8 * classes.count(8) + 5 * classes.count(5)


@dataclass
class PromptScan:
    chars: int = 0
    messages: int = 0
    breakpoints: list[tuple[int, bytes, str]] = dataclasses.field(default_factory=list)  # tokens, digest, ttl

    @property
    def tokens(self) -> int:
        return (self.chars + 3) // 4 + MESSAGE_OVERHEAD_TOKENS * self.messages


def scan_prompt(body: dict, *, fingerprint: bool) -> PromptScan:
    """One pass over tools, system, then messages (Anthropic's cache order).

    Counts characters; with ``fingerprint``, also hashes the text as it goes and records the token count
    and digest of the prefix ending at each block carrying ``cache_control``. Without it, only
    count_chars runs (no text is built).
    """
    if not fingerprint:
        return PromptScan(*count_chars(body))
    scan = PromptScan()
    hasher = hashlib.blake2b(str(body.get("model")).encode(), digest_size=16)

    def add(text: str, block: object, *, hashed: bool = True) -> None:
        scan.chars += len(text)
        if hashed:
            hasher.update(text.encode("utf-8", "surrogatepass") + b"\x1f")
        cache_control = block.get("cache_control") if isinstance(block, dict) else None
        if isinstance(cache_control, dict):
            scan.breakpoints.append((scan.tokens, hasher.digest(), str(cache_control.get("ttl", "5m"))))

    for tool in body.get("tools") or ():
        if isinstance(tool, dict):
            schema = tool.get("input_schema")
            schema_text = json.dumps(schema, separators=(",", ":")) if schema is not None else ""
            add(f"{tool.get('name', '')}{tool.get('description', '')}{schema_text}", tool)
    system = body.get("system")
    if isinstance(system, str):
        add(system, None)
    elif isinstance(system, list):
        for block in system:
            text = block_text(block)
            # The billing block changes on every Claude Code request; keep it out of the fingerprint.
            add(text, block, hashed=not text.startswith(BILLING_PREFIX))
    for message in body.get("messages") or ():
        if not isinstance(message, dict):
            continue
        scan.messages += 1
        hasher.update(f"\x00{message.get('role')}\x00".encode())
        content = message.get("content")
        if isinstance(content, str):
            add(content, None)
        elif isinstance(content, list):
            for block in content:
                add(block_text(block), block)
    return scan


def block_text(block: object) -> str:
    """The text a content block contributes: text, tool_use input JSON, tool_result content."""
    if isinstance(block, str):
        return block
    if not isinstance(block, dict):
        return ""
    kind = block.get("type")
    if kind == "tool_use":
        return f"{block.get('name', '')}{json.dumps(block.get('input'), separators=(',', ':'))}"
    if kind == "tool_result":
        content = block.get("content")
        if isinstance(content, list):
            return "".join(block_text(part) for part in content)
        return content if isinstance(content, str) else ""
    text = block.get("text", block.get("thinking", ""))
    return text if isinstance(text, str) else ""


def count_chars(body: dict) -> tuple[int, int]:
    """(characters, messages) as scan_prompt counts them, without building or hashing any text: the
    request path's estimate. Tool schemas and tool_use inputs are measured through json_chars."""
    chars = messages = 0
    for tool in body.get("tools") or ():
        if isinstance(tool, dict):
            schema = tool.get("input_schema")
            chars += len(f"{tool.get('name', '')}{tool.get('description', '')}")
            if schema is not None:
                chars += json_chars(schema)
    chars += content_chars(body.get("system"))
    for message in body.get("messages") or ():
        if isinstance(message, dict):
            messages += 1
            chars += content_chars(message.get("content"))
    return chars, messages


def content_chars(content: object) -> int:
    """Characters of a system prompt or message content: a string, or a list of blocks."""
    if isinstance(content, str):
        return len(content)
    if isinstance(content, list):
        return sum(block_chars(block) for block in content)
    return 0


def block_chars(block: object) -> int:
    """len(block_text(block)), without building the text."""
    if isinstance(block, str):
        return len(block)
    if not isinstance(block, dict):
        return 0
    kind = block.get("type")
    if kind == "tool_use":
        return len(f"{block.get('name', '')}") + json_chars(block.get("input"))
    if kind == "tool_result":
        content = block.get("content")
        if isinstance(content, list):
            return sum(block_chars(part) for part in content)
        return len(content) if isinstance(content, str) else 0
    text = block.get("text", block.get("thinking", ""))
    return len(text) if isinstance(text, str) else 0


def estimate_tokens(body: dict) -> int:
    """Cheap deterministic input-token estimate (~4 chars/token + per-message overhead)."""
    return PromptScan(*count_chars(body)).tokens


# An Anthropic text delta with empty text, as an SSE block: what every streamed delta costs besides its text.
DELTA_ENVELOPE_BYTES = len(b'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,'
                           b'"delta":{"type":"text_delta","text":""}}')


def streamed_output_tokens(deltas: int, size: int) -> int:
    """Output tokens of `deltas` content_block_delta events of `size` bytes in all (~4 characters a token,
    at least one a delta): for a stream cut before its final usage arrived."""
    return max(deltas, (size - deltas * DELTA_ENVELOPE_BYTES) // 4)
