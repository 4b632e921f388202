"""The console's manners when it shares one interpreter with the gateway thread.

In one process the gateway runs on its own thread (app/proxy/server_thread.py) and the console on the
main one, and only one of them runs Python at a time. A thread that wants the interpreter waits up to
the switch interval before forcing the other to let go, and once it has it, keeps it for a whole
interval while the other waits: two busy threads split the CPU about evenly. A console repaint is
~10 ms of work a second; at 500 requests/s that halved the gateway's speed for the ~5 requests that
arrived meanwhile, which is the slowest 1% (p99 +2-3 ms over headless).

`give_way()` lets go of the interpreter and the CPU for a moment: a gateway thread that is waiting runs
at once and keeps the interpreter for its whole interval, while the console holds it for no longer than one small step
(the request tail calls it between table lines). When nothing waits it costs about a microsecond.

That only helps between table lines: most of a repaint is Textual's own (styles, compositor), and a
thread that gets the interpreter back after a forced switch asks for it again one interval later, so
during those stretches the two threads alternate and requests are served at about half speed. At 500
requests/s that put ~1.4% of requests 0.5 ms later (bench/, p99 +0.3 ms over headless).
`run_console_at_idle_priority()` fixes that where threads share a core: the console's thread gets the
CPU only when the gateway's thread does not want it, so it cannot even ask for the interpreter while
the gateway is busy. With the shorter switch interval (app/proxy/server_thread.py) a waking gateway
waits at most ~0.2 ms for a console holding it.
"""
from __future__ import annotations

import asyncio
import os
import selectors
import sys

give_way = getattr(os, "sched_yield", lambda: None)  # releases the interpreter around the system call

# The switch interval while the console runs Python, next to an in-process gateway. A gateway thread that
# wakes while the console holds the interpreter waits this long before it asks for it back; the console
# then lets go at its next bytecode boundary. At 0.2 ms (the gateway's interval, app/proxy/server_thread.py)
# a request that overlapped a console tick came out 0.39 ms slower than the others (median over 6 runs of
# 20 s, the 60 KB request at 200 req/s, bench/); at 50 µs, 0.21 ms. 5 and 20 µs measured like 50 µs (3 runs
# each): below that the timer that wakes the waiting thread is the limit (Linux's default timer slack is 50 µs).
CONSOLE_BUSY_INTERVAL_S = 0.00005


class _Sharing:
    idle_interval: float | None = None  # the gateway thread's interval while one shares the interpreter


def sharing_started(idle_interval: float) -> None:
    """A gateway thread now shares the interpreter with this console; between ticks it runs at `idle_interval`."""
    _Sharing.idle_interval = idle_interval


def sharing_ended() -> None:
    _Sharing.idle_interval = None


class BusyIntervalSelector(selectors.BaseSelector):
    """The console loop's selector: while the loop waits for I/O or its next timer, the interpreter switches
    threads at the gateway's interval; while it runs callbacks (a poll, a repaint) it switches at
    CONSOLE_BUSY_INTERVAL_S, so a gateway thread that wakes meanwhile gets the interpreter back sooner.
    Only while a gateway thread shares the interpreter (`sharing_started`); otherwise it only delegates."""

    def __init__(self, inner: selectors.BaseSelector | None = None) -> None:
        self._inner = inner or selectors.DefaultSelector()

    def select(self, timeout=None):
        idle = _Sharing.idle_interval
        if idle is None:
            return self._inner.select(timeout)
        sys.setswitchinterval(idle)
        try:
            return self._inner.select(timeout)
        finally:
            sys.setswitchinterval(min(CONSOLE_BUSY_INTERVAL_S, idle))

    def register(self, fileobj, events, data=None):
        return self._inner.register(fileobj, events, data)

    def unregister(self, fileobj):
        return self._inner.unregister(fileobj)

    def modify(self, fileobj, events, data=None):
        return self._inner.modify(fileobj, events, data)

    def get_key(self, fileobj):
        return self._inner.get_key(fileobj)

    def get_map(self):
        return self._inner.get_map()

    def close(self) -> None:
        self._inner.close()


def console_event_loop() -> asyncio.AbstractEventLoop:
    """The event loop for a console that may share the interpreter with a gateway thread."""
    return asyncio.SelectorEventLoop(BusyIntervalSelector())


PRIORITY_ENV = "BIFROST_CONSOLE_PRIORITY"  # "normal" keeps the console thread at the default priority


def run_console_at_idle_priority() -> str:
    """Move the CALLING thread (the console's) to SCHED_IDLE, after the gateway's thread has started (a
    thread inherits its creator's policy). Linux only; returns what it did, for the log.

    The cost, on a host whose CPUs other processes keep busy: the console repaints late, and a console
    preempted while it holds the interpreter makes the gateway wait until it runs again (with a CPU-bound
    process on the gateway's core, 200 req/s for 20 s: the slowest request 14-26 ms instead of 10-12 ms,
    p99 unchanged).
    BIFROST_CONSOLE_PRIORITY=normal opts out."""
    if os.environ.get(PRIORITY_ENV) == "normal":
        return f"normal ({PRIORITY_ENV}=normal)"
    if not hasattr(os, "SCHED_IDLE"):
        return "normal (no SCHED_IDLE on this platform)"
    try:
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))  # pid 0: this thread only
    except OSError as exc:
        return f"normal (SCHED_IDLE refused: {exc})"
    return "idle (SCHED_IDLE: the CPU the gateway leaves)"
