"""The Anthropic request path: authenticate, pick a provider, forward, relay, price, log."""
from __future__ import annotations

import asyncio
import json
import logging
import time

import aiohttp
from aiohttp import web

from ..core.directory import KeyEntry
from ..core.governance import Admission, Refused
from ..core.records import RequestRecord, new_request_id
from ..core.usage import StreamUsage, Usage
from .auth import presented_keys
from .errors import anthropic_error, sse_error_event
from .gateway import Gateway
from .providers.base import UpstreamCall, UpstreamReply, UpstreamUnavailable
from .sse import SSEScanner

log = logging.getLogger("bifrost.proxy")

GATEWAY = web.AppKey("gateway", Gateway)
# Client headers never sent upstream: credentials (the virtual key), hop-by-hop, and what aiohttp sets itself.
DROP_HEADERS = frozenset((
    "host", "content-length", "connection", "keep-alive", "proxy-authorization", "proxy-authenticate",
    "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade", "x-api-key", "authorization",
    "x-bf-vk", "accept-encoding", "cookie", "content-type",
))
USAGE_EVENTS = frozenset((b"message_start", b"message_delta", b"message_stop", b"error"))
CONTENT_CAP = 1_000_000  # bytes of prompt/response kept when logging.store_content is on


def forward_headers(request: web.Request) -> dict[str, str]:
    return {k: v for k, v in request.headers.items() if k.lower() not in DROP_HEADERS}


class Refusal(Exception):
    """A request answered by the gateway itself with an error (auth, bad body, no provider, governance)."""

    def __init__(self, status: int, message: str, error_type: str | None = None, *,
                 retry_after: int | None = None, should_retry: bool | None = None):
        super().__init__(message)
        self.status, self.message, self.error_type = status, message, error_type
        self.retry_after, self.should_retry = retry_after, should_retry

    @classmethod
    def of(cls, refused: Refused) -> "Refusal":
        return cls(refused.status, refused.message, refused.error_type, retry_after=refused.retry_after,
                   should_retry=refused.should_retry)

    def response(self) -> web.Response:
        return anthropic_error(self.status, self.message, error_type=self.error_type,
                               retry_after=self.retry_after, retry=self.should_retry)


def authenticate(gw: Gateway, request: web.Request) -> KeyEntry:
    candidates = presented_keys(request.headers)
    if not candidates:
        raise Refusal(401, "No virtual key: set ANTHROPIC_API_KEY (or ANTHROPIC_AUTH_TOKEN) to your bifrost-tui "
                           "virtual key.")
    for presented in candidates:
        entry = gw.directory.authenticate(presented)
        if entry is not None:
            return entry
    raise Refusal(401, "Invalid virtual key: this gateway does not know the key you sent "
                       "(check ANTHROPIC_API_KEY / ANTHROPIC_AUTH_TOKEN).")


