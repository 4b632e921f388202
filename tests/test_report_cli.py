"""`bifrost-tui report`: spend per group and calendar period from a request log with known rows, across
local midnight in Asia/Kolkata (+05:30), both DST changes in America/New_York, and unpriced rows."""
from __future__ import annotations

import csv
import io
import os
import re
import subprocess
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from app.core.records import RequestRecord
from app.core.usage import Usage
from app.store.request_log import INSERT_SQL, open_sync, record_to_row
from conftest import ROOT, bifrost_cmd, gateway_yaml, reader_output

PER_USD = Decimal("84.0")


def record(ts: str, cost: int | None, *, key: str = "dev-a", team: str | None = "backend",
           model: str = "claude-sonnet-4-5", usage: Usage | None = None) -> RequestRecord:
    return RequestRecord(id=f"req_{ts}", ts=datetime.fromisoformat(ts.replace("Z", "+00:00")), path="/v1/messages",
                         key_name=key, team=team, customer="acme" if team else None, requested_model=model,
                         served_model=model, provider="sim", status=200,
                         usage=usage or Usage(input_tokens=10, output_tokens=20), cost_micro_usd=cost,
                         priced=cost is not None, latency_ms=12.5)


KOLKATA_ROWS = [
    record("2026-10-31T18:29:00Z", 400),   # 23:59 IST, Saturday 31 October
    record("2026-10-31T18:31:00Z", 700),   # 00:01 IST, Sunday 1 November
    record("2026-11-02T10:00:00Z", 3500, key="dev-b", team=None,
           usage=Usage(input_tokens=100, output_tokens=200, cache_read_tokens=1000, cache_write_5m_tokens=50,
                       cache_write_1h_tokens=25)),
    record("2026-11-02T12:00:00Z", None, model="mystery-model", usage=Usage(input_tokens=5, output_tokens=7)),
    record("2026-11-02T18:29:00Z", 1000),  # 23:59 IST, Monday 2 November
    record("2026-11-02T18:31:00Z", 2000),  # 00:01 IST, Tuesday 3 November: same UTC day, next local day
]

NEW_YORK_ROWS = [
    record("2026-03-08T04:59:00Z", 20000),  # Sat 7 Mar 23:59 EST
    record("2026-03-08T05:00:00Z", 40000),  # Sun 8 Mar 00:00 EST (a 23-hour day: clocks spring forward)
    record("2026-03-09T04:30:00Z", 10000),  # Mon 9 Mar 00:30 EDT (fixed -05:00 would say 8 Mar)
    record("2026-11-01T03:59:00Z", 1),      # Sat 31 Oct 23:59 EDT
    record("2026-11-01T04:00:00Z", 10),     # Sun 1 Nov 00:00 EDT (a 25-hour day: clocks fall back)
    record("2026-11-02T04:30:00Z", 100),    # Sun 1 Nov 23:30 EST (fixed -04:00 would say 2 Nov)
    record("2026-11-02T05:00:00Z", 1000),   # Mon 2 Nov 00:00 EST
]


def make_log(tmp_path: Path, rows: list[RequestRecord], timezone: str = "Asia/Kolkata") -> Path:
    cfg = tmp_path / "bifrost.yaml"
    cfg.write_text(gateway_yaml(tmp_path).replace("timezone: Asia/Kolkata", f"timezone: {timezone}"),
                   encoding="utf-8")
    conn = open_sync(tmp_path / "bifrost.db")
    with conn:
        conn.executemany(INSERT_SQL, [record_to_row(r) for r in rows])
    conn.close()
    return cfg


@pytest.fixture
def kolkata(tmp_path) -> Path:
    return make_log(tmp_path, KOLKATA_ROWS)


def report(cfg: Path, *args: str) -> str:
    return reader_output("report", cfg, *args)


def csv_lines(cfg: Path, *args: str) -> list[tuple]:
    """(period start, group, requests, cost micro-USD, unknown) per line; checks the display cost column."""
    rows = list(csv.DictReader(io.StringIO(report(cfg, *args, "--format", "csv"))))
    for r in rows:  # the amount the table prints: the exact one rounded down or up to the report's places
        printed, exact = Decimal(r["cost_inr"]), Decimal(r["cost_micro_usd"]) * PER_USD / 1_000_000
        assert abs(printed - exact) < Decimal(1).scaleb(printed.as_tuple().exponent)
    by = next(k for k in rows[0] if k not in ("period_start", "requests")) if rows else None
    return [(r["period_start"], r[by], int(r["requests"]), int(r["cost_micro_usd"]), int(r["unknown_cost_requests"]))
            for r in rows]


