"""The Anthropic request path: authenticate, pick a provider, forward, relay, price, log."""
from __future__ import annotations

import asyncio
import logging
import time
from functools import partial

import orjson
from aiohttp import web

from ..core.directory import KeyEntry
from ..core.governance import Refused
from ..core.messages_body import MessagesBody
from ..core.printable import first_control
from ..core.records import RequestRecord, new_request_id
from ..core.routing import RequestFacts
from .auth import presented_keys
from .errors import Refusal, anthropic_error
from .failover import Served, forward_headers, forward_with_failover  # noqa: F401 (re-export)
from .gateway import Gateway
from .relay import CONTENT_CAP, deliver, relay_body, relay_stream

log = logging.getLogger("bifrost.proxy")

GATEWAY = web.AppKey("gateway", Gateway)


async def read_body(request: web.Request) -> bytes:
    """The request's body. One over the gateway's size limit is the client's own 413 (no retry, no
    failover), answered in its API's shape by the caller's handler, never a 500 that invites a re-upload."""
    try:
        return await request.read()
    except web.HTTPRequestEntityTooLarge:
        limit = request.client_max_size
        raise Refusal(413, f"The request body is larger than this gateway accepts ({limit // (1024 * 1024)} MiB).",
                      "request_too_large") from None


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
                       "(check ANTHROPIC_API_KEY / ANTHROPIC_AUTH_TOKEN, or the api_key your OpenAI client sends).")


UTF8_BOM = b"\xef\xbb\xbf"


def load_json(raw: bytes):
    """A request body's JSON value with orjson: strict RFC 8259 UTF-8 JSON, so NaN/Infinity, lone surrogates,
    invalid UTF-8 and nesting deeper than 1024 raise ValueError (orjson.JSONDecodeError); a leading UTF-8
    BOM is ignored, as json.loads did. Integers beyond 64 bits come back as floats."""
    return orjson.loads(raw[3:] if raw[:3] == UTF8_BOM else raw)