def parse_body(raw: bytes) -> dict:
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise Refusal(400, "The request body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise Refusal(400, "The request body must be a JSON object.")
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise Refusal(400, "model: a model name (string) is required.")
    return body


def start_record(request: web.Request, path: str) -> RequestRecord:
    headers = request.headers
    return RequestRecord(id=new_request_id(), ts=RequestRecord.now_utc(), path=path,
                         user_agent=headers.get("user-agent"), session_id=headers.get("x-claude-code-session-id"))


def attribute(record: RequestRecord, entry: KeyEntry) -> None:
    record.key_name = entry.name
    record.team = entry.team.name if entry.team else None
    record.customer = entry.customer.name if entry.customer else None


class Served:
    """What the request path holds besides the log row: the budget admission to settle."""

    __slots__ = ("admission",)

    def __init__(self) -> None:
        self.admission: Admission | None = None


async def handle_messages(request: web.Request) -> web.StreamResponse:
    gw = request.app[GATEWAY]
    started = time.perf_counter()
    record = start_record(request, "/v1/messages")
    served = Served()
    gw.metrics.in_flight += 1
    try:
        return await serve_messages(request, gw, record, started, served)
    except Refusal as refusal:
        record.status, record.error_type, record.error_message = refusal.status, refusal.error_type or \
            "gateway_refused", refusal.message
        return refusal.response()
    finally:
        gw.metrics.in_flight -= 1
        record.latency_ms = (time.perf_counter() - started) * 1000
        gw.price(record)
        if served.admission is not None:  # settle exactly once, whatever happened above
            record.charges = gw.governor.settle(served.admission, record.usage, record.cost_micro_usd)
        gw.finish(record)


async def serve_messages(request: web.Request, gw: Gateway, record: RequestRecord, started: float,
                         served: Served):
    entry = authenticate(gw, request)
    attribute(record, entry)
    raw = await request.read()
    body = parse_body(raw)
    model = body["model"]
    record.requested_model = record.served_model = model
    record.stream = bool(body.get("stream"))
    if gw.config.logging.store_content:
        record.prompt = raw[:CONTENT_CAP].decode("utf-8", "replace")
    refused = gw.governor.check_access(entry, model, record.ts)
    if refused:
        raise Refusal.of(refused)
    provider = gw.provider_for(entry, model)
    if provider is None:
        raise Refusal(404, f"No provider of this gateway serves model {model!r}.", "not_found_error")
    record.provider, record.simulated = provider.name, provider.simulated
    admission = gw.governor.admit(entry, provider.name, model, body, now=record.ts)
    if isinstance(admission, Refused):
        raise Refusal.of(admission)
    served.admission = admission
    call = UpstreamCall("/v1/messages", request.query_string, raw, body, model, record.stream,
                        forward_headers(request))
    try:
        reply = await provider.messages(call)
    except UpstreamUnavailable as exc:
        record.provider_key = exc.provider_key
        raise Refusal(exc.status, str(exc), "api_error" if exc.status != 529 else "overloaded_error") from None
    record.provider_key = reply.provider_key
    if reply.is_stream:
        return await relay_stream(request, reply, record, started, gw.config.logging.store_content)
    return relay_body(reply, record)


def relay_body(reply: UpstreamReply, record: RequestRecord) -> web.Response:
    record.status = reply.status
    body = reply.body or b""
    data = None
    if body[:1] == b"{":
        try:
            data = json.loads(body)
        except ValueError:
            data = None
    if reply.status == 200 and isinstance(data, dict):
        record.usage = Usage.from_anthropic(data.get("usage"))
        record.served_model = data.get("model") or record.served_model
        if record.prompt is not None:
            record.response = body[:CONTENT_CAP].decode("utf-8", "replace")
    elif reply.status >= 400:
        error = data.get("error") if isinstance(data, dict) else None
        record.error_type = (error or {}).get("type") or f"http_{reply.status}"
        record.error_message = str((error or {}).get("message") or body[:300].decode("utf-8", "replace"))
    return web.Response(status=reply.status, body=body, headers=reply.headers)


async def relay_stream(request: web.Request, reply: UpstreamReply, record: RequestRecord, started: float,
                       keep_content: bool) -> web.StreamResponse:
    """Relay SSE chunk by chunk, reading usage on the way. Never buffers the stream."""
    record.status = reply.status
    response = web.StreamResponse(status=reply.status, headers=reply.headers)
    scanner = SSEScanner(USAGE_EVENTS)
    usage = StreamUsage()
    kept: list[bytes] | None = [] if keep_content else None
    kept_size = 0
    waiting_first_delta = True
    try:
        await response.prepare(request)
        async for chunk in reply.chunks:
            if waiting_first_delta and b"content_block_delta" in chunk:
                record.ttft_ms = (time.perf_counter() - started) * 1000
                waiting_first_delta = False
            await response.write(chunk)
            if kept is not None and kept_size < CONTENT_CAP:
                kept.append(chunk)
                kept_size += len(chunk)
            for event, data in scanner.feed(chunk):
                try:
                    usage.on_event(event, json.loads(data))
                except ValueError:
                    pass
        if not usage.seen_message_stop and usage.error_type is None:
            record.error_type, record.error_message = "incomplete_stream", "upstream ended the stream early"
    except (ConnectionResetError, aiohttp.ClientConnectionResetError):
        record.status, record.error_type = 499, "client_disconnected"
        record.error_message = "the client closed the connection mid-stream; upstream request cancelled"
    except asyncio.CancelledError:
        record.status, record.error_type = 499, "cancelled"
        record.error_message = "the gateway stopped while streaming"
        raise
    except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
        record.error_type = "upstream_stream_error"
        record.error_message = f"upstream stream failed: {type(exc).__name__}"
        try:
            await response.write(sse_error_event("api_error", "The upstream provider's stream failed; "
                                                              "partial response."))
        except (ConnectionResetError, aiohttp.ClientConnectionResetError):
            pass
    finally:
        reply.close()
        record.usage = usage.usage
        record.served_model = usage.model or record.served_model
        if usage.error_type and not record.error_type:
            record.error_type, record.error_message = usage.error_type, usage.error_message
        if kept is not None:
            record.response = b"".join(kept)[:CONTENT_CAP].decode("utf-8", "replace")
    return response
