"""Running the console: beside an in-process gateway, or attached to one in another process.

In one process the gateway runs on its own thread and asyncio loop (app/proxy/server_thread.py) and the
Textual app on the main thread's loop, so a repaint never holds a request up for longer than a thread
switch; the console reads and changes the gateway only through its source, whose calls run on the
gateway's loop. SIGTERM stops both gracefully (no log row lost). SIGHUP — the SSH session dropped —
detaches the console and the gateway keeps serving headless until SIGTERM. Nothing is printed to the
terminal while the console runs: logs go to a file.
"""
from __future__ import annotations

import asyncio
import logging
import signal

from ..console_terminal import require_terminal
from ..core.config import Config
from ..proxy.heap import settle_after_startup
from ..proxy.server_thread import GatewayThread
from ..service.admin import AdminService
from ..service.console_source import LocalSource, OtherLoopSource, RemoteSource
from ..service.interpreter_sharing import run_console_at_idle_priority
from .app import ConsoleApp
from .terminal import detachable_driver

log = logging.getLogger("bifrost.console")


async def run_app_safely(app: ConsoleApp) -> None:
    """Run the app and put back what Textual changes: the loop's task factory (3.12+) and the
    Ctrl-Z/continue signal handlers (a SIGCONT must not revive a detached console)."""
    loop = asyncio.get_running_loop()
    factory = loop.get_task_factory()
    try:
        await app.run_async()
    except OSError as exc:  # the terminal vanished under us (EIO after a hang-up)
        log.warning("console stopped: terminal error %s", exc)
    finally:
        loop.set_task_factory(factory)
        for sig in (signal.SIGTSTP, signal.SIGCONT):
            signal.signal(sig, signal.SIG_DFL)


async def run_with_console(config: Config, *, host=None, port=None, readonly=False, background=None,
                           after_start=None) -> None:
    """The gateway (own thread) and the console (this loop). `background(server, stop_event)` runs on the
    gateway's loop while it serves (the demo's traffic); `after_start(server)` is called once it listens."""
    gateway = GatewayThread(config, host=host, port=port)
    await gateway.start(background)
    log.info("console thread priority: %s", run_console_at_idle_priority())
    server = gateway.server
    if after_start:
        after_start(server)
    source = OtherLoopSource(LocalSource(server.gateway, AdminService(server.gateway), server.url), gateway.call)
    loop = asyncio.get_running_loop()
    app = ConsoleApp(source, readonly=readonly, on_ready=settle_after_startup,  # again: the console's own objects
                     driver_class=detachable_driver(lambda: loop.call_soon_threadsafe(terminal_lost)))
    stop = asyncio.Event()
    detached = False

    def on_term() -> None:
        stop.set()
        app.exit()

    def on_hangup() -> None:
        nonlocal detached
        detached = True
        log.warning("terminal hung up (SIGHUP): console detached; the gateway keeps serving on %s "
                    "(`bifrost-tui attach` reopens a console)", server.url)
        app.exit()

    def terminal_lost() -> None:
        nonlocal detached
        if not detached:
            detached = True
            log.warning("the terminal went away: console detached; the gateway keeps serving on %s", server.url)
            app.exit()

    loop.add_signal_handler(signal.SIGTERM, on_term)
    loop.add_signal_handler(signal.SIGINT, on_term)
    loop.add_signal_handler(signal.SIGHUP, on_hangup)
    settle_after_startup()
    try:
        await run_app_safely(app)
        if detached and not stop.is_set():
            await stop.wait()
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            loop.remove_signal_handler(sig)
        log.info("stopping: finishing in-flight requests and writing the request log")
        await gateway.stop()


async def attach(url: str, admin_token: str, readonly: bool = False) -> None:
    source = RemoteSource(url, admin_token)
    try:
        await source.overview()  # fail fast with a clear message (a wrong token is told even without a terminal)
        require_terminal()  # NoTerminal rather than escape codes into a pipe
    except Exception:
        await source.close()
        raise
    loop = asyncio.get_running_loop()
    app = ConsoleApp(source, readonly=readonly, driver_class=detachable_driver(lambda: loop.call_soon_threadsafe(
        lambda: app.exit())))
    try:
        await run_app_safely(app)
    finally:
        await source.close()
