"""`bifrost-tui verify`: budget counters written by a real gateway run match the sums rebuilt from the
request log; a corrupted or missing counter is found, and `--repair` puts it right."""
from __future__ import annotations

import asyncio
import json
import os
import re
import sqlite3
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

import aiohttp
import pytest

from app.core.config import load_config
from app.proxy.server import GatewayServer
from conftest import ROOT, VK_A, VK_B, bifrost_cmd, gateway_yaml

KEYS = ("  - {name: dev-a, team: backend, key: env:BIFROST_TEST_VK_A,\n"
        "     budgets: [{limit: 500, period: 1M}, {limit: 100, period: 1d}, {limit: 50, period: 5h, rolling: true}]}\n"
        "  - {name: dev-b, key: env:BIFROST_TEST_VK_B, budgets: [{limit: 100, period: 1w}]}\n")


def budget_yaml(tmp_path: Path) -> str:
    return (gateway_yaml(tmp_path, keys=KEYS)
            .replace("{name: backend, customer: acme}", "{name: backend, customer: acme, budgets: [{limit: 200, period: 1d}]}")
            .replace("[{name: acme}]", "[{name: acme, budgets: [{limit: 1000, period: 1M}]}]")
            .replace("{name: sim, type: mock}", "{name: sim, type: mock, budgets: [{limit: 5000, period: 1M}]}"))


@pytest.fixture
async def logged(tmp_path, test_env) -> Path:
    """A gateway run with budgets at every level (key, team, customer, provider), a few requests, stopped."""
    cfg = tmp_path / "bifrost.yaml"
    cfg.write_text(budget_yaml(tmp_path), encoding="utf-8")
    server = GatewayServer(load_config(cfg), port=0)
    await server.start()
    try:
        async with aiohttp.ClientSession() as s:
            for key, model, stream in ((VK_A, "claude-sonnet-4-5", False), (VK_A, "claude-haiku-4-5", True),
                                       (VK_A, "claude-sonnet-4-5", True), (VK_B, "claude-haiku-4-5", False)):
                async with s.post(f"{server.url}/anthropic/v1/messages", headers={"x-api-key": key},
                                  json={"model": model, "max_tokens": 50, "stream": stream,
                                        "messages": [{"role": "user", "content": "hello"}]}) as resp:
                    await resp.read()
                    assert resp.status == 200
    finally:
        await server.stop()
    return cfg


async def verify(cfg: Path, *args: str) -> tuple[int, str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BIFROST_")} | {"PYTHONPATH": str(ROOT)}
    proc = await asyncio.create_subprocess_exec(*bifrost_cmd("verify", "--config", str(cfg), *args), cwd=cfg.parent,
                                                env=env, stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    return proc.returncode, out.decode(), err.decode()


@contextmanager
def db(cfg: Path):
    """A plain sqlite3 connection to the run's store: committed and closed at the end of the block."""
    conn = sqlite3.connect(cfg.parent / "bifrost.db")
    try:
        with conn:
            yield conn
    finally:
        conn.close()


def counters(cfg: Path) -> dict[tuple, int]:
    with db(cfg) as conn:
        return {tuple(r[:4]): r[4] for r in conn.execute("SELECT * FROM budget_counters")}


async def test_clean_run_has_no_drift(logged):
    stored = counters(logged)
    levels = {c[:3] for c in stored}
    assert {("key", "dev-a", "1M"), ("key", "dev-a", "1d"), ("key", "dev-a", "5h"), ("key", "dev-b", "1w"),
            ("team", "backend", "1d"), ("customer", "acme", "1M"), ("provider", "sim", "1M")} <= levels
    assert all(v > 0 for v in stored.values())
    code, out, err = await verify(logged)
    assert code == 0, out + err
    assert f"no drift: {len(stored)} counters match the request log" in out


async def test_corrupt_counter_is_found_and_repaired(logged):
    with db(logged) as conn:
        conn.execute("UPDATE budget_counters SET spent_micro_usd = spent_micro_usd + 5 "
                     "WHERE level = 'key' AND entity = 'dev-a' AND period = '1M'")
    (window,) = [c[3] for c in counters(logged) if c[:3] == ("key", "dev-a", "1M")]
    code, out, err = await verify(logged)
    assert code == 1, out + err
    lines = [line for line in out.splitlines() if window in line]
    assert len(lines) == 1 and lines[0].split()[:4] == ["key", "dev-a", "1M", window]
    assert lines[0].endswith("(+5 micro-USD)")
    assert sum(1 for line in out.splitlines() if "micro-USD)" in line) == 1  # nothing else drifts

    before = counters(logged)
    code, out, err = await verify(logged, "--repair")
    assert code == 0, out + err
    assert f"repaired key dev-a {window}" in out
    after = counters(logged)
    assert after[("key", "dev-a", "1M", window)] == before[("key", "dev-a", "1M", window)] - 5
    assert {k: v for k, v in after.items() if k[1] != "dev-a" or k[2] != "1M"} == \
           {k: v for k, v in before.items() if k[1] != "dev-a" or k[2] != "1M"}
    code, out, err = await verify(logged)
    assert code == 0 and "no drift" in out, out + err


async def test_missing_current_counter_and_api_stored_budgets(logged):
    """A configured budget whose current window has log spend but no counter is drift; budgets stored
    through the API (the entities table) count, and a stored tombstone hides the config's budgets."""
    team_key = next(c for c in counters(logged) if c[:3] == ("team", "backend", "1d"))
    spent = counters(logged)[team_key]
    now = datetime.now(timezone.utc).isoformat()
    with db(logged) as conn:
        conn.execute("DELETE FROM budget_counters WHERE level IN ('team', 'customer')")
        conn.execute("INSERT INTO entities (kind, name, spec, deleted, updated_at) VALUES (?, ?, ?, 0, ?)",
                     ("team", "backend", json.dumps({"name": "backend", "customer": "acme",
                                                     "budgets": [{"limit": 200, "period": "1d"},
                                                                 {"limit": 900, "period": "1w"}]}), now))
        conn.execute("INSERT INTO entities (kind, name, spec, deleted, updated_at) VALUES ('customer', 'acme', "
                     "'{\"name\": \"acme\"}', 1, ?)", (now,))
    code, out, err = await verify(logged)
    assert code == 1, out + err
    drifts = [line.split() for line in out.splitlines() if "(no counter)" in line]
    assert sorted((d[0], d[1], d[2]) for d in drifts) == [("team", "backend", "1d"), ("team", "backend", "1w")]
    assert re.search(rf"{re.escape(team_key[3])}\s+\(no counter\).*\(-{spent:,} micro-USD\)", out)

    code, out, err = await verify(logged, "--repair")
    assert code == 0 and out.count("repaired team backend") == 2, out + err
    assert counters(logged)[team_key] == spent
    code, out, err = await verify(logged)
    assert code == 0 and "no drift" in out, out + err
