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
import random
import statistics
import sys
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run as bench  # noqa: E402 - the benchmark's processes, scenarios and load generator

QUANTILES = ("p50", "p99")
BOOTSTRAP = 2000


def median_interval(values: list[float], level: float = 0.90, seed: int = 0) -> tuple[float, float]:
    """A bootstrap interval for the median of `values` (pairs resampled with replacement)."""
    rng = random.Random(seed)
    medians = sorted(statistics.median(rng.choices(values, k=len(values))) for _ in range(BOOTSTRAP))
    tail = (1 - level) / 2
    return medians[int(tail * (BOOTSTRAP - 1))], medians[int((1 - tail) * (BOOTSTRAP - 1))]


def measure(args: argparse.Namespace, out: Path) -> list[dict]:
    """One dict per pair: {target: {p50, p99}} for direct, headless and console."""
    sc = bench.BY_NAME[args.scenario]
    work = out / "work"
    work.mkdir(parents=True)
    procs = bench.Processes(work)
    body = work / "body.json"
    body.write_bytes(json.dumps(sc.body()).encode())
    keys = work / "keys.txt"
    keys.write_text("\n".join(bench.everything_on_keys()) + "\n")
    metric = f"{sc.primary}_ms"
    seconds = bench.run_seconds(args, args.rate)
    pairs = []
    try:
        mock_port = bench.start_mock(procs)
        for i in range(args.pairs):
            order = [bench.GATEWAY, bench.CONSOLE] if i % 2 == 0 else [bench.CONSOLE, bench.GATEWAY]
            pair = {}
            for target in [bench.DIRECT, *order]:
                config = None if target == bench.DIRECT else bench.gateway_config(work, mock_port, sc.config,
                                                                                    f"{target}-{i}")
                proc, url = bench.start_target(procs, target, mock_port, config, sc.query)
                auth = bench.auth_for(sc, target, keys)
                try:
                    res = bench.loadgen(url, auth, body, sc, seconds, args.warmup, rate=args.rate,
                                        warm_s=args.warmup_seconds)
                finally:
                    if proc is not None:
                        procs.stop(proc)
                for leftover in work.glob(f"bifrost-{target}-{i}.db*"):
                    leftover.unlink()
                pair[target] = {q: res[metric][q] for q in QUANTILES} | {"errors": res["errors"]}
            pairs.append(pair)
            diffs = "  ".join(f"{q} {pair[bench.CONSOLE][q] - pair[bench.GATEWAY][q]:+.2f}" for q in QUANTILES)
            print(f"  pair {i + 1}/{args.pairs}: console − headless {diffs} ms", flush=True)
    finally:
        procs.stop_all()
    return pairs


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
    sc = bench.BY_NAME[args.scenario]
    head = (f"# Console A/B: {args.scenario} ({sc.primary}) at {args.rate:g} req/s, {len(pairs)} pairs\n\n"
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
    p.add_argument("--rate", type=float, default=200.0)
    p.add_argument("--pairs", type=int, default=16)
    p.add_argument("--duration", type=float, default=20.0, help="seconds per run")
    p.add_argument("--min-requests", type=int, default=1000)
    p.add_argument("--warmup", type=int, default=40)
    p.add_argument("--warmup-seconds", type=float, default=1.0)
    p.add_argument("--out", type=Path, default=bench.BENCH / "results")
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
