"""The gateway on its own thread and loop (the console's process): start, serve, background, stop."""
from __future__ import annotations

import asyncio
import socket
import sqlite3
import threading

import aiohttp
import pytest

from app.core.config import config_from_text
from app.proxy.server_thread import GatewayThread
from app.service.admin import AdminService
from app.service.console_source import LocalSource, OtherLoopSource
from conftest import VK_A, gateway_yaml


def make_config(tmp_path):
    return config_from_text(gateway_yaml(tmp_path), "test.yaml", base_dir=tmp_path)


async def test_serves_from_its_own_thread_and_stops_gracefully(tmp_path, test_env):
    seen: dict = {}

    async def background(server, stop):
        seen["thread"] = threading.current_thread().name
        await stop.wait()
        seen["stopped"] = True

    gateway = GatewayThread(make_config(tmp_path), port=0)
    await gateway.start(background)
    try:
        assert gateway.loop is not asyncio.get_running_loop()
        async with aiohttp.ClientSession() as session:
            async with session.post(gateway.url + "/anthropic/v1/messages", headers={"x-api-key": VK_A},
                                    json={"model": "claude-haiku-4-5", "max_tokens": 20,
                                          "messages": [{"role": "user", "content": "hi"}]}) as resp:
                assert resp.status == 200, await resp.text()
        source = OtherLoopSource(LocalSource(gateway.server.gateway, AdminService(gateway.server.gateway)),
                                 gateway.call)
        seq, rows = await source.requests_since(0)
        assert [r["key"] for r in rows] == ["dev-a"] and seq >= 1
        assert seen["thread"] == "bifrost-gateway"
    finally:
        await gateway.stop()
    assert seen.get("stopped") is True  # the background task was told to stop before the server
    assert not gateway._thread.is_alive() and gateway.loop.is_closed()
    db = gateway.server.config.sqlite_path
    with sqlite3.connect(db) as conn:
        assert conn.execute("select count(*) from request_log").fetchone()[0] == 1  # the log drained


async def test_a_listen_error_is_raised_by_start_and_ends_the_thread(tmp_path, test_env):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        gateway = GatewayThread(make_config(tmp_path), host="127.0.0.1", port=port)
        with pytest.raises(OSError):
            await gateway.start()
    assert not gateway._thread.is_alive()


async def test_source_calls_run_on_the_gateway_thread(tmp_path, test_env):
    gateway = GatewayThread(make_config(tmp_path), port=0)
    await gateway.start()
    try:
        local = LocalSource(gateway.server.gateway, AdminService(gateway.server.gateway))
        threads = []
        real = local.overview

        async def overview():
            threads.append(threading.current_thread().name)
            return await real()
        local.overview = overview
        data = await OtherLoopSource(local, gateway.call).overview()
        assert "summary" in data and threads == ["bifrost-gateway"]
    finally:
        await gateway.stop()


async def test_request_rows_are_made_on_the_console_side(tmp_path, test_env, monkeypatch):
    """Only picking new events out of the ring runs on the gateway's loop; a row's dict (~2.5 µs) is built
    by the caller, and only for rows whose fields are read (500 of them a tick at 500 requests/s held the
    gateway's loop ~1 ms)."""
    import app.service.request_row as request_row
    gateway = GatewayThread(make_config(tmp_path), port=0)
    await gateway.start()
    try:
        async with aiohttp.ClientSession() as session:
            for _ in range(3):
                async with session.post(gateway.url + "/anthropic/v1/messages", headers={"x-api-key": VK_A},
                                        json={"model": "claude-haiku-4-5", "max_tokens": 20,
                                              "messages": [{"role": "user", "content": "hi"}]}) as resp:
                    assert resp.status == 200
        bus = gateway.server.gateway.events
        picked, made = [], []
        real_pick, real_dict = bus.requests_since, request_row.record_dict

        def pick(seq, *args):
            picked.append(threading.current_thread().name)
            return real_pick(seq, *args)

        def make(record):
            made.append(threading.current_thread().name)
            return real_dict(record)
        monkeypatch.setattr(bus, "requests_since", pick)
        monkeypatch.setattr(request_row, "record_dict", make)
        source = OtherLoopSource(LocalSource(gateway.server.gateway, AdminService(gateway.server.gateway)),
                                 gateway.call)
        seq, rows = await source.requests_since(0)
        assert picked == ["bifrost-gateway"] and len(rows) == 3
        assert seq == rows[-1]["seq"] and [r.get("id") for r in rows] == [e.payload.id for e in real_pick(0)]
        assert made == []  # id and seq come straight from the record
        assert all(r["key"] == "dev-a" and r.get("status") == 200 for r in rows)
        assert made == [threading.current_thread().name] * 3  # one dict per row, built here, once
        assert await source.requests_since(seq) == (seq, [])
    finally:
        await gateway.stop()


def test_the_console_loop_switches_threads_sooner_only_while_it_works_beside_a_gateway(tmp_path, test_env):
    """On the console's loop (app/service/interpreter_sharing.py) the interpreter switches at the console's
    short interval while a callback runs and at the gateway's while the loop waits; without a gateway
    thread, and after it stops, the loop leaves the interval alone."""
    import sys

    from app.cli import run_console
    from app.proxy.server_thread import SWITCH_INTERVAL_S
    from app.service.interpreter_sharing import CONSOLE_BUSY_INTERVAL_S

    before = sys.getswitchinterval()
    seen: dict = {}

    async def console() -> None:
        await asyncio.sleep(0.01)
        seen["alone"] = sys.getswitchinterval()
        gateway = GatewayThread(make_config(tmp_path), port=0)
        await gateway.start()
        try:
            await asyncio.sleep(0.01)  # one wait in select, then this callback runs
            seen["working"] = sys.getswitchinterval()
            # read from the gateway's thread while this loop waits for the answer
            seen["waiting"] = await gateway.call(_interval_later())
        finally:
            await gateway.stop()
        await asyncio.sleep(0.01)
        seen["after"] = sys.getswitchinterval()

    async def _interval_later() -> float:
        await asyncio.sleep(0.05)  # the console loop is in select by now
        return sys.getswitchinterval()

    run_console(console())
    us = pytest.approx  # the interpreter keeps the interval in whole microseconds
    assert seen["alone"] == us(before)
    assert seen["working"] == us(CONSOLE_BUSY_INTERVAL_S) and CONSOLE_BUSY_INTERVAL_S < SWITCH_INTERVAL_S
    assert seen["waiting"] == us(SWITCH_INTERVAL_S)
    assert seen["after"] == us(before) and sys.getswitchinterval() == us(before)
