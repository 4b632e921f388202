"""An OpenAI Chat Completions SSE stream rewritten, as it arrives, into the Anthropic SSE sequence Claude Code
accepts: named events (`event:` lines are required), one message_start first, every content block started
before its deltas and stopped before the next one starts, block indexes 0, 1, 2… in order.

The first tool call streams live. Other tool calls, and text arriving after a tool call, are held and sent
(piece by piece, as they arrived) once the live block is closed: OpenAI-compatible servers may interleave
parallel tool calls by index, while an Anthropic block can never be reopened.

Reasoning (`reasoning_content` or `reasoning` in a delta) is a `thinking` block: it comes first, as reasoning
models send it first, streamed as thinking_delta and closed with the gateway's signature_delta
(gateway_thinking). Reasoning after a tool call is held like text, and sent before the held text.
A client that asked for thinking gets a (then empty) thinking block first even without reasoning: it marks
the turn as not Claude's for a later Anthropic-format upstream (gateway_thinking.without_gateway_thinking).
"""
from __future__ import annotations

import json
import re
import uuid

from ...core.usage import Usage
from .gateway_thinking import reasoning_of, signature

STOP_REASONS = {"stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_use", "function_call": "tool_use",
                "content_filter": "refusal"}
ERROR_TYPES = {400: "invalid_request_error", 401: "authentication_error", 402: "billing_error",
               403: "permission_error", 404: "not_found_error", 413: "request_too_large",
               422: "invalid_request_error", 429: "rate_limit_error", 529: "overloaded_error"}


def safe_id(raw, prefix: str = "toolu_") -> str:
    """An id Anthropic would accept too ([A-Za-z0-9_-]): the conversation may fail over to Claude later."""
    text = re.sub(r"[^A-Za-z0-9_-]", "_", str(raw or ""))
    return text or prefix + uuid.uuid4().hex[:24]


def parse_arguments(raw) -> dict:
    """Tool arguments (a JSON string) as the Anthropic `input` object; unparseable text kept under _raw."""
    if isinstance(raw, dict):
        return raw
    if not isinstance(raw, str) or not raw.strip():
        return {}
    try:
        value = json.loads(raw)
    except ValueError:
        return {"_raw": raw}
    return value if isinstance(value, dict) else {"_raw": raw}


def stop_reason(finish_reason, has_tool_use: bool) -> str:
    """Some servers (Ollama, vLLM) end a tool-calling turn with "stop": a tool_use block means tool_use,
    or Claude Code treats the turn as final and never runs the tool."""
    if has_tool_use and finish_reason in (None, "stop", "tool_calls", "function_call"):
        return "tool_use"
    return STOP_REASONS.get(finish_reason or "stop", "end_turn")


def anthropic_usage(usage: Usage) -> dict:
    return {"input_tokens": usage.input_tokens, "output_tokens": usage.output_tokens,
            "cache_creation_input_tokens": 0, "cache_read_input_tokens": usage.cache_read_tokens}


def anthropic_error_type(status: int, code: str | None = None) -> str:
    if code in ("rate_limit_exceeded", "insufficient_quota"):
        return "rate_limit_error"
    return ERROR_TYPES.get(status) or ("api_error" if status >= 500 else "invalid_request_error")


def sse_event(name: str, data: dict) -> bytes:
    return f"event: {name}\ndata: {json.dumps(data, ensure_ascii=False, separators=(',', ':'))}\n\n".encode()


class _Call:
    __slots__ = ("id", "index", "name", "pieces", "sent")

    def __init__(self) -> None:
        self.id: str | None = None
        self.name = ""
        self.pieces: list[str] = []
        self.sent = 0  # pieces already sent as input_json_delta
        self.index: int | None = None  # the Anthropic block index once started


