"""Load generator for the benchmark; prints one JSON object on stdout.

Open loop (default): request i is scheduled at t0 + i/rate and its latency is measured from that
SCHEDULED time, so a slow target cannot slow the generator down and hide its own queueing
(no coordinated omission). Saturation (--concurrency N): closed loop, N workers for --duration s.

    python bench/loadgen.py --url http://127.0.0.1:9000/v1/messages (--key K | --keys-file F) --body body.json \
        [--stream] [--header "name: value"]... (--rate 200 [--warmup-seconds 1] | --concurrency 32 [--requests N]) \
        --duration 10

--keys-file spreads requests over the keys listed in the file (one per line), round-robin.
Soak (--concurrency N --requests M --rss-pid PID --rss-every K): closed loop until M requests are done or
--duration runs out (then "aborted": true), sampling VmRSS of PID every K finished requests.
"""
from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import re
import time
from pathlib import Path

import aiohttp

DELTA = b"content_block_delta"
EARLY = 0.001  # asyncio sleeps overshoot by up to ~1 ms: launch that early; latency then counts from the send


def percentiles(values: list[float]) -> dict[str, float | None]:
    """Nearest-rank p50/p90/p99/max, in ms."""
    if not values:
        return {"p50": None, "p90": None, "p99": None, "max": None}
    s = sorted(values)
    pick = lambda q: s[min(len(s) - 1, max(0, -(-len(s) * q // 100) - 1))]
    return {"p50": pick(50), "p90": pick(90), "p99": pick(99), "max": s[-1]}


class Client:
    def __init__(self, args: argparse.Namespace):
        self.url, self.stream = args.url, args.stream
        self.body = Path(args.body).read_bytes()
        self.headers = {"content-type": "application/json", "anthropic-version": "2023-06-01"}
        for h in args.header:
            name, _, value = h.partition(":")
            self.headers[name.strip()] = value.strip()
        keys = [k.strip() for k in Path(args.keys_file).read_text().splitlines() if k.strip()] if args.keys_file \
            else [args.key]
        self.header_sets = itertools.cycle([{**self.headers, "x-api-key": k} for k in keys])  # round-robin
        self.keys_used = len(keys)
        self.finished = 0  # recorded requests finished, success or not (soak sampling counts these)
        self.on_finish = None
        self.full: list[float] = []  # ms, successes only
        self.ttfb: list[float] = []
        self.lag: list[float] = []  # ms between scheduled and actual send (the generator's own health)
        self.errors: dict[str, int] = {}
        self.last_done = 0.0

    async def one(self, session: aiohttp.ClientSession, scheduled: float, record: bool = True) -> None:
        """One request; latency counted from its scheduled time (or its actual send if that was earlier)."""
        now = time.perf_counter()
        start = min(scheduled, now)
        if record:
            self.lag.append(max(0.0, now - scheduled) * 1000)
        ttfb = None
        try:
            async with session.post(self.url, data=self.body, headers=next(self.header_sets)) as resp:
                if self.stream:
                    tail = b""
                    async for chunk in resp.content.iter_any():
                        if ttfb is None and DELTA in tail + chunk:
                            ttfb = time.perf_counter()
                        tail = chunk[-len(DELTA):]
                else:
                    await resp.read()
                if resp.status != 200 or (self.stream and ttfb is None):
                    raise RuntimeError(f"HTTP {resp.status}" + ("" if resp.status != 200 else " without a delta"))
        except Exception as exc:  # noqa: BLE001 - every failure is counted, by kind
            if record:
                kind = str(exc) if isinstance(exc, RuntimeError) else type(exc).__name__
                self.errors[kind] = self.errors.get(kind, 0) + 1
                self._finished()
            return
        done = time.perf_counter()
        if record:
            self.full.append((done - start) * 1000)
            if ttfb is not None:
                self.ttfb.append((ttfb - start) * 1000)
            self.last_done = max(self.last_done, done)
            self._finished()

    def _finished(self) -> None:
        self.finished += 1
        if self.on_finish is not None:
            self.on_finish(self.finished)

    def result(self, **extra) -> dict:
        out = {"count": len(self.full), "errors": sum(self.errors.values()), "error_kinds": self.errors,
               "keys_used": self.keys_used,
               "full_ms": percentiles(self.full), "send_lag_ms": percentiles(self.lag), **extra}
        if self.stream:
            out["ttfb_ms"] = percentiles(self.ttfb)
        return out


async def open_loop(c: Client, session: aiohttp.ClientSession, rate: float, duration: float, grace: float,
                    warm_s: float = 0.0) -> dict:
    """`warm_s` seconds at the same rate first, not recorded: the target and the client reach the connection
    count and caches of the steady state before the measured window (the first second at 500 req/s of 60 KB
    requests had a p99 of 18-25 ms on every target while the pools grew, then ~4 ms)."""
    warm = int(rate * warm_s)
    total = max(1, int(rate * duration))
    start = time.perf_counter() + 0.05
    t0 = start + warm / rate  # the measured window starts here
    tasks = []
    i = 0
    while i < warm + total:
        now = time.perf_counter()
        while i < warm + total and start + i / rate <= now + EARLY:  # launch everything that is (about) due
            tasks.append(asyncio.create_task(c.one(session, start + i / rate, record=i >= warm)))
            i += 1
        if i < warm + total:
            await asyncio.sleep(max(0.0, start + i / rate - EARLY - time.perf_counter()))
    _, pending = await asyncio.wait(tasks, timeout=grace)
    for t in pending:
        t.cancel()
    if pending:
        c.errors["unfinished"] = len(pending)
    elapsed = max((c.last_done or time.perf_counter()) - t0, total / rate)
    return c.result(mode="open", target_rate=rate, sent=total, warm_sent=warm, achieved_rate=len(c.full) / elapsed)


def vm_rss_kb(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/status") as f:
            m = re.search(r"^VmRSS:\s+(\d+) kB", f.read(), re.MULTILINE)
    except OSError:
        return None
    return int(m.group(1)) if m else None


async def saturate(c: Client, session: aiohttp.ClientSession, workers: int, duration: float,
                   requests: int = 0, rss_pid: int = 0, rss_every: int = 0) -> dict:
    """Closed loop: `workers` requests always in flight, for `duration` s or until `requests` are done."""
    deadline = time.perf_counter() + duration
    t0 = time.perf_counter()
    started = 0
    samples: list[dict] = []

    def sample(done: int) -> None:
        samples.append({"requests": done, "rss_kb": vm_rss_kb(rss_pid), "t": round(time.perf_counter() - t0, 2)})

    if rss_pid and rss_every:
        sample(0)
        c.on_finish = lambda done: sample(done) if done % rss_every == 0 else None

    async def worker():
        nonlocal started
        while time.perf_counter() < deadline and (not requests or started < requests):
            started += 1
            await c.one(session, time.perf_counter())

    await asyncio.wait_for(asyncio.gather(*(worker() for _ in range(workers))), duration + 60)
    elapsed = time.perf_counter() - t0
    if samples and samples[-1]["requests"] != c.finished:
        sample(c.finished)
    extra = {"requests": requests, "aborted": bool(requests) and c.finished < requests, "elapsed_s": elapsed,
             "samples": samples} if requests else {}
    return c.result(mode="saturation", concurrency=workers, achieved_rate=len(c.full) / elapsed, **extra)


async def main(args: argparse.Namespace) -> dict:
    c = Client(args)
    connector = aiohttp.TCPConnector(limit=args.pool, keepalive_timeout=60)
    timeout = aiohttp.ClientTimeout(total=args.timeout)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        for i in range(0, args.warmup, 8):  # open connections and warm caches; not recorded
            await asyncio.gather(*(c.one(session, time.perf_counter(), record=False) for _ in range(8)))
        if args.concurrency:
            return await saturate(c, session, args.concurrency, args.duration, args.requests, args.rss_pid,
                                  args.rss_every)
        return await open_loop(c, session, args.rate, args.duration, args.timeout + 5, args.warmup_seconds)


if __name__ == "__main__":
    p = argparse.ArgumentParser(description="open-loop / saturation load generator (JSON on stdout)")
    p.add_argument("--url", required=True)
    keys = p.add_mutually_exclusive_group(required=True)
    keys.add_argument("--key", help="sent as x-api-key")
    keys.add_argument("--keys-file", help="a file with one key per line: requests use them round-robin")
    p.add_argument("--body", required=True, help="file with the JSON request body")
    p.add_argument("--stream", action="store_true", help="the body asks for SSE; also measure TTFB")
    p.add_argument("--header", action="append", default=[], help='extra request header "name: value"')
    p.add_argument("--rate", type=float, default=50.0, help="open loop: requests per second")
    p.add_argument("--concurrency", type=int, default=0, help="saturation: closed loop with N workers")
    p.add_argument("--duration", type=float, default=10.0, help="seconds (with --requests: the time limit)")
    p.add_argument("--requests", type=int, default=0, help="saturation: stop after this many requests")
    p.add_argument("--rss-pid", type=int, default=0, help="saturation: sample this process's VmRSS ...")
    p.add_argument("--rss-every", type=int, default=0, help="... every this many finished requests")
    p.add_argument("--warmup", type=int, default=40, help="unrecorded requests first")
    p.add_argument("--warmup-seconds", type=float, default=0.0,
                   help="open loop: run this long at --rate first, not recorded (steady-state pools and caches)")
    p.add_argument("--pool", type=int, default=512, help="connection pool size")
    p.add_argument("--timeout", type=float, default=15.0, help="per-request timeout, s")
    print(json.dumps(asyncio.run(main(p.parse_args()))))
