"""What the console reads and changes, behind one interface: in-process (LocalSource) or another
gateway process over its admin API (RemoteSource, for `bifrost-tui attach`). No Textual here."""
from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp

from ..core.secrets import SecretError, store_in_keyring
from .request_row import RequestRow


class SourceError(Exception):
    """A change the gateway refused (validation, conflict) or a connection problem; str() is for people."""

    def __init__(self, message: str, fields: list[dict] | None = None):
        super().__init__(message)
        self.fields = fields or []


BUDGET_BATCH = 8  # entities whose budget status LocalSource.budgets computes between yields to the loop


class LocalSource:
    remote = False

    def __init__(self, gateway, admin, listen: str = ""):
        self.gw, self.admin, self.listen = gateway, admin, listen

    async def overview(self) -> dict:
        gw = self.gw
        return {"listen": self.listen, "summary": gw.live.summary(gw.metrics.in_flight),
                "currency": {"code": gw.config.currency.code, "symbol": gw.config.currency.symbol,
                             "per_usd": str(gw.config.currency.per_usd)},
                "timezone": gw.config.timezone, "providers": self.admin.providers()}

    async def requests_since(self, seq: int) -> tuple[int, list[RequestRow]]:
        return request_rows(seq, self.gw.events.requests_since(seq))

    async def events_since(self, seq: int) -> tuple[int, list[dict]]:
        events = self.gw.events.events_since(seq)
        return (events[-1].seq if events else seq), [{"seq": e.seq, "kind": e.kind, **e.payload} for e in events]

    async def series(self, minutes: int = 60) -> dict:
        return self.gw.live.series(minutes)

    async def budgets(self) -> list[dict]:
        """Every budget's status. This runs on the gateway's loop, ~0.1 ms an entity: it yields to the loop
        every BUDGET_BATCH entities so requests never wait for the whole list (100+ keys)."""
        out = []
        for i, (level, entity) in enumerate(list(self.gw.ledger.by_entity)):
            if i and i % BUDGET_BATCH == 0:
                await asyncio.sleep(0)
            out.extend(self.admin.status(level, entity))
        return out

    async def entities(self, kind: str) -> list[dict]:
        return self.admin.list(kind)

    async def names(self, kind: str) -> list[str]:
        return self.admin.names(kind)

    async def providers(self) -> list[dict]:
        return self.admin.providers()

    async def models(self) -> list[str]:
        return self.admin.models()

    async def create(self, kind: str, data: dict) -> tuple[dict, str | None]:
        return await self._call(self.admin.create(kind, data))

    async def update(self, kind: str, name: str, patch: dict) -> dict:
        return await self._call(self.admin.update(kind, name, patch))

    async def delete(self, kind: str, name: str) -> None:
        await self._call(self.admin.delete(kind, name))

    async def rotate_key(self, name: str) -> tuple[dict, str]:
        return await self._call(self.admin.rotate_key(name))

    async def set_provider_secret(self, service: str, username: str, value: str) -> None:
        try:  # a desktop keyring may block on D-Bus or a prompt: never on the loop the gateway shares
            await asyncio.to_thread(store_in_keyring, service, username, value)
        except SecretError as exc:
            raise SourceError(str(exc)) from None

    async def _call(self, awaitable):
        from ..core.entity_dicts import EntityInvalid
        from .admin import Conflict, NotFound
        try:
            return await awaitable
        except EntityInvalid as exc:
            raise SourceError(str(exc), exc.fields()) from None
        except (Conflict, NotFound) as exc:
            raise SourceError(str(exc)) from None


def request_rows(seq: int, events: list) -> tuple[int, list[RequestRow]]:
    """(the newest seq, a row per finished request) from the event bus's request events."""
    return (events[-1].seq if events else seq), [RequestRow(e.payload, e.seq) for e in events]