class OpenAIStreamTranslator:
    """feed(bytes) -> Anthropic SSE bytes (maybe b""); finish() at the end of the upstream body.
    After the end, `usage` (Usage) and `stop_reason` describe the message for logging."""

    def __init__(self, model: str, *, input_tokens_estimate: int = 0, message_id: str | None = None,
                 thinking_first: bool = False):
        """`thinking_first`: the client asked for thinking, so the message starts with a thinking block even
        when the upstream sends no reasoning (an empty one, with the gateway's signature; gateway_thinking)."""
        self.model = model
        self.thinking_first = thinking_first
        self.estimate = input_tokens_estimate
        self.message_id = message_id or "msg_" + uuid.uuid4().hex[:24]
        self.usage = Usage()
        self.stop_reason: str | None = None
        self.error: dict | None = None
        self._pending = b""
        self._data: list[bytes] = []
        self._started = self._done = self._saw_done = False
        self._finish: str | None = None
        self._raw_usage: dict | None = None
        self._blocks = 0  # blocks started so far = the next block's index
        self._open: str | None = None  # "thinking", "text" or "tool" while a block is open
        self._thought: list[str] = []  # the open thinking block's text, for its signature
        self._calls: list[_Call] = []
        self._slots: dict[int, _Call] = {}  # OpenAI tool_call index -> call
        self._live: _Call | None = None
        self._late_text: list[str] = []
        self._late_reasoning: list[str] = []
        self._chars = 0

    # -- input -----------------------------------------------------------------------------------------
    def feed(self, chunk: bytes) -> bytes:
        if self._done:
            return b""
        buf = self._pending + chunk
        if b"\r" in buf:
            buf = buf.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        lines = buf.split(b"\n")
        self._pending = lines.pop()
        out = b""
        for line in lines:
            if line.startswith(b"data:"):
                self._data.append(line[5:].strip())
            elif not line.strip() and self._data:
                out += self._dispatch(b"\n".join(self._data))
                self._data = []
            if self._done:
                break
        return out

    def finish(self) -> bytes:
        """The upstream body ended: close the message (or report a stream cut short)."""
        if self._done:
            return b""
        if self._pending.startswith(b"data:"):
            self._data.append(self._pending[5:].strip())
        self._pending = b""
        out = self._dispatch(b"\n".join(self._data)) if self._data else b""
        self._data = []
        if self._done:
            return out
        if not self._saw_done and self._finish is None:
            return out + self._fail({"message": "the upstream stream ended before the model finished"}, 502)
        return out + self._end()

    def _dispatch(self, data: bytes) -> bytes:
        if data == b"[DONE]":
            self._saw_done = True
            return self._end()
        try:
            obj = json.loads(data)
        except ValueError:
            return b""
        if not isinstance(obj, dict):
            return b""
        if obj.get("error"):
            error = obj["error"] if isinstance(obj["error"], dict) else {"message": str(obj["error"])}
            return self._fail(error, error.get("code") if isinstance(error.get("code"), int) else 500)
        out = self._start()
        usage = obj.get("usage") or (obj.get("x_groq") or {}).get("usage")
        if isinstance(usage, dict):
            self._raw_usage = usage
        for choice in obj.get("choices") or ():
            if not isinstance(choice, dict) or choice.get("index", 0) != 0:
                continue
            delta = choice.get("delta") if isinstance(choice.get("delta"), dict) else {}
            reasoning = reasoning_of(delta)
            if reasoning:
                out += self._reasoning(reasoning)
            text = delta.get("content") or delta.get("refusal")
            if isinstance(text, str) and text:
                out += self._text(text)
            for call in delta.get("tool_calls") or ():  # `[]` (vLLM) is no tool call
                if isinstance(call, dict):
                    out += self._tool(call)
            if choice.get("finish_reason"):
                self._finish = choice["finish_reason"]
        return out

    # -- blocks ----------------------------------------------------------------------------------------
    def _start(self) -> bytes:
        if self._started:
            return b""
        self._started = True
        message = {"id": self.message_id, "type": "message", "role": "assistant", "model": self.model,
                   "content": [], "stop_reason": None, "stop_sequence": None,
                   "usage": {"input_tokens": self.estimate, "output_tokens": 1, "cache_creation_input_tokens": 0,
                             "cache_read_input_tokens": 0}}
        return sse_event("message_start", {"type": "message_start", "message": message})

    def _begin(self, kind: str, block: dict) -> bytes:
        out = self._close()
        if self._blocks == 0 and kind != "thinking" and self.thinking_first:
            out += self._begin("thinking", {"type": "thinking", "thinking": "", "signature": ""}) + self._close()
        self._open = kind
        self._blocks += 1
        return out + sse_event("content_block_start", {"type": "content_block_start", "index": self._blocks - 1,
                                                       "content_block": block})

    def _delta(self, delta: dict) -> bytes:
        return sse_event("content_block_delta", {"type": "content_block_delta", "index": self._blocks - 1,
                                                 "delta": delta})

    def _close(self) -> bytes:
        if self._open is None:
            return b""
        out = b""
        if self._open == "thinking":  # Anthropic sends the signature last, just before the stop
            out = self._delta({"type": "signature_delta", "signature": signature("".join(self._thought))})
            self._thought = []
        self._open = None
        return out + sse_event("content_block_stop", {"type": "content_block_stop", "index": self._blocks - 1})

    def _tool_started(self) -> bool:
        return any(c.index is not None for c in self._calls)

    def _reasoning(self, text: str) -> bytes:
        self._chars += len(text)
        if self._tool_started():
            self._late_reasoning.append(text)
            return b""
        out = b"" if self._open == "thinking" else self._begin("thinking", {"type": "thinking", "thinking": "",
                                                                           "signature": ""})
        self._thought.append(text)
        return out + self._delta({"type": "thinking_delta", "thinking": text})

    def _text(self, text: str) -> bytes:
        self._chars += len(text)
        if self._tool_started():
            self._late_text.append(text)
            return b""
        out = b"" if self._open == "text" else self._begin("text", {"type": "text", "text": ""})
        return out + self._delta({"type": "text_delta", "text": text})

    def _tool(self, piece: dict) -> bytes:
        slot, given_id = piece.get("index"), piece.get("id")
        function = piece.get("function") if isinstance(piece.get("function"), dict) else {}
        call = self._slots.get(slot) if isinstance(slot, int) else (self._calls[-1] if self._calls and not given_id
                                                                      else None)
        if call is not None and given_id and call.id and given_id != call.id:
            call = None  # a new call reusing the slot (some servers send every call at index 0)
        if call is None:
            call = _Call()
            self._calls.append(call)
            if isinstance(slot, int):
                self._slots[slot] = call
        if given_id and not call.id:
            call.id = str(given_id)
        if function.get("name") and call.index is None:
            call.name = str(function["name"])
        arguments = function.get("arguments")
        if isinstance(arguments, dict):
            arguments = json.dumps(arguments)
        if isinstance(arguments, str) and arguments:
            call.pieces.append(arguments)
            self._chars += len(arguments)
        if self._live is None and call.name:
            self._live = call
            return self._open_call(call)
        return self._send_pieces(call) if call is self._live else b""

    def _open_call(self, call: _Call) -> bytes:
        out = self._begin("tool", {"type": "tool_use", "id": safe_id(call.id), "name": call.name, "input": {}})
        call.index = self._blocks - 1
        return out + self._send_pieces(call)

    def _send_pieces(self, call: _Call) -> bytes:
        out = b"".join(self._delta({"type": "input_json_delta", "partial_json": p}) for p in call.pieces[call.sent:])
        call.sent = len(call.pieces)
        return out

    # -- the end ---------------------------------------------------------------------------------------
    def _end(self) -> bytes:
        out = self._start()
        for call in self._calls:
            if call.index is None and call.name:
                out += self._open_call(call)
        if self._late_reasoning:
            text = "".join(self._late_reasoning)
            out += self._begin("thinking", {"type": "thinking", "thinking": "", "signature": ""}) + \
                self._delta({"type": "thinking_delta", "thinking": text})
            self._thought = [text]
        if self._late_text:
            out += self._begin("text", {"type": "text", "text": ""}) + \
                self._delta({"type": "text_delta", "text": "".join(self._late_text)})
        out += self._close()
        self._done = True
        self.usage = Usage.from_openai(self._raw_usage) if self._raw_usage else \
            Usage(input_tokens=self.estimate, output_tokens=(self._chars + 3) // 4)
        self.stop_reason = stop_reason(self._finish, any(c.index is not None for c in self._calls))
        return out + sse_event("message_delta", {"type": "message_delta",
                                                 "delta": {"stop_reason": self.stop_reason, "stop_sequence": None},
                                                 "usage": anthropic_usage(self.usage)}) + \
            sse_event("message_stop", {"type": "message_stop"})

    def _fail(self, error: dict, status: int) -> bytes:
        """An error mid-stream ends the stream with Anthropic's `event: error` (the gateway fails over when it
        arrives before any content)."""
        self._done = True
        code = error.get("code") if isinstance(error.get("code"), str) else error.get("type")
        if status == 500 and code in ("rate_limit_exceeded", "insufficient_quota"):
            status = 429
        kind = "overloaded_error" if "overload" in str(error.get("message", "")).lower() else \
            anthropic_error_type(status, code if isinstance(code, str) else None)
        self.error = {"type": kind, "message": str(error.get("message") or "upstream stream error")}
        self.stop_reason = None
        return sse_event("error", {"type": "error", "error": self.error})
