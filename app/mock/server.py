"""``bifrost-tui mock-upstream``: the SIMULATED Anthropic API (:mod:`app.mock.engine`) over real HTTP.

Lets tests and benchmarks drive the gateway's real ``anthropic`` provider against a local upstream.
Besides the API routes it has test instrumentation under ``/_mock/`` (recorded requests, live settings).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import signal
from collections import deque

from aiohttp import web

from app.mock.engine import MockEngine, MockSettings

ENGINE = web.AppKey("mock_engine", MockEngine)
RECORDED = web.AppKey("mock_recorded", deque)
API_KEY = web.AppKey("mock_required_api_key", str)
_RECORD_LIMIT = 200


def _json_response(data: object, status: int = 200) -> web.Response:
    headers = {"x-bifrost-simulated": "true", "request-id": f"req_sim_{os.urandom(12).hex()}"}
    return web.Response(text=json.dumps(data), status=status, content_type="application/json", headers=headers)


def _error(status: int, kind: str, message: str) -> web.Response:
    return _json_response({"type": "error", "error": {"type": kind, "message": message}}, status)


async def _read_api_request(request: web.Request) -> tuple[object, web.Response | None]:
    """Record the request (test instrumentation), check its API key, parse its JSON body.

    Returns (parsed body, None) or (None, error response).
    """
    raw = await request.read()
    text = raw.decode("utf-8", "replace")
    try:
        parsed = json.loads(text) if text else None
    except ValueError:
        parsed = None
    request.app[RECORDED].append({
        "method": request.method,
        "path_qs": request.path_qs,
        "headers": {k.decode("latin-1"): v.decode("latin-1") for k, v in request.raw_headers},
        "body": text,
        "json": parsed,
    })
    bearer = request.headers.get("Authorization", "")
    keys = {request.headers.get("x-api-key"), bearer[7:] if bearer[:7].lower() == "bearer " else None} - {None, ""}
    required = request.app[API_KEY]
    if not keys:
        return None, _error(401, "authentication_error", "x-api-key header is required (simulated upstream)")
    if required and required not in keys:
        return None, _error(401, "authentication_error", "invalid x-api-key (simulated upstream)")
    if request.method == "POST" and not isinstance(parsed, dict):
        return None, _error(400, "invalid_request_error", "request body must be a JSON object")
    return parsed, None


async def _messages(request: web.Request) -> web.StreamResponse:
    body, failure = await _read_api_request(request)
    if failure:
        return failure
    reply = await request.app[ENGINE].messages(body)
    if reply.chunks is None:
        return web.Response(status=reply.status, headers=reply.headers, body=reply.body)
    response = web.StreamResponse(status=reply.status, headers=reply.headers)
    try:
        await response.prepare(request)
        async for chunk in reply.chunks:
            await response.write(chunk)
        await response.write_eof()
    except ConnectionResetError:  # client went away (aiohttp.ClientConnectionResetError is a subclass)
        pass
    return response


async def _count_tokens(request: web.Request) -> web.Response:
    body, failure = await _read_api_request(request)
    return failure or _json_response(request.app[ENGINE].count_tokens(body))


async def _models(request: web.Request) -> web.Response:
    _, failure = await _read_api_request(request)
    return failure or _json_response(request.app[ENGINE].models())


async def _get_requests(request: web.Request) -> web.Response:
    """Test instrumentation: the last recorded API requests, oldest first."""
    return _json_response(list(request.app[RECORDED]))


async def _clear_requests(request: web.Request) -> web.Response:
    """Test instrumentation: forget the recorded requests."""
    request.app[RECORDED].clear()
    return _json_response({"cleared": True})


async def _get_settings(request: web.Request) -> web.Response:
    """Test instrumentation: the engine's current settings."""
    return _json_response(dataclasses.asdict(request.app[ENGINE].settings))


async def _update_settings(request: web.Request) -> web.Response:
    """Test instrumentation: update some settings fields (e.g. switch on error injection); 400 on bad keys."""
    try:
        patch = await request.json()
        if not isinstance(patch, dict):
            raise ValueError("settings must be a JSON object")
        engine = request.app[ENGINE]
        engine.settings = MockSettings.from_mapping({**dataclasses.asdict(engine.settings), **patch})
    except ValueError as exc:  # also json.JSONDecodeError
        return _error(400, "invalid_request_error", str(exc))
    return _json_response(dataclasses.asdict(engine.settings))


def build_mock_app(settings: MockSettings | None = None, *, require_api_key: str | None = None) -> web.Application:
    """The simulated upstream. Any ``x-api-key`` / ``Authorization: Bearer`` is accepted unless
    ``require_api_key`` is set. Paths match without their query string (``?beta=true`` is fine)."""
    app = web.Application()
    app[ENGINE] = MockEngine(settings)
    app[RECORDED] = deque(maxlen=_RECORD_LIMIT)
    app[API_KEY] = require_api_key or ""
    app.router.add_post("/v1/messages", _messages)
    app.router.add_post("/v1/messages/count_tokens", _count_tokens)
    app.router.add_get("/v1/models", _models)
    app.router.add_get("/_mock/requests", _get_requests)
    app.router.add_delete("/_mock/requests", _clear_requests)
    app.router.add_get("/_mock/settings", _get_settings)
    app.router.add_post("/_mock/settings", _update_settings)
    return app


async def run_mock_upstream(host: str, port: int, settings: MockSettings, require_api_key: str | None) -> None:
    """Serve the simulated upstream until cancelled or SIGTERM."""
    # like a real API, a request whose client went away stops (its simulated latency is not waited out)
    runner = web.AppRunner(build_mock_app(settings, require_api_key=require_api_key), access_log=None,
                           handler_cancellation=True, shutdown_timeout=2)
    await runner.setup()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    try:
        await web.TCPSite(runner, host, port).start()
        bound_port = runner.addresses[0][1] if runner.addresses else port
        print(f"simulated Anthropic upstream listening on http://{host}:{bound_port}", flush=True)
        try:
            loop.add_signal_handler(signal.SIGTERM, stop.set)
            handles_sigterm = True
        except (NotImplementedError, RuntimeError):  # not the main thread, or no signal support
            handles_sigterm = False
        try:
            await stop.wait()
        finally:
            if handles_sigterm:
                loop.remove_signal_handler(signal.SIGTERM)
    finally:
        await runner.cleanup()
