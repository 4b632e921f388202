"""`bifrost-tui logs` on a request log with known rows: the --model filter against routed requests (asked
for one model, served by another) and --limit as the newest rows of the range, like `tail`."""
from __future__ import annotations

import csv
import io
import json
import os
import subprocess
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from app.core.records import RequestRecord
from app.core.usage import Usage
from app.store.request_log import INSERT_SQL, open_sync, record_to_row
from conftest import ROOT, bifrost_cmd, gateway_yaml, reader_output

START = datetime(2026, 11, 2, 4, 30, tzinfo=timezone.utc)  # 10:00 IST


def record(minute: int, requested: str, served: str, key: str = "dev-a") -> RequestRecord:
    return RequestRecord(id=f"req_{minute:03d}", ts=START + timedelta(minutes=minute), path="/v1/messages",
                         key_name=key, team="backend", customer="acme", requested_model=requested,
                         served_model=served, provider="sim", status=200,
                         usage=Usage(input_tokens=10, output_tokens=20), cost_micro_usd=100, latency_ms=12.5)


ROUTED = [
    record(0, "claude-sonnet-4-5", "claude-sonnet-4-5"),
    record(1, "claude-opus-4-1", "claude-haiku-4-5"),  # a routing rule sent it to haiku
    record(2, "claude-haiku-4-5", "claude-haiku-4-5", key="dev-b"),
]


def make_log(tmp_path: Path, rows: list[RequestRecord]) -> Path:
    cfg = tmp_path / "bifrost.yaml"
    cfg.write_text(gateway_yaml(tmp_path), encoding="utf-8")
    conn = open_sync(tmp_path / "bifrost.db")
    with conn:
        # inserted newest first: the order of the output must come from the times, not from insertion
        conn.executemany(INSERT_SQL, [record_to_row(r) for r in reversed(rows)])
    conn.close()
    return cfg


def logs(cfg: Path, *args: str) -> str:
    return reader_output("logs", cfg, *args)


def ids(cfg: Path, *args: str) -> list[str]:
    return [json.loads(line)["id"] for line in logs(cfg, "--format", "jsonl", *args).splitlines()]


def body_lines(table: str) -> list[str]:
    return [line for line in table.splitlines() if line.startswith("2026-")]


@pytest.fixture
def routed(tmp_path) -> Path:
    return make_log(tmp_path, ROUTED)


# -- 1. --model matches the requested or the served model; the table shows both when they differ ----------

def test_model_filter_matches_the_requested_or_the_served_model(routed):
    assert ids(routed, "--model", "claude-opus-4-1") == ["req_001"]  # requested only
    assert ids(routed, "--model", "claude-haiku-4-5") == ["req_001", "req_002"]  # served (routed) and both
    assert ids(routed, "--model", "claude-opus*") == ["req_001"]
    assert ids(routed, "--model", "claude-*") == ["req_000", "req_001", "req_002"]
    assert ids(routed, "--model", "gpt-*") == []


def test_the_table_shows_the_requested_model_of_a_routed_request(routed):
    """A row found by --model claude-opus-4-1 must show claude-opus-4-1, and which model served it."""
    table = logs(routed, "--model", "claude-opus-4-1")
    assert "requested → served" in table.splitlines()[0].lower()
    [row] = body_lines(table)
    assert "claude-opus-4-1 → claude-haiku-4-5" in row
    # a request served by the model it asked for names it once
    rows = body_lines(logs(routed))
    assert "claude-sonnet-4-5" in rows[0] and "→" not in rows[0]
    assert "claude-haiku-4-5" in rows[2] and "→" not in rows[2]


def test_the_table_never_cuts_a_model_name(tmp_path):
    long_id = "claude-sonnet-4-5-20250929-experimental"
    cfg = make_log(tmp_path, [record(0, "claude-opus-4-1-20250805", long_id)])
    [row] = body_lines(logs(cfg))
    assert f"claude-opus-4-1-20250805 → {long_id}" in row


def test_help_says_what_model_matches():
    result = subprocess.run(bifrost_cmd("logs", "--help"), capture_output=True, text=True, timeout=60,
                            env={**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "200"})
    assert "requested or the served model" in " ".join(result.stdout.split())


# -- 2. --limit N: the newest N rows of the range, printed oldest first -------------------------------------

@pytest.fixture
def ten(tmp_path) -> Path:
    return make_log(tmp_path, [record(m, "claude-sonnet-4-5", "claude-sonnet-4-5") for m in range(10)])


def test_limit_keeps_the_newest_rows_in_time_order(ten):
    assert ids(ten, "--limit", "3") == ["req_007", "req_008", "req_009"]
    assert ids(ten, "--limit", "3", "--until", "2026-11-02T10:05") == ["req_002", "req_003", "req_004"]
    assert ids(ten, "--limit", "50") == [f"req_{m:03d}" for m in range(10)]
    rows = list(csv.DictReader(io.StringIO(logs(ten, "--format", "csv", "--limit", "2"))))
    assert [r["id"] for r in rows] == ["req_008", "req_009"]


def test_limit_in_the_table_says_how_many_were_left_out(ten):
    table = logs(ten, "--limit", "3")
    assert [line[:16] for line in body_lines(table)] == ["2026-11-02T10:07", "2026-11-02T10:08",
                                                         "2026-11-02T10:09"]
    assert table.splitlines()[-1] == "the newest 3 of 10 request(s)"
    assert logs(ten, "--limit", "10").splitlines()[-1] == "10 request(s)"


@pytest.mark.parametrize("limit", ["0", "-1", "x"])
def test_limit_must_be_a_positive_number(ten, limit):
    result = subprocess.run(bifrost_cmd("logs", "--config", str(ten), "--limit", limit), cwd=ten.parent,
                            capture_output=True, text=True, timeout=60, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert result.returncode == 2 and "--limit" in result.stderr and "Traceback" not in result.stderr
