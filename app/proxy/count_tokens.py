"""POST /v1/messages/count_tokens: the key's access rules and routing as for a message, the count from the
provider its messages would go to, or a local estimate. Counting is free: no budget, no rate limit."""
from __future__ import annotations

import asyncio
import time

from aiohttp import web

from .errors import Refusal
from .failover import body_for, for_anthropic, forward_headers
from .gateway import Gateway
from .pipeline import (GATEWAY, attribute, authenticate, check_access, note_cancelled, note_refusal, plan_route, read_body,
                       read_messages_body, start_record)
from .providers.base import UpstreamCall, UpstreamReply, UpstreamUnavailable

PATH = "/v1/messages/count_tokens"


def relayable(reply: UpstreamReply | None) -> bool:
    """A provider's answer worth passing on: a count, or the client's own bad request. Its outages, rate
    limits and key trouble are not the client's: the next provider or the local estimate answers instead."""
    return reply is not None and (reply.status < 300 or reply.status in (400, 413))


async def handle_count_tokens(request: web.Request) -> web.Response:
    gw: Gateway = request.app[GATEWAY]
    started = time.perf_counter()
    record = start_record(request, PATH)
    gw.metrics.in_flight += 1  # a graceful stop waits for it too
    try:
        entry = authenticate(gw, request)
        attribute(record, entry)
        body = read_messages_body(await read_body(request))
        record.requested_model = record.served_model = body.model
        check_access(gw, entry, body.model, record)
        headers = forward_headers(request)
        for step in plan_route(gw, request, entry, body, record):  # where this key's message would go
            provider = step.provider
            source = body if provider.translated else for_anthropic(body)
            call = UpstreamCall(PATH, request.query_string, body_for(source, step.model, not provider.translated),
                                source, step.model, False, headers, prefer_key=step.prefer_key)
            try:
                reply = await provider.count_tokens(call)
            except UpstreamUnavailable:
                reply = None
            if relayable(reply):
                record.provider, record.simulated, record.served_model = provider.name, provider.simulated, step.model
                record.status, record.provider_key = reply.status, reply.provider_key
                return web.Response(status=reply.status, body=reply.body, headers=reply.headers)
        record.status, record.provider_key = 200, "local-estimate"
        return web.json_response({"input_tokens": body.input_tokens})  # what budgets reserve for it
    except Refusal as refusal:
        note_refusal(record, refusal)
        return refusal.response()
    except asyncio.CancelledError:
        note_cancelled(gw, request, record)
        raise
    finally:
        gw.metrics.in_flight -= 1
        record.latency_ms = (time.perf_counter() - started) * 1000
        record.cost_micro_usd = 0  # counting tokens is free
        gw.finish(record)
