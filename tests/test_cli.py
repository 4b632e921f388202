"""`bifrost-tui` as a user runs it: config errors before anything starts, the `logs` export of a real
gateway run, and the zero-config first start (embedded default, simulated provider, stable demo key)."""
from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import re
import signal
import sqlite3
import stat
import subprocess
import sys
import time
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import aiohttp
import pytest

from conftest import ROOT, VK_A, VK_B, bifrost_cmd, free_port, gateway_yaml, wait_for_port

KOLKATA = ZoneInfo("Asia/Kolkata")


def clean_env(**extra: str) -> dict:
    """The environment of a user shell: this checkout importable, no config or keys inherited from the test run."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("BIFROST_CONFIG", "ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN")
           and not k.startswith("BIFROST_TEST_")}
    env["PYTHONPATH"] = str(ROOT)
    env.update(extra)
    return env


def run(*args: str, cwd: Path, env: dict | None = None, timeout: float = 20) -> subprocess.CompletedProcess:
    return subprocess.run(bifrost_cmd(*args), cwd=cwd, env=env or clean_env(), capture_output=True, text=True,
                          timeout=timeout)


class Serve:
    """`bifrost-tui serve` in the background, output to a file."""

    def __init__(self, args: list[str], cwd: Path, env: dict, log: Path):
        self.port = free_port()
        self.log = log
        self.fh = open(log, "w")
        self.proc = subprocess.Popen(bifrost_cmd("serve", *args, "--port", str(self.port)), cwd=cwd, env=env,
                                     stdout=self.fh, stderr=subprocess.STDOUT, text=True)
        try:
            wait_for_port(self.port, self.proc)
        except Exception:
            self.kill()
            raise RuntimeError(log.read_text())

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait_output(self, pattern: str, timeout: float = 10) -> re.Match:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            m = re.search(pattern, self.log.read_text())
            if m:
                return m
            time.sleep(0.02)
        raise AssertionError(f"{pattern!r} not printed:\n{self.log.read_text()}")

    def terminate(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout=15)
        self.fh.close()
        return code

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self.fh.close()


# ----------------------------------------------------------------------------- config errors

BAD_YAML = """\
storage: {sqlite: ./bad.db}
providers:
  - name: up
    type: antropic
    keys: [{name: main, secret: env:UP_KEY}]
virtual_keys:
  - {name: dev, key: env:DEV_KEY, team: nobody}
