"""The operator console as a real process in a real terminal (tmux): the demo on every screen, SIGHUP
(an SSH drop) detaching the console while the gateway keeps serving, `attach` on a separate `serve`
process, and logging that never reaches the terminal.

Every tmux command goes to a private server per test (`tmux -L bifrost-test-<pid>-<n>`), every
session name is unique, every wait is bounded, and every session and process is killed in `finally`.
Exit statuses come from a tiny `sh` wrapper, not from tmux (see `Tmux.start`). The screens are being
fleshed out, so the assertions stick to robust things: the status header, row presence, numbers above
zero, and no traceback.

Regression tests guard three fixed bugs: plain `bifrost-tui --config F` not parsing; a detached console
revived by the SIGCONT that comes with a terminal hang-up; a terminal that vanishes without a SIGHUP
freezing the gateway.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest

from conftest import ROOT, bifrost_cmd, free_port, wait_for_port

TMUX = shutil.which("tmux")
pytestmark = pytest.mark.skipif(TMUX is None, reason="tmux is not installed (CI installs it: .ci/run); the console "
                                                     "process tests drive the real console in a tmux pane")

DEVELOPERS = ("pranay", "asha", "li", "maria", "intern-sam")
MODEL = "claude-sonnet-4-5"
VK_HUP = "vk-test-hup-5d1c2b3a49586f7e8d9c0b1a2f3e4d5c"
VK_ONE = "vk-test-att1-11aa22bb33cc44dd55ee66ff77889900"
VK_TWO = "vk-test-att2-99887766ff55ee44dd33cc22bb11aa00"
ADMIN_TOKEN = "admin-test-token-6b7c8d9e0f1a2b3c4d5e"
LOG_LINE = re.compile(r"\b(DEBUG|INFO|WARNING|ERROR|CRITICAL) (bifrost|aiohttp|asyncio|textual)")


# -- tmux --------------------------------------------------------------------------------------------
class Tmux:
    """A private tmux server (one per test, on its own socket): sessions are created detached and
    stay until killed, panes stay (dead) after their process exits."""

    _servers = 0

    def __init__(self, tmp: Path):
        Tmux._servers += 1  # one server per test: never race a previous test's server shutting down
        self.socket = f"bifrost-test-{os.getpid()}-{Tmux._servers}"
        self.tmp = tmp
        self.conf = tmp / "tmux.conf"
        self.conf.write_text("set -g remain-on-exit on\nset -g exit-empty off\nset -g history-limit 2000\n"
                             "set -g status off\n", encoding="utf-8")
        self.sessions: list[str] = []

    def tmux(self, *args: str, check: bool = True, timeout: float = 10) -> subprocess.CompletedProcess:
        result = subprocess.run([TMUX, "-L", self.socket, "-f", str(self.conf), *args], capture_output=True,
                                text=True, timeout=timeout)
        if check and result.returncode != 0:
            raise RuntimeError(f"tmux {' '.join(args[:3])} failed ({result.returncode}): {result.stderr.strip()}")
        return result

    def start(self, name: str, argv: list[str], *, width: int = 120, height: int = 40, wrap: bool = True,
              ignore_hup: bool = False) -> "Pane":
        """Run argv in a new detached session of width x height.

        wrap=True: a small shell runs argv as its child and writes the exit status to a file. tmux
        3.3a here often leaves a finished pane process unreaped (#{pane_dead} is 1 but
        #{pane_dead_status} stays empty: seen with a bare `sh -c 'sleep 0.3'`), so the status comes
        from the wrapper, never from tmux. ignore_hup: the wrapper survives the terminal's hang-up
        (so it can still record the status after the session is killed); its child does not inherit
        that: the console installs its own SIGHUP handler.
        wrap=False: argv is the pane's process itself (the session leader), exactly like a login."""
        session = f"{name}-{uuid.uuid4().hex[:8]}"
        rc_file = self.tmp / f"{session}.rc"
        pid_file = self.tmp / f"{session}.pid"
        if wrap:
            trap = 'trap "" HUP; ' if ignore_hup else ""
            argv = ["sh", "-c", f'{trap}echo $$ > {pid_file}; "$@"; echo $? > {rc_file}', "sh", *argv]
        self.tmux("new-session", "-d", "-s", session, "-x", str(width), "-y", str(height), "-c", str(ROOT), "--",
                  *argv)
        self.sessions.append(session)
        pane_pid = int(self.display(session, "#{pane_pid}"))
        pid = pane_pid
        if wrap:
            pid = wait_until(lambda: next(iter(child_pids(pane_pid)), None), 5, f"the process in {session}")
        return Pane(self, session, pid, rc_file if wrap else None, pane_pid)

    def display(self, session: str, fmt: str) -> str:
        return self.tmux("display-message", "-p", "-t", session, fmt, check=False).stdout.strip()

    def kill(self, session: str) -> None:
        self.tmux("kill-session", "-t", session, check=False)
        if session in self.sessions:
            self.sessions.remove(session)

    def close(self) -> None:
        for session in list(self.sessions):
            self.kill(session)
        self.tmux("kill-server", check=False)
        tmpdir = os.environ.get("TMUX_TMPDIR") or "/tmp"
        Path(tmpdir, f"tmux-{os.getuid()}", self.socket).unlink(missing_ok=True)


class Pane:
    """One tmux session; `pid` is the bifrost-tui process, `pane_pid` the pane's own (the wrapper)."""

    def __init__(self, tmux: Tmux, session: str, pid: int, rc_file: Path | None, pane_pid: int):
        self.tmux, self.session, self.pid, self.rc_file, self.pane_pid = tmux, session, pid, rc_file, pane_pid

    def capture(self) -> str:
        return self.tmux.tmux("capture-pane", "-p", "-t", self.session, check=False).stdout

    def send(self, *keys: str) -> None:
        self.tmux.tmux("send-keys", "-t", self.session, *keys)

    def resize(self, width: int, height: int) -> None:
        self.tmux.tmux("resize-window", "-t", self.session, "-x", str(width), "-y", str(height))

    @property
    def dead(self) -> bool:
        """The pane's terminal has no process any more (the wrapper and its child have exited)."""
        return self.tmux.display(self.session, "#{pane_dead}") == "1"

    def exit_code(self) -> int | None:
        """The process's exit status (from the wrapper) once it has exited, else None."""
        if self.rc_file is None or not self.rc_file.is_file():
            return None
        text = self.rc_file.read_text().strip()
        return int(text) if text else None

    def kill(self) -> None:
        """Kill the session (the terminal goes away), then the process (and wrapper) if they outlived it."""
        self.tmux.kill(self.session)
        kill_pid(self.pid)
        kill_pid(self.pane_pid)


@pytest.fixture
def tmux(tmp_path):
    t = Tmux(tmp_path)
    try:
        yield t
    finally:
        t.close()


def wait_until(predicate, timeout: float, what: str, interval: float = 0.2, detail=lambda: ""):
    """Poll predicate() until it returns something truthy; fail with `what` and detail() after timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            pytest.fail(f"timed out after {timeout:g}s waiting for {what}\n--- detail ---\n{detail()}")
        time.sleep(interval)


def wait_for_pane(pane: Pane, predicate, timeout: float, what: str) -> str:
    """Poll the pane until predicate(text) holds; returns the text. Fails at once on a traceback."""
    last = {"text": ""}

    def check():
        text = last["text"] = pane.capture()
        assert "Traceback" not in text, f"traceback in the console while waiting for {what}:\n{text}"
        return text if predicate(text) else None

    return wait_until(check, timeout, what, detail=lambda: last["text"])


def alive(pid: int) -> bool:
    """True while the process exists and is not a zombie (it may not be our child)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8") as fh:
            state = fh.read().rpartition(")")[2].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return state not in ("Z", "X")


def thread_policies(pid: int) -> dict[int, int]:
    """{thread id: scheduling policy} of a process (field 41 of /proc/PID/task/TID/stat)."""
    out = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/stat", encoding="utf-8") as fh:
                out[int(tid)] = int(fh.read().rpartition(")")[2].split()[38])
        except (OSError, IndexError):
            continue
    return out


def child_pids(pid: int) -> list[int]:
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", encoding="utf-8") as fh:
                    fields = fh.read().rpartition(")")[2].split()
            except OSError:
                continue
            if fields and int(fields[1]) == pid:
                out.append(int(entry))
    return out


def kill_pid(pid: int | None) -> None:
    if pid and alive(pid):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def console_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """Private HOME/XDG dirs, a known terminal, no animations; BIFROST_CONFIG never leaks in."""
    dirs = {name: tmp_path / name for name in ("home", "data", "config", "tmp")}
    for d in dirs.values():
        d.mkdir(exist_ok=True)
    return {"HOME": str(dirs["home"]), "XDG_DATA_HOME": str(dirs["data"]), "XDG_CONFIG_HOME": str(dirs["config"]),
            "TMPDIR": str(dirs["tmp"]), "TERM": "xterm-256color", "TEXTUAL_ANIMATIONS": "none",
            "COLORTERM": "truecolor", "PYTHONPATH": str(ROOT), **extra}


def env_argv(env: dict[str, str], argv: list[str]) -> list[str]:
    """`env -u BIFROST_CONFIG K=V ... argv`: env execs, so the process is the command itself."""
    return ["env", "-u", "BIFROST_CONFIG", *(f"{k}={v}" for k, v in env.items()), *argv]


def post_message(base: str, key: str, model: str = MODEL, timeout: float = 10) -> int:
    body = json.dumps({"model": model, "max_tokens": 32, "messages": [{"role": "user", "content": "hi"}]}).encode()
    req = urllib.request.Request(f"{base}/anthropic/v1/messages", data=body, method="POST",
                                 headers={"x-api-key": key, "content-type": "application/json",
                                          "anthropic-version": "2023-06-01"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            resp.read()
            return resp.status
    except urllib.error.HTTPError as exc:
        return exc.code


def gateway_config(tmp_path: Path, port: int, keys: dict[str, str], extra: str = "") -> Path:
    """A config file: mock provider `sim`, the given virtual keys (name -> env var), this port, SQLite in tmp."""
    lines = [f"server: {{host: 127.0.0.1, port: {port}, shutdown_timeout_s: 5{extra}}}",
             f"storage: {{sqlite: {str(tmp_path / 'bifrost.db')!r}}}",
             "currency: {code: USD, symbol: '$', per_usd: 1}",
             "providers:", "  - {name: sim, type: mock}", "virtual_keys:"]
    lines += [f"  - {{name: {name}, key: 'env:{var}'}}" for name, var in keys.items()]
    path = tmp_path / "bifrost.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def db_rows(db: Path) -> list[dict]:
    con = sqlite3.connect(db)
    con.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in con.execute("SELECT * FROM request_log ORDER BY ts, id")]
    finally:
        con.close()


def header_rps(text: str) -> float:
    m = re.search(r"(\d+(?:\.\d+)?) req/s", text)
    return float(m.group(1)) if m else 0.0


def request_lines(text: str, names=DEVELOPERS) -> list[str]:
    """Rows of the requests table: a developer's name and a model family on one line."""
    who = "|".join(re.escape(n) for n in names)
    return [line for line in text.splitlines()
            if re.search(rf"\b({who})\b", line) and re.search(r"\b(claude-)?(sonnet|haiku|opus)", line)]


# -- 1. the demo under tmux ----------------------------------------------------------------------------
def test_demo_console_every_screen_then_quit(tmux, tmp_path):
    port = free_port()
    env = console_env(tmp_path)
    pane = tmux.start("demo", env_argv(env, bifrost_cmd("demo", "--port", str(port))), width=120, height=40)
    listen = f"127.0.0.1:{port}"
    try:
        # the status header: listen address and traffic flowing
        wait_for_pane(pane, lambda t: listen in t and header_rps(t) > 0, 20, f"the header with {listen} and req/s > 0")

        # the console (main thread) runs at idle priority; the gateway's thread, started before, does not
        policies = thread_policies(pane.pid)
        assert policies[pane.pid] == os.SCHED_IDLE, policies
        assert any(p == os.SCHED_OTHER for tid, p in policies.items() if tid != pane.pid), policies

        # 2: the requests screen fills with the synthetic developers' rows
        pane.send("2")
        text = wait_for_pane(pane, lambda t: len(request_lines(t)) >= 3, 10,
                             "request rows (developer + model) on the requests screen (2)")
        assert listen in text, "the status header is gone on the requests screen"

        # 3: budget bars or percentages (below the two header lines)
        pane.send("3")
        wait_for_pane(pane, lambda t: "█" in t.split("\n", 2)[-1] or re.search(r"\d+(\.\d+)?\s?%", t.split("\n", 2)[-1]),
                      10, "budget bars (█) or percentages on the budgets screen (3)")

        # 4: the primary simulated provider starts answering 529 after ~6 s: failovers and breaker events
        pane.send("4")

        def failover_rows(t: str) -> bool:
            rows = [line for line in t.splitlines() if "▌" not in line]  # toasts are not the screen
            return any("primary-sim" in line and any(w in line for w in ("failover", "backup-sim", "circuit", "open"))
                       for line in rows)
        wait_for_pane(pane, failover_rows, 25, "a failover / breaker row for primary-sim (4)")

        # a small terminal: the overview still renders, no traceback, nothing wider than the pane
        pane.resize(80, 24)
        pane.send("1")
        wait_for_pane(pane, lambda t: listen in t and header_rps(t) > 0, 10, "the overview header at 80x24")
        pane.send("2")
        wait_for_pane(pane, lambda t: len(request_lines(t)) >= 3, 10, "request rows at 80x24")
        pane.send("1")
        wait_for_pane(pane, lambda t: listen in t, 5, "the overview again at 80x24")

        # ctrl+q quits (the demo nearly always has requests in flight: answer the confirm with y)
        pane.send("C-q")
        started = time.monotonic()

        def exited_or_confirm() -> bool:
            if pane.exit_code() is not None:
                return True
            if "Quit?" in pane.capture():
                pane.send("y")
            return False
        wait_until(exited_or_confirm, 10, "the demo to exit after ctrl+q (and y)", interval=0.3, detail=pane.capture)
        assert time.monotonic() - started < 10
        final = pane.capture()
        assert pane.exit_code() == 0, final
        assert "Traceback" not in final, final
        assert not alive(pane.pid), "the demo process is still running after ctrl+q"
        wait_until(lambda: pane.dead, 3, "the pane to have no process left", detail=pane.capture)
    finally:
        pane.kill()


# -- 2 and 4. SIGHUP detaches the console; the gateway keeps serving; logs never reach the terminal ---
def test_sighup_detaches_console_gateway_keeps_serving(tmux, tmp_path):
    port = free_port()
    config = gateway_config(tmp_path, port, {"dev-hup": "BIFROST_TEST_VK_HUP"})
    env = console_env(tmp_path, BIFROST_TEST_VK_HUP=VK_HUP)
    log_file = Path(env["XDG_DATA_HOME"]) / "bifrost-tui" / "bifrost-tui.log"
    base = f"http://127.0.0.1:{port}"
    # The wrapper shell is the pane's session leader (like a login shell) and records the exit status;
    # it ignores SIGHUP so it outlives the terminal. `console` because plain `bifrost-tui --config F`
    # does not parse (see test_plain_bifrost_tui_with_options_opens_the_console).
    pane = tmux.start("hup", env_argv(env, bifrost_cmd("console", "--config", str(config))), width=120, height=40,
                      ignore_hup=True)
    pid = pane.pid
    log_text = lambda: log_file.read_text() if log_file.is_file() else "(no log file)"  # noqa: E731
    sent = 0
    try:
        wait_for_pane(pane, lambda t: f"127.0.0.1:{port}" in t, 20, "the console header")
        wait_for_port(port, timeout=5)

        # traffic while the console runs, including a model with no price (a WARNING in the log file)
        for model in (MODEL, MODEL, "no-such-model-x1"):
            assert post_message(base, VK_HUP, model) == 200
            sent += 1
        wait_until(lambda: "no price" in log_text(), 5, "the unpriced-model warning in the log file", detail=log_text)
        wait_for_pane(pane, lambda t: header_rps(t) > 0, 10, "the console header showing the traffic")
        # 4. logging never writes to the terminal while the console runs
        text = pane.capture()
        assert not LOG_LINE.search(text) and "no price" not in text, f"a log line reached the terminal:\n{text}"

        # 2. SIGHUP (the SSH session dropped): the console detaches, the gateway keeps serving
        os.kill(pid, signal.SIGHUP)
        wait_until(lambda: "SIGHUP" in log_text() or "detach" in log_text(), 5, "the detach message in the log file",
                   detail=log_text)
        assert alive(pid), "SIGHUP killed the console process (and the gateway with it)"
        for _ in range(5):
            assert post_message(base, VK_HUP) == 200
            sent += 1
            time.sleep(0.3)
        assert alive(pid) and pane.exit_code() is None
        after = pane.capture()
        assert "Traceback" not in after, after
        assert not LOG_LINE.search(after), f"a log line reached the terminal after the detach:\n{after}"

        # the real SSH drop: the terminal itself disappears
        tmux.kill(pane.session)
        time.sleep(0.5)
        assert alive(pid), "the console process died with its terminal"
        for _ in range(3):
            assert post_message(base, VK_HUP) == 200
            sent += 1
            time.sleep(0.2)
        assert alive(pid)

        # SIGTERM: graceful stop, exit 0 within the shutdown timeout (5 s), every row written
        os.kill(pid, signal.SIGTERM)
        wait_until(lambda: pane.exit_code() is not None, 5 + 3, "the gateway to exit after SIGTERM", detail=log_text)
        assert pane.exit_code() == 0, log_text()
        rows = db_rows(tmp_path / "bifrost.db")
        assert len(rows) == sent, (sent, rows)
        assert all(r["key_name"] == "dev-hup" and r["status"] == 200 for r in rows), rows
        assert "Traceback" not in log_text(), log_text()
    finally:
        pane.kill()


def cpu_ticks(pid: int) -> int:
    with open(f"/proc/{pid}/stat", encoding="utf-8") as fh:
        fields = fh.read().rpartition(")")[2].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def test_detached_console_as_session_leader_survives_the_terminal_closing(tmux, tmp_path):
    """Test 2 with the console as the pane's session leader (`exec bifrost-tui`, `ssh -t host bifrost-tui`):
    SIGHUP detaches it, then the terminal closes for real (the kernel sends SIGHUP and SIGCONT to the
    session leader). The gateway must keep serving, stay idle, and stop on SIGTERM."""
    port = free_port()
    config = gateway_config(tmp_path, port, {"dev-hup": "BIFROST_TEST_VK_HUP"})
    env = console_env(tmp_path, BIFROST_TEST_VK_HUP=VK_HUP)
    log_file = Path(env["XDG_DATA_HOME"]) / "bifrost-tui" / "bifrost-tui.log"
    log_text = lambda: log_file.read_text() if log_file.is_file() else "(no log file)"  # noqa: E731
    base = f"http://127.0.0.1:{port}"
    pane = tmux.start("leader", env_argv(env, bifrost_cmd("console", "--config", str(config))), width=80, height=24,
                      wrap=False)
    pid = pane.pid
    sent = 0
    try:
        wait_for_pane(pane, lambda t: f"127.0.0.1:{port}" in t, 20, "the console header at 80x24")
        assert post_message(base, VK_HUP) == 200
        sent += 1
        os.kill(pid, signal.SIGHUP)
        wait_until(lambda: "SIGHUP" in log_text(), 5, "the detach message in the log file", detail=log_text)
        # the terminal is handed back: alternate screen and mouse reporting off
        wait_until(lambda: tmux.display(pane.session, "#{alternate_on}#{mouse_any_flag}") == "00", 5,
                   "the console to leave the alternate screen", detail=pane.capture)
        tmux.kill(pane.session)  # the terminal closes: SIGHUP + SIGCONT from the kernel
        time.sleep(0.5)
        assert alive(pid), "the gateway died with its terminal"
        for _ in range(3):
            assert post_message(base, VK_HUP) == 200
            sent += 1
        before = cpu_ticks(pid)
        time.sleep(1.0)
        used = (cpu_ticks(pid) - before) / os.sysconf("SC_CLK_TCK")
        assert used < 0.5, f"the headless gateway burns {used:.2f}s CPU per second without its terminal"
        os.kill(pid, signal.SIGTERM)
        wait_until(lambda: not alive(pid), 5 + 3, "the gateway to exit after SIGTERM", detail=log_text)
        assert "Traceback" not in log_text(), log_text()
        rows = db_rows(tmp_path / "bifrost.db")
        assert len(rows) == sent and all(r["status"] == 200 for r in rows), rows
    finally:
        pane.kill()


def test_terminal_vanishing_without_sighup_does_not_freeze_the_gateway(tmux, tmp_path):
    """The console's terminal closes but no hang-up signal reaches the console (its parent ignores
    SIGHUP and does not forward it: nohup-like wrappers, `sh -c` with a trap). The console can do
    nothing useful any more, but the gateway in the same loop must keep answering."""
    port = free_port()
    config = gateway_config(tmp_path, port, {"dev-hup": "BIFROST_TEST_VK_HUP"})
    env = console_env(tmp_path, BIFROST_TEST_VK_HUP=VK_HUP)
    base = f"http://127.0.0.1:{port}"
    pane = tmux.start("nohup", env_argv(env, bifrost_cmd("console", "--config", str(config))), width=120, height=40,
                      ignore_hup=True)
    try:
        wait_for_pane(pane, lambda t: f"127.0.0.1:{port}" in t, 20, "the console header")
        pane.send("2")  # the requests screen: every poll draws new rows
        assert post_message(base, VK_HUP) == 200
        tmux.kill(pane.session)
        deadline = time.monotonic() + 25  # Textual queues 30 writes; the console draws ~2 frames per second
        while time.monotonic() < deadline:
            try:
                status = post_message(base, VK_HUP, timeout=3)
            except OSError as exc:  # socket.timeout / URLError: the loop is blocked
                pytest.fail(f"the gateway stopped answering {25 - (deadline - time.monotonic()):.0f}s after the "
                            f"terminal vanished: {exc!r}")
            assert status == 200
            time.sleep(0.2)
        assert alive(pane.pid)
    finally:
        pane.kill()


def test_plain_bifrost_tui_with_options_opens_the_console(tmux, tmp_path):
    """README: plain `bifrost-tui` (with options such as --config) is the console."""
    port = free_port()
    config = gateway_config(tmp_path, port, {"dev-hup": "BIFROST_TEST_VK_HUP"})
    env = console_env(tmp_path, BIFROST_TEST_VK_HUP=VK_HUP)
    pane = tmux.start("plain", env_argv(env, bifrost_cmd("--config", str(config))), width=120, height=40)
    try:
        def ready() -> bool:
            text = pane.capture()
            if pane.exit_code() is not None:
                pytest.fail(f"`bifrost-tui --config F` exited ({pane.exit_code()}) instead of opening the "
                            f"console:\n{text}")
            return f"127.0.0.1:{port}" in text
        wait_until(ready, 20, "the console header", detail=pane.capture)
        assert post_message(f"http://127.0.0.1:{port}", VK_HUP) == 200
    finally:
        pane.kill()


# -- 3. attach to a separate serve process ------------------------------------------------------------
def test_attach_shows_live_data_from_a_serve_process(tmux, tmp_path):
    port = free_port()
    config = gateway_config(tmp_path, port, {"dev-one": "BIFROST_TEST_VK_ONE", "dev-two": "BIFROST_TEST_VK_TWO"},
                            extra=", admin_token: 'env:BIFROST_ADMIN_TOKEN'")
    env = console_env(tmp_path, BIFROST_TEST_VK_ONE=VK_ONE, BIFROST_TEST_VK_TWO=VK_TWO,
                      BIFROST_ADMIN_TOKEN=ADMIN_TOKEN)
    base = f"http://127.0.0.1:{port}"
    serve_env = {k: v for k, v in os.environ.items() if k != "BIFROST_CONFIG"} | env
    out = open(tmp_path / "serve.out", "w")
    serve = subprocess.Popen(bifrost_cmd("serve", "--config", str(config)), cwd=ROOT, env=serve_env,
                             stdout=out, stderr=subprocess.STDOUT, text=True)
    pane = None
    try:
        wait_for_port(port, serve, timeout=20)
        for _ in range(3):
            assert post_message(base, VK_ONE) == 200

        # a wrong token: a clear message and a non-zero exit, without a terminal
        bad = subprocess.run(bifrost_cmd("attach", "--url", base), cwd=ROOT, capture_output=True, text=True,
                             timeout=20, env=serve_env | {"BIFROST_ADMIN_TOKEN": "not-the-token"})
        assert bad.returncode != 0, bad
        assert "admin token" in bad.stderr.lower() and "Traceback" not in bad.stderr, bad.stderr

        pane = tmux.start("attach", env_argv(env, bifrost_cmd("attach", "--url", base)), width=120, height=40)
        text = wait_for_pane(pane, lambda t: base in t and "ATTACHED" in t, 15, "the header with the URL and ATTACHED")
        assert "DISCONNECTED" not in text, text

        pane.send("2")
        wait_for_pane(pane, lambda t: len(request_lines(t, ("dev-one",))) >= 3, 10,
                      "the 3 requests of dev-one on the requests screen")

        # live: two more requests appear without any key press
        for _ in range(2):
            assert post_message(base, VK_TWO) == 200
        wait_for_pane(pane, lambda t: len(request_lines(t, ("dev-two",))) >= 2, 10, "the 2 new requests of dev-two")

        # ctrl+q detaches at once (no confirm when attached); serve keeps answering
        pane.send("C-q")
        wait_until(lambda: pane.exit_code() is not None, 10, "attach to exit after ctrl+q", detail=pane.capture)
        assert pane.exit_code() == 0, pane.capture()
        assert "Traceback" not in pane.capture()
        assert serve.poll() is None, "detaching stopped the serve process"
        assert post_message(base, VK_ONE) == 200
    finally:
        if pane:
            pane.kill()
        if serve.poll() is None:
            serve.terminate()
            try:
                serve.wait(timeout=10)
            except subprocess.TimeoutExpired:
                serve.kill()
                serve.wait(timeout=5)
        out.close()
