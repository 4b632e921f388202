"""Console ticks: what one console tick costs, and what it does to the requests it overlaps.

The console's cost shows at p99 (`run.py`, `console_ab.py`), and on this 2-core machine p99 moves by more
than the cost from run to run. This measures the mechanism instead, inside the process: per tick (once a
second: read what changed on the gateway's loop, update the widgets, paint) the console thread's CPU; per
request whether it overlapped a tick, and how much slower the requests that did were than the others
(median handler time inside the gateway, so neither the client nor the machine's network noise is in it).

    python bench/console_ticks.py --rate 50 --runs 3 --duration 20 [--base REV]

One more thing it shows: with uniform arrivals at a rate that divides a second, every tick meets the
requests at the same phase for a whole run, so a run has either about one overlapped request a tick or
none; a p99 over one run moves with that phase. `--base REV` runs REV's `app` (exported with `git archive`,
as code_ab.py does) and the working tree alternately. Output: `bench/results/<time>-console-ticks/`.
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
from code_ab import export_revision  # noqa: E402
from pairs import paired_run, paired_setup  # noqa: E402

FIELDS = ("tick_cpu_ms", "read_cpu_ms", "update_cpu_ms", "paint_cpu_ms", "tick_wall_ms", "overlapped_pct",
          "overlapped_slower_ms", "ttfb_p50_ms", "ttfb_p99_ms")


def one_run(procs: bench.Processes, work: Path, mock_port: int, body: Path, keys: Path, args: argparse.Namespace,
            side: str, code: Path, tag: str) -> dict:
    """The console target running `code`'s app, traced, at args.rate for the run's length."""
    trace = work / f"trace-{tag}.json"
    res, _ = paired_run(procs, bench.CONSOLE, mock_port, work, bench.BY_NAME["claude-code"], tag, body, keys, args,
                        code=code, name=side, console_script="traced_console.py", env={"TICK_TRACE": str(trace)})
    return {**json.loads(trace.read_text()), "ttfb_p50_ms": res["ttfb_ms"]["p50"], "ttfb_p99_ms": res["ttfb_ms"]["p99"],
            "errors": res["errors"], "side": side, "code": str(code)}


def measure(args: argparse.Namespace, out: Path, sides: list[tuple[str, Path]]) -> list[dict]:
    work, procs, body, keys = paired_setup(out, bench.BY_NAME["claude-code"])
    runs = []
    try:
        mock_port = bench.start_mock(procs)
        for i in range(args.runs):
            for side, code in (sides if i % 2 == 0 else sides[::-1]):
                run = one_run(procs, work, mock_port, body, keys, args, side, code, f"{side}-{i}")
                runs.append(run)
                print(f"  run {i + 1}/{args.runs} {side:5} tick CPU {run['tick_cpu_ms']:.2f} ms, "
                      f"{run['overlapped_pct']:.2f}% of requests overlapped a tick, those slower by "
                      f"{fmt(run['overlapped_slower_ms'])} ms", flush=True)
    finally:
        procs.stop_all()
    return runs


def fmt(value, digits: int = 2) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def summarize(runs: list[dict], sides: list[str]) -> list[dict]:
    rows = []
    for side in sides:
        mine = [r for r in runs if r["side"] == side]
        row = {"side": side, "runs": len(mine)}
        for name in FIELDS:
            values = [r[name] for r in mine if r.get(name) is not None]
            row[name] = statistics.median(values) if values else None
        row["overlapped_pct_by_run"] = [r["overlapped_pct"] for r in mine]
        rows.append(row)
    return rows


def table(rows: list[dict]) -> str:
    lines = ["| side | runs | tick CPU ms (read / update / paint) | tick wall ms | requests overlapping a tick, "
             "median % (each run) | overlapped slower by, ms | TTFB p50 / p99 ms |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        each = ", ".join(fmt(v, 1) for v in r["overlapped_pct_by_run"])
        lines.append(f"| {r['side']} | {r['runs']} | {fmt(r['tick_cpu_ms'])} ({fmt(r['read_cpu_ms'])} / "
                     f"{fmt(r['update_cpu_ms'])} / {fmt(r['paint_cpu_ms'])}) | {fmt(r['tick_wall_ms'], 1)} | "
                     f"{fmt(r['overlapped_pct'])} ({each}) | {fmt(r['overlapped_slower_ms'], 3)} | "
                     f"{fmt(r['ttfb_p50_ms'])} / {fmt(r['ttfb_p99_ms'])} |")
    return "\n".join(lines)


def main() -> int:
    p = argparse.ArgumentParser(description="console ticks: their CPU and the requests they overlap")
    p.add_argument("--rate", type=float, default=50.0)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--duration", type=float, default=20.0, help="seconds per run")
    p.add_argument("--min-requests", type=int, default=0)
    p.add_argument("--warmup", type=int, default=40)
    p.add_argument("--warmup-seconds", type=float, default=1.0)
    p.add_argument("--base", help="also run this git revision's app, alternating with the working tree")
    p.add_argument("--out", type=Path, default=bench.BENCH / "results")
    args = p.parse_args()
    out = args.out / (datetime.now().strftime("%Y%m%d-%H%M%S") + "-console-ticks")
    sides = [("head", bench.ROOT)]
    commit = None
    if args.base:
        commit = export_revision(args.base, out / "base-code")
        sides = [("base", out / "base-code"), ("head", bench.ROOT)]
    print(f"console ticks -> {out}\n  claude-code at {args.rate:g}/s, {args.runs} run(s) of "
          f"{bench.run_seconds(args, args.rate):g} s per side; load average {bench.loadavg()}", flush=True)
    started = time.monotonic()
    runs = measure(args, out, sides)
    rows = summarize(runs, [s for s, _ in sides])
    meta = {"args": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()}, "base_commit": commit,
            "pinned": bench.PINNED, "wall_s": time.monotonic() - started}
    (out / "results.json").write_text(json.dumps({"meta": meta, "runs": runs, "summary": rows}, indent=1))
    head = (f"# Console ticks: claude-code at {args.rate:g} req/s, {args.runs} run(s) a side\n\n"
            + (f"base = `{args.base}` ({commit[:12]}), head = the working tree, alternating. " if commit else "")
            + "The console target (gateway + console on the requests screen, headless 120x40), traced "
            "(bench/traced_console.py). Medians over runs of each run's median tick.\n\n")
    (out / "report.md").write_text(head + table(rows) + "\n")
    print("\n" + table(rows) + f"\n\nreport: {out / 'report.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