def test_days_split_at_local_midnight_in_kolkata(kolkata):
    assert csv_lines(kolkata, "--by", "key", "--period", "day") == [
        ("2026-10-31", "dev-a", 1, 400, 0),
        ("2026-11-01", "dev-a", 1, 700, 0),
        ("2026-11-02", "dev-b", 1, 3500, 0),   # cost descending within the day
        ("2026-11-02", "dev-a", 2, 1000, 1),   # the unpriced row counts as a request of unknown cost
        ("2026-11-03", "dev-a", 1, 2000, 0),
    ]


def test_weeks_start_on_monday_and_months_on_the_first(kolkata):
    assert csv_lines(kolkata, "--by", "key", "--period", "week") == [
        ("2026-10-26", "dev-a", 2, 1100, 0),
        ("2026-11-02", "dev-b", 1, 3500, 0),
        ("2026-11-02", "dev-a", 3, 3000, 1),
    ]
    assert csv_lines(kolkata, "--by", "key", "--period", "month") == [
        ("2026-10-01", "dev-a", 1, 400, 0),
        ("2026-11-01", "dev-a", 4, 3700, 1),
        ("2026-11-01", "dev-b", 1, 3500, 0),
    ]


def test_other_groupings(kolkata):
    assert csv_lines(kolkata, "--by", "team", "--period", "month") == [
        ("2026-10-01", "backend", 1, 400, 0),
        ("2026-11-01", "backend", 4, 3700, 1),
        ("2026-11-01", "(none)", 1, 3500, 0),
    ]
    assert csv_lines(kolkata, "--by", "model", "--period", "month") == [
        ("2026-10-01", "claude-sonnet-4-5", 1, 400, 0),
        ("2026-11-01", "claude-sonnet-4-5", 4, 7200, 0),
        ("2026-11-01", "mystery-model", 1, 0, 1),
    ]
    assert csv_lines(kolkata, "--by", "provider", "--period", "month")[1] == ("2026-11-01", "sim", 5, 7200, 1)
    assert [x[1] for x in csv_lines(kolkata, "--by", "customer", "--period", "month")] == ["acme", "acme", "(none)"]


def test_tokens_in_csv(kolkata):
    rows = list(csv.DictReader(io.StringIO(report(kolkata, "--by", "key", "--period", "month", "--format", "csv"))))
    nov_a = rows[1]
    assert (nov_a["input_tokens"], nov_a["output_tokens"], nov_a["cache_read_tokens"]) == ("35", "67", "0")
    nov_b = rows[2]
    assert (nov_b["input_tokens"], nov_b["output_tokens"], nov_b["cache_read_tokens"],
            nov_b["cache_write_tokens"]) == ("100", "200", "1000", "75")


def test_since_until_are_local_dates(kolkata):
    """A date alone as --until takes in that whole (local) day: 2 Nov from 00:00 to 23:59 IST; 00:01 IST on
    3 Nov (18:31Z on the 2nd) is out."""
    lines = csv_lines(kolkata, "--by", "key", "--period", "day", "--since", "2026-11-02", "--until", "2026-11-02")
    assert lines == [("2026-11-02", "dev-b", 1, 3500, 0), ("2026-11-02", "dev-a", 2, 1000, 1)]


def test_days_across_dst_in_new_york(tmp_path):
    cfg = make_log(tmp_path, NEW_YORK_ROWS, "America/New_York")
    assert [(x[0], x[3]) for x in csv_lines(cfg, "--by", "key", "--period", "day")] == [
        ("2026-03-07", 20000), ("2026-03-08", 40000), ("2026-03-09", 10000),
        ("2026-10-31", 1), ("2026-11-01", 110), ("2026-11-02", 1000),
    ]
    assert [(x[0], x[3]) for x in csv_lines(cfg, "--by", "key", "--period", "week")] == [
        ("2026-03-02", 20000 + 40000), ("2026-03-09", 10000), ("2026-10-26", 111), ("2026-11-02", 1000),
    ]


