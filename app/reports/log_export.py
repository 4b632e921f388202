"""`bifrost-tui logs`: the request log as a table, CSV or JSON lines (times in the team's timezone)."""
from __future__ import annotations

import csv
import json
import sys
from datetime import datetime
from zoneinfo import ZoneInfo

from ..core.config import Config
from ..core.money import format_money, micro_usd_to_display
from ..core.printable import printable
from ..store.request_log import open_sync, query_log
from .csv_cells import inert
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
    rows = query_log(conn, key=args.key, model=args.model, since=since, until=until, limit=args.limit)
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
        print_table(records, out)
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


def print_table(records: list[dict], out) -> None:
    cols = (("time", 19), ("key_name", 14), ("served_model", 26), ("provider", 10), ("status", 6),
            ("input_tokens", 9), ("output_tokens", 9), ("cost_text", 12), ("latency_ms", 9))
    heads = ("TIME", "KEY", "MODEL", "PROVIDER", "STATUS", "IN", "OUT", "COST", "MS")
    out.write("  ".join(h.ljust(w) for h, (_, w) in zip(heads, cols)).rstrip() + "\n")
    for r in records:
        cells = []
        for name, width in cols:
            value = r[name]
            text = "" if value is None else (value[:19] if name == "time" else printable(str(value)))
            cells.append(text[:width].ljust(width))
        out.write("  ".join(cells).rstrip() + "\n")
    out.write(f"{len(records)} request(s)\n")
