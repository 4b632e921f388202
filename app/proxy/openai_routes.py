"""The OpenAI-compatible inbound side: /openai/v1/chat/completions and /openai/v1/models.

Tools such as Cursor, Aider or the `openai` SDK use the same virtual keys, budgets, routing and request
log as Claude Code. The body is translated to an Anthropic request once, goes through the same
pipeline, and the answer (JSON or stream) is translated back; errors are OpenAI-shaped.
"""
from __future__ import annotations

import asyncio
import json
import logging
import time

import orjson
from aiohttp import web

from ..core.messages_body import MessagesBody
from .errors import Refusal
from .failover import Served
from .pipeline import (GATEWAY, attribute, authenticate, check_model_name, load_json, note_cancelled, note_refusal,
                       read_body, response_started, route_and_forward, start_record)
from .relay import deliver, relay_body, relay_stream
from .translate.from_openai import (AnthropicToOpenAIStream, TranslationError, anthropic_error_to_openai,
                                    anthropic_to_openai_response, openai_error_body, openai_request_to_anthropic)

log = logging.getLogger("bifrost.openai")
OPENAI_TYPES = {400: "invalid_request_error", 401: "invalid_request_error", 402: "insufficient_quota",
                403: "permission_error", 404: "not_found_error", 413: "invalid_request_error",
                429: "rate_limit_exceeded"}


def openai_refusal(refusal: Refusal) -> web.Response:
    kind = OPENAI_TYPES.get(refusal.status, "server_error")
    code = {401: "invalid_api_key", 402: "budget_exceeded", 429: "rate_limit_exceeded"}.get(refusal.status)
    headers = {"content-type": "application/json"}
    if refusal.retry_after is not None:
        headers["retry-after"] = str(refusal.retry_after)
    if refusal.should_retry is False or refusal.status in (400, 401, 402, 403, 404, 413):
        headers["x-should-retry"] = "false"
    return web.Response(status=refusal.status, headers=headers,
                        body=openai_error_body(refusal.status, refusal.message, kind, code, refusal.param))


async def handle_chat_completions(request: web.Request) -> web.StreamResponse:
    gw = request.app[GATEWAY]
    started = time.perf_counter()
    record = start_record(request, "/openai/v1/chat/completions")
    served = Served()
    gw.metrics.in_flight += 1
    try:
        entry = authenticate(gw, request)
        attribute(record, entry)
        try:
            incoming = load_json(await read_body(request))  # strict JSON: NaN or lone surrogates are a 400
            if not isinstance(incoming, dict):
                raise ValueError
        except ValueError:
            raise Refusal(400, "The request body is not a JSON object.") from None
        if isinstance(incoming.get("model"), str) and incoming["model"]:  # else the translation says it is missing
            check_model_name(incoming["model"])
        record.requested_model = record.served_model = str(incoming.get("model") or "")
        try:
            body = openai_request_to_anthropic(incoming)
        except TranslationError as exc:
            raise Refusal(400, f"{exc.param + ': ' if exc.param else ''}{exc.message}", param=exc.param) from None
        record.stream = bool(body.get("stream"))
        include_usage = bool((incoming.get("stream_options") or {}).get("include_usage"))
        try:  # compact UTF-8, as json.dumps(ensure_ascii=False, separators=(",", ":")) wrote it
            raw = orjson.dumps(body)
        except TypeError:  # an integer beyond 64 bits in tool-call arguments (parsed by json): stdlib can write it
            raw = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
        reply = await route_and_forward(request, gw, entry, MessagesBody.of_document(body, raw), record, served)
        model = record.requested_model
        if reply.is_stream:
            reply.headers["content-type"] = "text/event-stream; charset=utf-8"
            return await relay_stream(request, reply, record, started, gw.config.logging.store_content,
                                      transform=AnthropicToOpenAIStream(model, include_usage=include_usage))
        return await deliver(request, relay_body(reply, record, transform=lambda message: anthropic_to_openai_response(
            message, model), transform_error=anthropic_error_to_openai), record)
    except Refusal as refusal:
        note_refusal(record, refusal)
        return openai_refusal(refusal)
    except asyncio.CancelledError:
        note_cancelled(gw, request, record)
        raise
    except Exception as exc:  # never aiohttp's text/plain 500: the client gets its own error shape
        log.exception("chat completion failed")
        record.status, record.error_type, record.error_message = 500, "gateway_error", type(exc).__name__
        if response_started(request):  # mid-stream: a second response cannot follow; the connection closes
            raise
        return web.Response(status=500, content_type="application/json",
                            body=openai_error_body(500, "The gateway failed on this request.", "server_error"))
    finally:
        gw.metrics.in_flight -= 1
        record.latency_ms = (time.perf_counter() - started) * 1000
        gw.price(record)
        served.settle(gw, record)
        gw.finish(record)


async def handle_openai_models(request: web.Request) -> web.Response:
    """The models this key may use, in OpenAI's list format."""
    gw = request.app[GATEWAY]
    try:
        entry = authenticate(gw, request)
    except Refusal as refusal:
        return openai_refusal(refusal)
    data = [{"id": price.name, "object": "model", "created": 0, "owned_by": price.provider or "bifrost-tui"}
            for price in gw.prices.models()
            if entry.allows(price.name) and gw.provider_for(entry, price.name) is not None]
    return web.json_response({"object": "list", "data": data})


def add_openai_routes(app: web.Application) -> None:
    app.router.add_post("/openai/v1/chat/completions", handle_chat_completions)
    app.router.add_get("/openai/v1/models", handle_openai_models)
