"""`bifrost-tui` command line: serve, mock-upstream, logs (and more as features land)."""
from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from .console_terminal import NoTerminal, missing_terminal
from .core.config import Config, load_config
from .core.config_source import ConfigError, find_config, user_data_dir
from .core.first_run import default_config


def run(coro) -> None:
    """The standard asyncio loop; BIFROST_EVENT_LOOP=uvloop opts into uvloop when it is installed
    (not a dependency: it did not measurably pay on this project's benchmark, see bench/README.md)."""
    import os

    if os.environ.get("BIFROST_EVENT_LOOP") == "uvloop":
        try:
            import uvloop
        except ImportError:
            pass
        else:
            return uvloop.run(coro)
    return asyncio.run(coro)


def run_console(coro) -> None:
    """Run a console (and the in-process gateway's thread beside it) on the console's loop, which switches
    the interpreter to the gateway thread sooner while the console works (app/service/interpreter_sharing.py)."""
    from .service.interpreter_sharing import console_event_loop

    with asyncio.Runner(loop_factory=console_event_loop) as runner:
        return runner.run(coro)


def load(args: argparse.Namespace) -> tuple[Config, str | None]:
    """The config from --config / $BIFROST_CONFIG / ./bifrost.yaml / the user dir, else the embedded default.
    Returns (config, demo key or None). Exits 2 with every error listed when the file is invalid."""
    path = find_config(getattr(args, "config", None))
    try:
        if path is None:
            return default_config()
        if not path.is_file():
            raise ConfigError(str(path), [])
        return load_config(path), None
    except ConfigError as exc:
        if not exc.issues:
            print(f"bifrost-tui: config file {exc.source} does not exist", file=sys.stderr)
        else:
            print(f"bifrost-tui: the config has {len(exc.issues)} problem(s); not starting:\n{exc}", file=sys.stderr)
        sys.exit(2)


class ZonedFormatter(logging.Formatter):
    """Log times in the team's timezone with the offset (`2026-11-28T05:14:24.120+05:30`): the same clock
    as the console and the reports, and unambiguous whatever the server's own TZ is."""

    def __init__(self, fmt: str, tz) -> None:
        super().__init__(fmt)
        self.tz = tz

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802 (logging's name)
        return datetime.fromtimestamp(record.created, self.tz).isoformat(timespec="milliseconds")


def setup_logging(config: Config, *, to_stderr: bool) -> Path | None:
    """stderr for headless runs; a file always when the console owns the terminal."""
    handlers: list[logging.Handler] = []
    path = Path(config.logging.file) if config.logging.file else None
    if path is None and not to_stderr:
        path = user_data_dir() / "bifrost-tui.log"
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(path))
    if to_stderr:
        handlers.append(logging.StreamHandler(sys.stderr))
    formatter = ZonedFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s", ZoneInfo(config.timezone))
    for handler in handlers:
        handler.setFormatter(formatter)
    logging.basicConfig(level=config.logging.level, handlers=handlers or [logging.NullHandler()], force=True)
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    return path


def port_number(text: str) -> int:
    """A TCP port for --port: 0 (any free port) to 65535, else argparse's own error and exit 2."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"a port is 0 to 65535; got {port}")
    return port


def row_count(text: str) -> int:
    """A number of rows for --limit: 1 or more, else argparse's own error and exit 2."""
    try:
        count = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of rows: {text!r}") from None
    if count < 1:
        raise argparse.ArgumentTypeError(f"a number of rows is 1 or more; got {count}")
    return count


def cmd_serve(args: argparse.Namespace) -> int:
    from .proxy.server import GatewayServer

    config, demo = load(args)
    setup_logging(config, to_stderr=True)
    server = GatewayServer(config, host=args.host, port=args.port)

    def ready(s: GatewayServer) -> None:
        print(f"bifrost-tui gateway listening on {s.url}  (config: {config.source})", flush=True)
        print(f"  request log: {config.sqlite_path}", flush=True)
        for p in s.gateway.providers:
            label = " (SIMULATED)" if p.simulated else ""
            print(f"  provider {p.name}: {p.spec.type}{label}{'' if p.available else ' — unavailable'}", flush=True)
        if demo:
            print("  demo virtual key (embedded default config):", demo, flush=True)
            print(f"  export ANTHROPIC_BASE_URL={s.url}/anthropic ANTHROPIC_API_KEY={demo}", flush=True)

    try:
        run(server.run_until_signal(ready))
    except OSError as exc:
        print(f"bifrost-tui: cannot listen on {server.host}:{server.port}: {exc.strerror}", file=sys.stderr)
        return 1
    return 0


