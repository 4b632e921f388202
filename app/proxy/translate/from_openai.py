"""OpenAI Chat Completions clients (the openai SDK, Cursor, Aider) served by the gateway's Anthropic-format
pipeline: their request becomes an Anthropic Messages request, and the Anthropic answer (JSON or SSE)
becomes a chat.completion or chat.completion.chunk stream. Pure: no I/O.

`reasoning_effort` becomes Anthropic extended thinking (reasoning_effort.py); the answer's thinking text
comes back as `reasoning_content` (DeepSeek's name), in the message and in stream deltas; redacted thinking
and signatures are not passed on. Dropped with no equivalent: response_format (Anthropic's structured outputs
need a beta), logprobs, logit_bias, seed, penalties, OpenAI `metadata`/`store`. `n` > 1 is refused.
"""
from __future__ import annotations

import json
import re
import time
import uuid

from ...core.usage import StreamUsage, Usage
from ..sse import SSEScanner
from .reasoning_effort import EFFORTS, with_thinking

DEFAULT_MAX_TOKENS = 4096  # Anthropic requires max_tokens; OpenAI clients often leave it out
FINISH_REASONS = {"end_turn": "stop", "stop_sequence": "stop", "pause_turn": "stop", "tool_use": "tool_calls",
                  "max_tokens": "length", "model_context_window_exceeded": "length", "refusal": "content_filter"}
_DATA_URL = re.compile(r"^data:([^;,]+);base64,(.*)$", re.DOTALL)


class TranslationError(ValueError):
    """The OpenAI request cannot be expressed for Anthropic; the route answers 400 in OpenAI's shape."""

    def __init__(self, message: str, param: str | None = None):
        super().__init__(message)
        self.message, self.param = message, param


def openai_error_body(status: int, message: str, type_: str, code: str | None = None, param=None) -> bytes:
    """OpenAI's error shape. `status` is the HTTP status the body goes with (not part of the body)."""
    return json.dumps({"error": {"message": message, "type": type_, "param": param, "code": code}},
                      ensure_ascii=False).encode()


OPENAI_ERROR_TYPES = {"authentication_error": "invalid_request_error", "permission_error": "invalid_request_error",
                      "not_found_error": "invalid_request_error", "request_too_large": "invalid_request_error",
                      "billing_error": "insufficient_quota", "rate_limit_error": "rate_limit_exceeded",
                      "api_error": "server_error", "overloaded_error": "server_error", "timeout_error": "server_error"}


def anthropic_error_to_openai(status: int, body: bytes) -> bytes:
    """An Anthropic error body (upstream's or the gateway's own) in OpenAI's shape, for the same status."""
    try:
        error = json.loads(body).get("error")
    except (ValueError, AttributeError):
        error = None
    error = error if isinstance(error, dict) else {"message": (body or b"").decode("utf-8", "replace")[:500]}
    kind = str(error.get("type") or "api_error")
    return openai_error_body(status, str(error.get("message") or f"HTTP {status}"),
                             OPENAI_ERROR_TYPES.get(kind, "invalid_request_error"), code=kind)


# -- request ---------------------------------------------------------------------------------------
def _output_limit(body: dict) -> int | None:
    """max_completion_tokens (or the older max_tokens): a whole number of at least 1, as OpenAI requires
    (a client asking for 0 must not get thousands); None when absent or null (the gateway's default then)."""
    for name in ("max_completion_tokens", "max_tokens"):
        limit = body.get(name)
        if limit is None:
            continue
        if type(limit) is not int or limit < 1:
            raise TranslationError(f"must be an integer of at least 1; got {json.dumps(limit)}", name)
        return limit
    return None


