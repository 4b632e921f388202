"""Smoke test of the benchmark harness: `bench/run.py --quick --soak 300` runs end to end, every scenario and
target included (no timing assertions)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGETS = ("direct", "floor", "bifrost-tui", "bifrost-tui+console")
SCENARIOS = {"small", "stream", "claude-code", "everything-on"}


def test_bench_quick_writes_report_and_results(tmp_path):
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "run.py"), "--quick", "--soak", "300",
                           "--out", str(tmp_path)],
                          cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    (out,) = tmp_path.iterdir()
    report = (out / "report.md").read_text()
    results = json.loads((out / "results.json").read_text())

    for target in TARGETS:
        assert f"| {target} |" in report
        rows = [r for r in results["summary"] if r["target"] == target]
        assert {r["scenario"] for r in rows} == SCENARIOS
        for r in rows:
            assert isinstance(r["p50"], float) and isinstance(r["p99"], float), r
            assert r["count"] > 0 and r["errors"] == 0, r
            if target != "direct":
                assert isinstance(r["added_p50"], float), r
        assert all(s["achieved_rate"] > 0 for s in results["saturation"] if s["target"] == target)
    for target in ("bifrost-tui", "bifrost-tui+console"):
        assert all(results["peak_rss_kb"][sc][target] > 0 for sc in SCENARIOS)
    # the everything-on runs really spread over the 100 keys; the console really was live
    assert {r["keys_used"] for r in results["raw"] if r["scenario"] == "everything-on"} == {100}
    assert results["console"] and all(" collected 0 " not in c["summary"] and "error" not in c["summary"]
                                      for c in results["console"])
    soak = results["soak"]
    assert soak["count"] == 300 and not soak["aborted"] and soak["samples"][-1]["requests"] == 300
    assert "## Targets" in report and "## Soak" in report
    assert {t["result"] for t in results["targets"]} <= {"PASS", "**FAIL**"}
    assert len(results["targets"]) >= 10


def test_rates_where_direct_is_near_capacity_leave_the_latency_targets():
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        import run as bench
    finally:
        sys.path.remove(str(ROOT / "bench"))

    def floor_row(scenario, rate, added, added_p99=1.0):
        metric = bench.BY_NAME[scenario].primary
        return {"scenario": scenario, "metric": metric, "rate": rate, "target": "floor", "added_p50": added,
                "added_p99": added_p99}
    rows = [floor_row("claude-code", 200, 0.4), floor_row("claude-code", 500, 0.01),
            floor_row("small", 500, 0.5), floor_row("stream", 500, -1.5), floor_row("stream", 200, 0.2, -17.75)]
    data = {"saturation": [{"scenario": "claude-code", "target": "direct", "achieved_rate": 553.0},
                           {"scenario": "small", "target": "direct", "achieved_rate": 3900.0}]}
    assert bench.direct_overloaded(rows, data, "claude-code", 500)  # 500 >= 0.8 x 553
    assert not bench.direct_overloaded(rows, data, "claude-code", 200)
    assert not bench.direct_overloaded(rows, data, "small", 500)
    assert not bench.direct_overloaded(rows, data, "everything-on", 500)  # direct's numbers are small's
    assert bench.direct_overloaded(rows, data, "stream", 500)  # the floor's added p50 is below -1 ms
    assert bench.direct_overloaded(rows, data, "stream", 200)  # its added p99: direct's p99 queued 17 ms more


def test_low_rate_runs_last_long_enough_for_a_p99_of_at_least_min_requests():
    import argparse
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        import run as bench
    finally:
        sys.path.remove(str(ROOT / "bench"))
    args = argparse.Namespace(duration=6.0, min_requests=1000)
    assert [bench.run_seconds(args, rate) for rate in (50, 200, 500)] == [20.0, 6.0, 6.0]
    assert bench.run_seconds(argparse.Namespace(duration=6.0, min_requests=0), 50) == 6.0


def test_loadgen_warm_up_runs_at_the_rate_first_and_is_not_recorded(tmp_path, mock_upstream):
    """--warmup-seconds: that many seconds of the same schedule go out first (the mock receives them), and
    only the measured window's requests are counted."""
    import urllib.request

    from conftest import UPSTREAM_KEY
    body = tmp_path / "body.json"
    body.write_text(json.dumps({"model": "claude-haiku-4-5", "max_tokens": 8,
                                "messages": [{"role": "user", "content": "hi"}]}))
    urllib.request.urlopen(urllib.request.Request(f"{mock_upstream}/_mock/requests", method="DELETE"), timeout=5)
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "loadgen.py"), "--url", f"{mock_upstream}/v1/messages",
                           "--key", UPSTREAM_KEY, "--body", str(body), "--rate", "40", "--duration", "0.5",
                           "--warmup", "0", "--warmup-seconds", "1"],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout)
    assert result["sent"] == 20 and result["warm_sent"] == 40
    assert result["count"] == 20 and result["errors"] == 0  # the warm-up is not in the percentiles
    with urllib.request.urlopen(f"{mock_upstream}/_mock/requests", timeout=5) as reply:
        received = json.load(reply)
    assert len([r for r in received if r["path_qs"] == "/v1/messages"]) == 60


