"""End to end: the real Claude Code CLI (from npm) -> the gateway -> the simulated Anthropic upstream.

Claude Code runs with a clean environment and an isolated HOME, pointed at the in-process gateway through
ANTHROPIC_BASE_URL. The gateway runs in this test's event loop, so Claude Code must be started with
asyncio.create_subprocess_exec: a blocking subprocess call would stop the gateway from answering.

Wire facts relied on here are in /work/shared/reference/claude-code-wire.md.
"""
from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import time

import aiohttp
import pytest

from app.mock.engine import DEFAULT_REPLY
from tests.conftest import UPSTREAM_KEY, VK_A, VK_B

pytestmark = pytest.mark.e2e

CLAUDE_TIMEOUT_S = 90
WRONG_KEY_LIMIT_S = 20
CLEAN_PATH = os.environ.get("PATH") or "/usr/local/bin:/usr/bin:/bin"


async def run_claude(claude_bin, gateway, tmp_path, *args, timeout=CLAUDE_TIMEOUT_S, **env):
    """Run `claude *args` against the gateway; returns (returncode, stdout, stderr, elapsed seconds).

    `env` adds variables (the key) to a clean environment. The process is killed after `timeout` seconds.
    """
    home, work = tmp_path / "home", tmp_path / "work"
    home.mkdir(exist_ok=True)
    work.mkdir(exist_ok=True)
    full_env = {
        "PATH": CLEAN_PATH,
        "HOME": str(home),
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        "ANTHROPIC_BASE_URL": f"{gateway.url}/anthropic",
        **env,
    }
    started = time.monotonic()
    proc = await asyncio.create_subprocess_exec(
        claude_bin, *args, cwd=work, env=full_env, stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, start_new_session=True)
    try:
        stdout, stderr = await asyncio.wait_for(proc.communicate(), timeout)
    except asyncio.TimeoutError:
        os.killpg(proc.pid, signal.SIGKILL)  # its own session: also ends tool subprocesses it started
        await proc.wait()
        pytest.fail(f"claude {' '.join(args)} did not finish within {timeout}s")
    elapsed = time.monotonic() - started
    print(f"claude {' '.join(args)!r}: rc={proc.returncode} in {elapsed:.2f}s")
    return proc.returncode, stdout.decode("utf-8", "replace"), stderr.decode("utf-8", "replace"), elapsed


def result_json(stdout: str) -> dict:
    """The `--output-format json` result object (the last JSON line printed)."""
    lines = [line for line in stdout.splitlines() if line.strip().startswith("{")]
    assert lines, f"no JSON on stdout: {stdout!r}"
    return json.loads(lines[-1])


async def log_rows(gateway) -> list[dict]:
    await gateway.gateway.writer.flush()
    with sqlite3.connect(gateway.config.sqlite_path) as db:
        db.row_factory = sqlite3.Row
        return [dict(r) for r in db.execute("SELECT * FROM request_log ORDER BY ts")]


async def upstream_requests(gateway) -> list[dict]:
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{gateway.upstream_url}/_mock/requests") as resp:
            assert resp.status == 200
            return await resp.json()


def header(recorded: dict, name: str) -> str | None:
    """A recorded request's header, looked up case-insensitively."""
    return next((v for k, v in recorded["headers"].items() if k.lower() == name), None)


def assert_forwarded_with_upstream_key(recorded: list[dict], virtual_key: str) -> None:
    for r in recorded:
        assert header(r, "x-api-key") == UPSTREAM_KEY
        assert virtual_key not in json.dumps(r["headers"]), "the virtual key leaked to the upstream"
        assert header(r, "authorization") is None


def total_input(row: dict) -> int:
    return row["input_tokens"] + row["cache_read_tokens"] + row["cache_write_5m_tokens"] + row["cache_write_1h_tokens"]


def assert_success_row(row: dict, key_name: str, *, uncached_input: bool = True) -> None:
    """A logged 200 stream. `uncached_input`: expect input_tokens > 0 (a later turn whose whole prompt sits
    before Claude Code's last cache_control breakpoint is all cache reads and writes)."""
    assert row["key_name"] == key_name
    assert row["path"] == "/v1/messages"
    assert row["status"] == 200 and row["error_type"] is None
    assert row["stream"] == 1
    assert row["provider"] == "anthropic"
    assert (row["input_tokens"] if uncached_input else total_input(row)) > 0
    assert row["output_tokens"] > 0
    assert row["user_agent"].startswith("claude-cli/")
    assert row["session_id"]


