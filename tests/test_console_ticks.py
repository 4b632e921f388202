"""bench/console_ticks.py and bench/traced_console.py: the trace's arithmetic on known ticks and requests,
and one real run a side end to end (mock upstream, gateway with the console, traced; no timing assertions)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
import traced_console  # noqa: E402


def tick(start: float, end: float, cpu_ms: float) -> dict:
    return {"start": start, "end": end, "read_cpu": 0.0001, "update_cpu": 0.001, "paint_cpu": cpu_ms / 1000 - 0.0011}


def test_requests_overlapping_a_tick_and_how_much_slower_they_were():
    requests = [(0.0, 0.003)] + [(1.0 + i * 0.02, 1.0 + i * 0.02 + 0.003) for i in range(10)]  # first: warm-up
    requests[3] = (requests[3][0], requests[3][0] + 0.005)  # 1.04 .. 1.045, under the tick below, 2 ms slower
    ticks = [tick(1.042, 1.050, 7.0), tick(0.5, 0.51, 9.0)]  # the second tick is before the measured window
    out = traced_console.summary(ticks, requests)
    assert out["requests"] == 10 and out["ticks"] == 1
    assert out["overlapped"] == 1 and out["overlapped_pct"] == pytest.approx(10.0)
    assert out["overlapped_slower_ms"] == pytest.approx(2.0)
    assert out["tick_cpu_ms"] == pytest.approx(7.0) and out["tick_wall_ms"] == pytest.approx(8.0)


def test_no_overlap_leaves_the_slowdown_unknown():
    requests = [(i * 0.02, i * 0.02 + 0.003) for i in range(20)]
    out = traced_console.summary([tick(0.204, 0.212, 5.0)], requests)
    assert out["overlapped"] == 0 and out["overlapped_slower_ms"] is None


def test_one_real_run_a_side_end_to_end(tmp_path):
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "console_ticks.py"), "--rate", "20", "--runs", "1",
                           "--duration", "3", "--warmup", "4", "--warmup-seconds", "0.2", "--base", "HEAD",
                           "--out", str(tmp_path)], cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    (out,) = tmp_path.iterdir()
    results = json.loads((out / "results.json").read_text())
    assert sorted(r["side"] for r in results["runs"]) == ["base", "head"]
    for run in results["runs"]:
        assert run["errors"] == 0 and run["requests"] > 0
        assert run["ticks"] >= 1 and run["tick_cpu_ms"] > 0  # the console really ticked, and was traced
        assert isinstance(run["ttfb_p99_ms"], float)
    base = next(r for r in results["runs"] if r["side"] == "base")
    assert Path(base["code"]) == out / "base-code" and (out / "base-code" / "app" / "tui" / "app.py").is_file()
    assert "| head | 1 |" in (out / "report.md").read_text()
