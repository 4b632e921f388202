"""`gateway_with_console.py` with a trace of the console's ticks and of every request, for console_ticks.py.

    TICK_TRACE=out.json python bench/traced_console.py --config gateway.yaml --port 9001

Runs the `app` on PYTHONPATH (console_ticks.py may point it at another revision). A tick starts when the
console's poll asks for the overview and ends when the repaint it caused has been drawn; for each tick it
records the console thread's CPU in its three parts (the reads on the gateway's loop, updating widgets,
painting). For each /v1/messages request it records when the handler started and ended. On exit it writes
TICK_TRACE: the ticks, the requests (after the first 10%, the warm-up), which requests overlapped a tick and
how much slower those were than the others (median handler time, inside the gateway: no client or
network noise).
"""
from __future__ import annotations

import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from app.proxy import pipeline, routes  # noqa: E402 - the app on PYTHONPATH
from app.tui.app import ConsoleApp  # noqa: E402

clock, cpu = time.perf_counter, time.thread_time
TICKS: list[dict] = []
REQUESTS: list[tuple[float, float]] = []
_open: dict = {}


def _traced_handler(handler):
    async def handle(request):
        started = clock()
        try:
            return await handler(request)
        finally:
            REQUESTS.append((started, clock()))
    return handle


def _install() -> None:
    routes.handle_messages = pipeline.handle_messages = _traced_handler(pipeline.handle_messages)
    fetch = ConsoleApp._fetch

    async def traced_fetch(errors, what, call, *args):
        if what == "overview":  # the first read of a poll: the tick starts
            _open.update(start=clock(), cpu=cpu())
        return await fetch(errors, what, call, *args)
    ConsoleApp._fetch = staticmethod(traced_fetch)
    refresh_screen = ConsoleApp.refresh_screen

    def traced_refresh(self) -> None:
        if "start" not in _open:
            return refresh_screen(self)
        tick = {"start": _open.pop("start"), "read_cpu": cpu() - _open.pop("cpu")}
        at, before = clock(), cpu()
        refresh_screen(self)
        tick["update_cpu"], painted_from = cpu() - before, cpu()

        def painted() -> None:
            tick["paint_cpu"], tick["end"] = cpu() - painted_from, clock()
            TICKS.append(tick)
        tick["update_wall"] = clock() - at
        self.call_after_refresh(painted)
    ConsoleApp.refresh_screen = traced_refresh


def summary(ticks: list[dict], requests: list[tuple[float, float]]) -> dict:
    """What the trace shows, in ms (the first 10% of requests, the warm-up, left out)."""
    requests = requests[len(requests) // 10:]
    since = requests[0][0] if requests else 0.0
    ticks = [t for t in ticks if t["start"] >= since]
    spans = [(t["start"], t["end"]) for t in ticks]
    overlapped, others = [], []
    for begin, end in requests:
        (overlapped if any(s < end and begin < e for s, e in spans) else others).append((end - begin) * 1000)
    med = lambda xs: statistics.median(xs) if xs else None  # noqa: E731
    return {
        "requests": len(requests), "ticks": len(ticks), "overlapped": len(overlapped),
        "overlapped_pct": 100 * len(overlapped) / len(requests) if requests else None,
        "overlapped_slower_ms": med(overlapped) - med(others) if overlapped and others else None,
        "tick_cpu_ms": med([1000 * (t["read_cpu"] + t["update_cpu"] + t["paint_cpu"]) for t in ticks]),
        "read_cpu_ms": med([1000 * t["read_cpu"] for t in ticks]),
        "update_cpu_ms": med([1000 * t["update_cpu"] for t in ticks]),
        "paint_cpu_ms": med([1000 * t["paint_cpu"] for t in ticks]),
        "tick_wall_ms": med([1000 * (t["end"] - t["start"]) for t in ticks]),
    }


def main() -> int:
    import gateway_with_console
    _install()
    try:
        return gateway_with_console.main()
    finally:
        Path(os.environ["TICK_TRACE"]).write_text(json.dumps(summary(TICKS, REQUESTS)))


if __name__ == "__main__":
    sys.exit(main())
