"""One request log row: what was asked, what served it, what it cost."""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone

from .usage import Usage


def new_request_id() -> str:
    """Time-ordered id: 12 hex digits of milliseconds, then 10 random hex digits."""
    return f"req_{int(time.time() * 1000):012x}{os.urandom(5).hex()}"


@dataclass(slots=True)
class RequestRecord:
    id: str
    ts: datetime  # UTC, when the request arrived
    path: str
    key_name: str | None = None
    team: str | None = None
    customer: str | None = None
    requested_model: str | None = None
    served_model: str | None = None
    provider: str | None = None
    provider_key: str | None = None
    simulated: bool = False
    stream: bool = False
    status: int = 0
    error_type: str | None = None
    error_message: str | None = None
    usage: Usage = field(default_factory=Usage)
    cost_micro_usd: int | None = None  # None = unknown (model has no price), never silently zero
    priced: bool = True  # False when the served model has no price
    latency_ms: float = 0.0
    ttft_ms: float | None = None
    user_agent: str | None = None
    session_id: str | None = None
    prompt: str | None = None  # only when logging.store_content is on
    response: str | None = None
    rule: str | None = None  # the routing rule that matched ("key:0", "team:1"), None = default route
    attempts: list = field(default_factory=list)  # every provider attempt: provider, key, model, status, latency, error
    requested_cost_micro_usd: int | None = None  # what it would have cost on the requested model (routing savings)
    rate_counted: bool = False  # the rate limiter admitted it (so a restart counts it again)
    charges: list | tuple = field(default_factory=list)  # ledger Charges: persisted with the row in one transaction,
    # then dropped from the record (Gateway.finish)

    @staticmethod
    def now_utc() -> datetime:
        return datetime.now(timezone.utc)


def record_dict(r: RequestRecord) -> dict:
    """A JSON-ready view of a row for the console and the live API (no prompt/response bodies)."""
    u = r.usage
    return {
        "id": r.id, "ts": r.ts.isoformat(), "path": r.path, "key": r.key_name, "team": r.team,
        "customer": r.customer, "requested_model": r.requested_model, "served_model": r.served_model,
        "provider": r.provider, "provider_key": r.provider_key, "simulated": r.simulated, "stream": r.stream,
        "status": r.status, "error_type": r.error_type, "error_message": r.error_message,
        "input_tokens": u.input_tokens, "output_tokens": u.output_tokens, "cache_read_tokens": u.cache_read_tokens,
        "cache_write_5m_tokens": u.cache_write_5m_tokens, "cache_write_1h_tokens": u.cache_write_1h_tokens,
        "cost_micro_usd": r.cost_micro_usd, "priced": r.priced, "requested_cost_micro_usd": r.requested_cost_micro_usd,
        "latency_ms": round(r.latency_ms, 1), "ttft_ms": None if r.ttft_ms is None else round(r.ttft_ms, 1),
        "user_agent": r.user_agent, "session_id": r.session_id, "rule": r.rule, "attempts": r.attempts,
    }