"""


def test_serve_with_invalid_config_exits_2_naming_file_line_and_field(tmp_path):
    (tmp_path / "bad.yaml").write_text(BAD_YAML)
    port = free_port()
    started = time.monotonic()
    result = run("serve", "--config", "bad.yaml", "--port", str(port), cwd=tmp_path)
    assert result.returncode == 2, result
    assert time.monotonic() - started < 15
    assert "bad.yaml:4: providers[0].type: expected one of" in result.stderr
    assert "'antropic'" in result.stderr
    # every problem is listed, not just the first
    assert re.search(r"bad\.yaml:7: virtual_keys\[0\]\.team: no team named 'nobody'", result.stderr)
    assert "listening" not in result.stdout
    assert not (tmp_path / "bad.db").exists()


def test_missing_config_file_is_a_clear_error(tmp_path):
    result = run("serve", "--config", "nope.yaml", "--port", str(free_port()), cwd=tmp_path)
    assert result.returncode != 0
    assert "nope.yaml" in result.stderr and "does not exist" in result.stderr
    assert "Traceback" not in result.stderr

    result = run("serve", "--port", str(free_port()), cwd=tmp_path,
                 env=clean_env(BIFROST_CONFIG=str(tmp_path / "missing" / "bifrost.yaml")))
    assert result.returncode != 0
    assert "missing/bifrost.yaml" in result.stderr and "does not exist" in result.stderr


def test_logs_with_invalid_config_exits_2(tmp_path):
    (tmp_path / "bad.yaml").write_text(BAD_YAML)
    result = run("logs", "--config", "bad.yaml", "--format", "csv", cwd=tmp_path)
    assert result.returncode == 2
    assert "bad.yaml:4: providers[0].type" in result.stderr
    assert result.stdout == ""


# ----------------------------------------------------------------------------- logs from a real run

@pytest.fixture(scope="module")
def logged_run(tmp_path_factory):
    """A real `serve` run (simulated provider) with 3 requests, stopped with SIGTERM: (config path, env)."""
    tmp = tmp_path_factory.mktemp("logs")
    cfg = tmp / "bifrost.yaml"
    cfg.write_text(gateway_yaml(tmp), encoding="utf-8")
    env = clean_env(BIFROST_TEST_VK_A=VK_A, BIFROST_TEST_VK_B=VK_B)
    server = Serve(["--config", str(cfg)], ROOT, env, tmp / "serve.out")
    try:


        async def send():
            async with aiohttp.ClientSession() as s:
                for key, model, stream in ((VK_A, "claude-sonnet-4-5", False), (VK_A, "claude-sonnet-4-5", True),
                                           (VK_B, "claude-haiku-4-5", False)):
                    async with s.post(f"{server.url}/anthropic/v1/messages",
                                      json={"model": model, "max_tokens": 50, "stream": stream,
                                            "messages": [{"role": "user", "content": "hi"}]},
                                      headers={"x-api-key": key}) as resp:
                        await resp.read()
                        assert resp.status == 200

        asyncio.run(send())
    finally:
        assert server.terminate() == 0
    return cfg, env


def logs(logged_run, *args: str) -> subprocess.CompletedProcess:
    cfg, env = logged_run
    result = run("logs", "--config", str(cfg), *args, cwd=cfg.parent, env=env)
    assert result.returncode == 0, result.stderr
    return result


def jsonl(result) -> list[dict]:
    return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]


def test_logs_csv(logged_run):
    result = logs(logged_run, "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert len(rows) == 3
    header = result.stdout.splitlines()[0].split(",")
    for col in ("time", "key_name", "team", "customer", "served_model", "provider", "status", "input_tokens",
                "output_tokens", "cost_micro_usd", "cost", "latency_ms"):
        assert col in header
    assert [r["key_name"] for r in rows] == ["dev-a", "dev-a", "dev-b"]
    assert rows[0]["team"] == "backend" and rows[0]["customer"] == "acme"
    assert all(r["status"] == "200" and r["provider"] == "sim" for r in rows)
    assert [r["served_model"] for r in rows] == ["claude-sonnet-4-5", "claude-sonnet-4-5", "claude-haiku-4-5"]
    for r in rows:
        assert r["time"].endswith("+05:30")
        assert int(r["output_tokens"]) > 0 and int(r["cost_micro_usd"]) > 0
        # the cost column is in the config's display currency (INR at 84 per USD)
        assert Decimal(r["cost"]) == Decimal(r["cost_micro_usd"]) * 84 / Decimal(1_000_000)


def test_logs_jsonl_times_in_config_timezone(logged_run):
    records = jsonl(logs(logged_run, "--format", "jsonl"))
    assert len(records) == 3
    for r in records:
        local = datetime.fromisoformat(r["time"])
        assert local.utcoffset().total_seconds() == 5.5 * 3600
        utc = datetime.fromisoformat(r["ts_utc"].replace("Z", "+00:00"))
        assert abs((local - utc).total_seconds()) < 1  # same instant
        assert local.strftime("%H:%M") == utc.astimezone(KOLKATA).strftime("%H:%M")
    assert [r["stream"] for r in records] == [False, True, False]


def test_logs_filters(logged_run):
    assert [r["key_name"] for r in jsonl(logs(logged_run, "--format", "jsonl", "--key", "dev-a"))] == ["dev-a"] * 2
    assert [r["key_name"] for r in jsonl(logs(logged_run, "--format", "jsonl", "--key", "dev-b"))] == ["dev-b"]
    assert jsonl(logs(logged_run, "--format", "jsonl", "--key", "nobody")) == []
    assert len(jsonl(logs(logged_run, "--format", "jsonl", "--since", "1h"))) == 3
    assert jsonl(logs(logged_run, "--format", "jsonl", "--until", "2000-01-01")) == []
    assert len(jsonl(logs(logged_run, "--format", "jsonl", "--since", "2000-01-01"))) == 3
    haiku = jsonl(logs(logged_run, "--format", "jsonl", "--model", "claude-haiku*"))
    assert [r["served_model"] for r in haiku] == ["claude-haiku-4-5"]
    csv_none = logs(logged_run, "--format", "csv", "--until", "2000-01-01").stdout.splitlines()
    assert len(csv_none) == 1 and csv_none[0].startswith("time,")


def test_logs_table(logged_run):
    out = logs(logged_run, "--format", "table").stdout
    records = jsonl(logs(logged_run, "--format", "jsonl"))
    lines = [line for line in out.splitlines() if line.strip()]
    body = [line for line in lines if any(k in line for k in ("dev-a", "dev-b"))]
    assert len(body) == 3
    for line, r in zip(body, records):
        assert line.startswith(r["time"][:19])  # local (Kolkata) wall time, not UTC
        assert r["key_name"] in line and r["served_model"] in line
    assert "₹" in out  # costs in the display currency


def test_bifrost_tui_console_script_runs_logs(logged_run):
    script = Path(sys.executable).with_name("bifrost-tui")
    if not script.exists():
        pytest.skip("the bifrost-tui console script is not installed next to this interpreter")
    cfg, env = logged_run
    result = subprocess.run([str(script), "logs", "--config", str(cfg), "--format", "csv"], cwd=cfg.parent,
                            env=env, capture_output=True, text=True, timeout=20)
    assert result.returncode == 0, result.stderr
    assert len(list(csv.DictReader(io.StringIO(result.stdout)))) == 3


def test_logs_bad_time_is_a_clear_error(logged_run):
    cfg, env = logged_run
    result = run("logs", "--config", str(cfg), "--since", "last tuesday", cwd=cfg.parent, env=env)
    assert result.returncode == 2
    assert "last tuesday" in result.stderr and "Traceback" not in result.stderr


# ----------------------------------------------------------------------------- zero-config first start

def test_embedded_default_demo_key_works_and_is_stable(tmp_path):
    data, config_home, home, cwd = (tmp_path / d for d in ("data", "config", "home", "empty"))
    for d in (data, config_home, home, cwd):
        d.mkdir()
    env = clean_env(XDG_DATA_HOME=str(data), XDG_CONFIG_HOME=str(config_home), HOME=str(home))
    keys = []
    for attempt in range(2):
        server = Serve([], cwd, env, tmp_path / f"serve{attempt}.out")
        try:
            key = server.wait_output(r"demo virtual key[^\n]*?(vk-\S+)").group(1)
            server.wait_output(r"ANTHROPIC_BASE_URL=http://127\.0\.0\.1:\d+/anthropic")
            keys.append(key)

            async def call(headers):
                async with aiohttp.ClientSession() as s:
                    async with s.post(f"{server.url}/anthropic/v1/messages?beta=true",
                                      json={"model": "claude-sonnet-4-5", "max_tokens": 20,
                                            "messages": [{"role": "user", "content": "hi"}]},
                                      headers=headers) as resp:
                        return resp.status, {k.lower(): v for k, v in resp.headers.items()}, await resp.json()


            status, headers, body = asyncio.run(call({"x-api-key": key}))
            assert status == 200, body
            assert headers.get("x-bifrost-simulated") == "true"
            assert body["type"] == "message" and body["content"][0]["text"]
            assert asyncio.run(call({"authorization": f"Bearer {key}"}))[0] == 200
            assert asyncio.run(call({"x-api-key": key + "x"}))[0] == 401
        finally:
            code = server.terminate()
        assert code == 0, server.log.read_text()
    assert keys[0] == keys[1]
    assert list(cwd.iterdir()) == []  # nothing written to the working directory
    key_files = [p for p in data.rglob("*") if p.is_file() and keys[0] in p.read_text(errors="replace")]
    assert key_files and all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in key_files)
    dbs = list(data.rglob("bifrost.db"))
    assert dbs
    con = sqlite3.connect(dbs[0])
    try:
        n, simulated = con.execute("SELECT count(*), min(simulated) FROM request_log WHERE status = 200").fetchone()
    finally:
        con.close()
    assert n == 4 and simulated == 1


def test_log_lines_carry_the_teams_time_zone(tmp_path):
    """The log file uses the console's clock, with the offset: no guessing which zone a server logs in."""
    import logging

    from app.cli import setup_logging
    from app.core.config import config_from_text

    path = tmp_path / "gw.log"
    config = config_from_text(f"timezone: Asia/Kolkata\nlogging: {{file: {str(path)!r}}}\n", "t.yaml",
                              base_dir=tmp_path)
    try:
        setup_logging(config, to_stderr=False)
        logging.getLogger("bifrost.test").warning("hello")
        for handler in logging.getLogger().handlers:
            handler.flush()
        line = path.read_text(encoding="utf-8").strip()
    finally:
        logging.basicConfig(handlers=[logging.NullHandler()], force=True)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+05:30 WARNING bifrost\.test: hello", line), line


