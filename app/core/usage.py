"""Token usage, normalised across providers, and an accumulator for Anthropic SSE streams.

Pure: no aiohttp, no textual. ``input_tokens`` is always *uncached* input (Anthropic's meaning);
cache reads and cache writes are counted separately and never twice.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

_USAGE_KEYS = ("input_tokens", "output_tokens", "cache_read_input_tokens", "cache_creation_input_tokens")


def _count(value: Any) -> int:
    """A token count from untrusted JSON: null, missing, negative, bool or junk -> 0."""
    if isinstance(value, bool) or value is None:
        return 0
    if isinstance(value, int):
        return max(value, 0)
    if isinstance(value, float):
        return max(int(value), 0) if value == value else 0  # NaN != NaN
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return 0


@dataclass(slots=True)
class Usage:
    input_tokens: int = 0  # uncached input only (Anthropic's input_tokens)
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_5m_tokens: int = 0
    cache_write_1h_tokens: int = 0

    @property
    def cache_write_tokens(self) -> int:
        return self.cache_write_5m_tokens + self.cache_write_1h_tokens

    @property
    def total_input_tokens(self) -> int:
        """Everything the prompt held: uncached input + cache reads + cache writes."""
        return self.input_tokens + self.cache_read_tokens + self.cache_write_tokens

    @classmethod
    def from_anthropic(cls, usage: dict | None) -> Usage:
        """An Anthropic ``usage`` object. The ``cache_creation`` breakdown decides the 5m/1h split;
        ``cache_creation_input_tokens``, when present, is authoritative for the write total
        (an unexplained remainder counts as 5m, the default TTL; an excess is trimmed)."""
        if not isinstance(usage, dict):
            return cls()
        total_raw = usage.get("cache_creation_input_tokens")
        breakdown = usage.get("cache_creation")
        five = one = 0
        has_breakdown = isinstance(breakdown, dict) and any(
            breakdown.get(k) is not None for k in ("ephemeral_5m_input_tokens", "ephemeral_1h_input_tokens"))
        if has_breakdown:
            five = _count(breakdown.get("ephemeral_5m_input_tokens"))
            one = _count(breakdown.get("ephemeral_1h_input_tokens"))
            if total_raw is not None:
                total = _count(total_raw)
                if total > five + one:
                    five += total - (five + one)
                elif total < five + one:
                    excess = five + one - total
                    cut = min(excess, five)
                    five, one = five - cut, one - (excess - cut)
        else:
            five = _count(total_raw)
        return cls(
            input_tokens=_count(usage.get("input_tokens")),
            output_tokens=_count(usage.get("output_tokens")),
            cache_read_tokens=_count(usage.get("cache_read_input_tokens")),
            cache_write_5m_tokens=five,
            cache_write_1h_tokens=one,
        )

    @classmethod
    def from_openai(cls, usage: dict | None) -> Usage:
        """OpenAI Chat Completions usage: ``prompt_tokens`` includes ``prompt_tokens_details.cached_tokens``.
        OpenAI bills no cache writes, so both write counts stay 0."""
        if not isinstance(usage, dict):
            return cls()
        prompt = _count(usage.get("prompt_tokens"))
        details = usage.get("prompt_tokens_details")
        cached = _count(details.get("cached_tokens")) if isinstance(details, dict) else 0
        cached = min(cached, prompt)
        return cls(input_tokens=prompt - cached, output_tokens=_count(usage.get("completion_tokens")),
                   cache_read_tokens=cached)


class StreamUsage:
    """Accumulates usage from Anthropic SSE events while a stream is relayed.

    ``message_start`` carries the input and cache counts (and an initial ``output_tokens``);
    each ``message_delta`` carries *cumulative* counts, so the latest non-null value of a field
    replaces the earlier one (nothing is added up).
    """

    __slots__ = ("_raw", "seen_message_start", "seen_message_stop", "seen_final_output", "stop_reason", "model",
                 "error_type", "error_message")

    def __init__(self) -> None:
        self._raw: dict[str, Any] = {}
        self.seen_message_start = False
        self.seen_message_stop = False
        self.seen_final_output = False  # a message_delta's output count (message_start's is a placeholder)
        self.stop_reason: str | None = None
        self.model: str | None = None
        self.error_type: str | None = None
        self.error_message: str | None = None

    def on_event(self, event: str, data: dict) -> None:
        if not isinstance(data, dict):
            return
        kind = event or data.get("type")
        if kind in ("content_block_delta", "content_block_start", "content_block_stop", "ping"):
            return
        if kind == "message_start":
            message = data.get("message")
            message = message if isinstance(message, dict) else {}
            self.seen_message_start = True
            if isinstance(message.get("model"), str):
                self.model = message["model"]
            self._merge(message.get("usage"))
        elif kind == "message_delta":
            delta = data.get("delta")
            if isinstance(delta, dict) and delta.get("stop_reason") is not None:
                self.stop_reason = str(delta["stop_reason"])
            usage = data.get("usage")
            if isinstance(usage, dict) and usage.get("output_tokens") is not None:
                self.seen_final_output = True
            self._merge(usage)
        elif kind == "message_stop":
            self.seen_message_stop = True
        elif kind == "error":
            error = data.get("error")
            error = error if isinstance(error, dict) else {}
            self.error_type = str(error.get("type") or "error")
            self.error_message = str(error.get("message") or "")

    def _merge(self, usage: Any) -> None:
        """Latest non-null value wins, field by field (including the cache_creation sub-fields)."""
        if not isinstance(usage, dict):
            return
        for key in _USAGE_KEYS:
            if usage.get(key) is not None:
                self._raw[key] = usage[key]
        breakdown = usage.get("cache_creation")
        if isinstance(breakdown, dict):
            merged = dict(self._raw.get("cache_creation") or {})
            merged.update({k: v for k, v in breakdown.items() if v is not None})
            self._raw["cache_creation"] = merged

    def estimate_output(self, tokens: int) -> bool:
        """For a stream cut before its final usage (the client left, the upstream failed mid-way): charge the
        output already relayed (`tokens`, estimated) rather than message_start's placeholder. Whether it did."""
        if self.seen_final_output or not self.seen_message_start:
            return False
        current = self._raw.get("output_tokens")
        current = current if isinstance(current, int) and not isinstance(current, bool) else 0
        if tokens <= current:
            return False
        self._raw["output_tokens"] = tokens
        return True

    @property
    def usage(self) -> Usage:
        return Usage.from_anthropic(self._raw)
