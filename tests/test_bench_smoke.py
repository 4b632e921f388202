"""Smoke test of the benchmark harness: `bench/run.py --quick` runs end to end (no timing assertions)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGETS = ("direct", "floor", "bifrost-tui")


def test_bench_quick_writes_report_and_results(tmp_path):
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "run.py"), "--quick", "--out", str(tmp_path)],
                          cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    (out,) = tmp_path.iterdir()
    report = (out / "report.md").read_text()
    results = json.loads((out / "results.json").read_text())

    for target in TARGETS:
        assert f"| {target} |" in report
        rows = [r for r in results["summary"] if r["target"] == target]
        assert {r["scenario"] for r in rows} == {"small", "stream"}
        for r in rows:
            assert isinstance(r["p50"], float) and isinstance(r["p99"], float), r
            assert r["count"] > 0 and r["errors"] == 0, r
            if target != "direct":
                assert isinstance(r["added_p50"], float), r
        sat = [s for s in results["saturation"] if s["target"] == target]
        assert len(sat) == 2 and all(s["achieved_rate"] > 0 for s in sat)
    for target in ("floor", "bifrost-tui"):
        assert all(results["peak_rss_kb"][sc][target] > 0 for sc in ("small", "stream"))
