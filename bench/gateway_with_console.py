"""The benchmark's `bifrost-tui+console` target: the gateway AND the Textual console in one process.

    python bench/gateway_with_console.py --config gateway.yaml --port 9001

Wired like the real console (app/tui/runner.py: the gateway on its own thread and loop, GatewayThread;
the ConsoleApp on the main loop over a LocalSource whose calls run on the gateway's loop), but the console
runs HEADLESS at 120x40 and is switched to the Requests screen, so
its live table takes a row for every request: the worst case for the gateway sharing the loop.
SIGTERM/SIGINT stop the console, then the gateway (in-flight requests finish, the request log drains).
On exit it prints one line `console: ...` (rows the console collected / the table holds, screen) so
the harness can check that the console really was live.
"""
from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from pathlib import Path

from app.cli import run_console, setup_logging
from app.core.config import load_config
from app.proxy.heap import settle_after_startup
from app.proxy.server_thread import GatewayThread
from app.service.admin import AdminService
from app.service.console_source import LocalSource, OtherLoopSource
from app.service.interpreter_sharing import run_console_at_idle_priority
from app.tui.app import ConsoleApp

SIZE = (120, 40)
SCREEN = "requests"


async def serve_with_console(config_path: Path, port: int) -> str:
    config = load_config(config_path)
    setup_logging(config, to_stderr=True)  # like `serve`: the only difference between targets is the console
    gateway = GatewayThread(config, host="127.0.0.1", port=port)
    await gateway.start()
    print(f"console: thread priority {run_console_at_idle_priority()}", flush=True)  # as app/tui/runner.py
    server = gateway.server
    app = ConsoleApp(OtherLoopSource(LocalSource(server.gateway, AdminService(server.gateway), server.url),
                                     gateway.call), on_ready=settle_after_startup)  # as app/tui/runner.py
    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()
    summary: list[str] = []

    def on_term() -> None:
        if not stopping.is_set():
            summary.append(_summary(app))  # while the screen still exists
        stopping.set()
        app.exit()

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, on_term)
    settle_after_startup()  # as app/tui/runner.py does
    factory = loop.get_task_factory()  # Textual may swap it (3.12+); put it back like runner.run_app_safely
    console = asyncio.create_task(app.run_async(headless=True, size=SIZE))
    try:
        while not app.is_running or app.current_mode != "overview" or not app.screen.is_mounted:
            if console.done() or stopping.is_set():
                break
            await asyncio.sleep(0.02)
        if not console.done() and not stopping.is_set():
            app.call_later(app.switch_mode, SCREEN)  # runs inside the app's context, like a key press
            for _ in range(250):
                if app.current_mode == SCREEN or console.done() or stopping.is_set():
                    break
                await asyncio.sleep(0.02)
            print(f"console: running headless {SIZE[0]}x{SIZE[1]} on the {app.current_mode} screen; "
                  f"gateway on {server.url}", flush=True)
        await console  # returns when on_term() calls app.exit()
        if not stopping.is_set():
            print("console: the app exited on its own; keeping the gateway up until SIGTERM", flush=True)
            await stopping.wait()
    finally:
        loop.set_task_factory(factory)
        await gateway.stop()
    return summary[0] if summary else _summary(app)


def _summary(app: ConsoleApp) -> str:
    from textual.widgets import DataTable

    from app.tui.live_tail import LiveTail
    try:
        rows = sum(t.row_count for t in app.screen.query(DataTable)) + \
            sum(t.row_count for t in app.screen.query(LiveTail))
    except Exception as exc:  # noqa: BLE001 - no screen (the app never started or is gone)
        rows = f"unknown ({type(exc).__name__})"
    error = f", last poll error: {app.state.error}" if app.state.error else ""
    return (f"console: collected {len(app.state.requests)} request rows, table rows {rows}, "
            f"screen {app.current_mode}{error}")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--config", type=Path, required=True)
    p.add_argument("--port", type=int, required=True)
    args = p.parse_args()
    result: list[str] = []

    async def go() -> None:
        result.append(await serve_with_console(args.config, args.port))

    run_console(go())
    print(result[0] if result else "console: no summary", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
