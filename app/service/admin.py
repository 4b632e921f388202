"""The management service: one place for reading and changing customers, teams, keys and budgets.

The HTTP management API and the console both call this; route handlers hold no logic. Every change
is validated with the config file's rules, persisted, and applied at once (spend is always kept).
"""
from __future__ import annotations

import logging
import time
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from ..core.budget_status import budget_status
from ..core.config_source import ConfigIssue
from ..core.directory import KeyEntry
from ..core.entity_dicts import KINDS, EntityInvalid, budget_dict, entity_dict, parse_budgets, parse_entity
from ..core.keys import hash_key, new_key
from ..core.known_models import unmatched_patterns, unmatched_warning
from ..proxy.gateway import Gateway
from ..store.entities import save_entity

LEVEL_OF_KIND = {"customer": "customer", "team": "team", "virtual_key": "key"}
log = logging.getLogger("bifrost.admin")


class NotFound(Exception):
    pass


class Conflict(Exception):
    pass


def _invalid(path: tuple, message: str) -> EntityInvalid:
    return EntityInvalid([ConfigIssue(path, None, message)])


class AdminService:
    def __init__(self, gateway: Gateway):
        self.gw = gateway

    # -- reading ---------------------------------------------------------------------
    def _items(self, kind: str) -> list:
        c = self.gw.config
        return {"customer": c.customers, "team": c.teams, "virtual_key": c.virtual_keys}[kind]

    def _find(self, kind: str, name: str):
        spec = next((item for item in self._items(kind) if item.name == name), None)
        if spec is None:
            raise NotFound(f"no {kind.replace('_', ' ')} named {name!r}")
        return spec

    def status(self, level: str, name: str, now: datetime | None = None) -> list[dict]:
        now = now or datetime.now(timezone.utc)
        return [budget_status(self.gw.ledger, s, now) for s in self.gw.ledger.budgets_of(level, name)]

    def describe(self, kind: str, spec) -> dict:
        out = entity_dict(kind, spec)
        out["source"] = self.gw.entity_source.get((kind, spec.name), "config")
        out["budget_status"] = self.status(LEVEL_OF_KIND[kind], spec.name)
        if kind == "virtual_key":
            out["usable"] = spec.name in self.gw.directory.by_name
        return out

    def list(self, kind: str) -> list[dict]:
        return [self.describe(kind, spec) for spec in self._items(kind)]

    def names(self, kind: str) -> list[str]:
        """Just the names (the console's "jump to" list): no budget status computed."""
        return [spec.name for spec in self._items(kind)]

    def get(self, kind: str, name: str) -> dict:
        return self.describe(kind, self._find(kind, name))

    def providers(self) -> list[dict]:
        out = []
        clients = {c.name: c for c in self.gw.providers}
        for spec in self.gw.config.providers:
            client = clients.get(spec.name)
            out.append({"name": spec.name, "type": spec.type, "base_url": spec.base_url,
                        "keys": [k.name for k in spec.keys], "budgets": [budget_dict(b) for b in spec.budgets],
                        "budget_status": self.status("provider", spec.name),
                        "available": bool(client and client.available),
                        "simulated": bool(client and client.simulated),
                        "served": client is not None,
                        "circuits": [b for b in self.breakers() if b["provider"] == spec.name]})
        return out

    def models(self) -> list[str]:
        """The model names the gateway knows (price table, providers' models and model_map), sorted: what an
        allowed_models pattern should match (core/known_models.py)."""
        return sorted(self.gw.known_model_names())

    def breakers(self) -> list[dict]:
        """Every provider key's circuit: closed, open (with seconds left), half-open, or bad."""
        now = time.monotonic()
        out = []
        for client in self.gw.providers:
            for key in client.keys:
                out.append(client.breaker(key).snapshot(now))
        return out

    def reset_breaker(self, provider: str, key: str) -> dict:
        breaker = self.gw.board.breakers.get((provider, key))
        if breaker is None:
            raise NotFound(f"no circuit for provider {provider!r} key {key!r}")
        self.gw.board.success(breaker)
        return breaker.snapshot(time.monotonic())

    async def failover_events(self, limit: int = 100) -> list[dict]:
        await self.gw.writer.flush()
        async with self.gw.writer.db.execute(
                "SELECT ts, request_id, key_name, from_provider, to_provider, reason FROM failover_events "
                "ORDER BY ts DESC LIMIT ?", (limit,)) as cur:
            rows = await cur.fetchall()
        return [dict(zip(("ts", "request_id", "key", "from", "to", "reason"), r)) for r in rows]

    # -- changing --------------------------------------------------------------------
    def _validate(self, kind: str, data: object):
        c = self.gw.config
        return parse_entity(kind, data, providers={p.name for p in c.providers},
                            customers={x.name for x in c.customers}, teams={t.name for t in c.teams},
                            zone=ZoneInfo(c.timezone))

    def _model_warnings(self, spec) -> list[str]:
        """A warning (logged, and returned with the entity) for each allowed_models pattern of the key
        `spec` that matches no known model: a typo is saved, not refused (the model may be new)."""
        warnings = [unmatched_warning(spec.name, p)
                    for p in unmatched_patterns(spec.allowed_models, self.gw.known_model_names())]
        for warning in warnings:
            log.warning(warning)
        return warnings

    def _described(self, kind: str, spec, warnings: list[str]) -> dict:
        out = self.describe(kind, spec)
        if warnings:
            out["warnings"] = warnings
        return out

    async def _persist(self, kind: str, name: str, spec_dict: dict, deleted: bool = False) -> None:
        async with self.gw.writer.lock:
            await save_entity(self.gw.writer.db, kind, name, spec_dict, deleted=deleted)
        self.gw.entity_source[(kind, name)] = "api"

    async def create(self, kind: str, data: object) -> tuple[dict, str | None]:
        """Returns (entity, key value). A new virtual key's value is returned here once and never again."""
        if kind not in KINDS:
            raise NotFound(kind)
        if not isinstance(data, dict):
            raise _invalid((), "expected a JSON object")
        data = dict(data)
        name = data.get("name")
        if isinstance(name, str) and any(item.name == name for item in self._items(kind)):
            raise Conflict(f"a {kind.replace('_', ' ')} named {name!r} already exists")
        value = None
        if kind == "virtual_key":
            if "key" in data:
                raise _invalid(("key",), "the gateway generates the key; send key_hash to register an existing one")
            if "key_hash" not in data:
                value = new_key(str(name or ""))
                data["key_hash"] = hash_key(value)
        spec = self._validate(kind, data)
        self._items(kind).append(spec)
        await self._persist(kind, spec.name, entity_dict(kind, spec))
        self.gw.rebuild()
        await self.gw.reseed()
        return self._described(kind, spec, self._model_warnings(spec) if kind == "virtual_key" else []), value

    async def update(self, kind: str, name: str, patch: object) -> dict:
        current = self._find(kind, name)
        if not isinstance(patch, dict):
            raise _invalid((), "expected a JSON object of the fields to change")
        if "name" in patch and patch["name"] != name:
            raise _invalid(("name",), "a name cannot change; create a new entity instead")
        if kind == "virtual_key" and "key" in patch:
            raise _invalid(("key",), "use POST /api/keys/{name}/rotate to issue a new key value")
        merged = {**entity_dict(kind, current), **patch}
        merged = {k: v for k, v in merged.items() if v is not None}
        spec = self._validate(kind, merged)
        items = self._items(kind)
        items[items.index(current)] = spec
        await self._persist(kind, name, entity_dict(kind, spec))
        self.gw.rebuild()
        await self.gw.reseed()
        return self._described(kind, spec, self._model_warnings(spec)
                              if kind == "virtual_key" and "allowed_models" in patch else [])

    async def rotate_key(self, name: str) -> tuple[dict, str]:
        value = new_key(name)
        current = self._find("virtual_key", name)
        data = {k: v for k, v in entity_dict("virtual_key", current).items() if k != "key"}
        data["key_hash"] = hash_key(value)
        spec = self._validate("virtual_key", data)
        items = self._items("virtual_key")
        items[items.index(current)] = spec
        await self._persist("virtual_key", name, entity_dict("virtual_key", spec))
        self.gw.rebuild()
        await self.gw.reseed()
        return self.describe("virtual_key", spec), value

    async def delete(self, kind: str, name: str) -> None:
        current = self._find(kind, name)
        c = self.gw.config
        users = []
        if kind == "customer":
            users = [f"team {t.name}" for t in c.teams if t.customer == name] + \
                    [f"key {k.name}" for k in c.virtual_keys if k.customer == name]
        elif kind == "team":
            users = [f"key {k.name}" for k in c.virtual_keys if k.team == name]
        if users:
            raise Conflict(f"{kind} {name!r} is still used by {', '.join(users)}")
        self._items(kind).remove(current)
        await self._persist(kind, name, entity_dict(kind, current), deleted=True)
        self.gw.rebuild()
        await self.gw.reseed()

    async def set_provider_budgets(self, name: str, budgets: object) -> dict:
        provider = self.gw.config.provider(name)
        if provider is None:
            raise NotFound(f"no provider named {name!r}")
        provider.budgets = parse_budgets(budgets)
        await self._persist("provider_budgets", name, {"budgets": [budget_dict(b) for b in provider.budgets]})
        self.gw.rebuild()
        await self.gw.reseed()
        return next(p for p in self.providers() if p["name"] == name)

    # -- the developer's own view ----------------------------------------------------
    def me(self, entry: KeyEntry) -> dict:
        spec = entry.spec
        now = datetime.now(timezone.utc)
        scope = f"key {entry.name}"
        limits = None
        if spec.rate_limit:
            limits = {k: v for k, v in (("requests_per_minute", spec.rate_limit.requests_per_minute),
                                        ("tokens_per_minute", spec.rate_limit.tokens_per_minute),
                                        ("max_concurrent", spec.rate_limit.max_concurrent)) if v is not None}
        return {
            "key": entry.name, "team": entry.team.name if entry.team else None,
            "customer": entry.customer.name if entry.customer else None,
            "active": spec.active, "expires_at": spec.expires_at.isoformat() if spec.expires_at else None,
            "currency": {"code": self.gw.config.currency.code, "symbol": self.gw.config.currency.symbol},
            "timezone": self.gw.config.timezone,
            "budgets": self.status("key", entry.name, now),
            "team_budgets": self.status("team", entry.team.name, now) if entry.team else [],
            "customer_budgets": self.status("customer", entry.customer.name, now) if entry.customer else [],
            "rate_limit": limits,
            "rate_usage": self.gw.governor.limiter.usage(scope, time.monotonic()),
            "allowed_models": spec.allowed_models,
        }
