"""Anthropic Messages requests (Claude Code's) served by an OpenAI Chat Completions upstream, and the
upstream's answers turned back into Anthropic JSON, SSE and error bodies. Pure: no I/O.

Anthropic-only features are dropped, never sent: thinking (the request's setting and the history's thinking
blocks, Claude's and the gateway's own), context_management, output_config, top_k, cache_control,
defer_loading, server tools (web_search_…) and the tool_choice that names one of them. The upstream's
reasoning comes back as a thinking block ahead of the text and tool calls (gateway_thinking).
"""
from __future__ import annotations

import hashlib
import json
import re
import uuid

from ...core.tokens import BILLING_PREFIX
from ...core.usage import Usage
from .gateway_thinking import reasoning_of, thinking_block
from .openai_stream import (
    OpenAIStreamTranslator,
    anthropic_error_type,
    anthropic_usage,
    parse_arguments,
    safe_id,
    stop_reason,
)

__all__ = [
    "OpenAIStreamTranslator",
    "anthropic_to_openai_request",
    "completion_cap",
    "openai_error_to_anthropic",
    "openai_to_anthropic_response",
]

USER_MAX = 64  # OpenAI's limit for `user`; Claude Code's JSON user_id (~150 chars) is therefore dropped
MAX_STOP = 4  # OpenAI accepts at most 4 stop sequences
MAX_TOOL_DESCRIPTION = 1024  # OpenAI rejects longer function descriptions (string_above_max_length)


# -- request ---------------------------------------------------------------------------------------
def anthropic_to_openai_request(body: dict, model: str, *, max_tokens_field: str = "max_completion_tokens") -> dict:
    """`max_tokens_field`: "max_completion_tokens" (OpenAI, Azure: o-series and gpt-5 reject max_tokens)
    or "max_tokens" (older OpenAI-compatible servers such as Ollama and LM Studio know only that one)."""
    messages: list[dict] = []
    tools = [t for t in map(_tool, body.get("tools") or []) if t]
    system = system_text(body.get("system")) + _long_descriptions(tools)
    if system:
        messages.append({"role": "system", "content": system})
    messages += _messages(body.get("messages") or [])
    out: dict = {"model": model, "messages": messages}
    if body.get("max_tokens") is not None:
        out[max_tokens_field] = body["max_tokens"]
    for name in ("temperature", "top_p"):
        if body.get(name) is not None:
            out[name] = body[name]
    stops = body.get("stop_sequences")
    if isinstance(stops, list) and stops:
        out["stop"] = [s for s in stops if isinstance(s, str)][:MAX_STOP]
    if body.get("stream"):
        out["stream"] = True
        out["stream_options"] = {"include_usage": True}
    if tools:  # OpenAI rejects tool_choice / parallel_tool_calls without tools
        out["tools"] = tools
        choice = _tool_choice(body.get("tool_choice"), {t["function"]["name"] for t in tools})
        if choice is not None:
            out["tool_choice"] = choice
        spec = body.get("tool_choice")
        if isinstance(spec, dict) and spec.get("disable_parallel_tool_use") and choice != "none":
            out["parallel_tool_calls"] = False
    metadata = body.get("metadata")
    user = metadata.get("user_id") if isinstance(metadata, dict) else None
    if isinstance(user, str) and 0 < len(user) <= USER_MAX:
        out["user"] = user
    return out


def _long_descriptions(tools: list[dict]) -> str:
    """Cut descriptions over OpenAI's limit (Claude Code's run to 18,000 characters) and keep their full
    text in the system message instead, so the model loses nothing."""
    details = []
    for tool in tools:
        function = tool["function"]
        text = function.get("description") or ""
        if len(text) > MAX_TOOL_DESCRIPTION:
            note = " … (full description in the system message, under Tool details)"
            function["description"] = text[:MAX_TOOL_DESCRIPTION - len(note)] + note
            details.append(f"## {function['name']}\n{text}")
    return ("\n\n# Tool details\n\n" + "\n\n".join(details)) if details else ""


def system_text(system) -> str:
    """A system prompt (string or text blocks) as one string. Claude Code's billing block changes on every
    request; leaving it out keeps the prompt prefix stable, so OpenAI's automatic prefix caching works."""
    if isinstance(system, str):
        return system
    texts = [b.get("text") for b in system or () if isinstance(b, dict) and b.get("type") == "text"]
    return "\n\n".join(t for t in texts if isinstance(t, str) and t and not t.startswith(BILLING_PREFIX))


def _blocks(content) -> list[dict]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    return [b for b in content or () if isinstance(b, dict)]