def openai_request_to_anthropic(body: dict) -> dict:
    if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
        raise TranslationError("messages must be a list of messages", "messages")
    if (body.get("n") or 1) != 1:
        raise TranslationError("n > 1 is not supported by this gateway: request one choice at a time", "n")
    if body.get("functions") or body.get("function_call"):
        raise TranslationError("the deprecated functions/function_call are not supported; use tools", "functions")
    system, messages = _messages(body["messages"])
    out: dict = {"model": body.get("model"), "messages": messages}
    if system:
        out["system"] = system
    limit = _output_limit(body)
    out["max_tokens"] = limit or DEFAULT_MAX_TOKENS
    if body.get("temperature") is not None:
        if type(body["temperature"]) not in (int, float):
            raise TranslationError("temperature must be a number", "temperature")
        out["temperature"] = float(body["temperature"])  # OpenAI allows 0-2; clamped for Anthropic upstreams
    if body.get("top_p") is not None:
        out["top_p"] = body["top_p"]
    stop = body.get("stop")
    if stop is not None and not isinstance(stop, str) and not (
            isinstance(stop, list) and all(isinstance(s, str) for s in stop)):
        raise TranslationError("stop must be a string or a list of strings", "stop")
    options = body.get("stream_options")
    if options is not None and not isinstance(options, dict):
        raise TranslationError("stream_options must be an object", "stream_options")
    stops = [stop] if isinstance(stop, str) else list(stop or ())
    if [s for s in stops if s.strip()]:
        out["stop_sequences"] = [s for s in stops if s.strip()]
    if body.get("stream"):
        out["stream"] = True
    tools = [_tool(t, i) for i, t in enumerate(body.get("tools") or ())]
    if tools:
        out["tools"] = tools
    choice = _tool_choice(body.get("tool_choice"))
    if body.get("parallel_tool_calls") is False and tools:
        choice = {**(choice or {"type": "auto"}), "disable_parallel_tool_use": True}
    if choice and tools:
        out["tool_choice"] = choice
    user = body.get("user") or body.get("safety_identifier")
    if isinstance(user, str) and re.fullmatch(r"[A-Za-z0-9_-]{1,256}", user):  # Anthropic refuses emails etc.
        out["metadata"] = {"user_id": user}
    effort = body.get("reasoning_effort")
    if effort is not None:
        if effort not in EFFORTS:
            raise TranslationError(f"must be one of {', '.join(EFFORTS)}; got {json.dumps(effort)}", "reasoning_effort")
        with_thinking(out, effort, limit=limit, default_limit=DEFAULT_MAX_TOKENS)
    return out


def _messages(source: list) -> tuple[str, list[dict]]:
    system: list[str] = []
    out: list[dict] = []
    for i, message in enumerate(source):
        if not isinstance(message, dict):
            raise TranslationError(f"messages[{i}] must be an object", f"messages[{i}]")
        role = message.get("role")
        if role in ("system", "developer"):  # Anthropic has one system prompt: every one goes there
            system.append(_plain_text(message.get("content"), i))
            continue
        if role == "user":
            blocks = _user_blocks(message.get("content"), i)
        elif role == "assistant":
            blocks = _assistant_blocks(message, i)
        elif role == "tool":
            blocks = [{"type": "tool_result", "tool_use_id": str(message.get("tool_call_id") or ""),
                       "content": _plain_text(message.get("content"), i)}]
            role = "user"
        else:
            raise TranslationError(f"messages[{i}].role {role!r} is not supported", f"messages[{i}].role")
        if not blocks:
            continue
        if out and out[-1]["role"] == role:  # tool results and the user's next words form one turn
            out[-1]["content"] += blocks
        else:
            out.append({"role": role, "content": blocks})
    return "\n\n".join(s for s in system if s), out


def _plain_text(content, i: int) -> str:
    if content is None or isinstance(content, str):
        return content or ""
    if isinstance(content, list):
        return "\n".join(str(p.get("text") or "") for p in content if isinstance(p, dict) and p.get("type") == "text")
    raise TranslationError(f"messages[{i}].content must be a string or a list of parts", f"messages[{i}].content")


