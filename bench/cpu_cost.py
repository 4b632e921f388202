"""CPU cost per request: how much processor time the floor and bifrost-tui spend on one request.

Latency on this 2-core machine moves by tenths of a millisecond from run to run (the load generator and the
mock share a core, the machine's speed drifts), which hides a change of 20-50 µs in the gateway's own work.
The CPU time a process spends is much steadier: this runs each target at a fixed rate, reads the on-CPU
nanoseconds of every thread of the target's process from `/proc/<pid>/task/*/schedstat` before and after
the recorded requests, and divides by their number. Warm-up requests (`--warmup-seconds` at the same rate)
are not counted.

- `floor`'s cost is one aiohttp hop (read the request, forward it, relay the answer);
- `bifrost-tui − floor` is what the gateway's features cost per request, in CPU;
- `--base REV` adds bifrost-tui at another revision (exported as code_ab.py does), run in alternation with
  the working tree, so a change's effect on the per-request CPU shows as `head − base`.

    python bench/cpu_cost.py --scenarios small,stream,everything-on --rate 200 --requests 2000 --runs 3
    python bench/cpu_cost.py --base HEAD~1 --scenarios stream --runs 5

Output: `bench/results/<time>-cpu-cost/` (report.md, results.json) and the table on stdout. CPU time
includes the kernel's share (the sockets' send and receive), as it is part of what a request costs.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run as bench  # noqa: E402 - the benchmark's processes, scenarios and load generator
from code_ab import export_revision  # noqa: E402

BASE = "bifrost-tui@base"


def on_cpu_ns(pid: int) -> int:
    """Nanoseconds every thread of `pid` has spent on a CPU (threads that ended are not counted)."""
    total = 0
    for stat in Path(f"/proc/{pid}/task").glob("*/schedstat"):
        try:
            total += int(stat.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            pass
    return total


def one_run(args, procs, sc, target: str, code: Path, mock_port: int, work: Path, body: Path, keys: Path,
            tag: str) -> dict:
    gateway = bench.GATEWAY if target == BASE else target
    config = bench.gateway_config(work, mock_port, sc.config, tag)  # a fresh request log every run
    proc, url = bench.start_target(procs, gateway, mock_port, config, sc.query, code=code,
                                   name=target.replace("@", "-"))
    try:
        auth = bench.auth_for(sc, gateway, keys)
        bench.loadgen(url, auth, body, sc, args.warmup_seconds, 20, rate=args.rate)
        before, mock_before = on_cpu_ns(proc.pid), on_cpu_ns(procs.mock_pid)
        result = bench.loadgen(url, auth, body, sc, args.requests / args.rate, 0, rate=args.rate)
        spent, mock_spent = on_cpu_ns(proc.pid) - before, on_cpu_ns(procs.mock_pid) - mock_before
    finally:
        procs.stop(proc)
    count = result["count"]
    return {"requests": count, "errors": result["errors"], "cpu_us": spent / 1000 / max(count, 1),
            "mock_cpu_us": mock_spent / 1000 / max(count, 1), "p50_ms": result.get("full", {}).get("p50")}


def measure(args, out: Path) -> dict:
    work = out / "work"
    work.mkdir(parents=True)
    procs = bench.Processes(work)
    sides = [(bench.FLOOR, bench.ROOT)] + [(t, bench.ROOT) for t in args.targets if t != bench.FLOOR]
    if args.base:
        commit = export_revision(args.base, out / "base")
        sides.append((BASE, out / "base"))
        print(f"base: {args.base} = {commit}", flush=True)
    keys = work / "keys.txt"
    keys.write_text("\n".join(bench.everything_on_keys()) + "\n")
    data: dict = {"runs": {}}
    try:
        mock_port = bench.start_mock(procs)
        procs.mock_pid = next(pid for pid, (name, _, _) in procs.running.items() if name == "mock")
        for sc in (bench.BY_NAME[name] for name in args.scenarios):
            body = work / f"{sc.name}.json"
            body.write_bytes(json.dumps(sc.body()).encode())
            runs = data["runs"].setdefault(sc.name, {})
            for i in range(args.runs):
                order = sides if i % 2 == 0 else [sides[0], *sides[:0:-1]]
                for target, code in order:
                    tag = f"{sc.name}-{i}-{target.replace('@', '-')}"
                    row = one_run(args, procs, sc, target, code, mock_port, work, body, keys, tag)
                    runs.setdefault(target, []).append(row)
                    print(f"{sc.name} run {i + 1} {target}: {row['cpu_us']:.0f} µs/request "
                          f"(mock {row['mock_cpu_us']:.0f}), {row['requests']} requests, {row['errors']} errors",
                          flush=True)
    finally:
        procs.stop_all()
    return data


def table(data: dict) -> str:
    lines = ["| scenario | target | CPU µs/request (median) | runs | − floor | errors |", "|---|---|---:|---|---:|---:|"]
    for scenario, runs in data["runs"].items():
        floor = statistics.median(r["cpu_us"] for r in runs[bench.FLOOR])
        for target, rows in runs.items():
            cpu = statistics.median(r["cpu_us"] for r in rows)
            each = ", ".join(f"{r['cpu_us']:.0f}" for r in rows)
            over = "" if target == bench.FLOOR else f"{cpu - floor:+.0f}"
            lines.append(f"| {scenario} | {target} | {cpu:.0f} | {each} | {over} | {sum(r['errors'] for r in rows)} |")
        if BASE in runs and bench.GATEWAY in runs:
            diffs = [h["cpu_us"] - b["cpu_us"] for h, b in zip(runs[bench.GATEWAY], runs[BASE])]
            lines.append(f"| {scenario} | head − base | {statistics.median(diffs):+.0f} | "
                         f"{', '.join(f'{d:+.0f}' for d in diffs)} | | |")
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--scenarios", default="small,stream,claude-code,everything-on")
    p.add_argument("--targets", default=f"{bench.FLOOR},{bench.GATEWAY}",
                   help=f"floor always runs; add {bench.CONSOLE} for the console's CPU")
    p.add_argument("--rate", type=float, default=200)
    p.add_argument("--requests", type=int, default=2000, help="recorded requests per run")
    p.add_argument("--warmup-seconds", type=float, default=1.0)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--base", help="also run bifrost-tui at this git revision")
    p.add_argument("--out", default=str(bench.ROOT / "bench" / "results"))
    args = p.parse_args()
    args.scenarios = [s for s in args.scenarios.split(",") if s]
    args.targets = [t for t in args.targets.split(",") if t]
    unknown = [s for s in args.scenarios if s not in bench.BY_NAME]
    if unknown:
        p.error(f"unknown scenario(s) {unknown}; choose from {', '.join(bench.BY_NAME)}")
    out = Path(args.out) / f"{datetime.now():%Y%m%d-%H%M%S}-cpu-cost"
    data = measure(args, out)
    data["args"] = vars(args)
    (out / "results.json").write_text(json.dumps(data, indent=1))
    text = (f"# CPU cost per request\n\n{args.requests} requests per run at {args.rate:g} req/s, "
            f"{args.runs} runs, pinned: {bench.PINNED}\n\n{table(data)}\n")
    (out / "report.md").write_text(text)
    print(text)
    print(f"report: {out / 'report.md'}")


if __name__ == "__main__":
    main()
