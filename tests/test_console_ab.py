"""bench/console_ab.py: the paired console A/B. Its statistics on known pairs, and one real pair end to end
(mock upstream, headless gateway, gateway with the console; no timing assertions)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
import console_ab  # noqa: E402


def pair(direct: float, headless: float, console: float) -> dict:
    return {"direct": {"p50": direct, "p99": direct}, "bifrost-tui": {"p50": headless, "p99": headless},
            "bifrost-tui+console": {"p50": console, "p99": console}}


def test_the_share_is_the_median_paired_difference_over_headless_added_latency():
    pairs = [pair(2.0, 3.0, 3.1), pair(2.5, 3.4, 3.6), pair(1.8, 2.9, 2.8), pair(2.2, 3.2, 3.5), pair(2.1, 3.0, 3.1)]
    (p50, p99) = console_ab.summarize(pairs)
    assert p99["pairs"] == 5 and p99["headless_added_ms"] == pytest.approx(1.0)  # median of 1.0 0.9 1.1 1.0 0.9
    assert p99["diff_median_ms"] == pytest.approx(0.1)  # median of +0.1 +0.2 −0.1 +0.3 +0.1
    assert p99["share"] == pytest.approx(0.1) and p99["pass"] and p99["console_wins"] == 1
    assert p99["diff_low_ms"] <= p99["diff_median_ms"] <= p99["diff_high_ms"]
    slow = [pair(2.0, 3.0, 3.5)] * 4
    assert not console_ab.summarize(slow)[1]["pass"]  # +0.5 ms over 1.0 ms added: +50%


def test_the_median_interval_covers_the_middle_and_is_deterministic():
    values = [float(v) for v in range(1, 22)]
    low, high = console_ab.median_interval(values)
    assert low < 11 < high and 5 < low and high < 17
    assert console_ab.median_interval(values) == (low, high)
    assert console_ab.median_interval([0.3] * 8) == (0.3, 0.3)


def test_one_real_pair_end_to_end(tmp_path):
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "console_ab.py"), "--scenario", "claude-code",
                           "--rate", "20", "--pairs", "1", "--duration", "1", "--min-requests", "0",
                           "--warmup", "4", "--warmup-seconds", "0.2", "--out", str(tmp_path)],
                          cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    (out,) = tmp_path.iterdir()
    results = json.loads((out / "results.json").read_text())
    (only,) = results["pairs"]
    for target in ("direct", "bifrost-tui", "bifrost-tui+console"):
        assert isinstance(only[target]["p99"], float) and only[target]["errors"] == 0
    assert [r["quantile"] for r in results["summary"]] == ["p50", "p99"]
    report = (out / "report.md").read_text()
    assert "| p99 | 1 |" in report and "## Every pair" in report
    assert "console: collected" in (out / "work" / "bifrost-tui+console.log").read_text()
