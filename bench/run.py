"""The gateway benchmark in one command: how much latency does bifrost-tui ADD?

    python bench/run.py [--quick] [--runs 3] [--rates 50,200,500] [--duration 10] [--out bench/results]

Targets: `direct` (the mock upstream itself), `floor` (bench/floor_proxy.py, a bare aiohttp proxy) and
`bifrost-tui` (`python -m app serve`). See bench/README.md.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
PY = sys.executable
UPSTREAM_KEY = "sk-ant-bench-upstream-0123456789"
BENCH_VK = "vk-bench-0123456789abcdef0123456789abcdef"
MODEL = "claude-haiku-4-5"
TARGETS = ("direct", "floor", "bifrost-tui")
MOCK_CORE, TARGET_CORE, LOADGEN_CORE = 1, 0, 1


@dataclass
class Scenario:
    """One kind of request. Later: `claude-code` (60 KB body, system prompt, 20 tools) and
    `everything-on` (gateway_yaml adds budgets, rate limits, routing, content logging...)."""
    name: str
    stream: bool
    body: Callable[[], dict]
    gateway_yaml: str = ""  # appended to the generated gateway config

    @property
    def metrics(self) -> tuple[str, ...]:
        return ("ttfb", "full") if self.stream else ("full",)


def _tiny(stream: bool) -> Callable[[], dict]:
    return lambda: {"model": MODEL, "max_tokens": 64, "stream": stream,
                    "messages": [{"role": "user", "content": "Say hello."}]}


SCENARIOS = [Scenario("small", False, _tiny(False)), Scenario("stream", True, _tiny(True))]


# --------------------------------------------------------------------------- processes

def taskset_works() -> bool:
    if not shutil.which("taskset") or len(os.sched_getaffinity(0)) < 2 or os.cpu_count() < 2:
        return False
    return subprocess.run(["taskset", "-c", "1", "true"], capture_output=True, check=False).returncode == 0


PINNED = taskset_works()


def pin(core: int, cmd: list[str]) -> list[str]:
    return ["taskset", "-c", str(core), *cmd] if PINNED else cmd


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Processes:
    """Everything we start, so that `stop_all` (in a finally) can stop it."""

    def __init__(self, log_dir: Path):
        self.log_dir, self.running = log_dir, {}

    def start(self, name: str, cmd: list[str], port: int, env: dict | None = None) -> subprocess.Popen:
        log = open(self.log_dir / f"{name}.log", "ab")  # noqa: SIM115 - closed in stop()
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                                env={**os.environ, **(env or {})})
        self.running[proc.pid] = (name, proc, log)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited with {proc.returncode}; see {log.name}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    return proc
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"{name} is not listening on port {port} after 30 s; see {log.name}")

    def stop(self, proc: subprocess.Popen) -> None:
        _, _, log = self.running.pop(proc.pid)
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        log.close()

    def stop_all(self) -> None:
        for _, proc, _ in list(self.running.values()):
            self.stop(proc)


def peak_rss_kb(pid: int) -> int | None:
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    m = re.search(r"^VmHWM:\s+(\d+) kB", text, re.MULTILINE)
    return int(m.group(1)) if m else None


def cpu_seconds() -> tuple[float, float]:
    """(busy CPU seconds of the whole machine, CPU seconds of this process and its waited-for children)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    busy = (sum(fields) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")  # all but idle and iowait
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return busy, me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def gateway_config(work: Path, mock_port: int, scenario: Scenario) -> Path:
    path = work / f"gateway-{scenario.name}.yaml"
    path.write_text(
        f"storage: {{sqlite: {str(work / f'bifrost-{scenario.name}.db')!r}}}\n"
        "providers:\n"
        f"  - {{name: anthropic, type: anthropic, base_url: http://127.0.0.1:{mock_port}, "
        "keys: [{name: main, secret: env:UPSTREAM_KEY}]}\n"
        "virtual_keys:\n  - {name: bench, key: env:BENCH_VK}\n" + scenario.gateway_yaml)
    return path


def start_target(procs: Processes, target: str, mock_port: int, config: Path) -> tuple[subprocess.Popen | None, str]:
    """Start floor or gateway pinned to its core; returns (process or None for direct, messages URL)."""
    if target == "direct":
        return None, f"http://127.0.0.1:{mock_port}/v1/messages"
    port = free_port()
    if target == "floor":
        cmd = [PY, str(BENCH / "floor_proxy.py"), "--port", str(port), "--upstream", f"http://127.0.0.1:{mock_port}"]
        return procs.start("floor", pin(TARGET_CORE, cmd), port), f"http://127.0.0.1:{port}/v1/messages"
    cmd = [PY, "-m", "app", "serve", "--config", str(config), "--port", str(port)]
    proc = procs.start("bifrost-tui", pin(TARGET_CORE, cmd), port, {"UPSTREAM_KEY": UPSTREAM_KEY, "BENCH_VK": BENCH_VK})
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=10) as r:  # fails loudly if unhealthy
        assert json.load(r)["status"] == "ok"
    return proc, f"http://127.0.0.1:{port}/anthropic/v1/messages"