def test_markdown(kolkata):
    lines = report(kolkata, "--by", "key", "--period", "day", "--format", "md").splitlines()
    table = [[c.strip() for c in line.strip().strip("|").split("|")] for line in lines]
    assert all(line.startswith("|") and line.endswith("|") for line in lines)
    assert table[0][:3] == ["day starting", "key", "requests"] and table[0][7] == "cost (INR)"
    assert set("".join(table[1])) <= set("-:")
    assert len(table) == 2 + 5 + 1 and all(len(row) == 9 for row in table)
    assert table[5][:3] == ["2026-11-02", "dev-a", "2"] and table[5][8] == "1"
    # 7,600 micro-USD at 84 per USD: ₹0.6384
    assert table[-1] == ["**total**", "", "**6**", "**145**", "**287**", "**1,000**", "**75**", "**₹0.6384**", "**1**"]


def test_table_has_a_total_line(kolkata):
    out = report(kolkata, "--by", "team", "--period", "month").splitlines()
    assert out[0].split()[:3] == ["month", "starting", "team"]
    assert out[-1].split()[:2] == ["total", "3"] and "₹0.6384" in out[-1]
    assert "(none)" in out[3] and "₹0.2940" in out[3]  # 3,500 micro-USD at 84 per USD


def test_empty_and_missing_log(tmp_path):
    cfg = make_log(tmp_path, [])
    assert report(cfg, "--by", "key", "--period", "day", "--format", "csv").strip().startswith("period_start,key,")
    (tmp_path / "bifrost.db").unlink()
    env = {k: v for k, v in os.environ.items() if not k.startswith("BIFROST_")} | {"PYTHONPATH": str(ROOT)}
    result = subprocess.run(bifrost_cmd("report", "--config", str(cfg), "--by", "key", "--period", "day"),
                            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1 and "no request log" in result.stderr


def test_tables_show_control_characters_from_the_log_as_visible_stand_ins(tmp_path):
    """A served model comes from the upstream: `report` and `logs` tables print ESC as ␛, never raw (it
    would reach the terminal); CSV keeps the log's exact text for machines."""
    evil = "gpt\x1b]52;c;aGk=\x07-x"
    cfg = make_log(tmp_path, [record("2026-11-02T10:00:00Z", 400, model=evil)])
    for fmt in ("table", "md"):
        out = report(cfg, "--by", "model", "--period", "day", "--format", fmt)
        assert "gpt␛]52;c;aGk=␇-x" in out and "\x1b" not in out and "\x07" not in out
    env = {k: v for k, v in os.environ.items() if not k.startswith("BIFROST_")}
    env["PYTHONPATH"] = str(ROOT)
    logs = subprocess.run(bifrost_cmd("logs", "--config", str(cfg), "--since", "2026-11-01"), cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=60)
    assert logs.returncode == 0, logs.stderr
    assert "gpt␛]52;c;aGk=␇-x" in logs.stdout and "\x1b" not in logs.stdout
    assert [line[1] for line in csv_lines(cfg, "--by", "model", "--period", "day")] == [evil]


def test_csv_exports_keep_a_formula_looking_model_name_as_text(tmp_path):
    """A client can ask for model `=HYPERLINK(...)`: in finance's spreadsheet it must stay text."""
    evil = '=HYPERLINK("http://x","y")'
    cfg = make_log(tmp_path, [record("2026-11-02T10:00:00Z", 100, model=evil),
                              record("2026-11-02T11:00:00Z", 100, model="-1+1")])
    rows = list(csv.DictReader(io.StringIO(report(cfg, "--by", "model", "--period", "day", "--format", "csv"))))
    assert sorted(r["model"] for r in rows) == ["'-1+1", "'" + evil]
    env = {k: v for k, v in os.environ.items() if not k.startswith("BIFROST_")}
    env["PYTHONPATH"] = str(ROOT)
    logs = subprocess.run(bifrost_cmd("logs", "--config", str(cfg), "--format", "csv"), cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=60)
    assert logs.returncode == 0, logs.stderr
    exported = list(csv.DictReader(io.StringIO(logs.stdout)))
    assert {r["served_model"] for r in exported} == {"'-1+1", "'" + evil}
    assert all(not r["cost"].startswith("'") and not r["time"].startswith("'") for r in exported)


def test_a_range_that_ends_before_it_starts_is_an_error(kolkata):
    env = {k: v for k, v in os.environ.items() if not k.startswith("BIFROST_")}
    env["PYTHONPATH"] = str(ROOT)
    for command in ("logs", "report"):
        extra = ["--by", "key", "--period", "day"] if command == "report" else []
        result = subprocess.run(bifrost_cmd(command, "--config", str(kolkata), *extra, "--since", "2026-11-29",
                                            "--until", "2026-11-01"), cwd=kolkata.parent, env=env,
                                capture_output=True, text=True, timeout=60)
        assert result.returncode == 2 and "is not after --since" in result.stderr, result.stderr


# -- the money columns add up: what finance sums in a spreadsheet is the total printed -------------------------

def money(cell: str) -> Decimal:
    return Decimal(cell.replace("₹", "").replace(",", ""))


def table_cells(out: str) -> tuple[list[list[str]], list[str]]:
    """(body rows, total row) of a report table, cells split on the 2+ spaces between columns."""
    lines = out.splitlines()
    rows = [re.split(r"\s{2,}", line.strip()) for line in lines[1:-2]]
    return rows, re.split(r"\s{2,}", lines[-1].strip())


# 12,000 micro-USD at 84 per USD is ₹1.008: each rounds to ₹1.01 alone, and three of them make ₹3.024 (₹3.02)
ODD_ROWS = [record(f"2026-11-02T10:0{i}:00Z", 12_000, key=k) for i, k in enumerate(("dev-a", "dev-b", "dev-c"))]


def test_table_cost_rows_add_up_to_the_total(tmp_path):
    cfg = make_log(tmp_path, ODD_ROWS)
    rows, total = table_cells(report(cfg, "--by", "key", "--period", "day"))
    costs = [money(r[7]) for r in rows]
    assert money(total[7]) == Decimal("3.02")  # the exact total, ₹3.024, rounded
    assert sum(costs) == money(total[7])  # the column a spreadsheet sums
    assert sorted(costs) == [Decimal("1.00"), Decimal("1.01"), Decimal("1.01")]  # each within a paisa of ₹1.008


def test_one_precision_for_the_whole_money_column(tmp_path):
    """Amounts below ₹1 used to get 4 places and the others 2 in the same column."""
    cfg = make_log(tmp_path, KOLKATA_ROWS + [record("2026-11-04T10:00:00Z", 300_000, key="dev-c")])  # ₹25.20
    rows, total = table_cells(report(cfg, "--by", "key", "--period", "day"))
    places = {len(r[7].split(".")[1]) for r in [*rows, total]}
    assert places == {2}
    assert sum(money(r[7]) for r in rows) == money(total[7]) == Decimal("25.84")  # 307,600 micro-USD: ₹25.8384


def test_savings_columns_add_up_and_each_row_is_requested_minus_cost(tmp_path):
    routed = [RequestRecord(id=f"req_{k}", ts=datetime(2026, 11, 2, 10, tzinfo=timezone.utc), path="/v1/messages",
                            key_name=k, team="backend", customer="acme", requested_model="claude-opus-4-1",
                            served_model="claude-haiku-4-5", provider="sim", status=200,
                            usage=Usage(input_tokens=10, output_tokens=20),
                            cost_micro_usd=12_000, requested_cost_micro_usd=60_005, priced=True)
              for k in ("dev-a", "dev-b", "dev-c")]
    cfg = make_log(tmp_path, routed)
    rows, total = table_cells(report(cfg, "--by", "key", "--period", "day", "--savings"))
    for col in (7, 9, 10):
        assert sum(money(r[col]) for r in rows) == money(total[col])
    for r in [*rows, total]:
        assert money(r[10]) == money(r[9]) - money(r[7])
    assert money(total[9]) == Decimal("15.12")  # 180,015 micro-USD at 84: ₹15.12126


def test_csv_costs_are_the_tables_and_add_up_to_its_total(tmp_path):
    cfg = make_log(tmp_path, ODD_ROWS)
    rows, total = table_cells(report(cfg, "--by", "key", "--period", "day"))
    exported = list(csv.DictReader(io.StringIO(report(cfg, "--by", "key", "--period", "day", "--format", "csv"))))
    assert [(r["key"], Decimal(r["cost_inr"])) for r in exported] == [(r[1], money(r[7])) for r in rows]
    assert sum(Decimal(r["cost_inr"]) for r in exported) == money(total[7])
    assert [int(r["cost_micro_usd"]) for r in exported] == [12_000] * 3  # exact, for machines
