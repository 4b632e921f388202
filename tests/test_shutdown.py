"""Graceful shutdown of `bifrost-tui serve` as a real subprocess: SIGTERM lets in-flight requests finish (up to
server.shutdown_timeout_s), exits 0, and never loses a request log row."""
from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import aiohttp
import pytest

from conftest import ROOT, UPSTREAM_KEY, VK_A, VK_B, bifrost_cmd, free_port, gateway_yaml, wait_for_port

MODEL = "claude-sonnet-4-5"
HI = [{"role": "user", "content": "hi"}]


class Proc:
    """A bifrost-tui subprocess with its output in files (so a full pipe never blocks it)."""

    def __init__(self, args: list[str], tmp: Path, name: str, env: dict | None = None):
        self.port = free_port()
        self.out = tmp / f"{name}.out"
        self.fh = open(self.out, "w")
        self.proc = subprocess.Popen(bifrost_cmd(*args, "--port", str(self.port)), cwd=ROOT, env=env,
                                     stdout=self.fh, stderr=subprocess.STDOUT, text=True)
        try:
            wait_for_port(self.port, self.proc)
        except Exception:
            self.stop()
            raise RuntimeError(self.output())

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def output(self) -> str:
        self.fh.flush()
        return self.out.read_text()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self.fh.close()


def env_with_keys() -> dict:
    env = {k: v for k, v in os.environ.items() if k != "BIFROST_CONFIG"}
    env.update(BIFROST_TEST_UPSTREAM_KEY=UPSTREAM_KEY, BIFROST_TEST_VK_A=VK_A, BIFROST_TEST_VK_B=VK_B)
    return env


@pytest.fixture
def start_pair(tmp_path):
    """start_pair(mock-upstream args..., shutdown_timeout=5) -> (upstream, gateway, db path)."""
    procs: list[Proc] = []

    def start(*upstream_args: str, shutdown_timeout: float = 5) -> tuple[Proc, Proc, Path]:
        upstream = Proc(["mock-upstream", "--require-key", UPSTREAM_KEY, *upstream_args], tmp_path, "upstream")
        procs.append(upstream)
        cfg = tmp_path / "bifrost.yaml"
        cfg.write_text(gateway_yaml(tmp_path, upstream.url, extra=f"server: {{shutdown_timeout_s: {shutdown_timeout}}}\n"),
                       encoding="utf-8")
        gw = Proc(["serve", "--config", str(cfg)], tmp_path, "gateway", env=env_with_keys())
        procs.append(gw)
        return upstream, gw, tmp_path / "bifrost.db"

    yield start
    for p in reversed(procs):
        if p.proc.poll() is None:
            p.proc.terminate()
            try:
                p.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        p.stop()


def rows(db: Path) -> list[dict]:
    con = sqlite3.connect(db)
    con.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in con.execute("SELECT * FROM request_log ORDER BY ts, id")]
    finally:
        con.close()


def wait_exit(gw: Proc, timeout: float) -> tuple[int, float]:
    started = time.monotonic()
    try:
        code = gw.proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        pytest.fail(f"gateway still running {timeout}s after SIGTERM:\n{gw.output()}")
    return code, time.monotonic() - started


async def stream_until_first_delta(session: aiohttp.ClientSession, gw: Proc, max_tokens: int = 4000):
    body = {"model": MODEL, "max_tokens": max_tokens, "stream": True, "messages": HI}
    resp = await session.post(f"{gw.url}/anthropic/v1/messages?beta=true", json=body,
                              headers={"x-api-key": VK_A, "anthropic-version": "2023-06-01"})
    assert resp.status == 200
    seen = b""
    while b"content_block_delta" not in seen:
        chunk = await asyncio.wait_for(resp.content.readany(), 10)
        assert chunk, "stream ended before the first delta"
        seen += chunk
    return resp, seen


async def read_rest(resp: aiohttp.ClientResponse, seen: bytes, timeout: float) -> tuple[bytes, bool]:
    """Everything until the server ends the stream; (bytes, True) if it ended cleanly."""
    clean = True
    try:
        async with asyncio.timeout(timeout):
            while chunk := await resp.content.readany():
                seen += chunk
    except (aiohttp.ClientError, ConnectionError):
        clean = False
    return seen, clean


async def test_sigterm_lets_a_short_stream_finish(start_pair):
    reply = " ".join(f"w{i}" for i in range(50))  # ~50 tokens at 30/s: about 1.7 s
    _, gw, db = start_pair("--tokens-per-second", "30", "--reply", reply, shutdown_timeout=5)
    async with aiohttp.ClientSession() as session:
        resp, seen = await stream_until_first_delta(session, gw)
        gw.proc.send_signal(signal.SIGTERM)
        sent = time.monotonic()
        body, clean = await read_rest(resp, seen, timeout=10)
    code, _ = await asyncio.to_thread(wait_exit, gw, 10)
    elapsed = time.monotonic() - sent
    assert code == 0, gw.output()
    assert elapsed < 5 + 1.5
    assert clean and b"event: message_stop" in body, "the in-flight stream was cut instead of drained"
    text = "".join(json.loads(line[6:])["delta"]["text"] for line in body.decode().splitlines()
                   if line.startswith("data: ") and '"content_block_delta"' in line)
    assert text == reply
    [row] = rows(db)
    assert row["status"] == 200 and row["error_type"] is None and row["stream"] == 1
    assert row["key_name"] == "dev-a" and row["output_tokens"] == 50


