"""Cheap, deterministic prompt-token estimates (about 4 characters a token), in one pass over a body.

Used for budget reservations and the local count_tokens fallback, and by the simulated provider,
which also fingerprints the cacheable prefix while it scans.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass

MESSAGE_OVERHEAD_TOKENS = 4  # role markers and separators, per message
BILLING_PREFIX = "x-anthropic-billing-header:"  # Claude Code's per-request system block


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
    and digest of the prefix ending at each block carrying ``cache_control``.
    """
    scan = PromptScan()
    hasher = hashlib.blake2b(str(body.get("model")).encode(), digest_size=16) if fingerprint else None

    def add(text: str, block: object, *, hashed: bool = True) -> None:
        scan.chars += len(text)
        if hasher is None:
            return
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
        if hasher is not None:
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


def estimate_tokens(body: dict) -> int:
    """Cheap deterministic input-token estimate (~4 chars/token + per-message overhead)."""
    return scan_prompt(body, fingerprint=False).tokens
