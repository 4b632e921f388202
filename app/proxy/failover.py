"""Trying the plan's targets in order until one answers: failover on connect errors, timeouts,
429, 500-504, 529 and overloaded streams — never on the client's own 400/404/413.

A stream is committed only once the upstream's first content event has arrived, so a failure
before that fails over invisibly; after it, the relay ends the stream with an `event: error`.
"""
from __future__ import annotations

import asyncio
import json
import logging
import time

import aiohttp
from aiohttp import web

from ..core.directory import KeyEntry
from ..core.governance import Admission, Refused
from ..core.messages_body import MessagesBody
from ..core.ratelimit import Permit
from ..core.records import RequestRecord
from ..core.usage import Usage
from .errors import Refusal
from .gateway import Gateway
from .planner import Step
from .providers.base import UpstreamCall, UpstreamReply, UpstreamUnavailable
from .translate.gateway_thinking import MARK, without_gateway_thinking

log = logging.getLogger("bifrost.failover")

# 401/403 here mean every key of that provider was rejected: another provider may still serve.
RETRYABLE_STATUS = frozenset((401, 403, 408, 429, 500, 502, 503, 504, 529))
CONTENT_MARKERS = (b"content_block", b"message_delta", b"message_stop")
COMMIT_MARKERS = CONTENT_MARKERS + (b"event: error",)
DROP_HEADERS = frozenset((
    "host", "content-length", "connection", "keep-alive", "proxy-authorization", "proxy-authenticate",
    "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade", "x-api-key", "authorization",
    "x-bf-vk", "accept-encoding", "cookie", "content-type",
))


def hop_by_hop(headers) -> frozenset[str]:
    """DROP_HEADERS plus every header the client's `Connection` header names: those are for this hop only
    (RFC 9110 7.6.1) and must not reach the provider."""
    values = headers.getall("connection", None)
    if values is None or values == ["keep-alive"]:  # what nearly every client sends: nothing more to drop
        return DROP_HEADERS
    named = {token.strip().lower() for value in values for token in value.split(",")}
    named -= DROP_HEADERS
    named.discard("")
    return DROP_HEADERS | named if named else DROP_HEADERS


def forward_headers(request: web.Request) -> dict[str, str]:
    """Client headers that may go upstream: never credentials (the virtual key) or hop-by-hop ones.
    A header sent on several lines keeps every value (joined with ", ", as HTTP allows)."""
    out: dict[str, str] = {}
    drop = hop_by_hop(request.headers)
    for name, value in request.headers.items():
        if name.lower() in drop:
            continue
        out[name] = f"{out[name]}, {value}" if name in out else value
    return out


class Served:
    """What the request holds besides its log row: the rate-limit slot and the committed attempt's
    budget reservation. `settle` runs once, in the handler's finally."""

    __slots__ = ("permit", "admission")

    def __init__(self) -> None:
        self.permit: Permit | None = None
        self.admission: Admission | None = None

    def settle(self, gw: Gateway, record: RequestRecord) -> None:
        gw.governor.release_rate(self.permit, record.usage)
        self.permit = None
        if self.admission is not None:
            record.charges = gw.governor.settle(self.admission, record.usage, record.cost_micro_usd)
            self.admission = None


def routed_by(plan: list[Step]) -> str | None:
    """The routing rule that made the plan (its targets come first), also when a fallback ended up serving."""
    return next((step.rule for step in plan if step.rule), None)


def body_for(body: MessagesBody, model: str, anthropic_upstream: bool) -> bytes:
    """The body untouched, unless routing changed the model (then only `model` differs), or a temperature
    above Anthropic's 1.0 (possible from an OpenAI client) goes to an Anthropic-format upstream."""
    temperature = body.temperature
    clamp = anthropic_upstream and isinstance(temperature, (int, float)) and temperature > 1
    if model == body.model and not clamp:
        return body.raw
    changed = {**body.json, "model": model}
    if clamp:
        changed["temperature"] = 1.0
    return json.dumps(changed, ensure_ascii=False, separators=(",", ":")).encode()


