"""The request log in SQLite: rows in (batched), rows out (for `bifrost-tui logs` and reports)."""
from __future__ import annotations

import json
import sqlite3
from datetime import datetime, timezone
from pathlib import Path

import orjson

from ..core.records import RequestRecord
from .schema import FAILOVER_SCHEMA, LATER_COLUMNS, LOG_COLUMNS, SCHEMA

INSERT_SQL = f"INSERT INTO request_log ({', '.join(LOG_COLUMNS)}) VALUES ({', '.join('?' * len(LOG_COLUMNS))})"


def iso_utc(ts: datetime) -> str:
    """``2026-11-26T23:14:57.123456Z`` (microseconds always; the log's ts column sorts as text)."""
    utc = ts.astimezone(timezone.utc)
    if utc.year < 1000:  # strftime's unpadded %Y, kept for such years
        return utc.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return utc.isoformat(timespec="microseconds")[:-6] + "Z"  # same text as the strftime, half the time


def _attempts_json(attempts: list) -> str:
    """Compact JSON of the attempt notes (orjson; UTF-8 rather than \\u escapes, same values)."""
    try:
        return orjson.dumps(attempts).decode()
    except TypeError:  # something orjson does not serialise: the stdlib's text
        return json.dumps(attempts, separators=(",", ":"))


def record_to_row(r: RequestRecord) -> tuple:
    u = r.usage
    return (
        r.id, iso_utc(r.ts), r.path, r.key_name, r.team, r.customer, r.requested_model, r.served_model,
        r.provider, r.provider_key, int(r.simulated), int(r.stream), r.status, r.error_type, r.error_message,
        u.input_tokens, u.output_tokens, u.cache_read_tokens, u.cache_write_5m_tokens, u.cache_write_1h_tokens,
        r.cost_micro_usd, int(r.priced), round(r.latency_ms, 3), None if r.ttft_ms is None else round(r.ttft_ms, 3),
        r.user_agent, r.session_id, r.prompt, r.response, r.rule,
        _attempts_json(r.attempts) if r.attempts else None, r.requested_cost_micro_usd, int(r.rate_counted),
    )


def open_sync(path: Path) -> sqlite3.Connection:
    """A plain sqlite3 connection with the schema applied, for CLI readers."""
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path)
    conn.row_factory = sqlite3.Row
    conn.executescript(SCHEMA + FAILOVER_SCHEMA)
    for sql in migrations({row[1] for row in conn.execute("PRAGMA table_info(request_log)")}):
        conn.execute(sql)
    conn.commit()
    return conn


def migrations(existing_columns: set[str]) -> list[str]:
    return [f"ALTER TABLE request_log ADD COLUMN {name} {kind}" for name, kind in LATER_COLUMNS.items()
            if name not in existing_columns]


def _log_filter(key: str | None, model: str | None, since: datetime | None,
                until: datetime | None) -> tuple[str, list]:
    """The WHERE clause of a log query: a key, a model name or glob that the request asked for or was served
    by (a routed request matches both), and a [since, until) range."""
    where, args = [], []
    if key:
        where.append("key_name = ?")
        args.append(key)
    if model:
        where.append("(requested_model GLOB ? OR served_model GLOB ?)")
        args += [model, model]
    if since:
        where.append("ts >= ?")
        args.append(iso_utc(since))
    if until:
        where.append("ts < ?")
        args.append(iso_utc(until))
    return (" WHERE " + " AND ".join(where) if where else ""), args


def query_log(conn: sqlite3.Connection, *, key: str | None = None, model: str | None = None,
              since: datetime | None = None, until: datetime | None = None, limit: int | None = None) -> list[sqlite3.Row]:
    """Matching rows in time order; with `limit`, the newest `limit` of them (like `tail`), still oldest first."""
    where, args = _log_filter(key, model, since, until)
    if not limit:
        return conn.execute(f"SELECT * FROM request_log{where} ORDER BY ts, rowid", args).fetchall()
    newest = f"SELECT * FROM request_log{where} ORDER BY ts DESC, rowid DESC LIMIT ?"
    rows = conn.execute(newest, [*args, int(limit)]).fetchall()
    return rows[::-1]


def count_log(conn: sqlite3.Connection, *, key: str | None = None, model: str | None = None,
              since: datetime | None = None, until: datetime | None = None) -> int:
    where, args = _log_filter(key, model, since, until)
    return conn.execute(f"SELECT count(*) FROM request_log{where}", args).fetchone()[0]