def cmd_console(args: argparse.Namespace) -> int:
    """The gateway and the operator console side by side in one process."""
    from .tui.runner import run_with_console

    config, demo = load(args)
    no_terminal = missing_terminal()
    if no_terminal:
        print(f"bifrost-tui: no terminal for the console ({no_terminal}); running headless (use `bifrost-tui serve`)",
              file=sys.stderr)
        return cmd_serve(args)
    log_file = setup_logging(config, to_stderr=False)
    if demo:
        print(f"demo virtual key: {demo}  (also in {user_data_dir() / 'demo-key'})")
    print(f"starting the console; logs go to {log_file}", flush=True)
    try:
        run_console(run_with_console(config, host=args.host, port=args.port, readonly=args.readonly))
    except OSError as exc:
        print(f"bifrost-tui: cannot listen: {exc.strerror}", file=sys.stderr)
        return 1
    return 0


def cmd_attach(args: argparse.Namespace) -> int:
    """A console on a gateway running in another process (headless `serve`, or one whose terminal went away)."""
    import os

    from .service.console_source import SourceError
    from .tui.runner import attach

    token = os.environ.get(args.token_env, "")
    url = args.url
    if not token or not url:
        config, _ = load(args)
        url = url or f"http://{config.server.host}:{config.server.port}"
        if not token and config.server.admin_token:
            try:
                token = config.server.admin_token.resolve()
            except Exception as exc:
                print(f"bifrost-tui attach: {exc}", file=sys.stderr)
                return 2
    if not token:
        print(f"bifrost-tui attach: set ${args.token_env} (or server.admin_token in the config) to the "
              "gateway's admin token", file=sys.stderr)
        return 2
    log_dir = user_data_dir()
    log_dir.mkdir(parents=True, exist_ok=True)
    logging.basicConfig(handlers=[logging.FileHandler(log_dir / "bifrost-tui-attach.log")], level=logging.INFO,
                        force=True)
    try:
        asyncio.run(attach(url, token, readonly=args.readonly))
    except SourceError as exc:
        print(f"bifrost-tui attach: {exc}", file=sys.stderr)
        return 1
    except NoTerminal as exc:  # nothing to fall back to: attach is only a console
        print(f"bifrost-tui attach: {exc}; run it in an interactive terminal (over SSH: ssh -t)", file=sys.stderr)
        return 2
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    """Gateway + console + simulated providers + synthetic developers: every screen alive in seconds."""
    from .demo import demo_config, demo_data_dir, run_traffic

    data_dir = demo_data_dir()
    config, keys = demo_config(data_dir, port=args.port or 0)
    stop = asyncio.Event()
    tasks: list[asyncio.Task] = []

    async def start_traffic(server) -> None:
        tasks.append(asyncio.create_task(run_traffic(server, keys, stop)))

    async def headless() -> None:
        from .proxy.server import GatewayServer

        server = GatewayServer(config)
        await server.start()
        print(f"demo gateway (SIMULATED providers) on {server.url}; traffic for {args.duration:g}s", flush=True)
        await start_traffic(server)
        await asyncio.sleep(args.duration)
        stop.set()
        await asyncio.gather(*tasks)
        live = server.gateway.live.summary(server.gateway.metrics.in_flight)
        failovers = sum(1 for e in server.gateway.events.events if e.kind == "failover")
        refused = sum(1 for e in server.gateway.events.recent_requests if e.payload.status == 402)
        print(f"requests {live['requests_total']}  errors {live['errors_total']}  failovers {failovers}  "
              f"budget refusals (402) {refused}  spend {server.gateway.live.spend_month} micro-USD", flush=True)
        await server.stop()

    async def with_console() -> None:
        from .tui.runner import run_with_console
        await run_with_console(config, readonly=args.readonly,
                               background=lambda server, stop_traffic: run_traffic(server, keys, stop_traffic))

    no_terminal = None if args.headless else missing_terminal()
    if no_terminal:
        print(f"bifrost-tui demo: no terminal for the console ({no_terminal}); running headless "
              f"(--headless) for {args.duration:g}s", file=sys.stderr)
    if args.headless or no_terminal:
        setup_logging(config, to_stderr=True)
        asyncio.run(headless())
    else:
        setup_logging(config, to_stderr=False)
        run_console(with_console())
    print(f"demo data (SQLite request log): {data_dir}")
    return 0


def cmd_mock_upstream(args: argparse.Namespace) -> int:
    from .mock.engine import MockSettings
    from .mock.server import run_mock_upstream

    settings = MockSettings(latency_ms=args.latency_ms, tokens_per_second=args.tokens_per_second,
                            reply_text=args.reply, error_rate_429=args.error_rate_429,
                            error_rate_500=args.error_rate_500, error_rate_529=args.error_rate_529,
                            retry_after=args.retry_after, seed=args.seed)
    try:
        run(run_mock_upstream(args.host, args.port, settings, args.require_key))
    except KeyboardInterrupt:
        pass
    return 0


def cmd_logs(args: argparse.Namespace) -> int:
    from .reports.log_export import export_logs

    config, _ = load(args)
    return export_logs(config, args)


def cmd_status(args: argparse.Namespace) -> int:
    from .reports.status_view import show_status

    return show_status(args)


def cmd_report(args: argparse.Namespace) -> int:
    from .reports.spend_report import spend_report

    config, _ = load(args)
    return spend_report(config, args)