def test_logs_into_a_closed_pipe_ends_quietly(logged_run):
    """`bifrost-tui logs | head -3`: when the reader has gone, no BrokenPipeError traceback."""
    cfg, env = logged_run
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is already gone: every write fails with EPIPE
    try:
        result = subprocess.run(bifrost_cmd("logs", "--config", str(cfg), "--format", "csv"), cwd=cfg.parent, env=env,
                                stdout=write_end, stderr=subprocess.PIPE, text=True, timeout=20)
    finally:
        os.close(write_end)
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr


def test_serve_exits_when_it_cannot_listen(tmp_path):
    """A taken port: a clear message and exit 1 at once (the store's thread once kept the process alive
    after the message, so systemd never saw the failure)."""
    import socket

    cfg = tmp_path / "bifrost.yaml"
    cfg.write_text(gateway_yaml(tmp_path), encoding="utf-8")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run("serve", "--config", str(cfg), "--port", str(port), cwd=tmp_path,
                     env=clean_env(BIFROST_TEST_VK_A=VK_A, BIFROST_TEST_VK_B=VK_B), timeout=30)
    assert result.returncode == 1 and f"cannot listen on 127.0.0.1:{port}" in result.stderr, result.stderr


@pytest.mark.parametrize("port", ["99999", "-1", "http"])
def test_a_port_out_of_range_is_refused_by_the_command_line(tmp_path, port):
    result = run("serve", "--port", port, cwd=tmp_path)
    assert result.returncode == 2 and "--port" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("since", ["0001-01-01", "800000d", "1000000000d", "99999999999h"])
def test_a_time_before_the_calendar_is_a_clear_error(since):
    from zoneinfo import ZoneInfo

    from app.reports.timeparse import parse_time

    with pytest.raises(ValueError, match="out of range"):
        parse_time(since, ZoneInfo("Asia/Kolkata"))