def loadgen(url: str, key: str, body: Path, stream: bool, duration: float, warmup: int, *,
            rate: float | None = None, concurrency: int | None = None) -> dict:
    cmd = [PY, str(BENCH / "loadgen.py"), "--url", url, "--key", key, "--body", str(body),
           "--duration", str(duration), "--warmup", str(warmup)]
    cmd += ["--stream"] if stream else []
    cmd += ["--concurrency", str(concurrency)] if concurrency else ["--rate", str(rate)]
    done = subprocess.run(pin(LOADGEN_CORE, cmd), capture_output=True, text=True,
                          timeout=duration + 120, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"loadgen failed ({done.returncode}): {done.stderr[-2000:]}")
    return json.loads(done.stdout)


# --------------------------------------------------------------------------- the benchmark

def measure(args: argparse.Namespace, out: Path) -> dict:
    work = out / "work"
    work.mkdir(parents=True)
    procs = Processes(work)
    raw, saturation, rss = [], [], {}
    try:
        mock_port = free_port()
        procs.start("mock", pin(MOCK_CORE, [PY, "-m", "app", "mock-upstream", "--port", str(mock_port),
                                            "--require-key", UPSTREAM_KEY, "--latency-ms", "0",
                                            "--tokens-per-second", "0"]), mock_port)
        for sc in [s for s in SCENARIOS if s.name in args.scenarios]:
            body = work / f"body-{sc.name}.json"
            body.write_text(json.dumps(sc.body()))
            config = gateway_config(work, mock_port, sc)
            for run in range(args.runs):  # targets interleaved run by run, each run in a fresh process
                for target in TARGETS:
                    proc, url = start_target(procs, target, mock_port, config)
                    key = BENCH_VK if target == "bifrost-tui" else UPSTREAM_KEY
                    for rate in args.rates:
                        print(f"  {sc.name:8} run {run + 1}/{args.runs} {target:12} {rate:>6g}/s", flush=True)
                        res = loadgen(url, key, body, sc.stream, args.duration, args.warmup, rate=rate)
                        raw.append({"scenario": sc.name, "target": target, "rate": rate, "run": run, **res})
                    if run == args.runs - 1:
                        print(f"  {sc.name:8} saturation  {target:12} {args.concurrency} workers", flush=True)
                        res = loadgen(url, key, body, sc.stream, args.sat_duration, args.warmup,
                                      concurrency=args.concurrency)
                        saturation.append({"scenario": sc.name, "target": target, **res})
                    if proc is not None:
                        kb = peak_rss_kb(proc.pid)
                        rss.setdefault(sc.name, {})[target] = max(kb or 0, rss.get(sc.name, {}).get(target, 0))
                        procs.stop(proc)
    finally:
        procs.stop_all()
    return {"raw": raw, "saturation": saturation, "peak_rss_kb": rss}


