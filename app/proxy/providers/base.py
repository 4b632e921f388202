"""What every upstream provider client offers the request pipeline, and key rotation shared by all.

A provider has one or more keys. `messages()` tries them: a 429 opens that key's circuit for its
retry-after and rotates to another key; a 401/403 marks the key bad and rotates; a 5xx/529 or a
connect failure is the provider's failure and goes back to the pipeline, which fails over.
"""
from __future__ import annotations

import math
import random
import time
from dataclasses import dataclass, field
from typing import Any, AsyncIterator, Callable

import aiohttp

from ...core.breaker import BreakerBoard
from ...core.config import Provider
from ...core.glob_memo import GlobMemo
from ...core.messages_body import MessagesBody

# Models each provider type serves when the config gives no `models:` globs.
DEFAULT_MODELS = {
    "anthropic": ("claude-*",),
    "bedrock": ("claude-*",),
    "openai": ("gpt-*", "o1*", "o3*", "o4*", "chatgpt-*"),
    "mock": ("*",),
}


@dataclass(slots=True)
class UpstreamCall:
    path: str  # "/v1/messages" or "/v1/messages/count_tokens"
    query: str  # the client's query string, passed through (Claude Code sends beta=true)
    body: bytes  # sent untouched unless routing rewrote the model
    source: MessagesBody  # the request as the gateway read it; a translating provider reads `body_json`
    model: str
    stream: bool
    headers: dict[str, str]  # client headers that may pass through (auth and hop-by-hop removed)
    prefer_key: str | None = None  # session stickiness: try this provider key first

    @property
    def body_json(self) -> dict:
        """The request's JSON document (parsed on first use when the gateway only read its facts)."""
        return self.source.json


@dataclass(slots=True)
class UpstreamReply:
    status: int
    headers: dict[str, str]  # to relay to the client
    body: bytes | None = None
    chunks: AsyncIterator[bytes] | None = None  # a stream, relayed chunk by chunk
    close: Callable[[], None] = field(default=lambda: None)  # release or abort the upstream response
    provider_key: str | None = None
    attempts: list[dict] = field(default_factory=list)  # keys tried before this reply (rotations)

    @property
    def is_stream(self) -> bool:
        return self.chunks is not None


class UpstreamUnavailable(Exception):
    """Could not get a response: connect error, timeout, no usable key. `status` is what the client should see."""

    def __init__(self, status: int, message: str, provider_key: str | None = None, retry_after: int | None = None):
        super().__init__(message)
        self.status = status
        self.provider_key = provider_key
        self.retry_after = retry_after
        self.attempts: list[dict] = []


@dataclass(slots=True)
class KeyHandle:
    name: str
    weight: int
    material: Any  # the secret (or secrets) the subclass signs with; never logged


def retry_after_of(headers: dict[str, str]) -> float | None:
    value = headers.get("retry-after")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


