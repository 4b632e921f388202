"""Running the gateway: start, listen, and stop gracefully (SIGTERM/SIGINT drain the request log)."""
from __future__ import annotations

import asyncio
import logging
import signal

from aiohttp import web

from pathlib import Path

from ..core.config import Config, load_config
from ..core.config_source import ConfigError
from .gateway import Gateway
from .heap import settle_after_startup
from .admin_routes import LIVE
from .routes import build_app

log = logging.getLogger("bifrost.server")


class GatewayServer:
    """The gateway plus its HTTP listener; `start()` then `stop()` (or `run_until_signal()`)."""

    def __init__(self, config: Config, host: str | None = None, port: int | None = None):
        self.config = config
        self.host = host or config.server.host
        self.port = config.server.port if port is None else port
        self.gateway = Gateway(config)
        self.runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def start(self) -> None:
        """Open the store, start the providers and listen. If any of it fails (the port is taken, the host
        does not resolve), what did start is stopped again before the error goes up: the store's writer
        thread left running would keep the process alive after `serve` said it cannot listen."""
        try:
            await self._start()
        except BaseException:
            await self.stop()
            raise

    async def _start(self) -> None:
        await self.gateway.start()
        app = build_app(self.gateway)
        # handler_cancellation: a client that hangs up cancels its request at once (the upstream call is
        # aborted, the rate-limit slot and budget reservation released, the row logged as a 499)
        self.runner = web.AppRunner(app, handle_signals=False, access_log=None, shutdown_timeout=0.1,
                                    handler_cancellation=True)
        await self.runner.setup()
        site = web.TCPSite(self.runner, self.host, self.port, reuse_address=True)
        await site.start()
        if self.port == 0:  # an ephemeral port: report the real one
            self.port = site._server.sockets[0].getsockname()[1]
        app[LIVE].listen = self.url

    async def stop(self) -> None:
        """Stop accepting, let in-flight requests finish (up to shutdown_timeout_s), cancel the rest
        (each still writes its log row), then drain the log."""
        if self.runner is not None:
            for site in list(self.runner.sites):
                await site.stop()
            deadline = asyncio.get_running_loop().time() + self.config.server.shutdown_timeout_s
            while self.gateway.metrics.in_flight and asyncio.get_running_loop().time() < deadline:
                await asyncio.sleep(0.05)
            self.gateway.cutting_off = True  # what is still in flight now is cancelled: its rows say so
            await self.runner.cleanup()
            self.runner = None
        await self.gateway.close()

    async def run_until_signal(self, on_ready=None) -> None:
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        loop.add_signal_handler(signal.SIGHUP, lambda: asyncio.ensure_future(self.reload_from_file()))
        await self.start()
        settle_after_startup()
        if on_ready:
            on_ready(self)
        try:
            await stop.wait()
            log.info("stopping: finishing in-flight requests and writing the request log")
        finally:
            await self.stop()
            for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
                loop.remove_signal_handler(sig)

    async def reload_from_file(self) -> None:
        """SIGHUP in headless mode: re-read the config file; a broken file changes nothing."""
        source = Path(self.config.source)
        if not source.is_file():
            log.warning("reload: the embedded default config has no file to re-read")
            return
        try:
            fresh = load_config(source)
        except ConfigError as exc:
            log.error("reload refused, the config has problems:\n%s", exc)
            return
        for note in await self.gateway.reload(fresh):
            log.warning("reload: %s", note)
        log.info("reload: config re-read from %s; spend counters kept", source)
