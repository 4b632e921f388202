"""Code A/B: does a change make bifrost-tui faster or slower? Paired runs of two revisions.

A full `run.py` compares targets within one run, but two runs of it on different days are not comparable
here: this 2-core machine's speed moves from hour to hour (direct's p50 for the same request has been
1.5x apart between runs). This runs the other comparison, between code revisions, as pairs:

- a pair is `direct` to the mock, the floor, then bifrost-tui (headless, or with the console: `--target
  bifrost-tui+console`) at the base revision and at the working tree,
  back to back in alternating order, each a fresh process with a fresh request log, at one fixed rate
  against the same mock upstream, pinned as in run.py;
- per pair the difference (working tree − base) for p50 and p99 of `--metric` (default the scenario's primary one: TTFB
  for streams, else the full response), and both sides' added latency over the floor's;
- the median difference over pairs with a bootstrap 90% interval (console_ab.median_interval).

The base revision is exported with `git archive` into the output directory (no worktree, nothing in .git
changes), and its `app` runs with this checkout's Python environment and benchmark tools.

    python bench/code_ab.py --base HEAD~1 --scenario claude-code --rate 50 --pairs 8

Output: `bench/results/<time>-code-ab/` (report.md, results.json) and the table on stdout.
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run as bench  # noqa: E402 - the benchmark's processes, scenarios and load generator
from pairs import QUANTILES, median_interval, metric_of, pair_arguments, run_pairs  # noqa: E402 - what the A/Bs share

BASE, HEAD = "base", "head"
SIDES = (bench.DIRECT, bench.FLOOR, BASE, HEAD)


def export_revision(rev: str, dest: Path) -> str:
    """The tree of `rev` under `dest` (its `app` package is what the base side runs); returns the commit."""
    commit = subprocess.run(["git", "rev-parse", "--verify", f"{rev}^{{commit}}"], cwd=bench.ROOT,
                            capture_output=True, text=True, check=True).stdout.strip()
    dest.mkdir(parents=True)
    archive = subprocess.run(["git", "archive", "--format=tar", commit], cwd=bench.ROOT, capture_output=True,
                             check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
    return commit


def measure(args: argparse.Namespace, out: Path, base_code: Path) -> list[dict]:
    """One dict per pair: {side: {p50, p99, errors, code}} for direct, floor, base and head."""
    def sides(i: int) -> list[tuple[str, str, Path]]:
        order = [(BASE, base_code), (HEAD, bench.ROOT)]
        gateways = [(side, args.target, code) for side, code in (order if i % 2 == 0 else order[::-1])]
        return [(bench.DIRECT, bench.DIRECT, bench.ROOT), (bench.FLOOR, bench.FLOOR, bench.ROOT), *gateways]
    return run_pairs(args, out, sides, BASE, HEAD, "head − base")


def summarize(pairs: list[dict]) -> list[dict]:
    rows = []
    for q in QUANTILES:
        complete = [p for p in pairs if all(p[s][q] is not None for s in SIDES)]
        if not complete:
            continue
        diffs = [p[HEAD][q] - p[BASE][q] for p in complete]
        low, high = median_interval(diffs)
        over_floor = {side: statistics.median(p[side][q] - p[bench.FLOOR][q] for p in complete)
                      for side in (BASE, HEAD)}
        rows.append({"quantile": q, "pairs": len(complete), "diff_median_ms": statistics.median(diffs),
                     "diff_low_ms": low, "diff_high_ms": high, "head_faster": sum(d < 0 for d in diffs),
                     "base_over_floor_ms": over_floor[BASE], "head_over_floor_ms": over_floor[HEAD]})
    return rows


def table(rows: list[dict]) -> str:
    lines = ["| quantile | pairs | head − base, median (90% interval) | pairs where head was faster | "
             "base − floor | head − floor |", "|---|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['quantile']} | {r['pairs']} | {r['diff_median_ms']:+.2f} ms ({r['diff_low_ms']:+.2f} … "
                     f"{r['diff_high_ms']:+.2f}) | {r['head_faster']} of {r['pairs']} | "
                     f"{r['base_over_floor_ms']:+.2f} ms | {r['head_over_floor_ms']:+.2f} ms |")
    return "\n".join(lines)


def report(args: argparse.Namespace, commit: str, pairs: list[dict], rows: list[dict]) -> str:
    head = (f"# Code A/B: {args.scenario} ({metric_of(args)}) at {args.rate:g} req/s, {len(pairs)} pairs\n\n"
            f"base = `{args.base}` ({commit[:12]}), head = the working tree. Each pair: direct, the floor, then "
            f"{args.target} at base and at head in alternating order, fresh processes, "
            f"{bench.run_seconds(args, args.rate):g} s per run after {args.warmup_seconds:g} s of warm-up, pinned "
            f"as in run.py. Latency from the scheduled send, in ms; \"− floor\" is the median over pairs of the "
            f"side's minus the floor's.\n\n")
    per_pair = ["| pair | direct p50 / p99 | floor p50 / p99 | base p50 / p99 | head p50 / p99 |",
                "|---:|---:|---:|---:|---:|"]
    for i, p in enumerate(pairs, 1):
        per_pair.append(f"| {i} | " + " | ".join(f"{p[s]['p50']:.2f} / {p[s]['p99']:.2f}" for s in SIDES) + " |")
    return head + table(rows) + "\n\n## Every pair\n\n" + "\n".join(per_pair) + "\n"


def main() -> int:
    p = argparse.ArgumentParser(description="paired A/B of bifrost-tui at a base revision vs the working tree")
    p.add_argument("--base", default="HEAD~1", help="git revision to compare against (default HEAD~1)")
    p.add_argument("--scenario", default="claude-code", choices=[s.name for s in bench.SCENARIOS])
    p.add_argument("--target", default=bench.GATEWAY, choices=[bench.GATEWAY, bench.CONSOLE],
                   help="the side run at both revisions: headless, or with the console in its process")
    pair_arguments(p, rate=50.0, pairs=8, duration=10.0, min_requests=500)
    args = p.parse_args()
    out = args.out / (datetime.now().strftime("%Y%m%d-%H%M%S") + "-code-ab")
    commit = export_revision(args.base, out / "base-code")
    per_pair = 4 * (bench.run_seconds(args, args.rate) + args.warmup_seconds + 3)
    print(f"code A/B -> {out}\n  {args.target}: base {args.base} ({commit[:12]}) vs the working tree, {args.pairs} pairs of "
          f"{args.scenario} at {args.rate:g}/s: ~{args.pairs * per_pair / 60:.0f} min; load average "
          f"{bench.loadavg()}", flush=True)
    started = time.monotonic()
    pairs = measure(args, out, out / "base-code")
    rows = summarize(pairs)
    meta = {"args": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()}, "base_commit": commit,
            "pinned": bench.PINNED, "wall_s": time.monotonic() - started}
    (out / "results.json").write_text(json.dumps({"meta": meta, "pairs": pairs, "summary": rows}, indent=1))
    (out / "report.md").write_text(report(args, commit, pairs, rows))
    print("\n" + table(rows) + f"\n\nreport: {out / 'report.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
