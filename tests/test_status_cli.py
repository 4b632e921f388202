"""`bifrost-tui status` as a developer runs it: the variables Claude Code uses, against a real gateway."""
from __future__ import annotations

import asyncio
import json
import os

import aiohttp
import pytest

from app.core.config import config_from_text
from app.proxy.server import GatewayServer
from app.reports.gateway_me import gateway_root
from conftest import ROOT, VK_A, bifrost_cmd, free_port, gateway_yaml

KEYS = ("  - {name: dev-a, team: backend, key: env:BIFROST_TEST_VK_A, allowed_models: ['claude-*'],\n"
        "     budgets: [{limit: 500, period: 1M}, {limit: 20, period: 5h, rolling: true}],\n"
        "     rate_limit: {requests_per_minute: 60, max_concurrent: 4}}\n"
        "  - {name: dev-b, key: env:BIFROST_TEST_VK_B}\n")


@pytest.fixture
async def budget_gateway(tmp_path, test_env):
    """An in-process gateway (simulated provider only) where dev-a has budgets, limits and allowed models."""
    config = config_from_text(gateway_yaml(tmp_path, keys=KEYS), "test.yaml", base_dir=tmp_path)
    server = GatewayServer(config, port=0)
    await server.start()
    try:
        async with aiohttp.ClientSession() as s:  # some spend for the bars
            async with s.post(f"{server.url}/anthropic/v1/messages", headers={"x-api-key": VK_A},
                              json={"model": "claude-sonnet-4-5", "max_tokens": 50,
                                    "messages": [{"role": "user", "content": "hi"}]}) as resp:
                assert resp.status == 200, await resp.text()
        yield server
    finally:
        await server.stop()


def user_env(**extra: str) -> dict:
    """A user shell: no Anthropic variables, config or proxies inherited from the test run."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("ANTHROPIC_", "BIFROST_")) and k.lower() not in ("http_proxy", "https_proxy",
                                                                                  "all_proxy")}
    env["PYTHONPATH"] = str(ROOT)
    env.update(extra)
    return env


async def status(*args: str, env: dict, cwd) -> tuple[int, str, str]:
    """`python -m app status` without blocking the loop the gateway runs in."""
    proc = await asyncio.create_subprocess_exec(*bifrost_cmd("status", *args), cwd=cwd, env=env,
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    return proc.returncode, out.decode(), err.decode()


@pytest.mark.parametrize("base, root", [("http://h:8080/anthropic", "http://h:8080"),
                                        ("http://h:8080/anthropic/", "http://h:8080"),
                                        ("http://h:8080/", "http://h:8080"),
                                        ("https://gw.example.com/llm/anthropic", "https://gw.example.com/llm")])
def test_gateway_root(base, root):
    assert gateway_root(base) == root


async def test_status_summary(budget_gateway, tmp_path):
    env = user_env(ANTHROPIC_BASE_URL=f"{budget_gateway.url}/anthropic", ANTHROPIC_API_KEY=VK_A)
    code, out, err = await status(env=env, cwd=tmp_path)
    assert code == 0, err
    assert "dev-a" in out and "backend" in out and "acme" in out
    assert "Monthly (key)" in out and "Rolling 5-hour (key)" in out
    assert "of ₹500.00" in out and "left" in out
    assert "resets 20" in out and " IST" in out
    assert "requests/min" in out and "of 60" in out and "concurrent" in out
    assert "claude-*" in out
    assert VK_A not in out and VK_A not in err


async def test_status_json_is_api_me(budget_gateway, tmp_path):
    env = user_env(ANTHROPIC_BASE_URL=f"{budget_gateway.url}/anthropic/", ANTHROPIC_API_KEY=VK_A)
    code, out, err = await status("--json", env=env, cwd=tmp_path)
    assert code == 0, err
    mine = json.loads(out)
    async with aiohttp.ClientSession() as s:
        async with s.get(f"{budget_gateway.url}/api/me", headers={"x-api-key": VK_A}) as resp:
            me = await resp.json()
    assert mine.keys() == me.keys()
    for field in ("key", "team", "customer", "currency", "timezone", "rate_limit", "allowed_models"):
        assert mine[field] == me[field]
    assert [b["spent_micro_usd"] for b in mine["budgets"]] == [b["spent_micro_usd"] for b in me["budgets"]]
    assert mine["budgets"][0]["spent_micro_usd"] > 0


async def test_status_with_auth_token(budget_gateway, tmp_path):
    env = user_env(ANTHROPIC_BASE_URL=budget_gateway.url, ANTHROPIC_AUTH_TOKEN=VK_A)
    code, out, err = await status(env=env, cwd=tmp_path)
    assert code == 0, err
    assert "dev-a" in out


async def test_status_into_a_reader_that_stops_early_is_not_a_failure(budget_gateway, tmp_path):
    """`bifrost-tui status | head -3`: the reader's end closes before status writes (here before it even
    starts); the command ends quietly with 0, as `logs` does, not rich's exit 1."""
    env = user_env(ANTHROPIC_BASE_URL=f"{budget_gateway.url}/anthropic", ANTHROPIC_API_KEY=VK_A)
    read_end, write_end = os.pipe()
    os.close(read_end)  # every write to the pipe fails with EPIPE
    try:
        proc = await asyncio.create_subprocess_exec(*bifrost_cmd("status"), cwd=tmp_path, env=env, stdout=write_end,
                                                    stderr=asyncio.subprocess.PIPE)
    finally:
        os.close(write_end)
    _, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, err.decode()
    assert b"Traceback" not in err


