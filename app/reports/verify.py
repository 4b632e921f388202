"""`bifrost-tui verify`: budget_counters against sums rebuilt from the request log, charge key by charge key.

A charge lands in the window holding the request's arrival time (the ledger's rule), so every counter
can be recomputed from the log rows of its entity: calendar windows by Period.window_at(ts, tz).key,
rolling windows by minute bucket "rolling:<period>:<epoch minute>".
"""
from __future__ import annotations

import json
import sqlite3
import sys
from dataclasses import dataclass
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from ..core.config import Budget, Config
from ..core.entity_dicts import EntityInvalid, parse_budgets
from ..core.ledger import ROLLING_BUCKET_S
from ..core.money import format_money
from ..core.windows import parse_period
from ..store.counters import LOG_COLUMN
from ..store.request_log import open_sync

CounterId = tuple[str, str, str, str]  # level, entity, period, window_key
STORED_LEVEL = {"customer": "customer", "team": "team", "virtual_key": "key"}


@dataclass
class Drift:
    level: str
    entity: str
    period: str
    window_key: str
    counter: int | None  # None: no counter row
    log_sum: int

    @property
    def difference(self) -> int:
        return (self.counter or 0) - self.log_sum


def configured_budgets(config: Config, conn: sqlite3.Connection) -> dict[tuple[str, str], list[Budget]]:
    """Budgets per (level, entity): the config file's, overlaid with entities stored through the API."""
    out: dict[tuple[str, str], list[Budget]] = {("provider", p.name): p.budgets for p in config.providers}
    out.update({("customer", c.name): c.budgets for c in config.customers})
    out.update({("team", t.name): t.budgets for t in config.teams})
    out.update({("key", k.name): k.budgets for k in config.virtual_keys})
    if not conn.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name='entities'").fetchone():
        return out
    for kind, name, spec, deleted in conn.execute("SELECT kind, name, spec, deleted FROM entities ORDER BY updated_at"):
        level = "provider" if kind == "provider_budgets" else STORED_LEVEL.get(kind)
        if level is None or (level == "provider" and config.provider(name) is None):
            continue
        if deleted:
            out.pop((level, name), None)
            continue
        try:
            out[(level, name)] = parse_budgets(json.loads(spec).get("budgets") or [])
        except (EntityInvalid, ValueError, AttributeError):
            continue  # the gateway skips an invalid stored entity too
    return out


def log_sums(conn: sqlite3.Connection, level: str, entity: str, period: str, rolling: bool,
             tz: ZoneInfo) -> dict[str, int]:
    """Spend of one entity per charge key of one budget period, exactly as the ledger keys its charges."""
    calendar = None if rolling else parse_period(period, False)
    sums: dict[str, int] = {}
    window = None
    for ts_text, cost in conn.execute(f"SELECT ts, cost_micro_usd FROM request_log WHERE {LOG_COLUMN[level]} = ? "
                                      "AND cost_micro_usd IS NOT NULL ORDER BY ts", (entity,)):
        ts = datetime.fromisoformat(ts_text.replace("Z", "+00:00"))
        if calendar is None:
            key = f"rolling:{period}:{int(ts.timestamp()) // ROLLING_BUCKET_S}"
        else:
            if window is None or not window.start <= ts < window.end:
                window = calendar.window_at(ts, tz)
            key = window.key
        sums[key] = sums.get(key, 0) + cost
    return sums


def find_drift(config: Config, conn: sqlite3.Connection, now: datetime) -> tuple[int, list[Drift]]:
    """(counters checked, drifts): every counter row, plus current calendar windows of configured
    budgets that have log spend but no counter."""
    tz = ZoneInfo(config.timezone)
    counters = {tuple(r[:4]): r[4] for r in conn.execute(
        "SELECT level, entity, period, window_key, spent_micro_usd FROM budget_counters")}
    cache: dict[tuple[str, str, str, bool], dict[str, int]] = {}

    def sums(level: str, entity: str, period: str, rolling: bool) -> dict[str, int]:
        ident = (level, entity, period, rolling)
        if ident not in cache:
            cache[ident] = log_sums(conn, level, entity, period, rolling, tz) if level in LOG_COLUMN else {}
        return cache[ident]

    drifts = []
    for (level, entity, period, window_key), spent in sorted(counters.items()):
        logged = sums(level, entity, period, window_key.startswith("rolling:")).get(window_key, 0)
        if spent != logged:
            drifts.append(Drift(level, entity, period, window_key, spent, logged))
    for (level, entity), budgets in sorted(configured_budgets(config, conn).items()):
        for b in budgets:
            if b.rolling:  # rolling buckets are never seeded: spend before a budget existed has none
                continue
            window_key = parse_period(b.period, False).window_at(now, tz).key
            logged = sums(level, entity, b.period, False).get(window_key, 0)
            if (level, entity, b.period, window_key) not in counters and logged:
                drifts.append(Drift(level, entity, b.period, window_key, None, logged))
    return len(counters), drifts


def repair(conn: sqlite3.Connection, drifts: list[Drift]) -> None:
    """Every drifting counter set to its log sum, in one transaction."""
    with conn:
        for d in drifts:
            conn.execute("INSERT INTO budget_counters (level, entity, period, window_key, spent_micro_usd) "
                         "VALUES (?, ?, ?, ?, ?) ON CONFLICT (level, entity, period, window_key) "
                         "DO UPDATE SET spent_micro_usd = excluded.spent_micro_usd",
                         (d.level, d.entity, d.period, d.window_key, d.log_sum))


def amount(micro: int | None, config: Config, signed: bool = False) -> str:
    if micro is None:
        return "(no counter)"
    sign = "+" if signed and micro > 0 else ("-" if micro < 0 else "")
    return f"{sign}{format_money(abs(micro), config.currency)} ({sign}{abs(micro):,} micro-USD)"


def print_drifts(drifts: list[Drift], config: Config, out) -> None:
    heads = ("LEVEL", "ENTITY", "PERIOD", "WINDOW", "COUNTER", "LOG SUM", "DIFFERENCE")
    rows = [(d.level, d.entity, d.period, d.window_key, amount(d.counter, config), amount(d.log_sum, config),
             amount(d.difference, config, signed=True)) for d in drifts]
    widths = [max(len(r[i]) for r in (heads, *rows)) for i in range(len(heads))]
    for row in (heads, *rows):
        out.write("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() + "\n")


def verify_counters(config: Config, args) -> int:
    if not config.sqlite_path.exists():
        print(f"bifrost-tui verify: no request log yet at {config.sqlite_path}", file=sys.stderr)
        return 1
    conn = open_sync(config.sqlite_path)
    try:
        checked, drifts = find_drift(config, conn, datetime.now(timezone.utc))
        if not drifts:
            print(f"no drift: {checked} counters match the request log")
            return 0
        print(f"drift: {len(drifts)} budget counter(s) differ from the request log "
              f"(difference = counter - log sum)")
        print_drifts(drifts, config, sys.stdout)
        if not args.repair:
            print("run `bifrost-tui verify --repair` to set these counters to the log sums")
            return 1
        repair(conn, drifts)
        for d in drifts:
            print(f"repaired {d.level} {d.entity} {d.window_key}: {amount(d.counter, config)} -> "
                  f"{amount(d.log_sum, config)}")
        print("a running gateway keeps its in-memory totals until it restarts: restart it to load the "
              "repaired counters")
        return 0
    finally:
        conn.close()
