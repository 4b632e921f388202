"""An Anthropic Messages request body as the request path reads it.

Governance and routing need a handful of facts about a body: the model, stream, max_tokens, whether it
has tools, images or thinking, how many messages, and an input-token estimate. A Claude Code body is
~60 KB of prompt and tool schemas that the gateway forwards untouched, so building all of it as Python
objects (orjson: ~60 µs) and walking it for the estimate (~45 µs) was a sixth of the gateway's Python work on
such a request. `MessagesBody.decode` reads only those facts (msgspec, the prompt kept as byte slices:
~30 µs); the whole document is parsed on first use of `.json`, which only a translated provider
(OpenAI, Bedrock), a routed model change or the simulated provider needs, and whether it has images
is looked for only when a routing rule asks.

The estimate is about 4 bytes of JSON a token: the JSON of the tools, the system prompt and every message's
content as the client sent it, plus 4 tokens a message (a body with spaces or \\u-escapes estimates a
little higher than a compact one). The whole body is still read and checked as JSON and UTF-8.
"""
from __future__ import annotations

import json
from typing import Any

import msgspec
import orjson

MESSAGE_OVERHEAD_TOKENS = 4  # role markers and separators, per message
IMAGE_MARK = b'"image"'  # in the body's JSON if any content holds an image block; then checked exactly


class _Message(msgspec.Struct):
    content: msgspec.Raw = msgspec.Raw()


class _Facts(msgspec.Struct):
    """The fields read without building the prompt. Unknown fields are skipped (still checked as JSON)."""
    model: Any = None
    stream: Any = None
    max_tokens: Any = None
    temperature: Any = None
    thinking: Any = None
    system: msgspec.Raw = msgspec.Raw()
    tools: list[msgspec.Raw] | None = None
    messages: list[_Message] | None = None


_DECODER = msgspec.json.Decoder(_Facts)


class NotLight(ValueError):
    """`decode` cannot read this body by its fast path; parse it whole (which also finds what is wrong)."""


class MessagesBody:
    """The facts of one request body, its bytes, and (lazily) its JSON document."""

    __slots__ = ("raw", "model", "stream", "max_tokens", "temperature", "thinking", "tools", "messages",
                 "input_tokens", "_contents", "_images", "_json")

    def __init__(self, raw: bytes, *, model: Any, stream: Any, max_tokens: Any, temperature: Any,
                 thinking: Any, tools: bool, messages: int, input_tokens: int, contents: list | None = None,
                 images: bool | None = None, document: dict | None = None):
        self.raw = raw
        self.model, self.stream, self.max_tokens, self.temperature = model, bool(stream), max_tokens, temperature
        self.thinking = isinstance(thinking, dict) and thinking.get("type") in ("enabled", "adaptive")
        self.tools, self.messages, self.input_tokens = tools, messages, input_tokens
        self._contents = contents  # the messages' contents as JSON slices (decode), for `images`
        self._images = images
        self._json = document

    @classmethod
    def decode(cls, raw: bytes) -> MessagesBody:
        """The fast path for a JSON object whose `tools` and `messages` are arrays of objects (or absent).
        NotLight for anything else: invalid JSON, invalid UTF-8, a BOM, other shapes, deep nesting."""
        if not raw.isascii():
            try:
                raw.decode("utf-8")  # msgspec does not check the UTF-8 of what it skips; orjson does
            except UnicodeDecodeError:
                raise NotLight("invalid UTF-8") from None
        try:
            facts = _DECODER.decode(raw)
        except (msgspec.DecodeError, RecursionError) as exc:
            raise NotLight(str(exc)) from None
        tools = facts.tools or ()
        messages = facts.messages or ()
        chars = sum(len(tool) for tool in tools) + len(facts.system)
        contents = [message.content for message in messages]
        chars += sum(map(len, contents))
        return cls(raw, model=facts.model, stream=facts.stream, max_tokens=facts.max_tokens,
                   temperature=facts.temperature, thinking=facts.thinking, tools=bool(tools),
                   messages=len(messages), input_tokens=tokens_of(chars, len(messages)), contents=contents)

    @classmethod
    def of_document(cls, document: dict, raw: bytes) -> MessagesBody:
        """From a parsed document (the slow path, and OpenAI requests translated to Anthropic's shape)."""
        tools = document.get("tools")
        messages = document.get("messages")
        messages = messages if isinstance(messages, list) else []
        chars = sum(json_size(tool) for tool in tools) if isinstance(tools, list) else json_size(tools)
        chars += json_size(document.get("system"))
        chars += sum(json_size(m.get("content")) for m in messages if isinstance(m, dict))
        images = any(isinstance(m, dict) and blocks_have_image(m.get("content")) for m in messages)
        return cls(raw, model=document.get("model"), stream=document.get("stream"),
                   max_tokens=document.get("max_tokens"), temperature=document.get("temperature"),
                   thinking=document.get("thinking"), tools=bool(tools), messages=len(messages), images=images,
                   input_tokens=tokens_of(chars, len(messages)), document=document)

    @property
    def images(self) -> bool:
        """An image block in any message (routing's `images` condition), found on first use: the search
        costs as much as reading the facts (~30 µs for 60 KB), and few rules ask."""
        if self._images is None:
            self._images = IMAGE_MARK in self.raw and any(  # only then is any content parsed
                blocks_have_image(orjson.loads(bytes(content))) for content in self._contents or () if len(content))
        return self._images

    @property
    def json(self) -> dict:
        """The whole document, parsed on first use. The fast path lets through one thing orjson refuses, a
        number beyond a double's range inside the prompt (the body goes upstream untouched, and the provider
        answers it); the stdlib reads that (as inf), so a decoded body always has a document."""
        if self._json is None:
            try:
                self._json = orjson.loads(self.raw)
            except ValueError:
                self._json = json.loads(self.raw)
        return self._json


def tokens_of(chars: int, messages: int) -> int:
    return (chars + 3) // 4 + MESSAGE_OVERHEAD_TOKENS * messages


def json_size(value: object) -> int:
    """Bytes of `value` as compact UTF-8 JSON (0 for an absent value)."""
    if value is None:
        return 0
    try:
        return len(orjson.dumps(value))
    except TypeError:  # integers beyond 64 bits
        return len(str(value))


def blocks_have_image(blocks) -> bool:
    """An image block among content blocks, or inside a tool_result (how Claude Code sends screenshots)."""
    # module level, not a nested closure: a recursive closure is a reference cycle per call, which only the
    # cyclic collector frees (its pauses stop every thread)
    for b in blocks if isinstance(blocks, list) else ():
        if isinstance(b, dict) and (b.get("type") == "image" or
                                    (b.get("type") == "tool_result" and blocks_have_image(b.get("content")))):
            return True
    return False
