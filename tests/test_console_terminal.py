"""The console needs a terminal (stdin for keys, stdout to draw on). Without one, `bifrost-tui` and `demo`
run headless and `attach` refuses with a clear message and exit 2: never escape codes into a pipe."""
from __future__ import annotations

import asyncio
import io
import os
import pty
import select
import signal
import subprocess

import pytest

from app.console_terminal import NoTerminal, missing_terminal, require_terminal
from app.core.config import config_from_text
from app.proxy.server import GatewayServer
from conftest import ROOT, bifrost_cmd, free_port, gateway_yaml

ADMIN_TOKEN = "admin-token-for-attach-0123456789"


class FakeStream(io.StringIO):
    def __init__(self, tty: bool):
        super().__init__()
        self.tty = tty

    def isatty(self) -> bool:
        if self.closed:
            raise ValueError("I/O operation on closed file.")  # as a real closed stream
        return self.tty


def test_missing_terminal_names_the_streams_that_are_not_terminals():
    assert missing_terminal(FakeStream(True), FakeStream(True)) is None
    assert missing_terminal(FakeStream(False), FakeStream(True)) == "stdin is not a terminal"
    assert missing_terminal(FakeStream(True), FakeStream(False)) == "stdout is not a terminal"
    assert missing_terminal(FakeStream(False), FakeStream(False)) == "stdin and stdout are not a terminal"
    closed = FakeStream(True)
    closed.close()
    assert missing_terminal(closed, FakeStream(True)) == "stdin is not a terminal"


def test_require_terminal_raises_without_one(monkeypatch):
    monkeypatch.setattr("sys.stdin", FakeStream(False))
    monkeypatch.setattr("sys.stdout", FakeStream(True))
    with pytest.raises(NoTerminal, match=r"no terminal for the console \(stdin is not a terminal\)"):
        require_terminal()


def user_env(tmp_path, **extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BIFROST_", "ANTHROPIC_"))}
    return env | {"PYTHONPATH": str(ROOT), "XDG_DATA_HOME": str(tmp_path / "data"), "TERM": "xterm-256color",
                  **extra}


class PtyOut:
    """A pseudo-terminal for a child's stdout (its stdin stays /dev/null): what it wrote, read as it comes."""

    def __init__(self):
        self.master, self.slave = pty.openpty()
        self.text = ""

    def read_until(self, proc: subprocess.Popen | asyncio.subprocess.Process, done, limit_s: float = 60) -> str:
        """Read until `done(text)` or the child exits; a stuck child is a failure after limit_s."""
        for _ in range(int(limit_s * 10)):
            ready, _, _ = select.select([self.master], [], [], 0.1)
            if ready:
                try:
                    self.text += os.read(self.master, 65536).decode("utf-8", "replace")
                except OSError:  # the child closed its end
                    return self.text
            elif done(self.text) or proc.returncode is not None or (hasattr(proc, "poll") and proc.poll() is not None):
                return self.text
        pytest.fail(f"no end after {limit_s}s; output so far:\n{self.text!r}")

    def close(self) -> None:
        for fd in (self.master, self.slave):
            try:
                os.close(fd)
            except OSError:
                pass


@pytest.fixture
async def admin_gateway(tmp_path, test_env, monkeypatch):
    monkeypatch.setenv("BIFROST_TEST_ADMIN", ADMIN_TOKEN)
    config = config_from_text(gateway_yaml(tmp_path, extra="server: {admin_token: env:BIFROST_TEST_ADMIN}\n"),
                              "test.yaml", base_dir=tmp_path)
    server = GatewayServer(config, port=0)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


async def attach(url: str, env: dict, stdout) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(*bifrost_cmd("attach", "--url", url), cwd=ROOT, env=env,
                                                stdin=subprocess.DEVNULL, stdout=stdout, stderr=subprocess.PIPE)
    try:
        out, err = await asyncio.wait_for(proc.communicate(), 60)
    except asyncio.TimeoutError:
        proc.kill()
        out, err = await proc.communicate()
        pytest.fail(f"attach ran a console without a terminal; it wrote {out[:200]!r}")
    return proc.returncode, (out or b"").decode("utf-8", "replace"), err.decode()


async def test_attach_into_a_pipe_refuses(admin_gateway, tmp_path):
    """`bifrost-tui attach ... </dev/null | cat`: a message, exit 2, nothing on stdout."""
    env = user_env(tmp_path, BIFROST_ADMIN_TOKEN=ADMIN_TOKEN)
    code, out, err = await attach(admin_gateway.url, env, asyncio.subprocess.PIPE)
    assert code == 2, err
    assert "no terminal for the console (stdin and stdout are not a terminal)" in err
    assert out == "" and "Traceback" not in err


async def test_attach_with_stdin_not_a_terminal_refuses(admin_gateway, tmp_path):
    """Drawing on a terminal whose keys go nowhere: a console that could not even be quit."""
    term = PtyOut()
    try:
        code, _, err = await attach(admin_gateway.url, user_env(tmp_path, BIFROST_ADMIN_TOKEN=ADMIN_TOKEN), term.slave)
    finally:
        term.close()
    assert code == 2 and "(stdin is not a terminal)" in err, err


async def test_attach_without_a_terminal_still_says_when_the_token_is_wrong(admin_gateway, tmp_path):
    code, out, err = await attach(admin_gateway.url, user_env(tmp_path, BIFROST_ADMIN_TOKEN="not-the-token"),
                                  asyncio.subprocess.PIPE)
    assert code == 1 and "admin token" in err.lower() and out == "", err


def test_console_with_stdin_not_a_terminal_runs_headless(tmp_path):
    """Plain `bifrost-tui` falls back to the headless gateway on the same check as `attach`."""
    cfg = tmp_path / "bifrost.yaml"
    cfg.write_text(gateway_yaml(tmp_path), encoding="utf-8")
    term = PtyOut()
    proc = subprocess.Popen(bifrost_cmd("--config", str(cfg), "--port", str(free_port())), cwd=tmp_path,
                            env=user_env(tmp_path), stdin=subprocess.DEVNULL, stdout=term.slave, stderr=term.slave)
    try:
        text = term.read_until(proc, lambda t: "listening" in t or "starting the console" in t)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
        term.close()
    assert "no terminal for the console (stdin is not a terminal); running headless" in text, text
    assert "bifrost-tui gateway listening on" in text
    assert "\x1b[" not in text


def test_demo_with_stdin_not_a_terminal_runs_headless(tmp_path):
    term = PtyOut()
    proc = subprocess.Popen(bifrost_cmd("demo", "--duration", "0.5"), cwd=tmp_path, env=user_env(tmp_path),
                            stdin=subprocess.DEVNULL, stdout=term.slave, stderr=term.slave)
    try:
        text = term.read_until(proc, lambda t: "demo data" in t)
        code = proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        term.close()
    assert code == 0, text
    assert "no terminal for the console (stdin is not a terminal); running headless" in text, text
    assert "requests " in text and "failovers" in text  # the headless summary
    assert "\x1b[" not in text