def _user_blocks(content, i: int) -> list[dict]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []
    if not isinstance(content, list):
        raise TranslationError(f"messages[{i}].content must be a string or a list of parts", f"messages[{i}].content")
    blocks = []
    for j, part in enumerate(content):
        kind = part.get("type") if isinstance(part, dict) else None
        if kind == "text":
            if part.get("text"):
                blocks.append({"type": "text", "text": str(part["text"])})
        elif kind == "image_url":
            image = part.get("image_url")
            url = image.get("url") if isinstance(image, dict) else image
            blocks.append(_image(str(url or ""), f"messages[{i}].content[{j}]"))
        else:
            raise TranslationError(f"content part type {kind!r} is not supported", f"messages[{i}].content[{j}]")
    return blocks


def _image(url: str, param: str) -> dict:
    found = _DATA_URL.match(url)
    if found:
        return {"type": "image", "source": {"type": "base64", "media_type": found.group(1), "data": found.group(2)}}
    if url.startswith(("http://", "https://")):
        return {"type": "image", "source": {"type": "url", "url": url}}
    raise TranslationError("image_url must be an http(s) URL or a base64 data URL", param)


def _assistant_blocks(message: dict, i: int) -> list[dict]:
    text = _plain_text(message.get("content"), i)
    blocks = [{"type": "text", "text": text}] if text else []
    for j, call in enumerate(message.get("tool_calls") or ()):
        function = call.get("function") if isinstance(call, dict) else None
        if not isinstance(function, dict) or not function.get("name"):
            raise TranslationError("a tool call needs function.name", f"messages[{i}].tool_calls[{j}]")
        raw = function.get("arguments") or "{}"
        try:
            arguments = json.loads(raw) if isinstance(raw, str) else raw
        except ValueError:
            arguments = None
        blocks.append({"type": "tool_use", "id": str(call.get("id") or f"call_{i}_{j}"), "name": function["name"],
                       "input": arguments if isinstance(arguments, dict) else {"_raw": raw}})
    return blocks


def _tool(tool, i: int) -> dict:
    function = tool.get("function") if isinstance(tool, dict) and tool.get("type", "function") == "function" else None
    if not isinstance(function, dict) or not function.get("name"):
        raise TranslationError("only tools of type function with a name are supported", f"tools[{i}]")
    out = {"name": function["name"], "input_schema": function.get("parameters") or {"type": "object", "properties": {}}}
    if function.get("description"):
        out["description"] = function["description"]
    return out


def _tool_choice(choice) -> dict | None:
    if choice in ("auto", "required", "none"):
        return {"type": {"auto": "auto", "required": "any", "none": "none"}[choice]}
    if isinstance(choice, dict) and isinstance(choice.get("function"), dict) and choice["function"].get("name"):
        return {"type": "tool", "name": choice["function"]["name"]}
    if choice is not None:
        raise TranslationError("tool_choice must be auto, required, none or a function", "tool_choice")
    return None


# -- response --------------------------------------------------------------------------------------
def _openai_usage(usage: Usage) -> dict:
    prompt = usage.total_input_tokens
    return {"prompt_tokens": prompt, "completion_tokens": usage.output_tokens,
            "total_tokens": prompt + usage.output_tokens,
            "prompt_tokens_details": {"cached_tokens": usage.cache_read_tokens}}


def _completion_id(message_id) -> str:
    return "chatcmpl-" + (str(message_id).removeprefix("msg_") if message_id else uuid.uuid4().hex[:24])


def anthropic_to_openai_response(message: dict, model: str) -> dict:
    texts, calls, thoughts = [], [], []
    for block in message.get("content") or ():
        if block.get("type") == "thinking" and block.get("thinking"):
            thoughts.append(block["thinking"])
        elif block.get("type") == "text":
            texts.append(block.get("text") or "")
        elif block.get("type") == "tool_use":
            calls.append({"id": block.get("id"), "type": "function", "function": {
                "name": block.get("name"), "arguments": json.dumps(block.get("input") or {}, ensure_ascii=False)}})
    reply: dict = {"role": "assistant", "content": "".join(texts) if texts or not calls else None, "refusal": None}
    if calls:
        reply["tool_calls"] = calls
    if thoughts:
        reply["reasoning_content"] = "\n\n".join(thoughts)
    return {"id": _completion_id(message.get("id")), "object": "chat.completion", "created": int(time.time()),
            "model": model, "choices": [{"index": 0, "message": reply, "logprobs": None,
                                         "finish_reason": FINISH_REASONS.get(message.get("stop_reason"), "stop")}],
            "usage": _openai_usage(Usage.from_anthropic(message.get("usage")))}


