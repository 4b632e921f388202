"""End to end: the real Claude Code CLI (from npm) -> the gateway's /anthropic route -> a provider of type
`openai` -> tests/openai_fake.py, a strict OpenAI Chat Completions server. Claude Code's Claude model requests
are served in OpenAI format: translated on the way out, streamed back as Anthropic SSE.

Two upstream flavours: `openai-strict` validates like api.openai.com (including its 1024-character limit on
tool descriptions), `compatible` is the same server without that limit (as vLLM, Ollama or LM Studio).

Claude Code runs with a clean environment and an isolated HOME (as in test_claude_code_e2e.py), started with
asyncio.create_subprocess_exec because the gateway and the fake run in this test's event loop.
"""
from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sqlite3
import time

import pytest

from app.core.usage import Usage
from openai_fake import FAKE_KEY, MAX_DESCRIPTION, REPLY, TOOL_PREFIX, FakeOpenAI
from tests.conftest import VK_A, running_gateway

pytestmark = pytest.mark.e2e

CLAUDE_TIMEOUT_S = 120
CLEAN_PATH = os.environ.get("PATH") or "/usr/local/bin:/usr/bin:/bin"
UPSTREAMS = [
    pytest.param(MAX_DESCRIPTION, id="openai-strict"),
    pytest.param(None, id="compatible"),
]


@contextlib.asynccontextmanager
async def gateway_to(fake: FakeOpenAI, tmp_path, monkeypatch):
    monkeypatch.setenv("BIFROST_TEST_OAI_KEY", FAKE_KEY)
    monkeypatch.setenv("BIFROST_TEST_VK_A", VK_A)
    providers = (f"  - {{name: oai, type: openai, base_url: {fake.base_url}, "
                 "keys: [{name: k, secret: env:BIFROST_TEST_OAI_KEY}], models: ['claude-*']}\n")
    async with running_gateway(tmp_path, providers, "  - {name: dev-a, key: env:BIFROST_TEST_VK_A}\n") as gw:
        yield gw


@pytest.fixture
async def setup(request, tmp_path, monkeypatch):
    async with FakeOpenAI(max_description=request.param) as fake:
        async with gateway_to(fake, tmp_path, monkeypatch) as gw:
            yield fake, gw


async def run_claude(claude_bin, gateway, tmp_path, *args):
    home, work = tmp_path / "home", tmp_path / "work"
    home.mkdir(exist_ok=True)
    work.mkdir(exist_ok=True)
    env = {"PATH": CLEAN_PATH, "HOME": str(home), "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
           "ANTHROPIC_BASE_URL": f"{gateway.url}/anthropic", "ANTHROPIC_API_KEY": VK_A}
    started = time.monotonic()
    proc = await asyncio.create_subprocess_exec(
        claude_bin, *args, cwd=work, env=env, stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, start_new_session=True)
    try:
        stdout, stderr = await asyncio.wait_for(proc.communicate(), CLAUDE_TIMEOUT_S)
    except asyncio.TimeoutError:
        os.killpg(proc.pid, signal.SIGKILL)
        await proc.wait()
        pytest.fail(f"claude {' '.join(args)} did not finish within {CLAUDE_TIMEOUT_S}s")
    print(f"claude {' '.join(args)!r}: rc={proc.returncode} in {time.monotonic() - started:.2f}s")
    return proc.returncode, stdout.decode("utf-8", "replace"), stderr.decode("utf-8", "replace")


def result_json(stdout: str) -> dict:
    lines = [line for line in stdout.splitlines() if line.strip().startswith("{")]
    assert lines, f"no JSON on stdout: {stdout!r}"
    return json.loads(lines[-1])


async def log_rows(gateway) -> list[dict]:
    await gateway.gateway.writer.flush()
    with sqlite3.connect(gateway.config.sqlite_path) as db:
        db.row_factory = sqlite3.Row
        return [dict(r) for r in db.execute("SELECT * FROM request_log ORDER BY ts")]


def assert_all_valid_streams(fake: FakeOpenAI, count: int) -> None:
    """Every request passed the strict validation and was a streaming one (no non-streaming fallback)."""
    recorded = fake.completions
    problems = [(r.status, r.error) for r in recorded if not r.ok]
    assert not problems, problems
    assert len(recorded) == count, [r.answer for r in recorded]
    for r in recorded:
        assert r.json["stream"] is True and r.json["stream_options"] == {"include_usage": True}
        assert r.header("authorization") == f"Bearer {FAKE_KEY}"
        assert VK_A not in json.dumps(r.headers), "the virtual key leaked upstream"


