"""`bifrost-tui report`: spend per group and calendar period (in the config's timezone) from the request log."""
from __future__ import annotations

import csv
import sys
from dataclasses import dataclass, fields
from datetime import date, datetime
from zoneinfo import ZoneInfo

from ..core.config import Config
from ..core.printable import printable
from ..core.windows import Window, parse_period
from ..store.request_log import iso_utc, open_sync
from .csv_cells import inert
from .report_money import Amounts, money_text, report_money
from .timeparse import parse_range

GROUP_COLUMN = {"team": "team", "key": "key_name", "customer": "customer", "model": "served_model",
                "provider": "provider"}
PERIODS = {"day": "1d", "week": "1w", "month": "1M"}
NONE = "(none)"


@dataclass
class Line:
    period_start: str  # local date the period starts on
    group: str
    requests: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    cost_micro_usd: int = 0  # priced rows only
    unknown_cost: int = 0  # rows with no price (priced = 0)
    requested_cost_micro_usd: int = 0  # the same usage priced at the model each request asked for

    @property
    def saved_micro_usd(self) -> int:
        return self.requested_cost_micro_usd - self.cost_micro_usd

    def add(self, row) -> None:
        self.requests += 1
        self.input_tokens += row["input_tokens"]
        self.output_tokens += row["output_tokens"]
        self.cache_read_tokens += row["cache_read_tokens"]
        self.cache_write_tokens += row["cache_write_5m_tokens"] + row["cache_write_1h_tokens"]
        if row["priced"] and row["cost_micro_usd"] is not None:
            self.cost_micro_usd += row["cost_micro_usd"]
            asked = row["requested_cost_micro_usd"]
            self.requested_cost_micro_usd += row["cost_micro_usd"] if asked is None else asked
        else:
            self.unknown_cost += 1


def aggregate(rows, by: str, period: str, tz: ZoneInfo) -> list[Line]:
    """Lines sorted by period start, then cost (highest first), then group."""
    calendar = parse_period(PERIODS[period], False)
    column = GROUP_COLUMN[by]
    lines: dict[tuple[str, str], Line] = {}
    window: Window | None = None
    for row in rows:
        ts = datetime.fromisoformat(row["ts"].replace("Z", "+00:00"))
        if window is None or not window.start <= ts < window.end:
            window = calendar.window_at(ts, tz)
            start: date = window.start.astimezone(tz).date()
        key = (start.isoformat(), row[column] or NONE)
        line = lines.get(key)
        if line is None:
            line = lines[key] = Line(*key)
        line.add(row)
    return sorted(lines.values(), key=lambda x: (x.period_start, -x.cost_micro_usd, x.group))


def total(lines: list[Line]) -> Line:
    out = Line("total", "")
    for line in lines:
        for f in fields(Line)[2:]:
            setattr(out, f.name, getattr(out, f.name) + getattr(line, f.name))
    return out


def spend_report(config: Config, args) -> int:
    tz = ZoneInfo(config.timezone)
    try:
        since, until = parse_range(args.since, args.until, tz)
    except ValueError as exc:
        print(f"bifrost-tui report: {exc}", file=sys.stderr)
        return 2
    if not config.sqlite_path.exists():
        print(f"bifrost-tui report: no request log yet at {config.sqlite_path}", file=sys.stderr)
        return 1
    where, params = [], []
    if since:
        where.append("ts >= ?")
        params.append(iso_utc(since))
    if until:
        where.append("ts < ?")
        params.append(iso_utc(until))
    conn = open_sync(config.sqlite_path)
    try:
        rows = conn.execute("SELECT * FROM request_log" + (" WHERE " + " AND ".join(where) if where else "")
                            + " ORDER BY ts", params)
        lines = aggregate(rows, args.by, args.period, tz)
    finally:
        conn.close()
    write = {"csv": write_csv, "md": write_markdown}.get(args.format, write_table)
    write(lines, args, config, sys.stdout)
    return 0


def heads(args, config: Config) -> list[str]:
    out = [f"{args.period} starting", args.by, "requests", "input tokens", "output tokens", "cache read",
           "cache write", f"cost ({config.currency.code})", "unknown cost"]
    if getattr(args, "savings", False):
        out += ["at requested model", "saved by routing"]
    return out


def cells(line: Line, amounts: Amounts, config: Config, savings: bool = False) -> list[str]:
    group = printable(line.group) if isinstance(line.group, str) else line.group  # a model name is the upstream's
    out = [line.period_start, group, f"{line.requests:,}", f"{line.input_tokens:,}", f"{line.output_tokens:,}",
           f"{line.cache_read_tokens:,}", f"{line.cache_write_tokens:,}",
           money_text(amounts.cost, config.currency), f"{line.unknown_cost:,}"]
    if savings:
        out += [money_text(amounts.requested, config.currency), money_text(amounts.saved, config.currency)]
    return out


def write_csv(lines: list[Line], args, config: Config, out) -> None:
    """Machine-readable: plain integers; amounts in the display currency as the table prints them (so the
    column adds up to the table's total), and exact in micro-USD; no total row."""
    writer = csv.writer(out)
    savings = getattr(args, "savings", False)
    code = config.currency.code.lower()
    writer.writerow(["period_start", args.by, "requests", "input_tokens", "output_tokens", "cache_read_tokens",
                     "cache_write_tokens", f"cost_{code}", "cost_micro_usd", "unknown_cost_requests"]
                    + ([f"requested_cost_{code}", "requested_cost_micro_usd", f"saved_{code}", "saved_micro_usd"]
                       if savings else []))
    for x, amounts in zip(lines, report_money(lines, config.currency).lines):
        writer.writerow([x.period_start, inert(x.group), x.requests, x.input_tokens, x.output_tokens, x.cache_read_tokens,
                         x.cache_write_tokens, f"{amounts.cost:f}", x.cost_micro_usd, x.unknown_cost]
                        + ([f"{amounts.requested:f}", x.requested_cost_micro_usd, f"{amounts.saved:f}",
                            x.saved_micro_usd] if savings else []))


def body_and_total(lines: list[Line], args, config: Config) -> tuple[list[list[str]], list[str]]:
    """The cells of every line and of the total line, money rounded so each column adds up."""
    savings = getattr(args, "savings", False)
    money = report_money(lines, config.currency)
    body = [cells(x, amounts, config, savings) for x, amounts in zip(lines, money.lines)]
    return body, cells(total(lines), money.total, config, savings)


def write_markdown(lines: list[Line], args, config: Config, out) -> None:
    h = heads(args, config)
    out.write("| " + " | ".join(h) + " |\n")
    out.write("|" + "|".join(["---", "---"] + ["---:"] * (len(h) - 2)) + "|\n")
    body, t = body_and_total(lines, args, config)
    for row in body:
        out.write("| " + " | ".join(c.replace("|", "\\|") for c in row) + " |\n")
    out.write("| " + " | ".join(["**total**", ""] + [f"**{c}**" for c in t[2:]]) + " |\n")


def write_table(lines: list[Line], args, config: Config, out) -> None:
    h = heads(args, config)
    body, t = body_and_total(lines, args, config)
    t[1] = f"{len(lines)} line(s)"
    widths = [max(len(r[i]) for r in [h, *body, t]) for i in range(len(h))]

    def fmt(row: list[str]) -> str:
        return "  ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths))).rstrip()

    out.write(fmt(h) + "\n")
    for row in body:
        out.write(fmt(row) + "\n")
    out.write("  ".join("-" * w for w in widths) + "\n")
    out.write(fmt(t) + "\n")