async def test_status_bad_key(budget_gateway, tmp_path):
    bad = "vk-not-a-real-key-0123456789abcdef"
    env = user_env(ANTHROPIC_BASE_URL=f"{budget_gateway.url}/anthropic", ANTHROPIC_API_KEY=bad)
    code, out, err = await status(env=env, cwd=tmp_path)
    assert code == 1
    assert "the gateway does not know this key" in err
    assert bad not in out and bad not in err


@pytest.mark.parametrize("path", ["/anthropc", "/anthropic/v1", "/v1", "/llm/anthropic", "/api", "/api/v1"])
async def test_status_with_a_wrong_path_says_so_not_that_the_key_is_unknown(budget_gateway, tmp_path, path):
    """A typo in ANTHROPIC_BASE_URL's path reaches the gateway but not /api/me: a 404 for most paths, and a
    401 under /api/ (the management API asks for its admin token). Neither is the key's fault."""
    base = f"{budget_gateway.url}{path}"
    for key in (VK_A, "vk-not-a-real-key-0123456789abcdef"):
        code, out, err = await status(env=user_env(ANTHROPIC_BASE_URL=base, ANTHROPIC_API_KEY=key), cwd=tmp_path)
        assert code == 1 and out == ""
        assert "does not know this key" not in err, err
        assert f"ANTHROPIC_BASE_URL ({base}) does not look like a bifrost-tui gateway" in err, err
        assert "check its path" in err.lower() and "/anthropic" in err
        assert key not in err


async def test_status_with_a_wrong_path_on_a_gateway_with_an_admin_token(tmp_path, test_env, monkeypatch):
    """With the management API on, /api/… answers 401 'wrong admin token': still the path, not the key."""
    monkeypatch.setenv("BIFROST_TEST_ADMIN", "admin-token-0123456789")
    config = config_from_text(gateway_yaml(tmp_path, keys=KEYS, extra="server: {admin_token: env:BIFROST_TEST_ADMIN}\n"),
                              "test.yaml", base_dir=tmp_path)
    server = GatewayServer(config, port=0)
    await server.start()
    try:
        env = user_env(ANTHROPIC_BASE_URL=f"{server.url}/api/anthropic", ANTHROPIC_API_KEY=VK_A)
        code, out, err = await status(env=env, cwd=tmp_path)
        assert code == 1 and "does not look like a bifrost-tui gateway" in err, err
        env = user_env(ANTHROPIC_BASE_URL=f"{server.url}/anthropic", ANTHROPIC_API_KEY="vk-unknown-0123456789")
        code, out, err = await status(env=env, cwd=tmp_path)
        assert code == 1 and "the gateway does not know this key" in err, err
    finally:
        await server.stop()


async def test_status_against_a_server_that_is_not_a_gateway(tmp_path):
    """Some other HTTP server answering 401 to everything: not 'unknown key'."""
    from aiohttp import web

    async def deny(request):
        return web.json_response({"error": "unauthorized"}, status=401)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", deny)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        base = f"http://127.0.0.1:{port}/anthropic"
        code, out, err = await status(env=user_env(ANTHROPIC_BASE_URL=base, ANTHROPIC_API_KEY=VK_A), cwd=tmp_path)
        assert code == 1 and "does not know this key" not in err
        assert f"ANTHROPIC_BASE_URL ({base}) does not look like a bifrost-tui gateway" in err, err
    finally:
        await runner.cleanup()


async def test_status_gateway_unreachable(tmp_path):
    url = f"http://127.0.0.1:{free_port()}"
    code, out, err = await status(env=user_env(ANTHROPIC_BASE_URL=url + "/anthropic", ANTHROPIC_API_KEY=VK_A),
                                  cwd=tmp_path)
    assert code == 1
    assert f"{url}/api/me" in err and "is the gateway running?" in err
    assert VK_A not in err and out == ""


async def test_status_without_variables(tmp_path):
    code, out, err = await status(env=user_env(), cwd=tmp_path)
    assert code == 2
    assert "ANTHROPIC_BASE_URL" in err and "ANTHROPIC_API_KEY" in err and out == ""
    code, _, err = await status(env=user_env(ANTHROPIC_BASE_URL="http://127.0.0.1:1/anthropic"), cwd=tmp_path)
    assert code == 2 and "ANTHROPIC_API_KEY (or ANTHROPIC_AUTH_TOKEN)" in err and "ANTHROPIC_BASE_URL" not in err


def test_a_blocking_budget_says_so_even_at_zero_percent():
    from datetime import datetime, timezone
    from zoneinfo import ZoneInfo

    from app.reports.status_view import budget_lines

    b = {"level": "key", "entity": "asha", "label": "Daily", "period": "1d", "used_pct": 0.0, "spent": 0.0,
         "limit": 0.5, "remaining": 0.5, "reserved": 0.0, "resets_at_local": "2026-11-29 00:00 IST",
         "runs_out_at": None, "refused_recent": 92}
    lines = [line.plain for line in budget_lines(b, "₹", ZoneInfo("Asia/Kolkata"), datetime.now(timezone.utc))]
    assert lines[-1].strip() == "blocking: 92 request(s) refused in the last hour"
    assert not any("blocking" in line for line in budget_lines({**b, "refused_recent": 0}, "₹",
                                                               ZoneInfo("Asia/Kolkata"), datetime.now(timezone.utc)))


def test_an_expired_key_says_so():
    import io

    from rich.console import Console

    from app.reports.status_view import render

    out = io.StringIO()
    render({"key": "qa-test", "active": True, "expires_at": "2020-01-01T00:00:00+05:30", "timezone": "Asia/Kolkata",
            "currency": {"symbol": "₹"}, "budgets": []}, Console(file=out, width=100, color_system=None))
    first = out.getvalue().splitlines()[0]
    assert "EXPIRED 2020-01-01 00:00 IST" in first and "active" not in first