def _messages(source: list) -> list[dict]:
    out: list[dict] = []
    held: list[dict] = []  # mid-conversation system text that would split tool calls from their results
    for message in source:
        if not isinstance(message, dict):
            continue
        role = message.get("role")
        if role == "system":
            text = system_text(message.get("content"))
            if text:
                awaiting = bool(out) and bool(out[-1].get("tool_calls"))
                (held if awaiting else out).append({"role": "system", "content": text})
        elif role == "assistant":
            out += held
            held = []
            reply = _assistant(_blocks(message.get("content")))
            if reply:
                out.append(reply)
        else:
            results, rest = _user(_blocks(message.get("content")))
            out += results + held  # tool results right after the assistant's tool_calls
            held = []
            if rest:
                out.append(rest)
    return out + held


def call_id(raw) -> str:
    """An Anthropic tool_use id as an OpenAI tool_call id: [A-Za-z0-9_-], at most 40 characters (OpenAI's
    limit). Deterministic, so a tool_use and its tool_result still match."""
    text = str(raw or "")
    if re.fullmatch(r"[A-Za-z0-9_-]{1,40}", text):
        return text
    return "call_" + hashlib.sha256(text.encode()).hexdigest()[:32]


def _assistant(blocks: list[dict]) -> dict | None:
    texts, calls = [], []
    for block in blocks:  # thinking, redacted_thinking and server tool blocks are Anthropic-only: dropped
        kind = block.get("type")
        if kind == "text" and block.get("text"):
            texts.append(block["text"])
        elif kind == "tool_use":
            arguments = json.dumps(block.get("input") or {}, ensure_ascii=False)
            calls.append({"id": call_id(block.get("id")), "type": "function",
                          "function": {"name": block.get("name") or "", "arguments": arguments}})
    if not texts and not calls:
        return None
    reply: dict = {"role": "assistant", "content": "\n\n".join(texts) if texts else None}
    if calls:
        reply["tool_calls"] = calls
    return reply


def _user(blocks: list[dict]) -> tuple[list[dict], dict | None]:
    """(tool messages, the user message with everything else). Images inside tool results move to the
    user message: OpenAI tool messages carry text only."""
    results, parts = [], []
    for block in blocks:
        kind = block.get("type")
        if kind == "tool_result":
            text, images = _tool_result(block)
            results.append({"role": "tool", "tool_call_id": call_id(block.get("tool_use_id")), "content": text})
            parts += images
        elif kind == "text" and block.get("text"):
            parts.append({"type": "text", "text": block["text"]})
        elif kind in ("image", "document"):
            part = _media(block)
            if part:
                parts.append(part)
    if not parts:
        return results, None
    if all(p["type"] == "text" for p in parts):  # plain string: what every compatible server accepts
        return results, {"role": "user", "content": "\n\n".join(p["text"] for p in parts)}
    return results, {"role": "user", "content": parts}


def _tool_result(block: dict) -> tuple[str, list[dict]]:
    content = block.get("content")
    texts, images = [], []
    for item in _blocks(content) if content is not None else ():
        if item.get("type") == "text" and item.get("text"):
            texts.append(item["text"])
        elif item.get("type") in ("image", "document") and (part := _media(item)):
            images.append(part)
    text = "\n".join(texts)
    if images:
        text += ("\n" if text else "") + f"({len(images)} attachment(s) from this tool result follow in the next message)"
    if block.get("is_error") and not text.lower().startswith("error"):
        text = "Error: " + text
    return text, images


def _media(block: dict) -> dict | None:
    source = block.get("source") if isinstance(block.get("source"), dict) else {}
    kind, media = source.get("type"), source.get("media_type") or ""
    if block.get("type") == "image":
        if kind == "base64":
            return {"type": "image_url", "image_url": {"url": f"data:{media};base64,{source.get('data', '')}"}}
        if kind == "url":
            return {"type": "image_url", "image_url": {"url": source.get("url", "")}}
        return None
    if kind == "text":  # a plain-text document
        return {"type": "text", "text": str(source.get("data") or "")} if source.get("data") else None
    if kind == "base64" and media == "application/pdf":
        return {"type": "file", "file": {"filename": str(block.get("title") or "document.pdf"),
                                         "file_data": f"data:{media};base64,{source.get('data', '')}"}}
    return None


def _tool(tool) -> dict | None:
    """Custom tools only: Anthropic server and client-defined tools (web_search_…, bash_…) have no schema."""
    if not isinstance(tool, dict) or tool.get("type") not in (None, "custom") or not tool.get("name"):
        return None
    schema = tool.get("input_schema")
    schema = {k: v for k, v in schema.items() if k != "$schema"} if isinstance(schema, dict) else {"type": "object"}
    if schema.get("type") == "object" and "properties" not in schema:  # some servers insist on properties
        schema["properties"] = {}
    function = {"name": tool["name"]}
    if tool.get("description"):
        function["description"] = tool["description"]
    function["parameters"] = schema
    return {"type": "function", "function": function}


