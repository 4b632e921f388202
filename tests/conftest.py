"""Shared fixtures: real processes and real HTTP on 127.0.0.1 only."""
from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from app.core.config import config_from_text
from app.proxy.server import GatewayServer

ROOT = Path(__file__).resolve().parents[1]
UPSTREAM_KEY = "sk-ant-upstream-test-0123456789"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, proc: subprocess.Popen | None = None, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            out = proc.stdout.read() if proc.stdout else ""
            raise RuntimeError(f"process exited early ({proc.returncode}): {out}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listening on 127.0.0.1:{port} after {timeout}s")


def bifrost_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "app", *args]


def reader_output(command: str, cfg: Path, *args: str) -> str:
    """stdout of `bifrost-tui COMMAND --config CFG ARGS` (logs, report, ...) run from the config's folder with
    none of the test run's BIFROST_ variables; it must succeed."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BIFROST_")}
    env["PYTHONPATH"] = str(ROOT)
    result = subprocess.run(bifrost_cmd(command, "--config", str(cfg), *args), cwd=cfg.parent, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.fixture
def mock_upstream():
    """`bifrost-tui mock-upstream` as a real subprocess; yields its base URL. Requires UPSTREAM_KEY."""
    port = free_port()
    proc = subprocess.Popen(bifrost_cmd("mock-upstream", "--port", str(port), "--require-key", UPSTREAM_KEY),
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wait_for_port(port, proc)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def gateway_yaml(tmp_path: Path, upstream_url: str | None = None, extra: str = "", keys: str | None = None) -> str:
    providers = ""
    if upstream_url:
        providers += (f"  - {{name: anthropic, type: anthropic, base_url: {upstream_url}, "
                      "keys: [{name: main, secret: env:BIFROST_TEST_UPSTREAM_KEY}]}\n")
    providers += "  - {name: sim, type: mock}\n"
    keys = keys if keys is not None else (
        "  - {name: dev-a, team: backend, key: env:BIFROST_TEST_VK_A}\n"
        "  - {name: dev-b, key: env:BIFROST_TEST_VK_B}\n")
    return (f"storage: {{sqlite: {str(tmp_path / 'bifrost.db')!r}}}\n"
            "timezone: Asia/Kolkata\ncurrency: {code: INR, symbol: '₹', per_usd: 84.0}\n"
            "customers: [{name: acme}]\nteams: [{name: backend, customer: acme}]\n"
            f"providers:\n{providers}virtual_keys:\n{keys}{extra}")


VK_A = "vk-test-a-4f1b2c3d4e5f60718293a4b5c6d7e8f9"
VK_B = "vk-test-b-0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d"


@pytest.fixture
def test_env(monkeypatch):
    monkeypatch.setenv("BIFROST_TEST_UPSTREAM_KEY", UPSTREAM_KEY)
    monkeypatch.setenv("BIFROST_TEST_VK_A", VK_A)
    monkeypatch.setenv("BIFROST_TEST_VK_B", VK_B)


@contextlib.asynccontextmanager
async def running_gateway(tmp_path: Path, providers: str, keys: str):
    """A gateway on an ephemeral port from YAML `providers:` and `virtual_keys:` entries, its log in tmp_path."""
    text = (f"storage: {{sqlite: {str(tmp_path / 'bifrost.db')!r}}}\n"
            f"providers:\n{providers}virtual_keys:\n{keys}")
    server = GatewayServer(config_from_text(text, "test.yaml", base_dir=tmp_path), port=0)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
async def gateway(tmp_path, mock_upstream, test_env):
    """An in-process gateway on an ephemeral port, forwarding to the mock-upstream subprocess."""
    config = config_from_text(gateway_yaml(tmp_path, mock_upstream), "test.yaml", base_dir=tmp_path)
    server = GatewayServer(config, port=0)
    await server.start()
    server.upstream_url = mock_upstream
    try:
        yield server
    finally:
        await server.stop()


def claude_binary() -> str | None:
    explicit = os.environ.get("BIFROST_CLAUDE_BIN")
    candidates = [explicit] if explicit else []
    candidates.append(str(ROOT / ".e2e" / "node_modules" / ".bin" / "claude"))
    for c in candidates:
        if c and os.path.exists(c):
            return c
    return None


@pytest.fixture(scope="session")
def claude_bin() -> str:
    path = claude_binary()
    if path is None:
        if os.environ.get("BIFROST_REQUIRE_E2E"):
            pytest.fail("Claude Code is not installed (npm install --prefix .e2e @anthropic-ai/claude-code@2.1.197)")
        pytest.skip("Claude Code not installed: npm install --prefix .e2e @anthropic-ai/claude-code@2.1.197")
    return path
