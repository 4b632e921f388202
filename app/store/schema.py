"""SQLite schema of the request log (and, as later features land, their tables), applied idempotently."""
from __future__ import annotations

LOG_COLUMNS = (
    "id", "ts", "path", "key_name", "team", "customer", "requested_model", "served_model", "provider",
    "provider_key", "simulated", "stream", "status", "error_type", "error_message", "input_tokens",
    "output_tokens", "cache_read_tokens", "cache_write_5m_tokens", "cache_write_1h_tokens", "cost_micro_usd",
    "priced", "latency_ms", "ttft_ms", "user_agent", "session_id", "prompt", "response", "rule", "attempts",
    "requested_cost_micro_usd", "rate_counted",
)

SCHEMA = """
PRAGMA journal_mode=WAL;
CREATE TABLE IF NOT EXISTS request_log (
    id TEXT PRIMARY KEY,
    ts TEXT NOT NULL,                 -- UTC, ISO 8601 with microseconds and Z: sorts as time
    path TEXT NOT NULL,
    key_name TEXT, team TEXT, customer TEXT,
    requested_model TEXT, served_model TEXT, provider TEXT, provider_key TEXT,
    simulated INTEGER NOT NULL DEFAULT 0,
    stream INTEGER NOT NULL DEFAULT 0,
    status INTEGER NOT NULL,
    error_type TEXT, error_message TEXT,
    input_tokens INTEGER NOT NULL DEFAULT 0,
    output_tokens INTEGER NOT NULL DEFAULT 0,
    cache_read_tokens INTEGER NOT NULL DEFAULT 0,
    cache_write_5m_tokens INTEGER NOT NULL DEFAULT 0,
    cache_write_1h_tokens INTEGER NOT NULL DEFAULT 0,
    cost_micro_usd INTEGER,           -- NULL = unknown (no price for the model)
    priced INTEGER NOT NULL DEFAULT 1,
    latency_ms REAL NOT NULL,
    ttft_ms REAL,
    user_agent TEXT, session_id TEXT,
    prompt TEXT, response TEXT,
    rule TEXT,                        -- routing rule that matched, e.g. key:0
    attempts TEXT,                    -- JSON list of provider attempts (failover chain)
    requested_cost_micro_usd INTEGER, -- the same usage priced at the requested model
    rate_counted INTEGER NOT NULL DEFAULT 0  -- 1: the rate limiter admitted it (counted again after a restart)
);
CREATE INDEX IF NOT EXISTS request_log_ts ON request_log (ts);
CREATE INDEX IF NOT EXISTS request_log_key_ts ON request_log (key_name, ts);
-- Settled spend per budget window, in micro-USD. Written in the same transaction as the log rows
-- that caused it, so `bifrost-tui verify` can rebuild and compare it from request_log.
CREATE TABLE IF NOT EXISTS budget_counters (
    level TEXT NOT NULL,              -- key | team | customer | provider
    entity TEXT NOT NULL,
    period TEXT NOT NULL,             -- 1d 1w 1M 1Y, or 5h / 7d for rolling windows
    window_key TEXT NOT NULL,         -- e.g. 1M:2026-11, or rolling:5h:<epoch minute>
    spent_micro_usd INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (level, entity, period, window_key)
);
"""

FAILOVER_SCHEMA = """
CREATE TABLE IF NOT EXISTS failover_events (
    ts TEXT NOT NULL, request_id TEXT, key_name TEXT, from_provider TEXT, to_provider TEXT, reason TEXT
);
CREATE INDEX IF NOT EXISTS failover_events_ts ON failover_events (ts);
"""
FAILOVER_INSERT_SQL = "INSERT INTO failover_events (ts, request_id, key_name, from_provider, to_provider, reason) " \
    "VALUES (?, ?, ?, ?, ?, ?)"

# Columns added after the first release: added to older files at open.
LATER_COLUMNS = {"rule": "TEXT", "attempts": "TEXT", "requested_cost_micro_usd": "INTEGER",
                 "rate_counted": "INTEGER NOT NULL DEFAULT 0"}

COUNTER_UPSERT_SQL = """
INSERT INTO budget_counters (level, entity, period, window_key, spent_micro_usd) VALUES (?, ?, ?, ?, ?)
ON CONFLICT (level, entity, period, window_key) DO UPDATE SET spent_micro_usd = spent_micro_usd + excluded.spent_micro_usd
"""