def med(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def summarize(data: dict, args: argparse.Namespace) -> list[dict]:
    rows = []
    for sc in [s for s in SCENARIOS if s.name in args.scenarios]:
        for metric in sc.metrics:
            for rate in args.rates:
                runs = {t: [r for r in data["raw"] if (r["scenario"], r["target"], r["rate"]) == (sc.name, t, rate)]
                        for t in TARGETS}
                pct = {t: {q: med(r[f"{metric}_ms"][q] for r in runs[t]) for q in ("p50", "p90", "p99", "max")}
                       for t in TARGETS}
                for t in TARGETS:
                    added = {q: None if None in (pct[t][q], pct["direct"][q]) else pct[t][q] - pct["direct"][q]
                             for q in ("p50", "p99")}
                    rows.append({"scenario": sc.name, "metric": metric, "rate": rate, "target": t, **pct[t],
                                 "added_p50": added["p50"], "added_p99": added["p99"],
                                 "achieved_rate": med(r["achieved_rate"] for r in runs[t]),
                                 "errors": sum(r["errors"] for r in runs[t]), "count": sum(r["count"] for r in runs[t]),
                                 "send_lag_p99": max((r["send_lag_ms"]["p99"] or 0) for r in runs[t])})
    return rows


# --------------------------------------------------------------------------- the report

def fmt(v, digits=2) -> str:
    return "—" if v is None else f"{v:.{digits}f}"


def latency_table(rows: list[dict]) -> str:
    lines = ["| scenario | metric | rate/s | target | p50 ms | p99 ms | added p50 | added p99 | achieved/s | errors |",
             "|---|---|---:|---|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        added = ("", "") if r["target"] == "direct" else (fmt(r["added_p50"]), fmt(r["added_p99"]))
        lines.append(f"| {r['scenario']} | {r['metric']} | {r['rate']:g} | {r['target']} | {fmt(r['p50'])} | "
                     f"{fmt(r['p99'])} | {added[0]} | {added[1]} | {fmt(r['achieved_rate'], 1)} | {r['errors']} |")
    return "\n".join(lines)


def saturation_table(data: dict) -> str:
    lines = ["| scenario | target | req/s | vs floor | p50 ms | p99 ms | errors |", "|---|---|---:|---:|---:|---:|---:|"]
    floor = {s["scenario"]: s["achieved_rate"] for s in data["saturation"] if s["target"] == "floor"}
    for s in data["saturation"]:
        ratio = s["achieved_rate"] / floor[s["scenario"]] if floor.get(s["scenario"]) else None
        lines.append(f"| {s['scenario']} | {s['target']} | {s['achieved_rate']:.0f} | {fmt(ratio)} | "
                     f"{fmt(s['full_ms']['p50'])} | {fmt(s['full_ms']['p99'])} | {s['errors']} |")
    return "\n".join(lines)


def plot(rows: list[dict], out: Path, args: argparse.Namespace) -> str:
    """p50 vs rate per target and scenario: plot.png with matplotlib, else a text plot via plotext."""
    series = {}  # (scenario/metric) -> target -> [p50 per rate]
    for r in rows:
        if r["metric"] == ("ttfb" if r["scenario"] == "stream" else "full"):
            series.setdefault(f"{r['scenario']} {r['metric']}", {}).setdefault(r["target"], []).append(r["p50"] or 0)
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as mpl
        fig, axes = mpl.subplots(1, len(series), figsize=(5 * len(series), 4), squeeze=False)
        for ax, (title, by_target) in zip(axes[0], series.items()):
            for target, ys in by_target.items():
                ax.plot(args.rates, ys, marker="o", label=target)
            ax.set(title=title, xlabel="rate (req/s)", ylabel="p50 ms")
            ax.legend()
        fig.tight_layout()
        fig.savefig(out / "plot.png")
        return "![p50 latency vs rate](plot.png)"
    except ImportError:
        print("matplotlib is not installed: no plot.png (a text plot is in report.md instead)")
    try:
        import plotext as plt
    except ImportError:
        print("plotext is not installed either: no plot")
        return "(no plot: neither matplotlib nor plotext is installed)"
    blocks = []
    for title, by_target in series.items():
        plt.clf()
        plt.plotsize(72, 16)
        plt.theme("clear")
        for target, marker in zip(by_target, ("dot", "x", "+")):
            plt.plot(args.rates, by_target[target], label=target, marker=marker)
        plt.title(f"{title}: p50 ms vs rate (req/s)")
        blocks.append("```text\n" + re.sub(r"\x1b\[[0-9;]*m", "", plt.build()) + "\n```")
    return "\n\n".join(blocks)


def report(data: dict, rows: list[dict], args: argparse.Namespace, out: Path) -> str:
    pinning = (f"mock upstream on core {MOCK_CORE}, floor/bifrost-tui on core {TARGET_CORE} (one at a time), "
               f"load generator on core {LOADGEN_CORE}. This machine has {os.cpu_count()} cores, so **the load "
               f"generator and the mock upstream share core {LOADGEN_CORE}**."
               if PINNED else "**taskset is missing or unusable: every process ran UNPINNED** (numbers are noisier).")
    late = [f"{r['scenario']} {r['target']} {r['rate']:g}/s ({r['send_lag_p99']:.1f} ms)" for r in rows
            if r["send_lag_p99"] > 5 and r["metric"] == "full"]
    warnings = ["- the load generator sent requests late (p99 > 5 ms; CPU starved, latencies inflated) in: "
                + ", ".join(late)] if late else []
    warnings += [f"- {r['scenario']} {r['target']} at {r['rate']:g}/s: {r['errors']} errors" for r in rows
                 if r["errors"] and r["metric"] == "full"]
    sat = {(x["scenario"], x["target"]): x["achieved_rate"] for x in data["saturation"]}
    warnings += [f"- {sc}: direct saturation is only {sat[sc, 'direct'] / sat[sc, 'floor']:.2f}x the floor's: the mock "
                 f"upstream (sharing core {MOCK_CORE} with the load generator) likely caps the proxies too, so "
                 "their saturation numbers and ratios are lower bounds" for sc in {k[0] for k in sat}
                 if sat.get((sc, "floor")) and sat.get((sc, "direct"), 0) < 2 * sat[sc, "floor"]]
    if data["foreign_cpu_pct"] > 5:
        warnings.append(f"- the machine was not idle: other processes used {data['foreign_cpu_pct']:.0f}% of all "
                        "cores during the benchmark; they inflate p99s and lower saturation numbers")
    rss = "\n".join(f"| {sc} | {t} | {kb / 1024:.1f} |" for sc, by in data["peak_rss_kb"].items() for t, kb in by.items())
    return f"""# bifrost-tui benchmark — {out.name}

Added latency = target percentile − `direct` percentile (medians over {args.runs} run(s) of {args.duration:g} s each,
open-loop uniform arrivals, latency from the scheduled send time). Mock upstream: latency 0, tokens/s 0.
Pinning: {pinning}

## Latency (ms)

{latency_table(rows)}

## Saturation (closed loop, {args.concurrency} workers, {args.sat_duration:g} s; `full` latency)

{saturation_table(data)}

## Peak RSS (VmHWM at the end of each process, max over runs)

| scenario | target | MB |
|---|---|---:|
{rss}

## Warnings

{chr(10).join(warnings) or "none"}

## p50 vs rate

{plot(rows, out, args)}
"""


def main() -> int:
    p = argparse.ArgumentParser(description="benchmark bifrost-tui's added latency")
    p.add_argument("--quick", action="store_true", help="smoke: 1 run, rate 20, 1 s, saturation 1 s")
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--rates", default="50,200,500", help="comma-separated requests per second")
    p.add_argument("--duration", type=float, default=10.0, help="seconds per open-loop run")
    p.add_argument("--sat-duration", type=float, default=5.0, help="seconds of saturation per target")
    p.add_argument("--concurrency", type=int, default=32, help="saturation workers")
    p.add_argument("--warmup", type=int, default=40, help="unrecorded requests before each load run")
    p.add_argument("--scenarios", default=",".join(s.name for s in SCENARIOS))
    p.add_argument("--out", type=Path, default=BENCH / "results")
    args = p.parse_args()
    if args.quick:
        args.runs, args.rates, args.duration, args.sat_duration, args.concurrency, args.warmup = 1, "20", 1, 1, 8, 8
    args.rates = [float(r) for r in args.rates.split(",")]
    args.scenarios = args.scenarios.split(",")
    out = args.out / datetime.now().strftime("%Y%m%d-%H%M%S")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so the finally blocks stop our processes
    print(f"bifrost-tui benchmark -> {out}" + ("" if PINNED else "  (taskset unavailable: running unpinned)"))
    cpu_before, wall = cpu_seconds(), time.monotonic()
    data = measure(args, out)
    busy, ours = (after - before for after, before in zip(cpu_seconds(), cpu_before))
    data["foreign_cpu_pct"] = max(0.0, 100 * (busy - ours) / ((time.monotonic() - wall) * os.cpu_count()))
    rows = summarize(data, args)
    meta = {"args": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()}, "pinned": PINNED,
            "cpu_count": os.cpu_count(), "python": sys.version.split()[0]}
    (out / "results.json").write_text(json.dumps({"meta": meta, "summary": rows, **data}, indent=1))
    (out / "report.md").write_text(report(data, rows, args, out))
    print("\n" + latency_table(rows) + "\n\n" + saturation_table(data) + f"\n\nreport: {out / 'report.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
