"""What every upstream provider client offers the request pipeline."""
from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from typing import AsyncIterator, Callable

from ...core.config import Provider

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
    body_json: dict
    model: str
    stream: bool
    headers: dict[str, str]  # client headers that may pass through (auth and hop-by-hop removed)


@dataclass(slots=True)
class UpstreamReply:
    status: int
    headers: dict[str, str]  # to relay to the client
    body: bytes | None = None
    chunks: AsyncIterator[bytes] | None = None  # a stream, relayed chunk by chunk
    close: Callable[[], None] = field(default=lambda: None)  # release or abort the upstream response
    provider_key: str | None = None

    @property
    def is_stream(self) -> bool:
        return self.chunks is not None


class UpstreamUnavailable(Exception):
    """Could not get a response: connect error, timeout. `status` is what the client should see."""

    def __init__(self, status: int, message: str, provider_key: str | None = None):
        super().__init__(message)
        self.status = status
        self.provider_key = provider_key


class ProviderClient:
    simulated = False

    def __init__(self, spec: Provider):
        self.spec = spec
        self.name = spec.name
        self.patterns = tuple(spec.models) if spec.models is not None else DEFAULT_MODELS.get(spec.type, ())
        self.warnings: list[str] = []

    @property
    def available(self) -> bool:
        return True

    def serves(self, model: str) -> bool:
        return any(fnmatch.fnmatchcase(model, p) for p in self.patterns)

    async def start(self) -> None:
        pass

    async def close(self) -> None:
        pass

    async def messages(self, call: UpstreamCall) -> UpstreamReply:
        raise NotImplementedError

    async def count_tokens(self, call: UpstreamCall) -> UpstreamReply | None:
        """None when this provider cannot count; the gateway then estimates locally."""
        return None