class ProviderClient:
    simulated = False
    translated = False  # True when the upstream speaks another API format

    def __init__(self, spec: Provider):
        self.spec = spec
        self.name = spec.name
        self.patterns = tuple(spec.models) if spec.models is not None else DEFAULT_MODELS.get(spec.type, ())
        self._serves = GlobMemo()
        self.warnings: list[str] = []
        self.keys: list[KeyHandle] = []
        self.board = BreakerBoard()  # replaced by the gateway's shared board

    @property
    def available(self) -> bool:
        return bool(self.keys)

    def serves(self, model: str) -> bool:
        return self._serves.matches(self.patterns, model)

    def upstream_model(self, model: str) -> str:
        return self.spec.model_map.get(model, model)

    async def start(self) -> None:
        pass

    async def close(self) -> None:
        pass

    def breaker(self, key: KeyHandle):
        return self.board.get(self.name, key.name, self.spec.breaker_failures, self.spec.breaker_cooldown_s)

    def healthy(self) -> bool:
        """At least one key is not open/bad right now (does not consume a half-open probe)."""
        now = time.monotonic()
        for key in self.keys:
            b = self.breaker(key)
            if b.state == "closed" or (b.state in ("open", "half-open") and now >= b.open_until):
                return True
        return False

    def key_order(self, prefer: str | None) -> list[KeyHandle]:
        """The preferred key first, then a weighted random order of the rest."""
        if len(self.keys) == 1:
            return self.keys
        rest = list(self.keys)
        order = []
        if prefer:
            order = [k for k in rest if k.name == prefer]
            rest = [k for k in rest if k.name != prefer]
        while rest:
            pick = random.choices(rest, weights=[k.weight for k in rest])[0]
            order.append(pick)
            rest.remove(pick)
        return order

    async def send(self, call: UpstreamCall, key: KeyHandle) -> UpstreamReply:
        raise NotImplementedError

    async def messages(self, call: UpstreamCall) -> UpstreamReply:
        attempts: list[dict] = []
        last: UpstreamReply | None = None
        for key in self.key_order(call.prefer_key):
            breaker = self.breaker(key)
            if not self.board.allow(breaker, time.monotonic()):
                continue
            started = time.perf_counter()
            try:
                reply = await self.send(call, key)
            except UpstreamUnavailable as exc:
                self.board.failure(breaker, time.monotonic(), str(exc))
                exc.attempts = attempts
                raise
            except BaseException:  # cancelled (client gone, shutdown): never leave a half-open probe wedged
                breaker.probing = False
                raise
            reply.provider_key = key.name
            note = {"provider": self.name, "key": key.name, "model": call.model, "status": reply.status,
                    "latency_ms": round((time.perf_counter() - started) * 1000, 1)}
            if reply.status in (401, 403) or reply.status == 429:
                bad = reply.status != 429
                self.board.failure(breaker, time.monotonic(), f"HTTP {reply.status}",
                                   retry_after=None if bad else (retry_after_of(reply.headers) or 1.0), bad=bad)
                attempts.append({**note, "error": "key rejected" if bad else "rate limited; rotated key"})
                if last is not None:
                    last.close()
                last = reply
                continue
            if reply.status >= 500:
                self.board.failure(breaker, time.monotonic(), f"HTTP {reply.status}")
            elif not reply.is_stream:  # a stream proves itself only when content arrives (report_success)
                self.board.success(breaker)
            reply.attempts = attempts
            return reply
        if last is not None:
            attempts.pop()  # the last rejection is the reply itself
            last.attempts = attempts
            return last
        now = time.monotonic()
        waits = [b.open_until - now for k in self.keys if (b := self.breaker(k)).state == "open"]
        exc = UpstreamUnavailable(429 if waits else 503,
                                  f"provider {self.name}: every key is cooling down or marked bad",
                                  retry_after=math.ceil(min(waits)) if waits else None)
        exc.attempts = attempts
        raise exc

    def report_success(self, key_name: str | None) -> None:
        key = next((k for k in self.keys if k.name == key_name), None)
        if key is not None:
            self.board.success(self.breaker(key))

    def report_failure(self, key_name: str | None, reason: str) -> None:
        """A failure the pipeline saw after `messages()` returned (e.g. a stream that errored before content)."""
        key = next((k for k in self.keys if k.name == key_name), None)
        if key is not None:
            self.board.failure(self.breaker(key), time.monotonic(), reason)

    async def count_tokens(self, call: UpstreamCall) -> UpstreamReply | None:
        """None when this provider cannot count; the gateway then estimates locally."""
        return None


class HttpProviderClient(ProviderClient):
    """A provider that talks HTTP: one pooled session, connect and read timeouts from the config."""

    def __init__(self, spec: Provider):
        super().__init__(spec)
        self.session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        connector = aiohttp.TCPConnector(limit=0, limit_per_host=0, keepalive_timeout=60, ttl_dns_cache=300)
        timeout = aiohttp.ClientTimeout(total=None, connect=self.spec.connect_timeout_s, sock_read=self.spec.timeout_s)
        # no cookie jar: a cookie one developer's request got from the provider (or a CDN in front of it)
        # would go upstream with every other developer's requests
        self.session = aiohttp.ClientSession(connector=connector, timeout=timeout, auto_decompress=True,
                                             skip_auto_headers=("User-Agent",), cookie_jar=aiohttp.DummyCookieJar())

    async def close(self) -> None:
        if self.session:
            await self.session.close()