async def sigterm_mid_long_stream(start_pair, shutdown_timeout: float) -> tuple[Proc, Path, bytes, int, float]:
    reply = " ".join(f"word{i}" for i in range(900))  # ~30 s at 30 tokens/s: never finishes in time
    _, gw, db = start_pair("--tokens-per-second", "30", "--reply", reply, shutdown_timeout=shutdown_timeout)
    async with aiohttp.ClientSession() as session:
        resp, seen = await stream_until_first_delta(session, gw)
        gw.proc.send_signal(signal.SIGTERM)
        sent = time.monotonic()
        body, _ = await read_rest(resp, seen, timeout=4 * shutdown_timeout + 5)
    code, _ = await asyncio.to_thread(wait_exit, gw, 4 * shutdown_timeout + 5)
    return gw, db, body, code, time.monotonic() - sent


async def test_sigterm_cancels_a_stream_longer_than_the_shutdown_timeout(start_pair):
    gw, db, body, code, _ = await sigterm_mid_long_stream(start_pair, shutdown_timeout=1)
    assert code == 0, gw.output()
    assert b"event: message_stop" not in body
    [row] = rows(db)
    assert row["status"] == 200 and row["error_type"] == "gateway_shutdown", row  # the stream had begun
    assert "server.shutdown_timeout_s (1 s)" in row["error_message"]
    assert row["stream"] == 1 and row["key_name"] == "dev-a"
    assert row["input_tokens"] > 0 and row["output_tokens"] > 1  # charged the deltas it relayed


async def test_sigterm_exits_within_the_shutdown_timeout(start_pair):
    gw, _, _, code, elapsed = await sigterm_mid_long_stream(start_pair, shutdown_timeout=2)
    assert code == 0, gw.output()
    assert elapsed < 2 + 1.0, f"shutdown took {elapsed:.1f}s with shutdown_timeout_s: 2"


async def test_sigterm_right_after_20_requests_loses_no_row(start_pair):
    _, gw, db = start_pair(shutdown_timeout=5)
    async with aiohttp.ClientSession() as session:
        async def one(i: int) -> int:
            key = VK_A if i % 2 else VK_B
            async with session.post(f"{gw.url}/anthropic/v1/messages", json={"model": MODEL, "max_tokens": 20,
                                                                              "messages": HI},
                                    headers={"x-api-key": key}) as resp:
                await resp.read()
                return resp.status

        statuses = await asyncio.gather(*(one(i) for i in range(20)))
    gw.proc.send_signal(signal.SIGTERM)  # well inside the log writer's batching interval
    code, _ = await asyncio.to_thread(wait_exit, gw, 10)
    assert statuses == [200] * 20
    assert code == 0, gw.output()
    got = rows(db)
    assert len(got) == 20
    assert sorted(r["key_name"] for r in got) == ["dev-a"] * 10 + ["dev-b"] * 10
    assert all(r["status"] == 200 and r["output_tokens"] > 0 for r in got)


async def test_sigterm_with_20_requests_in_flight_drains_them_all(start_pair):
    _, gw, db = start_pair("--latency-ms", "800", shutdown_timeout=5)
    async with aiohttp.ClientSession() as session:
        async def one() -> tuple[int, dict]:
            async with session.post(f"{gw.url}/anthropic/v1/messages", json={"model": MODEL, "max_tokens": 20,
                                                                              "messages": HI},
                                    headers={"x-api-key": VK_A}) as resp:
                return resp.status, await resp.json()

        tasks = [asyncio.create_task(one()) for _ in range(20)]
        deadline = time.monotonic() + 5
        while True:  # wait until all 20 are inside the gateway
            async with session.get(f"{gw.url}/health") as resp:
                if (await resp.json())["in_flight"] == 20:
                    break
            assert time.monotonic() < deadline, "the 20 requests never were in flight together"
            await asyncio.sleep(0.02)
        gw.proc.send_signal(signal.SIGTERM)
        results = await asyncio.wait_for(asyncio.gather(*tasks), 10)
    code, _ = await asyncio.to_thread(wait_exit, gw, 10)
    assert code == 0, gw.output()
    assert [s for s, _ in results] == [200] * 20
    assert all(body["type"] == "message" for _, body in results)
    got = rows(db)
    assert len(got) == 20 and all(r["status"] == 200 for r in got)


async def test_sigterm_cuts_off_a_request_still_waiting_after_the_timeout_and_says_why(start_pair):
    """A non-streaming request whose upstream answers after the shutdown timeout: cut off, and its row says
    so (503 gateway_shutdown, the timeout named) instead of a status of 0 with no reason."""
    _, gw, db = start_pair("--latency-ms", "15000", shutdown_timeout=1)
    async with aiohttp.ClientSession() as session:
        request = asyncio.create_task(session.post(f"{gw.url}/anthropic/v1/messages", headers={"x-api-key": VK_A},
                                                   json={"model": MODEL, "max_tokens": 20, "messages": HI}))
        deadline = time.monotonic() + 5
        while True:
            async with session.get(f"{gw.url}/health") as resp:
                if (await resp.json())["in_flight"] == 1:
                    break
            assert time.monotonic() < deadline, "the request never reached the gateway"
            await asyncio.sleep(0.02)
        gw.proc.send_signal(signal.SIGTERM)
        with pytest.raises(aiohttp.ClientError):
            await asyncio.wait_for(request, 10)
    code, _ = await asyncio.to_thread(wait_exit, gw, 10)
    assert code == 0, gw.output()
    [row] = rows(db)
    assert (row["status"], row["error_type"]) == (503, "gateway_shutdown"), row
    assert "server.shutdown_timeout_s (1 s)" in row["error_message"]
    assert row["key_name"] == "dev-a" and row["cost_micro_usd"] == 0
