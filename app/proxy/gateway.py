"""The running gateway: config, prices, keys, provider clients, metrics, request log, events."""
from __future__ import annotations

import logging

from ..core.config import Config
from ..core.directory import Directory, KeyEntry
from ..core.events import EventBus
from ..core.metrics import Metrics
from ..core.pricing import PriceTable
from ..core.records import RequestRecord
from ..store.log_writer import RequestLogWriter
from .providers import build_provider
from .providers.base import ProviderClient

log = logging.getLogger("bifrost.gateway")


class Gateway:
    def __init__(self, config: Config, prices: PriceTable | None = None):
        self.config = config
        self.prices = prices or PriceTable.load(config.pricing_file, overrides=config.pricing)
        self.directory = Directory(config)
        self.metrics = Metrics()
        self.events = EventBus()
        self.writer = RequestLogWriter(config.sqlite_path)
        self.providers: list[ProviderClient] = []
        self.warnings: list[str] = list(self.directory.warnings)
        self._unpriced_warned: set[str] = set()
        for spec in config.providers:
            client = build_provider(spec)
            if client is None:
                self.warnings.append(f"provider {spec.name!r}: type {spec.type} is not served by this build yet; "
                                     "requests skip it")
                continue
            self.warnings.extend(client.warnings)
            self.providers.append(client)

    async def start(self) -> None:
        await self.writer.open()
        for client in self.providers:
            await client.start()
        for warning in self.warnings:
            log.warning(warning)

    async def close(self) -> None:
        for client in self.providers:
            await client.close()
        await self.writer.close()

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

    def finish(self, record: RequestRecord) -> None:
        """Every request ends here exactly once: metrics, the request log, the event bus."""
        self.metrics.observe(record)
        self.writer.put(record)
        self.events.request_done(record)
