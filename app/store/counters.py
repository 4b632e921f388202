"""Loading budget spend from the store at start, and rebuilding it from the request log (`verify`)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import aiosqlite

from ..core.ledger import ROLLING_BUCKET_S, Ledger, rolling_seconds


async def load_counters(db: aiosqlite.Connection, ledger: Ledger, now: datetime) -> int:
    """Put each budget's stored spend for its current window (and live rolling buckets) into the ledger."""
    loaded = 0
    for ref, window_key in ledger.window_keys(now):
        async with db.execute("SELECT spent_micro_usd FROM budget_counters WHERE level=? AND entity=? AND period=? "
                              "AND window_key=?", (ref.level, ref.entity, ref.period, window_key)) as cur:
            row = await cur.fetchone()
        if row:
            ledger.load(ref, window_key, row[0])
            loaded += 1
    for state in ledger.states.values():
        if not state.ref.rolling:
            continue
        horizon = int((now - timedelta(seconds=rolling_seconds(state.period))).timestamp()) // ROLLING_BUCKET_S
        prefix = f"rolling:{state.ref.period}:"
        async with db.execute("SELECT window_key, spent_micro_usd FROM budget_counters WHERE level=? AND entity=? "
                              "AND period=? AND window_key LIKE ?",
                              (state.ref.level, state.ref.entity, state.ref.period, prefix + "%")) as cur:
            rows = await cur.fetchall()
        for window_key, spent in sorted(rows, key=lambda r: int(r[0].rsplit(":", 1)[1])):
            if int(window_key.rsplit(":", 1)[1]) > horizon:
                ledger.load(state.ref, window_key, spent)
                loaded += 1
    return loaded


LOG_COLUMN = {"key": "key_name", "team": "team", "customer": "customer", "provider": "provider"}


def _iso(ts: datetime) -> str:
    return ts.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


async def seed_counters(db: aiosqlite.Connection, ledger: Ledger, now: datetime) -> int:
    """A budget with no counter for its current window starts from the request log, not from zero:
    a monthly budget added on the 15th counts the month's spend so far. Call with the log flushed."""
    seeded = 0
    for ref, window_key in ledger.window_keys(now):
        state = ledger.states[ref]
        if not state.needs_seed:
            async with db.execute("SELECT 1 FROM budget_counters WHERE level=? AND entity=? AND period=? "
                                  "AND window_key=?", (ref.level, ref.entity, ref.period, window_key)) as cur:
                if await cur.fetchone():
                    continue
        state.needs_seed = False
        column = LOG_COLUMN[ref.level]
        async with db.execute(f"SELECT COALESCE(SUM(cost_micro_usd), 0) FROM request_log WHERE {column}=? "
                              "AND ts >= ? AND ts < ? AND cost_micro_usd IS NOT NULL",
                              (ref.entity, _iso(state.window_start), _iso(state.window_end))) as cur:
            spent = (await cur.fetchone())[0]
        await db.execute("INSERT OR REPLACE INTO budget_counters (level, entity, period, window_key, spent_micro_usd) "
                         "VALUES (?, ?, ?, ?, ?)", (ref.level, ref.entity, ref.period, window_key, spent))
        ledger.load(ref, window_key, spent)
        seeded += 1
    for state in ledger.states.values():  # rolling budgets: one counter a minute, rebuilt from the log
        if state.ref.rolling and (state.needs_seed or not state.buckets):
            seeded += await _seed_rolling(db, ledger, state, now)
    await db.commit()
    return seeded


async def _seed_rolling(db: aiosqlite.Connection, ledger: Ledger, state, now: datetime) -> int:
    ref = state.ref
    prefix = f"rolling:{ref.period}:"
    if state.needs_seed:  # re-added at run time: the log is the truth for its window
        state.needs_seed = False
        state.buckets.clear()
        state.spent = 0
        await db.execute("DELETE FROM budget_counters WHERE level=? AND entity=? AND period=? AND window_key LIKE ?",
                         (ref.level, ref.entity, ref.period, prefix + "%"))
    else:
        async with db.execute("SELECT 1 FROM budget_counters WHERE level=? AND entity=? AND period=? "
                              "AND window_key LIKE ? LIMIT 1", (ref.level, ref.entity, ref.period, prefix + "%")) as cur:
            if await cur.fetchone():
                return 0
    since = now - timedelta(seconds=rolling_seconds(state.period))
    async with db.execute(f"SELECT ts, cost_micro_usd FROM request_log WHERE {LOG_COLUMN[ref.level]}=? AND ts >= ? "
                          "AND cost_micro_usd IS NOT NULL AND cost_micro_usd > 0 ORDER BY ts",
                          (ref.entity, _iso(since))) as cur:
        rows = await cur.fetchall()
    minutes: dict[int, int] = {}
    for ts, cost in rows:
        minute = int(datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp()) // ROLLING_BUCKET_S
        minutes[minute] = minutes.get(minute, 0) + cost
    for minute, spent in sorted(minutes.items()):
        key = f"{prefix}{minute}"
        await db.execute("INSERT INTO budget_counters (level, entity, period, window_key, spent_micro_usd) "
                         "VALUES (?, ?, ?, ?, ?)", (ref.level, ref.entity, ref.period, key, spent))
        ledger.load(ref, key, spent)
    return len(minutes)
