"""The HTTP surface: Anthropic routes, pre-warm pings, health and metrics."""
from __future__ import annotations

import time

from aiohttp import web

from ..service.admin import AdminService
from .admin_routes import add_admin_routes
from .openai_routes import add_openai_routes
from .translate.from_openai import openai_error_body
from .errors import anthropic_error
from .gateway import Gateway
from .count_tokens import handle_count_tokens
from .pipeline import GATEWAY, Refusal, authenticate, handle_messages

STARTED = web.AppKey("started", float)


async def handle_models(request: web.Request) -> web.Response:
    """The models this key may use, in Anthropic's list format."""
    gw: Gateway = request.app[GATEWAY]
    try:
        entry = authenticate(gw, request)
    except Refusal as refusal:
        return refusal.response()
    data = []
    for price in gw.prices.models(provider="anthropic"):
        if entry.allows(price.name) and gw.provider_for(entry, price.name) is not None:
            data.append({"type": "model", "id": price.name, "display_name": price.name,
                         "created_at": "1970-01-01T00:00:00Z"})
    return web.json_response({"data": data, "has_more": False,
                              "first_id": data[0]["id"] if data else None,
                              "last_id": data[-1]["id"] if data else None})


async def handle_ping(request: web.Request) -> web.Response:
    return web.Response(text="bifrost-tui gateway\n")


async def handle_health(request: web.Request) -> web.Response:
    gw: Gateway = request.app[GATEWAY]
    return web.json_response({
        "status": "ok", "uptime_s": round(time.monotonic() - request.app[STARTED], 3),
        "in_flight": gw.metrics.in_flight, "log_rows_pending": len(gw.writer.pending),
        "providers": [{"name": p.name, "type": p.spec.type, "available": p.available, "simulated": p.simulated}
                      for p in gw.providers],
    })


async def handle_metrics(request: web.Request) -> web.Response:
    gw: Gateway = request.app[GATEWAY]
    return web.Response(text=gw.metrics.render(), content_type="text/plain", charset="utf-8",
                        headers={"x-prometheus-format": "0.0.4"})


@web.middleware
async def anthropic_shaped_errors(request: web.Request, handler):
    """Unknown paths, wrong methods and oversized bodies get JSON in the caller's API shape, not HTML."""
    try:
        return await handler(request)
    except web.HTTPRequestEntityTooLarge:
        return _error(request, 413, "Request body too large for this gateway.")
    except web.HTTPNotFound:
        return _error(request, 404, f"Not found: {request.method} {request.path}")
    except web.HTTPMethodNotAllowed as exc:
        return _error(request, 405, f"Method {request.method} not allowed on {request.path}; "
                                    f"use {', '.join(sorted(exc.allowed_methods))}.")


def _error(request: web.Request, status: int, message: str) -> web.Response:
    if request.path.startswith("/openai"):
        kind = "not_found_error" if status == 404 else "invalid_request_error"
        return web.Response(status=status, body=openai_error_body(status, message, kind),
                            content_type="application/json")
    return anthropic_error(status, message, error_type="invalid_request_error" if status == 405 else None)


def build_app(gateway: Gateway, *, client_max_size: int = 64 * 1024 * 1024) -> web.Application:
    app = web.Application(client_max_size=client_max_size, middlewares=[anthropic_shaped_errors])
    app[GATEWAY] = gateway
    app[STARTED] = time.monotonic()
    for prefix in ("/anthropic", ""):
        app.router.add_post(f"{prefix}/v1/messages", handle_messages)
        app.router.add_post(f"{prefix}/v1/messages/count_tokens", handle_count_tokens)
        app.router.add_get(f"{prefix}/v1/models", handle_models)
    for path in ("/", "/anthropic", "/anthropic/", "/api/hello", "/anthropic/api/hello"):
        app.router.add_get(path, handle_ping)  # GET routes answer HEAD too (Claude Code pre-warms with HEAD)
    app.router.add_get("/health", handle_health)
    app.router.add_get("/metrics", handle_metrics)
    add_openai_routes(app)
    add_admin_routes(app, AdminService(gateway))
    return app
