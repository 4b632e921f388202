"""The floor: a minimal aiohttp pass-through proxy. No gateway can be faster than this on aiohttp.

    python bench/floor_proxy.py --port 9000 --upstream http://127.0.0.1:8765

Forwards every POST (body and headers) to the upstream through one pooled ClientSession; relays JSON
replies whole and SSE replies chunk by chunk (iter_any + write).
"""
from __future__ import annotations

import argparse

import aiohttp
from aiohttp import web

HOP_BY_HOP = {"host", "content-length", "transfer-encoding", "connection", "keep-alive"}
SESSION = web.AppKey("session", aiohttp.ClientSession)
UPSTREAM = web.AppKey("upstream", str)


def _filtered(headers) -> dict[str, str]:
    return {k: v for k, v in headers.items() if k.lower() not in HOP_BY_HOP}


async def forward(request: web.Request) -> web.StreamResponse:
    body = await request.read()
    url = request.app[UPSTREAM] + request.path_qs
    async with request.app[SESSION].post(url, data=body, headers=_filtered(request.headers)) as upstream:
        headers = _filtered(upstream.headers)
        if not upstream.headers.get("content-type", "").startswith("text/event-stream"):
            return web.Response(status=upstream.status, body=await upstream.read(), headers=headers)
        response = web.StreamResponse(status=upstream.status, headers=headers)
        await response.prepare(request)
        async for chunk in upstream.content.iter_any():
            await response.write(chunk)
        await response.write_eof()
        return response


async def _session(app: web.Application):
    connector = aiohttp.TCPConnector(limit=512, keepalive_timeout=60)
    app[SESSION] = aiohttp.ClientSession(connector=connector, auto_decompress=False,
                                         timeout=aiohttp.ClientTimeout(total=600))
    yield
    await app[SESSION].close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--upstream", required=True, help="e.g. http://127.0.0.1:8765")
    args = parser.parse_args()
    app = web.Application(client_max_size=64 * 1024 * 1024)
    app[UPSTREAM] = args.upstream.rstrip("/")
    app.cleanup_ctx.append(_session)
    app.router.add_post("/{tail:.*}", forward)
    web.run_app(app, host=args.host, port=args.port, access_log=None, print=None)


if __name__ == "__main__":
    main()
