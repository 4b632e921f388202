"""bench/code_ab.py: the paired A/B between two revisions. Its statistics on known pairs, and one real pair end
to end (the base side runs the exported revision's code, the head side this checkout's; no timing assertions)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
import code_ab  # noqa: E402


def pair(direct: float, floor: float, base: float, head: float) -> dict:
    return {side: {"p50": v, "p99": v * 2} for side, v in
            (("direct", direct), ("floor", floor), ("base", base), ("head", head))}


def test_the_summary_is_the_median_paired_difference_and_each_side_over_the_floor():
    pairs = [pair(2.0, 2.5, 3.4, 3.1), pair(2.2, 2.9, 3.6, 3.5), pair(1.9, 2.4, 3.0, 3.2), pair(2.1, 2.6, 3.5, 3.0)]
    p50, p99 = code_ab.summarize(pairs)
    assert p50["pairs"] == 4 and p50["head_faster"] == 3
    assert p50["diff_median_ms"] == pytest.approx(-0.2)  # median of −0.3 −0.1 +0.2 −0.5
    assert p50["diff_low_ms"] <= p50["diff_median_ms"] <= p50["diff_high_ms"]
    assert p50["base_over_floor_ms"] == pytest.approx(0.8)  # median of 0.9 0.7 0.6 0.9
    assert p50["head_over_floor_ms"] == pytest.approx(0.6)  # median of 0.6 0.6 0.8 0.4
    assert p99["diff_median_ms"] == pytest.approx(-0.4)
    table = code_ab.table([p50])
    assert "| p50 | 4 | -0.20 ms" in table and "3 of 4" in table


def test_the_metric_compared_is_the_scenarios_primary_one_unless_asked():
    from argparse import Namespace

    from pairs import metric_of
    assert metric_of(Namespace(scenario="stream", metric=None)) == "ttfb"
    assert metric_of(Namespace(scenario="stream", metric="full")) == "full"
    assert metric_of(Namespace(scenario="everything-on", metric=None)) == "full"
    with pytest.raises(SystemExit, match="small has full"):
        metric_of(Namespace(scenario="small", metric="ttfb"))  # a non-streaming request has no first byte to time


def test_a_pair_missing_a_side_is_left_out():
    broken = pair(2.0, 2.5, 3.4, 3.1)
    broken["floor"]["p50"] = None
    (p50, p99) = code_ab.summarize([broken, pair(2.0, 2.5, 3.0, 3.2)])
    assert p50["pairs"] == 1 and p50["diff_median_ms"] == pytest.approx(0.2) and p99["pairs"] == 2


@pytest.mark.parametrize("target", ["bifrost-tui", "bifrost-tui+console"])
def test_one_real_pair_end_to_end(tmp_path, target):
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "code_ab.py"), "--base", "HEAD", "--scenario",
                           "claude-code", "--rate", "20", "--pairs", "1", "--duration", "1", "--min-requests", "0",
                           "--warmup", "4", "--warmup-seconds", "0.2", "--target", target, "--out", str(tmp_path)],
                          cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    (out,) = tmp_path.iterdir()
    results = json.loads((out / "results.json").read_text())
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    assert results["meta"]["base_commit"] == head
    (only,) = results["pairs"]
    for side in ("direct", "floor", "base", "head"):
        assert isinstance(only[side]["p99"], float) and only[side]["errors"] == 0
    assert Path(only["base"]["code"]) == (out / "base-code").resolve() and Path(only["head"]["code"]) == ROOT
    assert only["base"]["target"] == only["head"]["target"] == target
    for side in ("base", "head"):  # the console target really ran a console, at each revision
        log = (out / "work" / f"{side}.log").read_text()
        assert ("console: collected" in log) == (target == "bifrost-tui+console"), log[-2000:]
    assert (out / "base-code" / "app" / "proxy" / "pipeline.py").is_file()
    assert [r["quantile"] for r in results["summary"]] == ["p50", "p99"]
    assert "| p99 | 1 |" in (out / "report.md").read_text()