class OtherLoopSource:
    """A LocalSource whose gateway runs on another thread's loop (app/proxy/server_thread.py): each call
    runs there, where the gateway's state lives, and the console awaits the result on its own loop.
    The request tail's rows are RequestRow views: the gateway's loop only wraps the new records (building
    every row's dict there held it ~1 ms a tick at 500 requests/s); a row's dict is built here when read."""
    remote = False

    def __init__(self, source: LocalSource, call):
        self._source, self._call_there, self.listen = source, call, source.listen

    def __getattr__(self, name: str):
        method = getattr(self._source, name)
        if not asyncio.iscoroutinefunction(method):
            return method

        async def there(*args, **kwargs):
            return await self._call_there(method(*args, **kwargs))
        there.__name__ = name
        return there


class RemoteSource:
    """The same calls against a gateway in another process (admin token required)."""
    remote = True

    def __init__(self, base_url: str, admin_token: str):
        self.base = base_url.rstrip("/")
        self.listen = self.base
        self.headers = {"authorization": f"Bearer {admin_token}"}
        self.session: aiohttp.ClientSession | None = None

    async def _request(self, method: str, path: str, body: Any = None) -> Any:
        if self.session is None:
            self.session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
        try:
            async with self.session.request(method, self.base + path, headers=self.headers,
                                            data=None if body is None else json.dumps(body)) as resp:
                data = await resp.json(content_type=None)
                if resp.status >= 400:
                    error = (data or {}).get("error", {}) if isinstance(data, dict) else {}
                    raise SourceError(error.get("message") or f"HTTP {resp.status}", error.get("fields"))
                return data
        except aiohttp.ClientError as exc:
            raise SourceError(f"cannot reach the gateway at {self.base}: {type(exc).__name__}") from None

    async def close(self) -> None:
        if self.session:
            await self.session.close()

    async def overview(self) -> dict:
        return await self._request("GET", "/api/live/overview")

    async def requests_since(self, seq: int) -> tuple[int, list[dict]]:
        data = await self._request("GET", f"/api/live/requests?since={seq}")
        return data["seq"], data["data"]

    async def events_since(self, seq: int) -> tuple[int, list[dict]]:
        data = await self._request("GET", f"/api/live/events?since={seq}")
        return data["seq"], data["data"]

    async def series(self, minutes: int = 60) -> dict:
        return await self._request("GET", f"/api/live/series?minutes={minutes}")

    async def budgets(self) -> list[dict]:
        return (await self._request("GET", "/api/budgets"))["data"]

    async def entities(self, kind: str) -> list[dict]:
        return (await self._request("GET", f"/api/{_path(kind)}"))["data"]

    async def names(self, kind: str) -> list[str]:
        return [e["name"] for e in await self.entities(kind)]

    async def providers(self) -> list[dict]:
        return (await self._request("GET", "/api/providers"))["data"]

    async def models(self) -> list[str]:
        return (await self._request("GET", "/api/models"))["data"]

    async def create(self, kind: str, data: dict) -> tuple[dict, str | None]:
        out = await self._request("POST", f"/api/{_path(kind)}", data)
        return out, out.pop("key", None) if kind == "virtual_key" else None

    async def update(self, kind: str, name: str, patch: dict) -> dict:
        return await self._request("PATCH", f"/api/{_path(kind)}/{name}", patch)

    async def delete(self, kind: str, name: str) -> None:
        await self._request("DELETE", f"/api/{_path(kind)}/{name}")

    async def rotate_key(self, name: str) -> tuple[dict, str]:
        out = await self._request("POST", f"/api/keys/{name}/rotate")
        return out, out.pop("key")

    async def set_provider_secret(self, service: str, username: str, value: str) -> None:
        raise SourceError("provider keys are stored in the keyring of the gateway's own machine: "
                          "run the console there (bifrost-tui) to set one")


def _path(kind: str) -> str:
    return {"customer": "customers", "team": "teams", "virtual_key": "keys"}[kind]
