"""Relaying an upstream reply to the client: a JSON body at once, or SSE chunk by chunk with usage read on the way."""
from __future__ import annotations

import asyncio
import json
import time

import aiohttp
import orjson
from aiohttp import web

from ..core.records import RequestRecord
from ..core.tokens import streamed_output_tokens
from ..core.usage import StreamUsage, Usage
from .errors import sse_error_event
from .providers.base import UpstreamReply
from .sse import SSEScanner

USAGE_EVENTS = frozenset((b"message_start", b"message_delta", b"message_stop", b"error"))
CONTENT_CAP = 1_000_000  # bytes of prompt/response kept when logging.store_content is on


def loads_upstream(data: bytes):
    """An upstream JSON document: orjson, and the stdlib for what orjson refuses but json accepts (NaN,
    a BOM...), so usage is never lost to strictness. ValueError when neither can read it."""
    try:
        return orjson.loads(data)
    except ValueError:
        return json.loads(data)


def relay_body(reply: UpstreamReply, record: RequestRecord, transform=None, transform_error=None) -> web.Response:
    """`transform(message dict) -> dict` and `transform_error(status, body) -> bytes` re-shape for the client."""
    record.status = reply.status
    body = reply.body or b""
    data = None
    if body[:1] == b"{":
        try:
            data = loads_upstream(body)
        except ValueError:
            data = None
    if reply.status == 200 and isinstance(data, dict):
        record.usage = Usage.from_anthropic(data.get("usage"))
        record.served_model = data.get("model") or record.served_model
        if record.prompt is not None:
            record.response = body[:CONTENT_CAP].decode("utf-8", "replace")
        if transform is not None:
            body = json.dumps(transform(data)).encode()
    elif reply.status >= 400:
        error = data.get("error") if isinstance(data, dict) else None
        record.error_type = (error or {}).get("type") or f"http_{reply.status}"
        record.error_message = str((error or {}).get("message") or body[:300].decode("utf-8", "replace"))
        if transform_error is not None:
            body = transform_error(reply.status, body)
    return web.Response(status=reply.status, body=body, headers=reply.headers)


async def deliver(request: web.Request, response: web.Response, record: RequestRecord) -> web.Response:
    """Write a whole response now, inside the handler, so that the bookkeeping after it (price, settle the
    reservation, metrics, the log row) runs once the client has its answer instead of before aiohttp writes
    it. The reservation is held until then, so a client's next request cannot see the budget freer than it is."""
    try:
        await response.prepare(request)
        await response.write_eof()
    except (ConnectionResetError, aiohttp.ClientConnectionResetError):
        record.status, record.error_type = 499, "client_disconnected"
        record.error_message = "the client closed the connection before the answer was written"
    return response


async def relay_stream(request: web.Request, reply: UpstreamReply, record: RequestRecord, started: float,
                       keep_content: bool, transform=None) -> web.StreamResponse:
    """Relay SSE chunk by chunk, reading usage on the way. Never buffers the stream.
    `transform` (feed(bytes) -> bytes, finish() -> bytes) re-shapes the Anthropic events for the client."""
    record.status = reply.status
    response = web.StreamResponse(status=reply.status, headers=reply.headers)
    scanner = SSEScanner(USAGE_EVENTS, counted=b"content_block_delta")
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
            await response.write(transform.feed(chunk) if transform else chunk)
            if kept is not None and kept_size < CONTENT_CAP:
                kept.append(chunk)
                kept_size += len(chunk)
            for event, data in scanner.feed(chunk):
                try:
                    usage.on_event(event, loads_upstream(data))
                except ValueError:
                    pass
        if not usage.seen_message_stop and usage.error_type is None:
            record.error_type, record.error_message = "incomplete_stream", "upstream ended the stream early"
        if transform:
            await response.write(transform.finish())
        await response.write_eof()  # the end of the stream reaches the client before the bookkeeping (see deliver)
    except (ConnectionResetError, aiohttp.ClientConnectionResetError):
        record.status, record.error_type = 499, "client_disconnected"
        record.error_message = "the client closed the connection mid-stream; upstream request cancelled"
    except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
        record.error_type = "upstream_stream_error"
        record.error_message = f"upstream stream failed: {type(exc).__name__}"
        try:
            event = sse_error_event("api_error", "The upstream provider's stream failed; partial response.")
            await response.write(transform.feed(event) + transform.finish() if transform else event)
        except (ConnectionResetError, aiohttp.ClientConnectionResetError):
            pass
    finally:
        reply.close()
        record.served_model = usage.model or record.served_model
        if usage.error_type and not record.error_type:
            record.error_type, record.error_message = usage.error_type, usage.error_message
        if usage.estimate_output(streamed_output_tokens(scanner.count, scanner.counted_bytes)):
            note = f"output tokens estimated from the {scanner.count} content deltas relayed (no final usage)"
            record.error_message = f"{record.error_message}; {note}" if record.error_message else note
        record.usage = usage.usage
        if kept is not None:
            record.response = b"".join(kept)[:CONTENT_CAP].decode("utf-8", "replace")
    return response
