"""The thinking blocks the gateway makes: an OpenAI-compatible upstream's reasoning text (`reasoning_content`
from DeepSeek and vLLM, `reasoning` from OpenRouter and newer vLLM) shown to an Anthropic client as a
`thinking` block. Pure: no I/O.

Anthropic signs its thinking blocks and refuses a signature it did not make, so these blocks carry a
signature of the gateway's own, recognisable by SIGNATURE_PREFIX, and `without_gateway_thinking` takes
them out of a conversation before it goes to an Anthropic-format upstream (Anthropic, Bedrock). An
OpenAI-compatible upstream gets no thinking blocks at all (to_openai drops every one).
"""
from __future__ import annotations

import hashlib

# Only characters JSON never escapes, so a raw request body holds the prefix byte for byte (MARK).
SIGNATURE_PREFIX = "bifrost-tui.reasoning."
MARK = SIGNATURE_PREFIX.encode()
THINKING_TYPES = ("thinking", "redacted_thinking")


def reasoning_of(message: dict) -> str:
    """The reasoning text of a chat completion `message` or a streamed `delta` ("" when it has none).
    Servers that send both names (vLLM during its rename) send the same text: one is taken."""
    for name in ("reasoning_content", "reasoning"):
        value = message.get(name)
        if isinstance(value, str) and value:
            return value
    return ""


def signature(thinking: str) -> str:
    """The gateway's signature of a thinking text: the prefix and a digest of the text."""
    return SIGNATURE_PREFIX + hashlib.sha256(thinking.encode()).hexdigest()[:32]


def thinking_block(thinking: str) -> dict:
    return {"type": "thinking", "thinking": thinking, "signature": signature(thinking)}


def is_gateway_thinking(block) -> bool:
    return isinstance(block, dict) and block.get("type") == "thinking" and \
        isinstance(block.get("signature"), str) and block["signature"].startswith(SIGNATURE_PREFIX)


def without_gateway_thinking(document: dict) -> dict | None:
    """The request without the gateway's thinking blocks, or None when it has none. An assistant message
    left empty is left out (it held only reasoning; Anthropic joins the user turns around it).

    With thinking enabled, Anthropic requires the last assistant message of a tool loop (the request ends
    with tool results) to start with a thinking block. When the removal leaves it without one, thinking is
    turned off for this request, as Anthropic's error advises, with the context edits that clear thinking."""
    messages = document.get("messages")
    if not isinstance(messages, list):
        return None
    kept: list = []
    removed = False
    for message in messages:
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, list) and message.get("role") == "assistant":
            blocks = [b for b in content if not is_gateway_thinking(b)]
            if len(blocks) != len(content):
                removed = True
                if not blocks:
                    continue
                message = {**message, "content": blocks}
        kept.append(message)
    if not removed:
        return None
    out = {**document, "messages": kept}
    if _thinking_on(out) and _needs_thinking_first(kept):
        _thinking_off(out)
    return out


def _thinking_on(document: dict) -> bool:
    thinking = document.get("thinking")
    return isinstance(thinking, dict) and thinking.get("type") in ("enabled", "adaptive")


def _needs_thinking_first(messages: list) -> bool:
    """The request continues a tool loop and its last assistant message does not start with thinking."""
    last = messages[-1] if messages else None
    content = last.get("content") if isinstance(last, dict) and last.get("role") == "user" else None
    if not isinstance(content, list) or not any(isinstance(b, dict) and b.get("type") == "tool_result"
                                                for b in content):
        return False
    assistant = next((m for m in reversed(messages) if isinstance(m, dict) and m.get("role") == "assistant"), None)
    blocks = assistant.get("content") if assistant else None
    first = blocks[0] if isinstance(blocks, list) and blocks else None
    return not (isinstance(first, dict) and first.get("type") in THINKING_TYPES)


def _thinking_off(document: dict) -> None:
    document.pop("thinking", None)
    management = document.get("context_management")
    edits = management.get("edits") if isinstance(management, dict) else None
    if isinstance(edits, list):
        left = [e for e in edits if not (isinstance(e, dict) and str(e.get("type", "")).startswith("clear_thinking"))]
        if left:
            document["context_management"] = {**management, "edits": left}
        else:
            document.pop("context_management")
