"""A SIMULATED Anthropic Messages API: no model, no network, deterministic replies.

Used in-process by the gateway's ``mock`` provider (demos, zero-config first run) and, wrapped by
:mod:`app.mock.server`, as a real HTTP upstream for tests and benchmarks. Pure: no aiohttp here.

Every reply says it is simulated (``x-bifrost-simulated: true``, ``msg_sim_``/``req_sim_`` ids).
Token counts are cheap estimates (~4 characters per token), not a real tokenizer.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import random
import re
from collections import OrderedDict
from collections.abc import AsyncIterator
from dataclasses import dataclass

from ..core.tokens import estimate_tokens, scan_prompt, block_text

DEFAULT_REPLY = "Hello from the bifrost-tui simulated provider."
_CACHE_ENTRIES = 1024
_DELTA_TOKENS = 4  # tokens per streamed content_block_delta
_tokens = re.compile(r"\s*\S{1,4}|\s+").findall  # a "token": up to 4 visible chars with leading space
_RUN_RE = re.compile(r"\brun\s+([^\n]+)")
_SIMULATED_MODELS = (
    ("claude-opus-4-8", "Claude Opus 4.8 (simulated)"),
    ("claude-sonnet-5", "Claude Sonnet 5 (simulated)"),
    ("claude-haiku-4-5-20251001", "Claude Haiku 4.5 (simulated)"),
)
_INJECTED_ERRORS = (  # (status, error type, message), in the order error_rate_* are drawn
    (429, "rate_limit_error", "This request would exceed your rate limit (simulated)."),
    (500, "api_error", "Internal server error (simulated)"),
    (529, "overloaded_error", "Overloaded (simulated)"),
)


@dataclass
class MockSettings:
    latency_ms: float = 0.0  # delay before the first byte (headers) of a response
    tokens_per_second: float = 0.0  # output pacing while streaming; 0 = as fast as possible
    reply_text: str | None = None  # fixed reply; None -> DEFAULT_REPLY
    error_rate_429: float = 0.0  # probability per request
    error_rate_500: float = 0.0
    error_rate_529: float = 0.0
    retry_after: int | None = 1  # retry-after seconds sent with injected 429/529
    fail_mid_stream_rate: float = 0.0  # stream sends message_start, then an overloaded error event
    seed: int | None = None
    fail_after_deltas: int | None = None  # stream sends this many content deltas, then an overloaded error event

    def __post_init__(self) -> None:
        for name in ("latency_ms", "tokens_per_second"):
            setattr(self, name, _number(name, getattr(self, name), upper=None))
        for name in ("error_rate_429", "error_rate_500", "error_rate_529", "fail_mid_stream_rate"):
            setattr(self, name, _number(name, getattr(self, name), upper=1.0))
        if self.reply_text is not None and not isinstance(self.reply_text, str):
            raise ValueError("reply_text must be a string or null")
        for name in ("retry_after", "seed", "fail_after_deltas"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 0):
                raise ValueError(f"{name} must be a non-negative integer or null")

    @classmethod
    def from_mapping(cls, d: dict) -> MockSettings:
        """Build settings from a plain mapping (config file, HTTP); unknown keys raise ValueError."""
        known = {f.name for f in dataclasses.fields(cls)}
        for key in d:
            if key not in known:
                raise ValueError(f"unknown mock setting {key!r} (known: {', '.join(sorted(known))})")
        return cls(**d)


def _number(name: str, value: object, *, upper: float | None) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{name} must be a number")
    if value < 0 or (upper is not None and value > upper):
        raise ValueError(f"{name} must be between 0 and {upper}" if upper else f"{name} must be >= 0")
    return float(value)


@dataclass
class MockReply:
    status: int
    headers: dict[str, str]
    body: bytes | None = None  # non-streaming replies and errors
    chunks: AsyncIterator[bytes] | None = None  # streaming: one complete SSE event per item


# --------------------------------------------------------------------------- the engine


def _sse(event: str, data: dict) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


class MockEngine:
    """The simulated Messages API. ``settings`` may be replaced at runtime (this reseeds the RNG)."""

    def __init__(self, settings: MockSettings | None = None) -> None:
        self.settings = settings or MockSettings()
        self._cache: OrderedDict[bytes, None] = OrderedDict()

    @property
    def settings(self) -> MockSettings:
        return self._settings

    @settings.setter
    def settings(self, settings: MockSettings) -> None:
        self._settings = settings
        self._rng = random.Random(settings.seed)

    async def messages(self, body: dict) -> MockReply:
        settings = self._settings
        if settings.latency_ms > 0:
            await asyncio.sleep(settings.latency_ms / 1000)
        request_id = f"req_sim_{os.urandom(12).hex()}"
        headers = {"request-id": request_id, "x-bifrost-simulated": "true"}
        problem = _validate(body)
        if problem:
            return self._error(400, "invalid_request_error", problem, headers)
        draw = self._rng.random()
        threshold = 0.0
        for (status, kind, message), rate in zip(
            _INJECTED_ERRORS, (settings.error_rate_429, settings.error_rate_500, settings.error_rate_529)
        ):
            threshold += rate
            if draw < threshold:
                if status != 500 and settings.retry_after is not None:
                    headers["retry-after"] = str(settings.retry_after)
                return self._error(status, kind, message, headers)

        content, stop_reason, output_tokens = _reply_content(body, settings.reply_text or DEFAULT_REPLY)
        usage = self._input_usage(body)
        message = {
            "id": f"msg_sim_{os.urandom(12).hex()}",
            "type": "message",
            "role": "assistant",
            "model": body["model"],
            "content": content,
            "stop_reason": stop_reason,
            "stop_sequence": None,
            "usage": {**usage, "output_tokens": output_tokens},
        }
        if not body.get("stream"):
            headers["content-type"] = "application/json"
            return MockReply(200, headers, body=json.dumps(message).encode())
        headers["content-type"] = "text/event-stream; charset=utf-8"
        headers["cache-control"] = "no-cache"
        fail = settings.fail_mid_stream_rate > 0 and self._rng.random() < settings.fail_mid_stream_rate
        return MockReply(200, headers, chunks=_stream(message, settings.tokens_per_second, fail,
                                                      settings.fail_after_deltas))

    def count_tokens(self, body: dict) -> dict:
        return {"input_tokens": estimate_tokens(body)}

    def models(self) -> dict:
        data = [
            {"type": "model", "id": model_id, "display_name": name,
             "created_at": "2025-01-01T00:00:00Z", "lifecycle": "active"}
            for model_id, name in _SIMULATED_MODELS
        ]
        return {"data": data, "has_more": False, "first_id": data[0]["id"], "last_id": data[-1]["id"]}

    def _error(self, status: int, kind: str, message: str, headers: dict[str, str]) -> MockReply:
        headers["content-type"] = "application/json"
        error = {"type": "error", "error": {"type": kind, "message": message}, "request_id": headers["request-id"]}
        return MockReply(status, headers, body=json.dumps(error).encode())

    def _input_usage(self, body: dict) -> dict:
        """Input usage with simulated prompt caching: the longest already-seen breakpoint prefix is read,
        the rest of the cacheable prefix is written (split by each breakpoint's ttl)."""
        scan = scan_prompt(body, fingerprint=True)
        created = {"5m": 0, "1h": 0}
        read = 0
        for tokens, digest, _ in reversed(scan.breakpoints):
            if digest in self._cache:
                read = tokens
                break
        previous = read
        for tokens, digest, ttl in scan.breakpoints:
            if tokens > previous:
                created["1h" if ttl == "1h" else "5m"] += tokens - previous
                previous = tokens
            self._cache[digest] = None
            self._cache.move_to_end(digest)
        while len(self._cache) > _CACHE_ENTRIES:
            self._cache.popitem(last=False)
        cache_creation = created["5m"] + created["1h"]
        return {
            "input_tokens": scan.tokens - read - cache_creation,
            "cache_creation_input_tokens": cache_creation,
            "cache_read_input_tokens": read,
            "cache_creation": {"ephemeral_5m_input_tokens": created["5m"], "ephemeral_1h_input_tokens": created["1h"]},
        }


def _validate(body: object) -> str | None:
    if not isinstance(body, dict):
        return "request body must be a JSON object"
    if not isinstance(body.get("model"), str) or not body["model"]:
        return "model: Field required (a non-empty string)"
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return "messages: Field required (a non-empty list of messages)"
    max_tokens = body.get("max_tokens")
    if not isinstance(max_tokens, int) or isinstance(max_tokens, bool) or max_tokens < 1:
        return "max_tokens: Field required (an integer >= 1)"
    return None


def _reply_content(body: dict, reply_text: str) -> tuple[list[dict], str, int]:
    """(content blocks, stop_reason, output tokens) for the request."""
    # Claude Code puts a role "system" message mid-conversation: the turn to answer is the last other one.
    turns = [m for m in body["messages"] if not (isinstance(m, dict) and m.get("role") == "system")]
    last = turns[-1] if turns else body["messages"][-1]
    blocks = last.get("content") if isinstance(last, dict) else None
    if isinstance(blocks, str):
        blocks = [{"type": "text", "text": blocks}]
    blocks = [b for b in blocks or () if isinstance(b, dict)]
    is_user = isinstance(last, dict) and last.get("role") == "user"
    results = [b for b in blocks if b.get("type") == "tool_result"] if is_user else []
    if results:
        reply_text = f"tool result received: {block_text(results[-1]).strip()[:200]}"
    elif is_user and body.get("tools"):
        texts = [b["text"] for b in blocks if b.get("type") == "text" and isinstance(b.get("text"), str)]
        match = _RUN_RE.search(texts[-1]) if texts else None
        if match:
            tools = [t for t in body["tools"] if isinstance(t, dict)]
            tool = next((t for t in tools if t.get("name") == "Bash"), tools[0] if tools else {})
            block = {
                "type": "tool_use",
                "id": f"toolu_sim_{os.urandom(12).hex()}",
                "name": tool.get("name", "Bash"),
                "input": {"command": match.group(1).strip(), "description": "simulated"},
            }
            return [block], "tool_use", len(_tokens(json.dumps(block["input"])))
    tokens = _tokens(reply_text)
    stop_reason = "end_turn"
    if len(tokens) > body["max_tokens"]:
        tokens, stop_reason = tokens[: body["max_tokens"]], "max_tokens"
    return [{"type": "text", "text": "".join(tokens)}], stop_reason, len(tokens)


async def _stream(message: dict, tokens_per_second: float, fail: bool,
                  fail_after_deltas: int | None = None) -> AsyncIterator[bytes]:
    """Anthropic's event sequence for ``message``, paced at ``tokens_per_second`` when > 0.

    ``fail``: an overloaded error right after message_start. ``fail_after_deltas``: the error after that
    many content_block_delta events (or fewer, at the end of the first block, when the reply is shorter)."""
    usage = message["usage"]
    start = {**message, "content": [], "stop_reason": None, "usage": {**usage, "output_tokens": 1}}
    error = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded (simulated)"}}
    yield _sse("message_start", {"type": "message_start", "message": start})
    if fail:
        yield _sse("error", error)
        return
    sent = 0
    for index, block in enumerate(message["content"]):
        if block["type"] == "tool_use":
            empty, delta_type, field = {**block, "input": {}}, "input_json_delta", "partial_json"
            tokens = _tokens(json.dumps(block["input"]))
        else:
            empty, delta_type, field = {"type": "text", "text": ""}, "text_delta", "text"
            tokens = _tokens(block["text"])
        yield _sse("content_block_start", {"type": "content_block_start", "index": index, "content_block": empty})
        if index == 0:
            yield _sse("ping", {"type": "ping"})
        for i in range(0, len(tokens), _DELTA_TOKENS):
            if fail_after_deltas is not None and sent >= fail_after_deltas:
                break
            piece = tokens[i : i + _DELTA_TOKENS]
            if tokens_per_second > 0:
                await asyncio.sleep(len(piece) / tokens_per_second)
            delta = {"type": delta_type, field: "".join(piece)}
            yield _sse("content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta})
            sent += 1
        if fail_after_deltas is not None:
            yield _sse("error", error)
            return
        yield _sse("content_block_stop", {"type": "content_block_stop", "index": index})
    final_usage = {k: v for k, v in usage.items() if k != "cache_creation"}
    delta = {"stop_reason": message["stop_reason"], "stop_sequence": None}
    yield _sse("message_delta", {"type": "message_delta", "delta": delta, "usage": final_usage})
    yield _sse("message_stop", {"type": "message_stop"})