class AnthropicToOpenAIStream:
    """feed(Anthropic SSE bytes) -> OpenAI `data: {chunk}` bytes; finish() when the upstream ends."""

    def __init__(self, model: str, *, include_usage: bool = False):
        self.model, self.include_usage = model, include_usage
        self.id, self.created = _completion_id(None), int(time.time())
        self.usage = StreamUsage()
        self._scanner = SSEScanner()
        self._tools: dict[int, int] = {}  # Anthropic block index -> OpenAI tool_calls index
        self._thinking: int | None = None  # the index of the last thinking block seen
        self._done = False

    def _chunk(self, delta: dict | None, finish: str | None = None) -> bytes:
        data: dict = {"id": self.id, "object": "chat.completion.chunk", "created": self.created, "model": self.model,
                      "choices": [] if delta is None else [{"index": 0, "delta": delta, "logprobs": None,
                                                            "finish_reason": finish}]}
        if self.include_usage:
            data["usage"] = _openai_usage(self.usage.usage) if delta is None else None
        return b"data: " + json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode() + b"\n\n"

    def feed(self, chunk: bytes) -> bytes:
        out = b""
        for event, raw in self._scanner.feed(chunk):
            if self._done:
                break
            try:
                data = json.loads(raw)
            except ValueError:
                continue
            self.usage.on_event(event, data)
            out += self._event(event, data if isinstance(data, dict) else {})
        return out

    def _event(self, event: str, data: dict) -> bytes:
        block = data.get("content_block") if isinstance(data.get("content_block"), dict) else {}
        delta = data.get("delta") if isinstance(data.get("delta"), dict) else {}
        if event == "message_start":
            self.id = _completion_id((data.get("message") or {}).get("id"))
            return self._chunk({"role": "assistant", "content": ""})
        if event == "content_block_start" and block.get("type") == "tool_use":
            self._tools[data.get("index")] = len(self._tools)
            call = {"index": self._tools[data.get("index")], "id": block.get("id"), "type": "function",
                    "function": {"name": block.get("name"), "arguments": ""}}
            return self._chunk({"tool_calls": [call]})
        if event == "content_block_start" and block.get("type") == "text" and block.get("text"):
            return self._chunk({"content": block["text"]})
        if event == "content_block_delta" and delta.get("type") == "thinking_delta" and delta.get("thinking"):
            text = delta["thinking"]
            if self._thinking not in (None, data.get("index")):  # the next thinking block: as in the JSON answer
                text = "\n\n" + text
            self._thinking = data.get("index")
            return self._chunk({"reasoning_content": text})
        if event == "content_block_delta" and delta.get("type") == "text_delta":
            return self._chunk({"content": delta.get("text", "")})
        if event == "content_block_delta" and delta.get("type") == "input_json_delta" \
                and data.get("index") in self._tools:
            call = {"index": self._tools[data["index"]], "function": {"arguments": delta.get("partial_json", "")}}
            return self._chunk({"tool_calls": [call]})
        if event == "message_stop":
            return self.finish()
        if event == "error":
            self._done = True
            error = data.get("error") if isinstance(data.get("error"), dict) else {}
            body = openai_error_body(500, str(error.get("message") or "upstream stream error"),
                                     str(error.get("type") or "api_error"))
            return b"data: " + body + b"\n\n" + b"data: [DONE]\n\n"
        return b""  # ping, signatures, redacted thinking, content_block_stop, message_delta (read by self.usage)

    def finish(self) -> bytes:
        if self._done:
            return b""
        self._done = True
        out = self._chunk({}, FINISH_REASONS.get(self.usage.stop_reason or "end_turn", "stop"))
        if self.include_usage:
            out += self._chunk(None)
        return out + b"data: [DONE]\n\n"