def _tool_choice(choice, names: set[str]):
    kind = choice.get("type") if isinstance(choice, dict) else None
    if kind in ("auto", "any", "none"):
        return {"auto": "auto", "any": "required", "none": "none"}[kind]
    if kind == "tool" and choice.get("name") in names:  # a dropped (server) tool: let the model choose
        return {"type": "function", "function": {"name": choice["name"]}}
    return None


# -- response --------------------------------------------------------------------------------------
def openai_to_anthropic_response(data: dict, requested_model: str, *, thinking_first: bool = False) -> dict:
    """`thinking_first`: the client asked for thinking; without reasoning from the upstream the message still
    starts with a thinking block (empty, the gateway's signature), as OpenAIStreamTranslator does."""
    choices = data.get("choices") if isinstance(data.get("choices"), list) else []
    choice = choices[0] if choices and isinstance(choices[0], dict) else {}
    message = choice.get("message") if isinstance(choice.get("message"), dict) else {}
    text = message.get("content")
    if isinstance(text, list):
        text = "".join(str(p.get("text") or "") for p in text if isinstance(p, dict))
    text = text or message.get("refusal")
    reasoning = reasoning_of(message)
    content: list[dict] = [thinking_block(reasoning)] if reasoning or thinking_first else []
    if isinstance(text, str) and text:
        content.append({"type": "text", "text": text})
    for call in message.get("tool_calls") or ():
        function = call.get("function") if isinstance(call, dict) else None
        if isinstance(function, dict) and function.get("name"):
            content.append({"type": "tool_use", "id": safe_id(call.get("id")), "name": function["name"],
                            "input": parse_arguments(function.get("arguments"))})
    has_tools = any(b["type"] == "tool_use" for b in content)
    raw_id = str(data.get("id") or uuid.uuid4().hex)
    return {"id": "msg_" + re.sub(r"[^A-Za-z0-9_-]", "_", raw_id), "type": "message", "role": "assistant",
            "model": requested_model, "content": content,
            "stop_reason": stop_reason(choice.get("finish_reason"), has_tools), "stop_sequence": None,
            "usage": anthropic_usage(Usage.from_openai(data.get("usage")))}


# -- errors ----------------------------------------------------------------------------------------
def error_fields(body) -> tuple[str, str | None]:
    """(message, code) from an OpenAI-style error body, or vLLM's, FastAPI's, or plain text."""
    try:
        data = json.loads(body) if isinstance(body, (bytes, str)) else body
    except ValueError:
        data = None
    if not isinstance(data, dict):
        text = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body or "")
        return text.strip()[:500], None
    error = data.get("error", data)
    if isinstance(error, str):
        return error, None
    if not isinstance(error, dict):
        error = data
    message = error.get("message") or data.get("detail") or json.dumps(data)[:500]
    code = error.get("code")
    return str(message), (str(code) if code is not None else None)


def openai_error_to_anthropic(status: int, body: bytes) -> tuple[int, bytes]:
    message, code = error_fields(body)
    message = message or f"upstream answered HTTP {status}"
    kind = anthropic_error_type(status, code)
    if code == "context_length_exceeded" or (status == 400 and "maximum context length" in message):
        kind, message = "invalid_request_error", _too_long(message)
    return status, json.dumps({"type": "error", "error": {"type": kind, "message": message}},
                              ensure_ascii=False).encode()


def _too_long(message: str) -> str:
    """Anthropic's wording, which Claude Code recognises (it then compacts the conversation) — unless the
    prompt fits and only the requested completion budget overflows."""
    limit = re.search(r"maximum context length is (\d+)", message)
    used = re.search(r"(?:resulted in|requested) (\d+) tokens", message)
    prompt = re.search(r"\((\d+) in the messages", message)
    if limit and prompt and int(prompt.group(1)) < int(limit.group(1)):
        return message
    if limit and (prompt or used):
        return f"prompt is too long: {(prompt or used).group(1)} tokens > {limit.group(1)} maximum ({message})"
    return f"prompt is too long: {message}"


def completion_cap(body: bytes) -> int | None:
    """The completion limit a 400 names when the requested max tokens is more than the model allows
    (Claude Code asks 32000-128000; gpt-4o allows 16384), so the caller can retry with it."""
    message, _ = error_fields(body)
    found = re.search(r"supports at most (\d+) completion tokens", message)
    if found:
        return int(found.group(1))
    found = re.search(r"maximum context length is (\d+) tokens.*?\((\d+) in the messages", message, re.DOTALL)
    if found and int(found.group(2)) < int(found.group(1)):
        return int(found.group(1)) - int(found.group(2))
    return None
