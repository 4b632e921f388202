"""The running gateway: config, prices, keys, provider clients, metrics, request log, events."""
from __future__ import annotations

import asyncio
import logging
import time
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from ..core.config import Config
from ..core.directory import Directory, KeyEntry
from ..core.breaker import Breaker, BreakerBoard
from ..core.events import EventBus
from ..core.governance import Governor
from ..core.known_models import allowed_models_warnings, known_models
from ..core.live_stats import LiveStats
from ..core.ledger import Ledger
from ..core.metrics import Metrics
from ..core.pricing import PriceTable
from ..core.records import RequestRecord
from ..core.secrets import SecretError
from ..core.entity_dicts import EntityInvalid, parse_budgets, parse_entity
from ..core.windows import parse_period
from ..store.request_log import iso_utc
from ..store.counters import load_counters, seed_counters
from ..store.recent_requests import recent_admitted
from ..store.entities import ensure_schema, load_entities
from ..store.log_writer import RequestLogWriter
from .providers import build_provider
from .planner import Planner
from .providers.base import ProviderClient

log = logging.getLogger("bifrost.gateway")


class Gateway:
    def __init__(self, config: Config, prices: PriceTable | None = None):
        self.config = config
        self.prices = prices or PriceTable.load(config.pricing_file, overrides=config.pricing)
        self.directory = Directory(config)
        self.metrics = Metrics()
        self.cutting_off = False  # a graceful stop's wait is over: requests cancelled now were cut off by it
        self.events = EventBus()
        self.writer = RequestLogWriter(config.sqlite_path)
        self.tz = ZoneInfo(config.timezone)
        self.ledger = Ledger(self.tz, config.currency)
        self.governor = Governor(self.ledger, self.prices)
        self.apply_budgets()
        self.providers: list[ProviderClient] = []
        self.warnings: list[str] = list(self.directory.warnings)
        self.entity_source: dict[tuple[str, str], str] = {}
        self.admin_token = self._admin_token()
        self._unpriced_warned: set[str] = set()
        for spec in config.providers:
            client = build_provider(spec)
            if client is None:
                self.warnings.append(f"provider {spec.name!r}: type {spec.type} is not served by this build yet; "
                                     "requests skip it")
                continue
            self.warnings.extend(client.warnings)
            self.providers.append(client)
        self.board = BreakerBoard(on_change=self._breaker_changed)
        for client in self.providers:
            client.board = self.board
        self.planner = Planner(self.providers)
        self.live = LiveStats(self.tz)
        self.events.subscribe(lambda e: self.live.observe(e.payload) if e.kind == "request" else None)
        self._lag_task: asyncio.Task | None = None

    def _admin_token(self) -> str | None:
        ref = self.config.server.admin_token
        if ref is None:
            self.warnings.append("management API disabled: no server.admin_token in the config")
            return None
        try:
            token = ref.resolve()
        except SecretError as exc:
            self.warnings.append(f"management API disabled: {exc}")
            return None
        if self.directory.authenticate(token) is not None:
            self.warnings.append("management API disabled: server.admin_token equals a virtual key")
            return None
        return token

    def apply_budgets(self) -> None:
        """(Re)load every entity's budgets into the ledger; spend of budgets that stay is kept."""
        for spec in self.config.providers:
            self.ledger.set_budgets("provider", spec.name, spec.budgets)
        for customer in self.config.customers:
            self.ledger.set_budgets("customer", customer.name, customer.budgets)
        for team in self.config.teams:
            self.ledger.set_budgets("team", team.name, team.budgets)
        for entry in self.directory.by_name.values():
            self.ledger.set_budgets("key", entry.name, entry.spec.budgets)
        c = self.config
        for level, names in (("provider", {p.name for p in c.providers}), ("customer", {x.name for x in c.customers}),
                             ("team", {t.name for t in c.teams}), ("key", set(self.directory.by_name))):
            self.ledger.retain(level, names)

    def rebuild(self) -> None:
        """After an entity changed: re-index keys and re-apply budgets (spend is kept)."""
        self.directory = Directory(self.config)
        self.apply_budgets()

    def overlay(self, stored: list[tuple[str, str, dict, bool]]) -> None:
        """Apply entities stored through the API/console over the config file's (the stored version wins)."""
        lists = {"customer": self.config.customers, "team": self.config.teams, "virtual_key": self.config.virtual_keys}
        for kind, name, spec, deleted in stored:
            if kind == "provider_budgets":
                provider = self.config.provider(name)
                if provider is not None:
                    provider.budgets = parse_budgets(spec.get("budgets", []))
                continue
            items = lists.get(kind)
            if items is None:
                continue
            items[:] = [item for item in items if item.name != name]
            self.entity_source[(kind, name)] = "api"
            if deleted:
                continue
            try:
                items.append(parse_entity(kind, spec, providers={p.name for p in self.config.providers},
                                          customers={c.name for c in self.config.customers},
                                          teams={t.name for t in self.config.teams}, zone=self.tz))
            except EntityInvalid as exc:
                self.warnings.append(f"stored {kind} {name!r} is invalid and was skipped: {exc}")

    async def start(self) -> None:
        await self.writer.open()
        await ensure_schema(self.writer.db)
        self.overlay(await load_entities(self.writer.db))
        self.rebuild()
        self.warnings.extend(allowed_models_warnings(self.config.virtual_keys, self.known_model_names()))
        now = datetime.now(timezone.utc)
        await load_counters(self.writer.db, self.ledger, now)
        await seed_counters(self.writer.db, self.ledger, now)
        self.governor.recount_rates(await recent_admitted(self.writer.db, now), now, time.monotonic())
        self.ledger.running = True
        month = parse_period("1M", False).window_at(now, self.tz)
        async with self.writer.db.execute(
                "SELECT ts, key_name, team, served_model, cost_micro_usd, requested_cost_micro_usd, status, error_type "
                "FROM request_log "
                "WHERE ts >= ?", (iso_utc(month.start),)) as cur:
            self.live.seed(await cur.fetchall())
        for client in self.providers:
            await client.start()
        for warning in self.warnings:
            log.warning(warning)
        self._lag_task = asyncio.create_task(self._watch_loop_lag(), name="loop-lag")

    async def _watch_loop_lag(self, tick: float = 0.1) -> None:
        """How late the event loop wakes up: every stall here is latency added to requests in flight."""
        loop = asyncio.get_running_loop()
        worst, window_start = 0.0, loop.time()
        while True:
            before = loop.time()
            await asyncio.sleep(tick)
            worst = max(worst, (loop.time() - before - tick) * 1000)
            if loop.time() - window_start >= 2.0:
                self.live.loop_lag_ms, worst, window_start = worst, 0.0, loop.time()

    async def reload(self, config: Config) -> list[str]:
        """Take a re-read config file: entities, budgets and limits change at once; spend is kept.
        Providers, storage and the listener need a restart (reported back, not applied)."""
        notes = []
        if [(p.name, p.type, p.base_url) for p in config.providers] != \
                [(p.name, p.type, p.base_url) for p in self.config.providers]:
            notes.append("provider list or URLs changed: restart to apply")
        for spec in config.providers:  # budgets of known providers apply now
            current = self.config.provider(spec.name)
            if current is not None:
                current.budgets = spec.budgets
        self.config.customers, self.config.teams = config.customers, config.teams
        self.config.virtual_keys = config.virtual_keys
        async with self.writer.lock:
            stored = await load_entities(self.writer.db)
        self.entity_source.clear()
        self.overlay(stored)
        self.rebuild()
        for warning in allowed_models_warnings(self.config.virtual_keys, self.known_model_names()):
            log.warning(warning)
        await self.reseed()
        return notes

    async def reseed(self) -> None:
        """After budgets changed at run time: give new budgets their window's spend from the log."""
        async with self.writer.lock:
            await self.writer._flush_locked()
            await seed_counters(self.writer.db, self.ledger, datetime.now(timezone.utc))

    async def close(self) -> None:
        if self._lag_task:
            self._lag_task.cancel()
        for client in self.providers:
            await client.close()
        await self.writer.close()

    def known_model_names(self) -> frozenset[str]:
        """The models the price table has and the providers are configured for (known_models.py)."""
        return known_models(self.prices, self.config.providers)

    def provider_for(self, key: KeyEntry, model: str) -> ProviderClient | None:
        """The first available provider that serves the model (routing rules refine this)."""
        for client in self.providers:
            if client.available and client.serves(model):
                return client
        return None

    def price(self, record: RequestRecord) -> None:
        model = record.served_model or record.requested_model
        u = record.usage
        if not (u.total_input_tokens or u.output_tokens):  # nothing consumed: nothing owed, whatever the model
            record.cost_micro_usd, record.priced = 0, True
            return
        cost = self.prices.cost(model, u) if model else None
        if cost is None:
            record.cost_micro_usd = None
            record.priced = False
            if model and model not in self._unpriced_warned:
                self._unpriced_warned.add(model)
                log.warning("model %r has no price: its requests are logged with cost unknown "
                            "(add it under pricing: in the config)", model)
        else:
            record.cost_micro_usd = cost.total_micro_usd
            record.priced = True
        if record.requested_model and record.requested_model != model:
            asked = self.prices.cost(record.requested_model, u)
            record.requested_cost_micro_usd = asked.total_micro_usd if asked else None
        else:
            record.requested_cost_micro_usd = record.cost_micro_usd

    def _breaker_changed(self, breaker: Breaker, old: str) -> None:
        log.warning("circuit %s/%s: %s -> %s (%s)", breaker.provider, breaker.key, old, breaker.state,
                    breaker.last_error or "ok")
        self.events.publish("breaker", {"provider": breaker.provider, "key": breaker.key, "from": old,
                                        "to": breaker.state, "reason": breaker.last_error,
                                        "at": datetime.now(timezone.utc).isoformat()})

    def failover(self, record: RequestRecord, src: str, dst: str, reason: str) -> None:
        at = datetime.now(timezone.utc)
        log.warning("failover %s -> %s for key %s: %s", src, dst, record.key_name, reason)
        self.writer.put_failover(at, record.id, record.key_name, src, dst, reason)
        self.events.publish("failover", {"at": at.isoformat(), "request_id": record.id, "key": record.key_name,
                                         "from": src, "to": dst, "reason": reason})

    def finish(self, record: RequestRecord) -> None:
        """Every request ends here exactly once: metrics, the request log, the event bus."""
        self.metrics.observe(record)
        self.writer.put(record)  # takes its row (with any stored prompt/response) and its charges now
        record.prompt = record.response = None  # the live ring keeps records without bodies,
        record.charges = ()  # and without the charges the writer summed: 8 objects a request with every tier on
        self.events.request_done(record)