def assert_rows(gateway, rows: list[dict], fake: FakeOpenAI) -> None:
    assert len(rows) == len(fake.completions), rows
    for row, rec in zip(rows, fake.completions):
        assert (row["path"], row["key_name"], row["provider"], row["provider_key"]) == ("/v1/messages", "dev-a",
                                                                                        "oai", "k")
        assert row["status"] == 200 and row["error_type"] is None, row
        assert row["stream"] == 1
        assert row["requested_model"] == rec.json["model"]
        assert row["user_agent"].startswith("claude-cli/")
        usage = rec.answer["usage"]
        cached = usage["prompt_tokens_details"]["cached_tokens"]
        assert (row["input_tokens"], row["cache_read_tokens"], row["output_tokens"]) == \
            (usage["prompt_tokens"] - cached, cached, usage["completion_tokens"])
        cost = gateway.gateway.prices.cost(row["served_model"], Usage(
            input_tokens=row["input_tokens"], output_tokens=row["output_tokens"],
            cache_read_tokens=row["cache_read_tokens"]))
        assert cost is not None and row["cost_micro_usd"] == cost.total_micro_usd > 0


@pytest.mark.parametrize("setup", UPSTREAMS, indirect=True)
async def test_tool_round_trip_through_an_openai_format_provider(claude_bin, setup, tmp_path):
    fake, gw = setup
    rc, out, err = await run_claude(claude_bin, gw, tmp_path, "-p", "run echo hi", "--allowedTools", "Bash(echo:*)",
                                    "--output-format", "json")
    assert rc == 0, f"stdout={out[-2000:]!r} stderr={err[-2000:]!r} upstream errors={[r.error for r in fake.rejected]}"
    result = result_json(out)
    assert result["is_error"] is False
    assert TOOL_PREFIX in result["result"] and "hi" in result["result"]

    assert_all_valid_streams(fake, 2)
    first, second = fake.completions
    call = first.answer["tool_call"]
    assert call is not None and json.loads(call["arguments"])["command"] == "echo hi"
    assert "Bash" in {t["function"]["name"] for t in first.json["tools"]}
    assert first.json["messages"][0]["role"] == "system"  # Claude Code's system prompt, as one string
    messages = second.json["messages"]
    assistant = next(m for m in messages if m["role"] == "assistant" and m.get("tool_calls"))
    assert [c["id"] for c in assistant["tool_calls"]] == [call["id"]]
    assert json.loads(assistant["tool_calls"][0]["function"]["arguments"])["command"] == "echo hi"
    tool = [m for m in messages if m["role"] == "tool"]
    assert len(tool) == 1 and tool[0]["tool_call_id"] == call["id"]
    assert tool[0]["content"].strip() == "hi"
    assert second.answer["text"] == TOOL_PREFIX + tool[0]["content"]

    rows = await log_rows(gw)
    assert len(rows) == 2
    assert_rows(gw, rows, fake)
    assert rows[0]["session_id"] and rows[0]["session_id"] == rows[1]["session_id"]
    assert rows[1]["cache_read_tokens"] > 0  # the repeated prefix was cached upstream and priced as a cache read


@pytest.mark.parametrize("setup", UPSTREAMS, indirect=True)
async def test_say_hi_through_an_openai_format_provider(claude_bin, setup, tmp_path):
    fake, gw = setup
    rc, out, err = await run_claude(claude_bin, gw, tmp_path, "-p", "say hi", "--output-format", "json")
    assert rc == 0, f"stdout={out[-2000:]!r} stderr={err[-2000:]!r} upstream errors={[r.error for r in fake.rejected]}"
    result = result_json(out)
    assert result["is_error"] is False
    assert REPLY in result["result"]

    assert_all_valid_streams(fake, 1)
    (rec,) = fake.completions
    assert rec.answer["tool_call"] is None
    assert not [k for k in rec.json if k not in ("model", "messages", "tools", "max_tokens", "stream",
                                                 "stream_options")], sorted(rec.json)
    rows = await log_rows(gw)
    assert len(rows) == 1
    assert_rows(gw, rows, fake)
