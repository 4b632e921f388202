"""Running the gateway: start, listen, and stop gracefully (SIGTERM/SIGINT drain the request log)."""
from __future__ import annotations

import asyncio
import logging
import signal

from aiohttp import web

from ..core.config import Config
from .gateway import Gateway
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
        await self.gateway.start()
        app = build_app(self.gateway)
        self.runner = web.AppRunner(app, handle_signals=False, access_log=None,
                                    shutdown_timeout=self.config.server.shutdown_timeout_s)
        await self.runner.setup()
        site = web.TCPSite(self.runner, self.host, self.port, reuse_address=True)
        await site.start()
        if self.port == 0:  # an ephemeral port: report the real one
            self.port = site._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Stop accepting, let in-flight requests finish (up to shutdown_timeout_s), then drain the log."""
        if self.runner is not None:
            await self.runner.cleanup()
            self.runner = None
        await self.gateway.close()

    async def run_until_signal(self, on_ready=None) -> None:
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await self.start()
        if on_ready:
            on_ready(self)
        try:
            await stop.wait()
            log.info("stopping: finishing in-flight requests and writing the request log")
        finally:
            await self.stop()
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(sig)