def for_anthropic(body: MessagesBody) -> MessagesBody:
    """The body an Anthropic-format upstream (Anthropic, Bedrock, the simulated one) gets: without the thinking
    blocks the gateway made of an OpenAI-compatible upstream's reasoning, whose signature Anthropic would
    refuse. A body without the gateway's signature prefix (a bytes search) is the same object, untouched."""
    if MARK not in body.raw:
        return body
    document = without_gateway_thinking(body.json)
    if document is None:  # the prefix was in some text, not in a thinking block's signature
        return body
    return MessagesBody.of_document(document, json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode())


async def hold_until_content(reply: UpstreamReply, timeout: float) -> bytes:
    """Read the stream's opening (message_start, ping) until its first content event, within `timeout`."""
    held = b""
    iterator = reply.chunks.__aiter__()
    async with asyncio.timeout(timeout):
        while not any(m in held for m in COMMIT_MARKERS):
            try:
                held += await iterator.__anext__()
            except StopAsyncIteration:
                break
    reply.chunks = _prepend(held, iterator)
    return held


async def _prepend(first: bytes, rest):
    if first:
        yield first
    async for chunk in rest:
        yield chunk


def stream_error(held: bytes) -> tuple[str, str] | None:
    """(error type, message) when an `event: error` comes before any content event in the held opening."""
    at = held.find(b"event: error")
    if at < 0:
        return None
    content = [i for i in (held.find(m) for m in CONTENT_MARKERS) if i >= 0]
    if content and min(content) < at:
        return None  # content came first: the stream is committed and the relay passes the error on
    line = held[at:].split(b"\n\n", 1)[0]
    data = line.split(b"data:", 1)[1] if b"data:" in line else b"{}"
    try:
        error = json.loads(data).get("error") or {}
    except ValueError:
        error = {}
    return str(error.get("type") or "api_error"), str(error.get("message") or "upstream stream error")


def client_facing(reply: UpstreamReply, provider: str | None) -> UpstreamReply:
    """The last upstream error as the client should see it: Anthropic-shaped JSON, and never a 401 for a
    provider key the gateway owns (Claude Code would blame the developer's key and retry for minutes)."""
    if reply.status in (401, 403):
        message = (f"The provider {provider} rejected the gateway's own provider key (HTTP {reply.status}). "
                   "Your virtual key is fine: ask the gateway operator to fix the provider key.")
        return UpstreamReply(403, {"content-type": "application/json", "x-should-retry": "false"},
                             body=error_json("permission_error", message), provider_key=reply.provider_key)
    body = reply.body or b""
    if reply.status >= 400 and not body.lstrip().startswith(b"{"):
        text = body[:200].decode("utf-8", "replace").strip() or "no body"
        headers = {"content-type": "application/json"}
        if "retry-after" in reply.headers:
            headers["retry-after"] = reply.headers["retry-after"]
        kind = {429: "rate_limit_error", 529: "overloaded_error"}.get(reply.status, "api_error")
        return UpstreamReply(reply.status, headers, body=error_json(kind, f"Upstream {provider} answered HTTP "
                             f"{reply.status} without a JSON body: {text}"), provider_key=reply.provider_key)
    return reply


def error_json(error_type: str, message: str) -> bytes:
    return json.dumps({"type": "error", "error": {"type": error_type, "message": message}}).encode()


def failed_attempt(provider, reply: UpstreamReply | None, status: int, reason: str) -> UpstreamUnavailable:
    """What an attempt that failed before it committed leaves behind; a reply it already had is reported to
    the provider's breaker and closed."""
    if reply is not None:
        provider.report_failure(reply.provider_key, reason)
        reply.close()
    return UpstreamUnavailable(status, f"provider {provider.name}: {reason}", reply.provider_key if reply else None)


