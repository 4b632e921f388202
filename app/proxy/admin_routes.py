"""The management API under /api/ (admin token) and /api/me (the caller's own virtual key).

Handlers only translate HTTP to AdminService calls and errors to JSON; the logic is in the service.
"""
from __future__ import annotations

import asyncio
import hmac
import json

from aiohttp import web

from ..core.entity_dicts import EntityInvalid
from ..core.records import record_dict
from ..service.admin import AdminService, Conflict, NotFound
from ..service.console_source import LocalSource
from .errors import anthropic_error
from .pipeline import GATEWAY, Refusal, authenticate

ADMIN = web.AppKey("admin", AdminService)
LIVE = web.AppKey("live", LocalSource)
KIND_OF = {"customers": "customer", "teams": "team", "keys": "virtual_key"}
LEVEL_OF = {"customers": "customer", "teams": "team", "keys": "key", "providers": "provider"}


def check_admin(request: web.Request) -> None:
    gw = request.app[GATEWAY]
    token = gw.admin_token
    auth = request.headers.get("authorization", "")
    presented = auth[7:].strip() if auth[:7].lower() == "bearer " else ""
    if token is None:
        raise web.HTTPUnauthorized(reason="admin API disabled")
    if not presented or not hmac.compare_digest(presented.encode(), token.encode()):
        raise web.HTTPUnauthorized(reason="bad admin token")


def admin_error(status: int, message: str, fields: list | None = None) -> web.Response:
    response = anthropic_error(status, message)
    if fields:
        body = json.loads(response.body)
        body["error"]["fields"] = fields
        response.body = json.dumps(body).encode()
    return response


@web.middleware
async def admin_errors(request: web.Request, handler):
    if not request.path.startswith("/api/") or request.path in ("/api/hello", "/api/me"):
        return await handler(request)
    try:
        check_admin(request)
        return await handler(request)
    except web.HTTPUnauthorized as exc:
        if exc.reason == "admin API disabled":
            return admin_error(401, "The management API is disabled: set server.admin_token (e.g. "
                                    "env:BIFROST_ADMIN_TOKEN) in the config.")
        return admin_error(401, "Missing or wrong admin token: send Authorization: Bearer <server.admin_token>. "
                                "A virtual key is not an admin token.")
    except EntityInvalid as exc:
        return admin_error(400, f"Invalid: {exc}", exc.fields())
    except NotFound as exc:
        return admin_error(404, str(exc).capitalize() + ".")
    except Conflict as exc:
        return admin_error(409, str(exc).capitalize() + ".")
    except json.JSONDecodeError:
        return admin_error(400, "The request body is not valid JSON.")


async def _json(request: web.Request):
    return json.loads(await request.read() or b"null")


async def list_entities(request: web.Request) -> web.Response:
    kind = KIND_OF[request.match_info["kind"]]
    return web.json_response({"data": request.app[ADMIN].list(kind)})


async def get_entity(request: web.Request) -> web.Response:
    kind = KIND_OF[request.match_info["kind"]]
    return web.json_response(request.app[ADMIN].get(kind, request.match_info["name"]))


async def create_entity(request: web.Request) -> web.Response:
    kind = KIND_OF[request.match_info["kind"]]
    entity, value = await request.app[ADMIN].create(kind, await _json(request))
    if value is not None:
        entity = {**entity, "key": value, "key_notice": "Shown once: only its hash is stored."}
    return web.json_response(entity, status=201)


async def update_entity(request: web.Request) -> web.Response:
    kind = KIND_OF[request.match_info["kind"]]
    return web.json_response(await request.app[ADMIN].update(kind, request.match_info["name"], await _json(request)))


async def delete_entity(request: web.Request) -> web.Response:
    kind = KIND_OF[request.match_info["kind"]]
    await request.app[ADMIN].delete(kind, request.match_info["name"])
    return web.json_response({"deleted": request.match_info["name"]})


async def rotate_key(request: web.Request) -> web.Response:
    entity, value = await request.app[ADMIN].rotate_key(request.match_info["name"])
    return web.json_response({**entity, "key": value, "key_notice": "Shown once: only its hash is stored."})


async def entity_budgets(request: web.Request) -> web.Response:
    kind, name = request.match_info["kind"], request.match_info["name"]
    admin = request.app[ADMIN]
    if kind == "providers":
        if request.app[GATEWAY].config.provider(name) is None:
            raise NotFound(f"no provider named {name!r}")
    else:
        admin.get(KIND_OF[kind], name)
    return web.json_response({"data": admin.status(LEVEL_OF[kind], name)})


async def list_providers(request: web.Request) -> web.Response:
    return web.json_response({"data": request.app[ADMIN].providers()})


async def list_models(request: web.Request) -> web.Response:
    return web.json_response({"data": request.app[ADMIN].models()})


async def set_provider_budgets(request: web.Request) -> web.Response:
    body = await _json(request)
    budgets = body.get("budgets") if isinstance(body, dict) else body
    return web.json_response(await request.app[ADMIN].set_provider_budgets(request.match_info["name"], budgets))


