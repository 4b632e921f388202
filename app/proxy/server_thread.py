"""GatewayThread: the gateway on its own thread and asyncio loop, beside a console on the main thread.

Why: Textual paints on its loop, and a repaint of a busy screen is several milliseconds of pure Python.
When the gateway shared that loop, every request that arrived during a repaint waited for all of it
(bench/, "console running": p99 +30–200 ms at 50–500 requests/s). On its own loop the gateway is only
held up until the interpreter switches threads (`SWITCH_INTERVAL_S`), so a repaint costs a request
about a millisecond at most, and only the CPU the console really uses.

Everything that touches gateway state runs on the gateway's loop: `call()` schedules a coroutine there
from any other loop and awaits its result (the console's source goes through it), and `start()` can
launch a background task there (the demo's synthetic traffic). `stop()` is the same graceful stop as
`serve`: in-flight requests finish, the request log drains.
"""
from __future__ import annotations

import asyncio
import os
import sys
import threading
from typing import Awaitable, Callable

from ..core.config import Config
from ..service.interpreter_sharing import sharing_ended, sharing_started
from .server import GatewayServer

# How long one thread may hold the interpreter while another waits (CPython's default: 5 ms). 0.2 ms measured
# best with the console at idle priority (bench/ A/B at 500 req/s: p99 within 0.1 ms of headless's; 0.1 ms
# and 0.5 ms were 0.1-0.2 ms worse). See app/service/interpreter_sharing.py.
SWITCH_INTERVAL_S = 0.0002
Background = Callable[[GatewayServer, asyncio.Event], Awaitable[None]]


def new_event_loop() -> asyncio.AbstractEventLoop:
    """A loop for the gateway thread; BIFROST_EVENT_LOOP=uvloop as for the main loop (app/cli.py)."""
    if os.environ.get("BIFROST_EVENT_LOOP") == "uvloop":
        try:
            import uvloop
        except ImportError:
            pass
        else:
            return uvloop.new_event_loop()
    return asyncio.new_event_loop()


class GatewayThread:
    def __init__(self, config: Config, *, host: str | None = None, port: int | None = None):
        self.server = GatewayServer(config, host=host, port=port)
        self.loop = new_event_loop()
        self._thread = threading.Thread(target=self._run, name="bifrost-gateway", daemon=True)
        self._background: asyncio.Task | None = None
        self._background_stop: asyncio.Event | None = None
        self._previous_interval: float | None = None

    @property
    def url(self) -> str:
        return self.server.url

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_forever()
            self.loop.run_until_complete(self.loop.shutdown_asyncgens())
        finally:
            self.loop.close()

    def call(self, coro) -> Awaitable:
        """Run `coro` on the gateway's loop; await the result from the calling loop."""
        return asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, self.loop))

    async def start(self, background: Background | None = None) -> None:
        """Start the thread and the server (listen errors are raised here); then `background(server,
        stop_event)` as a task on the gateway's loop, if given."""
        self._previous_interval = sys.getswitchinterval()
        interval = min(SWITCH_INTERVAL_S, self._previous_interval)
        sys.setswitchinterval(interval)
        sharing_started(interval)  # a console's loop goes lower while it works (app/service/interpreter_sharing.py)
        self._thread.start()
        try:
            await self.call(self.server.start())
            if background is not None:
                await self.call(self._start_background(background))
        except BaseException:
            await self._end_thread()
            raise

    async def _start_background(self, background: Background) -> None:
        self._background_stop = asyncio.Event()
        self._background = asyncio.create_task(background(self.server, self._background_stop))

    async def _stop_in_loop(self) -> None:
        if self._background is not None:
            self._background_stop.set()
            try:
                await asyncio.wait_for(self._background, timeout=5)
            except (asyncio.TimeoutError, asyncio.CancelledError, Exception):  # noqa: BLE001 - stop regardless
                pass
        await self.server.stop()

    async def stop(self) -> None:
        """Graceful: stop accepting, finish in-flight requests, drain the log; then end the thread."""
        try:
            if self._thread.is_alive():
                await self.call(self._stop_in_loop())
        finally:
            await self._end_thread()

    async def _end_thread(self) -> None:
        if self._thread.is_alive():
            self.loop.call_soon_threadsafe(self.loop.stop)
            await asyncio.to_thread(self._thread.join, 30)
        if self._previous_interval is not None:
            sharing_ended()
            sys.setswitchinterval(self._previous_interval)
            self._previous_interval = None
