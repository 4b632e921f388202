"""What the paired A/Bs share (console_ab.py, code_ab.py): runs in fresh processes, alternated within pairs
against one mock upstream, and a bootstrap interval for the median of the per-pair differences.

A full `run.py` compares medians of a few runs; on this 2-core machine a run's p99 moves by 0.3-0.5 ms from
run to run and its speed drifts over an hour, so a small effect is measured as many back-to-back pairs."""
from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
from collections.abc import Callable
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


def paired_setup(out: Path, sc: bench.Scenario) -> tuple[Path, bench.Processes, Path, Path]:
    """The paired A/Bs' work directory, process list, request body and keys file (work, procs, body, keys)."""
    work = out / "work"
    work.mkdir(parents=True)
    body = work / "body.json"
    body.write_bytes(json.dumps(sc.body()).encode())
    keys = work / "keys.txt"
    keys.write_text("\n".join(bench.everything_on_keys()) + "\n")
    return work, bench.Processes(work), body, keys


def paired_run(procs: bench.Processes, target: str, mock_port: int, work: Path, sc: bench.Scenario, tag: str, body: Path,
               keys_file: Path, args: argparse.Namespace, *, code: Path = bench.ROOT,
               name: str | None = None, **start) -> tuple[dict, str | None]:
    """One run of the paired A/Bs (console_ab.py, code_ab.py, console_ticks.py): `target` in a fresh process
    with its own config and request log (named by `tag`), open loop at args.rate after args.warmup_seconds;
    then stopped and its log removed. `start`: more of start_target's options. Returns (loadgen's result, the
    directory the target ran in: whose `app` it ran)."""
    config = None if target == bench.DIRECT else bench.gateway_config(work, mock_port, sc.config, tag)
    proc, url = bench.start_target(procs, target, mock_port, config, sc.query, code=code, name=name, **start)
    ran_in = os.readlink(f"/proc/{proc.pid}/cwd") if proc is not None else None
    try:
        res = bench.loadgen(url, bench.auth_for(sc, target, keys_file), body, sc, bench.run_seconds(args, args.rate), args.warmup,
                      rate=args.rate, warm_s=args.warmup_seconds)
    finally:
        if proc is not None:
            procs.stop(proc)
    for leftover in work.glob(f"bifrost-{tag}.db*"):
        leftover.unlink()
    return res, ran_in


def pair_arguments(p: argparse.ArgumentParser, *, rate: float, pairs: int, duration: float,
                   min_requests: int) -> None:
    """The paired A/Bs' shared options, with each tool's defaults."""
    p.add_argument("--rate", type=float, default=rate)
    p.add_argument("--pairs", type=int, default=pairs)
    p.add_argument("--duration", type=float, default=duration, help="seconds per run")
    p.add_argument("--min-requests", type=int, default=min_requests)
    p.add_argument("--warmup", type=int, default=40)
    p.add_argument("--warmup-seconds", type=float, default=1.0)
    p.add_argument("--metric", choices=("ttfb", "full"), default=None,
                   help="what to compare: time to first byte or to the full response (default: ttfb for streams)")
    p.add_argument("--out", type=Path, default=bench.BENCH / "results")


def metric_of(args: argparse.Namespace) -> str:
    """The metric a paired A/B compares: `--metric`, else the scenario's primary one (TTFB for streams)."""
    sc = bench.BY_NAME[args.scenario]
    if args.metric and args.metric not in sc.metrics:
        raise SystemExit(f"--metric {args.metric}: scenario {args.scenario} has {', '.join(sc.metrics)}")
    return args.metric or sc.primary


def run_pairs(args: argparse.Namespace, out: Path, sides: Callable[[int], list[tuple[str, str, Path]]],
              a: str, b: str, label: str) -> list[dict]:
    """The paired A/Bs' measurement: `args.pairs` pairs against one mock upstream; pair i runs `sides(i)`, each
    (side, target, code checkout), one paired_run each, and prints side b − side a. One dict per pair:
    {side: {p50, p99, errors, code, target}} for `args.metric` (default: the scenario's primary metric)."""
    sc = bench.BY_NAME[args.scenario]
    work, procs, body, keys = paired_setup(out, sc)
    metric = f"{metric_of(args)}_ms"
    pairs = []
    try:
        mock_port = bench.start_mock(procs)
        for i in range(args.pairs):
            pair = {}
            for side, target, code in sides(i):
                res, ran_in = paired_run(procs, target, mock_port, work, sc, f"{side}-{i}", body, keys, args,
                                         code=code, name=side)
                pair[side] = {q: res[metric][q] for q in ("p50", "p99")} | {"errors": res["errors"], "code": ran_in,
                                                                           "target": target}
            pairs.append(pair)
            diffs = "  ".join(f"{q} {pair[b][q] - pair[a][q]:+.2f}" for q in ("p50", "p99"))
            print(f"  pair {i + 1}/{args.pairs}: {label} {diffs} ms", flush=True)
    finally:
        procs.stop_all()
    return pairs