async def test_say_hi_with_api_key(claude_bin, gateway, tmp_path):
    rc, out, err, _ = await run_claude(claude_bin, gateway, tmp_path, "-p", "say hi", "--output-format", "json",
                                       ANTHROPIC_API_KEY=VK_A)
    assert rc == 0, f"stdout={out!r} stderr={err!r}"
    result = result_json(out)
    assert result["is_error"] is False
    assert DEFAULT_REPLY in result["result"]

    rows = await log_rows(gateway)
    assert len(rows) == 1, rows
    assert_success_row(rows[0], "dev-a")

    recorded = await upstream_requests(gateway)
    messages = [r for r in recorded if r["path_qs"].split("?")[0] == "/v1/messages"]
    assert len(messages) == 1, [r["path_qs"] for r in recorded]
    assert all(r["path_qs"] == "/v1/messages?beta=true" for r in messages)
    assert_forwarded_with_upstream_key(recorded, VK_A)
    assert "claude-code-20250219" in (header(messages[0], "anthropic-beta") or "")

    # The streaming relay keeps the `event:` lines: without them Claude Code silently re-sends the turn
    # non-streaming (billed twice). So every request that reached the upstream must be a streaming one.
    assert all(r["json"].get("stream") is True for r in messages)


async def test_say_hi_with_bearer_token(claude_bin, gateway, tmp_path):
    rc, out, err, _ = await run_claude(claude_bin, gateway, tmp_path, "-p", "say hi", "--output-format", "json",
                                       ANTHROPIC_AUTH_TOKEN=VK_B)
    assert rc == 0, f"stdout={out!r} stderr={err!r}"
    result = result_json(out)
    assert result["is_error"] is False
    assert DEFAULT_REPLY in result["result"]

    rows = await log_rows(gateway)
    assert len(rows) == 1, rows
    assert_success_row(rows[0], "dev-b")
    assert_forwarded_with_upstream_key(await upstream_requests(gateway), VK_B)


async def test_wrong_key_fails_fast_without_retries(claude_bin, gateway, tmp_path):
    rc, out, err, elapsed = await run_claude(claude_bin, gateway, tmp_path, "-p", "say hi",
                                             "--output-format", "json", ANTHROPIC_API_KEY="vk-wrong")
    assert rc != 0
    # 401 + x-should-retry: false -> one attempt. Without that header Claude Code retries for ~3 minutes.
    assert elapsed < WRONG_KEY_LIMIT_S, f"claude took {elapsed:.1f}s to give up on a wrong key"
    assert result_json(out)["is_error"] is True

    rows = await log_rows(gateway)
    assert [r["path"] for r in rows] == ["/v1/messages"], rows
    assert sum(r["status"] == 401 for r in rows) == 1
    assert rows[0]["key_name"] is None
    assert await upstream_requests(gateway) == []  # refused by the gateway, never forwarded


async def test_tool_round_trip(claude_bin, gateway, tmp_path):
    rc, out, err, _ = await run_claude(claude_bin, gateway, tmp_path, "-p", "run echo hi",
                                       "--allowedTools", "Bash(echo:*)", "--output-format", "json",
                                       ANTHROPIC_API_KEY=VK_A)
    assert rc == 0, f"stdout={out!r} stderr={err!r}"
    result = result_json(out)
    assert result["is_error"] is False
    assert "tool result received" in result["result"]

    rows = await log_rows(gateway)
    assert len(rows) == 2, rows
    assert_success_row(rows[0], "dev-a")
    assert_success_row(rows[1], "dev-a", uncached_input=False)
    assert rows[0]["session_id"] == rows[1]["session_id"]

    recorded = await upstream_requests(gateway)
    assert len(recorded) == 2
    assert_forwarded_with_upstream_key(recorded, VK_A)
    assert all(r["json"].get("stream") is True for r in recorded)
    first, second = (r["json"]["messages"] for r in recorded)
    tool_results = [b for b in second[-1]["content"] if b.get("type") == "tool_result"]
    assert len(tool_results) == 1 and "hi" in json.dumps(tool_results[0]["content"])
