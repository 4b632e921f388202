"""Write-behind queue for the request log: the request path appends, a task writes batches.

`put()` never awaits. A background task flushes every `interval` seconds (or sooner when
`batch` rows wait) in one transaction. `close()` drains everything; a failed write keeps the
rows and retries, so nothing is dropped while the process lives.
"""
from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import aiosqlite

from ..core.records import RequestRecord
from .request_log import INSERT_SQL, iso_utc, migrations, record_to_row
from .schema import COUNTER_UPSERT_SQL, FAILOVER_INSERT_SQL, FAILOVER_SCHEMA, SCHEMA

log = logging.getLogger("bifrost.store")


class RequestLogWriter:
    def __init__(self, path: Path, *, interval: float = 0.2, batch: int = 500):
        self.path = path
        self.interval = interval
        self.batch = batch
        self.pending: list[tuple] = []
        # Settled spend waiting for the same transaction, summed per counter row: (level, entity, period,
        # window_key) -> micro-USD. The upsert adds, so one row per counter and batch is the same as one per
        # charge (8 per request with everything on), at a fraction of the SQLite work.
        self.pending_charges: dict[tuple, int] = {}
        self.pending_events: list[tuple] = []
        self.written = 0
        self._db: aiosqlite.Connection | None = None
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None
        self._closing = False
        self.lock = asyncio.Lock()  # one transaction at a time on the shared connection

    async def open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = await aiosqlite.connect(self.path)
        await self._db.executescript(SCHEMA + FAILOVER_SCHEMA)
        async with self._db.execute("PRAGMA table_info(request_log)") as cur:
            existing = {row[1] for row in await cur.fetchall()}
        for sql in migrations(existing):
            await self._db.execute(sql)
        await self._db.execute("PRAGMA synchronous=NORMAL")
        await self._db.commit()
        self._task = asyncio.create_task(self._run(), name="request-log-writer")

    @property
    def db(self) -> aiosqlite.Connection:
        assert self._db is not None, "RequestLogWriter.open() first"
        return self._db

    def put(self, record: RequestRecord) -> None:
        self.pending.append(record_to_row(record))
        charges = self.pending_charges
        for c in record.charges:
            row = (c.ref.level, c.ref.entity, c.ref.period, c.window_key)
            charges[row] = charges.get(row, 0) + c.amount
        if len(self.pending) >= self.batch:
            self._wake.set()

    def put_failover(self, at, request_id: str, key: str | None, src: str, dst: str, reason: str) -> None:
        self.pending_events.append((iso_utc(at), request_id, key, src, dst, reason))

    async def flush(self) -> None:
        async with self.lock:
            await self._flush_locked()

    async def _flush_locked(self) -> None:
        while self.pending or self.pending_charges or self.pending_events:
            rows, self.pending = self.pending, []
            charges, self.pending_charges = self.pending_charges, {}
            events, self.pending_events = self.pending_events, []
            try:  # log rows and the spend they caused land together or not at all
                await self.db.executemany(INSERT_SQL, rows)
                await self.db.executemany(COUNTER_UPSERT_SQL, [(*row, amount) for row, amount in charges.items()])
                await self.db.executemany(FAILOVER_INSERT_SQL, events)
                await self.db.commit()
                self.written += len(rows)
            except Exception:
                await self.db.rollback()
                self.pending[:0] = rows  # keep them, in order; retried on the next tick
                for row, amount in self.pending_charges.items():  # charges put meanwhile join the kept ones
                    charges[row] = charges.get(row, 0) + amount
                self.pending_charges = charges
                self.pending_events[:0] = events
                raise

    async def _run(self) -> None:
        while not self._closing:
            try:
                await asyncio.wait_for(self._wake.wait(), self.interval)
            except asyncio.TimeoutError:
                pass
            self._wake.clear()
            try:
                await self.flush()
            except Exception:
                log.exception("request log write failed; %d rows kept for retry", len(self.pending))
                await asyncio.sleep(1.0)

    async def close(self) -> None:
        """Drain the queue (retrying a few times) and close the database."""
        self._closing = True
        self._wake.set()
        if self._task:
            await asyncio.gather(self._task, return_exceptions=True)
        for attempt in range(5):
            try:
                await self.flush()
                break
            except Exception:
                log.exception("request log drain failed (attempt %d); retrying", attempt + 1)
                await asyncio.sleep(0.5)
        if self.pending:
            log.error("request log: %d rows could not be written at shutdown", len(self.pending))
        await self.db.close()
        self._db = None