def parse_body(raw: bytes) -> dict:
    try:
        body = load_json(raw)
    except ValueError:
        raise Refusal(400, "The request body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise Refusal(400, "The request body must be a JSON object.")
    check_model_name(body.get("model"))
    return body


def read_messages_body(raw: bytes) -> MessagesBody:
    """A Messages request's facts, read without parsing the prompt when the body has the usual shape; any
    other body is parsed whole, which accepts what is valid and names what is not (the same 400s)."""
    try:
        body = MessagesBody.decode(raw)
    except ValueError:
        return MessagesBody.of_document(parse_body(raw), raw)
    check_model_name(body.model)
    return body


def check_model_name(model) -> None:
    """A model name is a non-empty string without control characters (it is logged and shown on terminals)."""
    if not isinstance(model, str) or not model:
        raise Refusal(400, "model: a model name (string) is required.", param="model")
    control = first_control(model)
    if control is not None:
        raise Refusal(400, f"model: the model name contains a control character ({control}).", param="model")


class LastValueHeaders:
    """The request's headers as routing reads them (`get(lower-case name, default)`), the last line winning
    for a repeated header, without copying every header of every request into a dict."""

    __slots__ = ("headers",)

    def __init__(self, headers) -> None:
        self.headers = headers

    def get(self, name: str, default=None):
        values = self.headers.getall(name, None)
        return values[-1] if values else default


def response_started(request: web.Request) -> bool:
    """Whether any byte of a response to `request` has been written (then an error cannot be a new response)."""
    return getattr(request.writer, "output_size", 0) > 0


def note_refusal(record: RequestRecord, refusal: Refusal) -> None:
    """The row of a request the gateway answered itself with an error."""
    record.status, record.error_type = refusal.status, refusal.error_type or "gateway_refused"
    record.error_message = refusal.message


def note_cancelled(gw: Gateway, request: web.Request, record: RequestRecord) -> None:
    """Why a request's handler was cancelled: the client hung up (aiohttp cancels the handler), or a
    graceful stop ran out of `server.shutdown_timeout_s` while it was still in flight. A note already on
    the row (how its output was estimated) is kept after the reason."""
    started = response_started(request)
    if gw.cutting_off:
        record.status = record.status if started else 503
        record.error_type = "gateway_shutdown"
        reason = (f"cut off: the gateway stopped and this request was still in flight after "
                  f"server.shutdown_timeout_s ({gw.config.server.shutdown_timeout_s:g} s)")
    else:
        record.status, record.error_type = 499, "client_disconnected"
        reason = (f"the client closed the connection {'mid-stream' if started else 'before the answer'}; "
                  "upstream request cancelled")
    record.error_message = f"{reason}; {record.error_message}" if record.error_message else reason


def start_record(request: web.Request, path: str) -> RequestRecord:
    headers = request.headers
    return RequestRecord(id=new_request_id(), ts=RequestRecord.now_utc(), path=path,
                         user_agent=headers.get("user-agent"), session_id=headers.get("x-claude-code-session-id"))


def attribute(record: RequestRecord, entry: KeyEntry) -> None:
    record.key_name = entry.name
    record.team = entry.team.name if entry.team else None
    record.customer = entry.customer.name if entry.customer else None


async def handle_messages(request: web.Request) -> web.StreamResponse:
    gw = request.app[GATEWAY]
    started = time.perf_counter()
    record = start_record(request, "/v1/messages")
    served = Served()
    gw.metrics.in_flight += 1
    try:
        return await serve_messages(request, gw, record, started, served)
    except Refusal as refusal:
        note_refusal(record, refusal)
        return refusal.response()
    except asyncio.CancelledError:
        note_cancelled(gw, request, record)
        raise
    except Exception as exc:  # never aiohttp's text/plain 500: the client gets its own error shape, the row is kept
        log.exception("messages request failed")
        record.status, record.error_type, record.error_message = 500, "gateway_error", type(exc).__name__
        if response_started(request):  # mid-stream: a second response cannot follow; the connection closes
            raise
        return anthropic_error(500, "The gateway failed on this request.", error_type="api_error")
    finally:
        gw.metrics.in_flight -= 1
        record.latency_ms = (time.perf_counter() - started) * 1000
        gw.price(record)
        served.settle(gw, record)  # every reservation and rate-limit slot is released exactly once
        gw.finish(record)


async def serve_messages(request: web.Request, gw: Gateway, record: RequestRecord, started: float,
                         served: Served):
    entry = authenticate(gw, request)
    attribute(record, entry)
    body = read_messages_body(await read_body(request))
    reply = await route_and_forward(request, gw, entry, body, record, served)
    if reply.is_stream:
        return await relay_stream(request, reply, record, started, gw.config.logging.store_content)
    return await deliver(request, relay_body(reply, record), record)


def check_access(gw: Gateway, entry: KeyEntry, model: str, record: RequestRecord) -> None:
    """A disabled or expired key, or a model the key may not use: the client's 403."""
    refused = gw.governor.check_access(entry, model, record.ts)
    if refused:
        raise Refusal.of(refused)


def plan_route(gw: Gateway, request: web.Request, entry: KeyEntry, body: MessagesBody, record: RequestRecord):
    """The providers (and models) this request goes to, in order: routing rules, then the fallback chain."""
    facts = RequestFacts.of(body, LastValueHeaders(request.headers), partial(gw.governor.used_pct, entry, record.ts))
    return gw.planner.plan(entry, facts, record.session_id)


async def route_and_forward(request: web.Request, gw: Gateway, entry: KeyEntry, body: MessagesBody,
                            record: RequestRecord, served: Served):
    """Governance, routing and failover for an Anthropic-shaped body, whatever API the client speaks."""
    model = body.model
    record.requested_model = record.served_model = model
    record.stream = body.stream
    if gw.config.logging.store_content:
        record.prompt = body.raw[:CONTENT_CAP].decode("utf-8", "replace")
    check_access(gw, entry, model, record)
    permit = gw.governor.admit_rate(entry, body.input_tokens)
    if isinstance(permit, Refused):
        raise Refusal.of(permit)
    served.permit = permit
    record.rate_counted = permit is not None  # limits apply to this key: counted in their windows
    plan = plan_route(gw, request, entry, body, record)
    if not plan:
        raise Refusal(404, f"No available provider of this gateway serves model {model!r}.", "not_found_error")
    return await forward_with_failover(gw, request, entry, plan, body, record, served)
