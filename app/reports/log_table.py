"""The `bifrost-tui logs` table: one line a request, columns as wide as their widest cell (nothing cut).

A routed request shows both models, `requested → served` (what `--model` matched may be either); text from
clients and upstreams goes through `printable`, so a control character never reaches the terminal.
"""
from __future__ import annotations

from ..core.printable import printable

# (heading, record field, right-aligned)
COLUMNS = (("TIME", "time", False), ("KEY", "key_name", False), ("MODEL (REQUESTED → SERVED)", "model", False),
           ("PROVIDER", "provider", False), ("STATUS", "status", False), ("IN", "input_tokens", True),
           ("OUT", "output_tokens", True), ("COST", "cost_text", True), ("MS", "latency_ms", True))


def model_text(requested: str | None, served: str | None) -> str:
    """`served`, or `requested → served` when a rule (or a fallback) served another model than asked for."""
    if served is None or requested is None or requested == served:
        return served or requested or ""
    return f"{requested} → {served}"


def cell(record: dict, field: str) -> str:
    if field == "model":
        return printable(model_text(record["requested_model"], record["served_model"]))
    value = record[field]
    if value is None:
        return ""
    return value[:19] if field == "time" else printable(str(value))


def footer(shown: int, matching: int) -> str:
    """`N request(s)`, or `the newest N of M request(s)` when --limit left older ones out."""
    return f"the newest {shown} of {matching} request(s)" if matching > shown else f"{shown} request(s)"


def print_table(records: list[dict], out, matching: int | None = None) -> None:
    rows = [[heading for heading, _, _ in COLUMNS]]
    rows += [[cell(r, field) for _, field, _ in COLUMNS] for r in records]
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    for row in rows:
        cells = (text.rjust(w) if right else text.ljust(w) for text, w, (_, _, right) in zip(row, widths, COLUMNS))
        out.write("  ".join(cells).rstrip() + "\n")
    out.write(footer(len(records), len(records) if matching is None else matching) + "\n")