async def forward_with_failover(gw: Gateway, request: web.Request, entry: KeyEntry, plan: list[Step],
                                body: MessagesBody, record: RequestRecord, served: Served) -> UpstreamReply:
    headers = forward_headers(request)
    attempts: list[dict] = []
    last_reply: UpstreamReply | None = None
    last_error: UpstreamUnavailable | Refused | None = None
    for index, step in enumerate(plan):
        provider = step.provider
        admission = gw.governor.reserve(entry, provider.name, step.model, body.input_tokens, body.max_tokens,
                                        record.ts)
        if isinstance(admission, Refused):
            if admission.budget_level not in ("provider", "unpriced"):
                raise Refusal.of(admission)  # the key's own chain is out of budget: no provider can help
            unpriced = admission.budget_level == "unpriced"  # another step's model may have a price
            attempts.append({"provider": provider.name, "model": step.model, "status": admission.status,
                             "error": ("no price: " if unpriced else "provider budget: ") + admission.message})
            last_error = admission
            if index + 1 < len(plan):
                gw.failover(record, provider.name, plan[index + 1].provider.name,
                            f"no price for {step.model}" if unpriced else "provider budget used up")
            continue
        source = body if provider.translated else for_anthropic(body)
        call = UpstreamCall("/v1/messages", request.query_string, body_for(source, step.model, not provider.translated),
                            source, step.model, record.stream, headers, prefer_key=step.prefer_key)
        started = time.perf_counter()
        reason, reply = None, None
        try:
            reply = await provider.messages(call)
            attempts += reply.attempts
            if reply.is_stream:
                held = await hold_until_content(reply, provider.spec.first_byte_timeout_s)
                failed = stream_error(held)
                if failed:
                    reason = f"stream error before first content: {failed[0]}"
                    provider.report_failure(reply.provider_key, reason)
                    reply.close()
                    reply = UpstreamReply(529 if failed[0] == "overloaded_error" else 502,
                                      {"content-type": "application/json"}, body=error_json(*failed),
                                      provider_key=reply.provider_key)
            if reason is None and reply.status in RETRYABLE_STATUS:
                reason = f"HTTP {reply.status}"
        except UpstreamUnavailable as exc:
            attempts += exc.attempts
            reason, reply, last_error = str(exc), None, exc
        except (asyncio.TimeoutError, aiohttp.ClientError) as exc:
            reason = "no first event in time" if isinstance(exc, asyncio.TimeoutError) else type(exc).__name__
            last_error, reply = failed_attempt(provider, reply, 504, reason), None
        except Exception as exc:  # a bug here or in a client library: the next provider may still serve
            log.exception("provider %s: unexpected failure", provider.name)
            reason = f"gateway error: {type(exc).__name__}"
            last_error, reply = failed_attempt(provider, reply, 502, reason), None
        except BaseException:  # cancelled (shutdown): the attempt's reservation is released before it ends
            gw.governor.settle(admission, Usage(), 0)
            if reply is not None:
                reply.close()
            raise
        failed_key = last_error.provider_key if isinstance(last_error, UpstreamUnavailable) else None
        note = {"provider": provider.name, "key": reply.provider_key if reply else failed_key, "model": step.model,
                "status": reply.status if reply else (last_error.status if last_error else 0),
                "latency_ms": round((time.perf_counter() - started) * 1000, 1)}
        if reason is None:  # committed: this attempt serves the client
            if reply.is_stream:
                provider.report_success(reply.provider_key)
            attempts.append(note)
            served.admission = admission
            record.provider, record.provider_key = provider.name, reply.provider_key
            record.served_model, record.simulated = step.model, provider.simulated
            record.rule, record.attempts = routed_by(plan), attempts
            gw.planner.sticky.put(record.session_id, provider.name, reply.provider_key)
            return reply
        gw.governor.settle(admission, Usage(), 0)
        attempts.append({**note, "error": reason})
        if reply is not None:
            last_reply, last_error = reply, None
        if index + 1 < len(plan):
            gw.failover(record, provider.name, plan[index + 1].provider.name, reason)
    record.attempts = attempts
    tried = [a for a in attempts if a.get("provider")]
    if tried:  # the log row names the last provider tried
        record.provider, record.provider_key = tried[-1]["provider"], tried[-1].get("key")
        record.served_model = tried[-1].get("model") or record.served_model
    if last_reply is not None:  # every target failed: the client gets the last upstream error
        return client_facing(last_reply, record.provider)
    if isinstance(last_error, Refused):
        raise Refusal.of(last_error)
    status = last_error.status if last_error else 502
    raise Refusal(status, str(last_error) if last_error else "no provider answered",
                  "overloaded_error" if status == 529 else ("rate_limit_error" if status == 429 else "api_error"),
                  retry_after=getattr(last_error, "retry_after", None))
