"""Console A/B: what does the console, running in the gateway's process, add to its latency? Paired runs.

`run.py` judges the console target ("the console running costs at most 20% of added latency") from the
medians of its 3-5 runs. For p99 that instrument is coarse here: a 6 s run at 200 req/s has 1,200 requests, so
its p99 is the 12th-slowest, and on this 2-core machine it moves by 0.3-0.5 ms from run to run, more than the
effect being judged (20% of ~0.8 ms). This runs only that comparison, with many pairs:

- a pair is bifrost-tui headless and bifrost-tui with the console, back to back, in alternating order (so a
  slow drift of the machine does not favour one side), each a fresh process with a fresh request log, at one
  fixed rate against the same mock upstream; `direct` to the mock runs first in each pair, for the added
  latency;
- per pair the console's difference (console − headless) for p50 and p99 of the scenario's primary metric
  (TTFB for streams, else the full response);
- the median difference over pairs, a bootstrap 90% interval of that median, and its share of headless's
  added latency (median over pairs of headless − direct).

    python bench/console_ab.py --scenario claude-code --rate 200 --pairs 16 --duration 20

Output: `bench/results/<time>-console-ab/` (report.md, results.json) and the table on stdout.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run as bench  # noqa: E402 - the benchmark's processes, scenarios and load generator
from pairs import QUANTILES, median_interval, metric_of, pair_arguments, run_pairs  # noqa: E402 - what the A/Bs share



def measure(args: argparse.Namespace, out: Path) -> list[dict]:
    """One dict per pair: {target: {p50, p99, errors}} for direct, headless and console."""
    def sides(i: int) -> list[tuple[str, str, Path]]:
        order = [bench.GATEWAY, bench.CONSOLE] if i % 2 == 0 else [bench.CONSOLE, bench.GATEWAY]
        return [(target, target, bench.ROOT) for target in [bench.DIRECT, *order]]
    return run_pairs(args, out, sides, bench.GATEWAY, bench.CONSOLE, "console − headless")


def summarize(pairs: list[dict]) -> list[dict]:
    rows = []
    for q in QUANTILES:
        complete = [p for p in pairs if all(p[t][q] is not None for t in (bench.DIRECT, bench.GATEWAY, bench.CONSOLE))]
        if not complete:
            continue
        diffs = [p[bench.CONSOLE][q] - p[bench.GATEWAY][q] for p in complete]
        added = statistics.median(p[bench.GATEWAY][q] - p[bench.DIRECT][q] for p in complete)
        low, high = median_interval(diffs)
        base = max(added, 0.1)  # as run.py: a headless added latency near zero does not blow the share up
        share = statistics.median(diffs) / base
        rows.append({"quantile": q, "pairs": len(complete), "headless_added_ms": added,
                     "diff_median_ms": statistics.median(diffs), "diff_low_ms": low, "diff_high_ms": high,
                     "share": share, "share_low": low / base, "share_high": high / base,
                     "console_wins": sum(d < 0 for d in diffs), "pass": share <= bench.CONSOLE_MAX_SHARE})
    return rows


def table(rows: list[dict]) -> str:
    lines = ["| quantile | pairs | headless added | console − headless, median (90% interval) | share of added "
             "(interval) | pairs where the console was faster | ≤ +20% |",
             "|---|---:|---:|---:|---:|---:|---|"]
    for r in rows:
        lines.append(f"| {r['quantile']} | {r['pairs']} | {r['headless_added_ms']:.2f} ms | "
                     f"{r['diff_median_ms']:+.2f} ms ({r['diff_low_ms']:+.2f} … {r['diff_high_ms']:+.2f}) | "
                     f"{r['share'] * 100:+.0f}% ({r['share_low'] * 100:+.0f}% … {r['share_high'] * 100:+.0f}%) | "
                     f"{r['console_wins']} of {r['pairs']} | {'PASS' if r['pass'] else '**FAIL**'} |")
    return "\n".join(lines)


def report(args: argparse.Namespace, pairs: list[dict], rows: list[dict]) -> str:
    head = (f"# Console A/B: {args.scenario} ({metric_of(args)}) at {args.rate:g} req/s, {len(pairs)} pairs\n\n"
            f"Each pair: direct, then bifrost-tui headless and with the console in alternating order, fresh "
            f"processes, {bench.run_seconds(args, args.rate):g} s per run after {args.warmup_seconds:g} s of "
            f"warm-up, pinned as in run.py. Latency from the scheduled send, in ms.\n\n")
    per_pair = ["| pair | direct p50 / p99 | headless p50 / p99 | console p50 / p99 |", "|---:|---:|---:|---:|"]
    for i, p in enumerate(pairs, 1):
        cells = [f"{p[t]['p50']:.2f} / {p[t]['p99']:.2f}" for t in (bench.DIRECT, bench.GATEWAY, bench.CONSOLE)]
        per_pair.append(f"| {i} | " + " | ".join(cells) + " |")
    return head + table(rows) + "\n\n## Every pair\n\n" + "\n".join(per_pair) + "\n"


def main() -> int:
    p = argparse.ArgumentParser(description="paired A/B of bifrost-tui headless vs with the console")
    p.add_argument("--scenario", default="claude-code", choices=list(bench.BY_NAME))
    pair_arguments(p, rate=200.0, pairs=16, duration=20.0, min_requests=1000)
    args = p.parse_args()
    out = args.out / (datetime.now().strftime("%Y%m%d-%H%M%S") + "-console-ab")
    per_pair = 3 * (bench.run_seconds(args, args.rate) + args.warmup_seconds + 3)
    print(f"console A/B -> {out}\n  {args.pairs} pairs of {args.scenario} at {args.rate:g}/s: "
          f"~{args.pairs * per_pair / 60:.0f} min; load average {bench.loadavg()}", flush=True)
    started = time.monotonic()
    pairs = measure(args, out)
    rows = summarize(pairs)
    meta = {"args": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
            "pinned": bench.PINNED, "wall_s": time.monotonic() - started}
    (out / "results.json").write_text(json.dumps({"meta": meta, "pairs": pairs, "summary": rows}, indent=1))
    (out / "report.md").write_text(report(args, pairs, rows))
    print("\n" + table(rows) + f"\n\nreport: {out / 'report.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