def test_cpu_cost_measures_each_targets_cpu_per_request(tmp_path):
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "cpu_cost.py"), "--scenarios", "small,stream",
                           "--runs", "1", "--requests", "60", "--rate", "60", "--warmup-seconds", "0.2",
                           "--out", str(tmp_path)],
                          cwd=ROOT, capture_output=True, text=True, timeout=180, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    (out,) = tmp_path.iterdir()
    results = json.loads((out / "results.json").read_text())
    for scenario in ("small", "stream"):
        runs = results["runs"][scenario]
        assert set(runs) == {"floor", "bifrost-tui"}
        for target, (row,) in runs.items():
            # every recorded request answered, and the process's threads really spent CPU on them
            assert row["requests"] >= 60 and row["errors"] == 0, (target, row)
            assert row["cpu_us"] > 0 and row["mock_cpu_us"] > 0, (target, row)
    report = (out / "report.md").read_text()
    assert "| small | bifrost-tui |" in report and "| stream | floor |" in report


def test_a_verdict_shows_how_its_interleaved_runs_spread():
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        import run as bench
    finally:
        sys.path.remove(str(ROOT / "bench"))
    args = type("Args", (), {"scenarios": ["small", "everything-on"]})()

    def raw(scenario, target, run, p50):
        return {"scenario": scenario, "target": target, "rate": 200.0, "run": run, "full_ms": {"p50": p50, "p99": None}}
    data = {"raw": [raw("small", "floor", 0, 1.0), raw("small", "floor", 1, 2.0), raw("small", "floor", 2, 1.5),
                    raw("everything-on", "bifrost-tui", 0, 1.3), raw("everything-on", "bifrost-tui", 1, 2.9),
                    raw("everything-on", "bifrost-tui", 2, 1.6)]}
    eo = bench.BY_NAME["everything-on"]
    gateway = bench.per_run(data, args, eo, "full", 200.0, "p50", "bifrost-tui")
    floor = bench.per_run(data, args, eo, "full", 200.0, "p50", "floor")  # everything-on shares small's floor runs
    assert floor == {0: 1.0, 1: 2.0, 2: 1.5}
    diffs = [gateway[i] - floor[i] for i in sorted(gateway)]
    assert [round(d, 2) for d in diffs] == [0.3, 0.9, 0.1]
    assert bench.run_spread(diffs, 0.5) == "; per run +0.10…+0.90, 1 of 3 over"
    assert bench.run_spread([5.0, 30.0], 20.0, "%", 0) == "; per run +5%…+30%, 1 of 2 over"
    assert bench.run_spread([0.3], 0.5) == ""  # one run has no spread
