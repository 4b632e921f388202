"""`bifrost-tui logs`: the request log as a table, CSV or JSON lines (times in the team's timezone)."""
from __future__ import annotations

import csv
import json
import sys
from datetime import datetime
from zoneinfo import ZoneInfo

from ..core.config import Config
from ..core.money import format_money, micro_usd_to_display
from ..store.request_log import count_log, open_sync, query_log
from .csv_cells import inert
from .log_table import print_table
from .timeparse import parse_range

FIELDS = ("time", "id", "key_name", "team", "customer", "requested_model", "served_model", "provider",
          "provider_key", "status", "error_type", "stream", "input_tokens", "output_tokens", "cache_read_tokens",
          "cache_write_5m_tokens", "cache_write_1h_tokens", "cost_micro_usd", "cost", "latency_ms", "ttft_ms",
          "user_agent", "session_id", "simulated", "ts_utc")


def local_time(ts_utc: str, tz: ZoneInfo) -> datetime:
    return datetime.fromisoformat(ts_utc.replace("Z", "+00:00")).astimezone(tz)


def export_logs(config: Config, args) -> int:
    tz = ZoneInfo(config.timezone)
    try:
        since, until = parse_range(args.since, args.until, tz)
    except ValueError as exc:
        print(f"bifrost-tui logs: {exc}", file=sys.stderr)
        return 2
    if not config.sqlite_path.exists():
        print(f"bifrost-tui logs: no request log yet at {config.sqlite_path}", file=sys.stderr)
        return 1
    conn = open_sync(config.sqlite_path)
    where = {"key": args.key, "model": args.model, "since": since, "until": until}
    try:
        rows = query_log(conn, **where, limit=args.limit)  # with --limit: the newest rows, oldest first
        limited = args.format == "table" and args.limit and len(rows) == args.limit
        matching = count_log(conn, **where) if limited else len(rows)  # the table says what --limit left out
    finally:
        conn.close()
    records = [row_dict(row, config, tz) for row in rows]
    out = sys.stdout
    if args.format == "jsonl":
        for r in records:
            out.write(json.dumps(r, ensure_ascii=False) + "\n")
    elif args.format == "csv":
        writer = csv.DictWriter(out, fieldnames=FIELDS)
        writer.writeheader()
        writer.writerows({name: inert(value) for name, value in r.items()} for r in records)
    else:
        for r, row in zip(records, rows):
            r["cost_text"] = format_money(row["cost_micro_usd"] if row["priced"] else None, config.currency)
        print_table(records, out, matching)
    return 0


def row_dict(row, config: Config, tz: ZoneInfo) -> dict:
    cost = row["cost_micro_usd"]
    return {
        "time": local_time(row["ts"], tz).isoformat(timespec="seconds"), "id": row["id"],
        "key_name": row["key_name"], "team": row["team"], "customer": row["customer"],
        "requested_model": row["requested_model"], "served_model": row["served_model"], "provider": row["provider"],
        "provider_key": row["provider_key"], "status": row["status"], "error_type": row["error_type"],
        "stream": bool(row["stream"]), "input_tokens": row["input_tokens"], "output_tokens": row["output_tokens"],
        "cache_read_tokens": row["cache_read_tokens"], "cache_write_5m_tokens": row["cache_write_5m_tokens"],
        "cache_write_1h_tokens": row["cache_write_1h_tokens"],
        "cost_micro_usd": cost if row["priced"] else None,
        "cost": (str(micro_usd_to_display(cost, config.currency)) if row["priced"] and cost is not None
                 else "unknown"),
        "latency_ms": row["latency_ms"], "ttft_ms": row["ttft_ms"], "user_agent": row["user_agent"],
        "session_id": row["session_id"], "simulated": bool(row["simulated"]), "ts_utc": row["ts"],
    }
