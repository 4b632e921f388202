"""The console's manners toward the gateway thread (app/service/interpreter_sharing.py)."""
from __future__ import annotations

import os
import threading

import pytest

from app.service.interpreter_sharing import PRIORITY_ENV, run_console_at_idle_priority

pytestmark = pytest.mark.skipif(not hasattr(os, "SCHED_IDLE"), reason="SCHED_IDLE is Linux-only")


def in_a_thread(fn):
    """Run fn in a fresh thread (so the test process keeps its own policy); (fn's result, that thread's
    policy afterwards, the policy of a thread that thread then starts)."""
    out = {}

    def body():
        out["result"] = fn()
        out["policy"] = os.sched_getscheduler(0)
        child = threading.Thread(target=lambda: out.__setitem__("child", os.sched_getscheduler(0)))
        child.start()
        child.join()

    t = threading.Thread(target=body)
    t.start()
    t.join()
    return out["result"], out["policy"], out["child"]


def test_only_the_calling_thread_moves_to_idle_priority(monkeypatch):
    monkeypatch.delenv(PRIORITY_ENV, raising=False)
    before = os.sched_getscheduler(0)
    result, policy, child = in_a_thread(run_console_at_idle_priority)
    assert result.startswith("idle")
    assert policy == os.SCHED_IDLE
    assert child == os.SCHED_IDLE  # threads the console starts later inherit it
    assert os.sched_getscheduler(0) == before  # the gateway's thread (here: the test's) keeps its policy


def test_opt_out_keeps_the_default_priority(monkeypatch):
    monkeypatch.setenv(PRIORITY_ENV, "normal")
    result, policy, _ = in_a_thread(run_console_at_idle_priority)
    assert result.startswith("normal") and PRIORITY_ENV in result
    assert policy == os.sched_getscheduler(0) != os.SCHED_IDLE