def cmd_verify(args: argparse.Namespace) -> int:
    from .reports.verify import verify_counters

    config, _ = load(args)
    return verify_counters(config, args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bifrost-tui", description="LLM gateway with a terminal operator console.")
    sub = parser.add_subparsers(dest="command")

    def with_config(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument("--config", metavar="FILE", help="config file (else $BIFROST_CONFIG, ./bifrost.yaml, "
                                                        "~/.config/bifrost-tui/bifrost.yaml, embedded default)")
        return p

    console = with_config(sub.add_parser("console", help="the gateway with the operator console (the default)"))
    console.add_argument("--host")
    console.add_argument("--port", type=port_number)
    console.add_argument("--readonly", action="store_true", help="hide every change (view only)")
    console.set_defaults(func=cmd_console)

    attach = with_config(sub.add_parser("attach", help="open the console on a gateway running in another process"))
    attach.add_argument("--url", help="the gateway's base URL (default: server.host/port of the config)")
    attach.add_argument("--token-env", default="BIFROST_ADMIN_TOKEN", help="env var holding the admin token")
    attach.add_argument("--readonly", action="store_true")
    attach.set_defaults(func=cmd_attach)

    demo = sub.add_parser("demo", help="gateway + console + simulated providers + synthetic traffic")
    demo.add_argument("--port", type=port_number)
    demo.add_argument("--readonly", action="store_true")
    demo.add_argument("--headless", action="store_true", help="no console: run the traffic, print a summary")
    demo.add_argument("--duration", type=float, default=15.0, help="seconds of traffic with --headless")
    demo.set_defaults(func=cmd_demo)

    serve = with_config(sub.add_parser("serve", help="run the gateway headless (systemd-friendly)"))
    serve.add_argument("--host")
    serve.add_argument("--port", type=port_number)
    serve.set_defaults(func=cmd_serve)

    mock = sub.add_parser("mock-upstream", help="run the simulated Anthropic API as its own HTTP server")
    mock.add_argument("--host", default="127.0.0.1")
    mock.add_argument("--port", type=port_number, default=8765)
    mock.add_argument("--latency-ms", type=float, default=0.0)
    mock.add_argument("--tokens-per-second", type=float, default=0.0)
    mock.add_argument("--reply")
    mock.add_argument("--error-rate-429", type=float, default=0.0)
    mock.add_argument("--error-rate-500", type=float, default=0.0)
    mock.add_argument("--error-rate-529", type=float, default=0.0)
    mock.add_argument("--retry-after", type=int, default=1)
    mock.add_argument("--seed", type=int)
    mock.add_argument("--require-key", help="accept only this upstream API key (tests)")
    mock.set_defaults(func=cmd_mock_upstream)

    logs = with_config(sub.add_parser("logs", help="read the request log (the finance export)"))
    logs.add_argument("--key")
    logs.add_argument("--model", help="model name or glob, matched against the requested or the served model "
                                       "(a routed request has both; the table shows them as requested → served)")
    logs.add_argument("--since", help="ISO date/time or relative: 2026-11-01, 24h, 7d")
    logs.add_argument("--until", help="ISO date/time or relative")
    logs.add_argument("--format", choices=("table", "csv", "jsonl"), default="table")
    logs.add_argument("--limit", type=row_count, metavar="N",
                      help="only the newest N requests of the range (like tail), still printed oldest first")
    logs.set_defaults(func=cmd_logs)

    status = sub.add_parser("status", help="your own key (ANTHROPIC_BASE_URL, ANTHROPIC_API_KEY): budgets, limits")
    status.add_argument("--json", action="store_true", help="print the gateway's /api/me JSON unchanged")
    status.set_defaults(func=cmd_status)

    report = with_config(sub.add_parser("report", help="spend per group and period, from the request log"))
    report.add_argument("--by", choices=("team", "key", "customer", "model", "provider"), required=True)
    report.add_argument("--period", choices=("day", "week", "month"), required=True)
    report.add_argument("--savings", action="store_true",
                        help="add what the same usage would have cost on the requested models (routing savings)")
    report.add_argument("--since", help="ISO date/time or relative: 2026-11-01, 24h, 7d")
    report.add_argument("--until", help="ISO date/time or relative")
    report.add_argument("--format", choices=("table", "csv", "md"), default="table")
    report.set_defaults(func=cmd_report)

    verify = with_config(sub.add_parser("verify", help="compare budget counters with the request log"))
    verify.add_argument("--repair", action="store_true", help="set drifting counters to the log sums")
    verify.set_defaults(func=cmd_verify)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or (argv[0].startswith("-") and argv[0] not in ("-h", "--help")):
        argv = ["console", *argv]  # plain `bifrost-tui` (with options such as --config) opens the console
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except BrokenPipeError:  # `bifrost-tui logs | head`: the reader has what it wanted; no traceback
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # Python's flush at exit must not fail
        return 0


if __name__ == "__main__":
    sys.exit(main())