async def all_budgets(request: web.Request) -> web.Response:
    admin = request.app[ADMIN]
    gw = request.app[GATEWAY]
    data = [admin.status(level, entity) for (level, entity) in list(gw.ledger.by_entity)]
    return web.json_response({"data": [s for group in data for s in group]})


async def list_breakers(request: web.Request) -> web.Response:
    return web.json_response({"data": request.app[ADMIN].breakers()})


async def reset_breaker(request: web.Request) -> web.Response:
    m = request.match_info
    return web.json_response(request.app[ADMIN].reset_breaker(m["provider"], m["key"]))


async def list_failovers(request: web.Request) -> web.Response:
    limit = int(request.query.get("limit", "100"))
    return web.json_response({"data": await request.app[ADMIN].failover_events(limit)})


async def live_overview(request: web.Request) -> web.Response:
    return web.json_response(await request.app[LIVE].overview())


async def live_requests(request: web.Request) -> web.Response:
    seq, rows = await request.app[LIVE].requests_since(int(request.query.get("since", "0")))
    return web.json_response({"seq": seq, "data": [dict(r) for r in rows]})  # rows are RequestRow views


async def live_events(request: web.Request) -> web.Response:
    seq, data = await request.app[LIVE].events_since(int(request.query.get("since", "0")))
    return web.json_response({"seq": seq, "data": data})


async def live_series(request: web.Request) -> web.Response:
    return web.json_response(await request.app[LIVE].series(int(request.query.get("minutes", "60"))))


async def live_stream(request: web.Request) -> web.StreamResponse:
    """Server-sent events: every finished request and every failover/breaker event, as they happen."""
    gw = request.app[GATEWAY]
    queue: asyncio.Queue = asyncio.Queue(maxsize=10_000)

    def push(event) -> None:
        if not queue.full():
            queue.put_nowait(event)

    unsubscribe = gw.events.subscribe(push)
    response = web.StreamResponse(headers={"content-type": "text/event-stream", "cache-control": "no-cache"})
    await response.prepare(request)
    try:
        while True:
            try:
                event = await asyncio.wait_for(queue.get(), 15)
            except asyncio.TimeoutError:
                await response.write(b": keep-alive\n\n")
                continue
            payload = record_dict(event.payload) if event.kind == "request" else event.payload
            await response.write(f"event: {event.kind}\nid: {event.seq}\ndata: {json.dumps(payload)}\n\n".encode())
    except ConnectionResetError:  # the console went away (a hang-up also cancels the handler: that propagates)
        pass
    finally:
        unsubscribe()
    return response


async def me(request: web.Request) -> web.Response:
    try:
        entry = authenticate(request.app[GATEWAY], request)
    except Refusal as refusal:
        return refusal.response()
    return web.json_response(request.app[ADMIN].me(entry))


async def reload_config(request: web.Request) -> web.Response:
    from pathlib import Path

    from ..core.config import load_config
    from ..core.config_source import ConfigError

    gw = request.app[GATEWAY]
    source = Path(gw.config.source)
    if not source.is_file():
        return admin_error(409, "The gateway runs on the embedded default config: there is no file to reload.")
    try:
        fresh = load_config(source)
    except ConfigError as exc:
        return admin_error(400, f"The config file has problems; nothing changed.\n{exc}")
    notes = await gw.reload(fresh)
    return web.json_response({"reloaded": str(source), "notes": notes})


def add_admin_routes(app: web.Application, admin: AdminService) -> None:
    app[ADMIN] = admin
    app[LIVE] = LocalSource(admin.gw, admin)
    app.middlewares.append(admin_errors)
    app.router.add_get("/api/me", me)
    app.router.add_get("/api/budgets", all_budgets)
    app.router.add_post("/api/reload", reload_config)
    app.router.add_get("/api/breakers", list_breakers)
    app.router.add_post("/api/breakers/{provider}/{key}/reset", reset_breaker)
    app.router.add_get("/api/failovers", list_failovers)
    app.router.add_get("/api/live/overview", live_overview)
    app.router.add_get("/api/live/requests", live_requests)
    app.router.add_get("/api/live/events", live_events)
    app.router.add_get("/api/live/series", live_series)
    app.router.add_get("/api/live/stream", live_stream)
    app.router.add_get("/api/providers", list_providers)
    app.router.add_get("/api/models", list_models)
    app.router.add_put("/api/providers/{name}/budgets", set_provider_budgets)
    app.router.add_get("/api/{kind:providers}/{name}/budgets", entity_budgets)
    kinds = "{kind:customers|teams|keys}"
    app.router.add_get(f"/api/{kinds}", list_entities)
    app.router.add_post(f"/api/{kinds}", create_entity)
    app.router.add_get(f"/api/{kinds}/{{name}}", get_entity)
    app.router.add_patch(f"/api/{kinds}/{{name}}", update_entity)
    app.router.add_delete(f"/api/{kinds}/{{name}}", delete_entity)
    app.router.add_get(f"/api/{kinds}/{{name}}/budgets", entity_budgets)
    app.router.add_post("/api/keys/{name}/rotate", rotate_key)
