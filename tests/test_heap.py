"""The gateway's garbage-collector settings (app/proxy/heap.py)."""
from __future__ import annotations

import gc

import pytest

from app.proxy import heap


@pytest.fixture
def restore_gc():
    thresholds = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)


def test_settle_freezes_startup_objects_and_raises_thresholds(restore_gc, monkeypatch):
    monkeypatch.delenv("BIFROST_GC", raising=False)
    gc.unfreeze()
    startup_object = {"config": ["alive", "since", "startup"]}
    heap.settle_after_startup()
    assert gc.get_freeze_count() > 0
    assert gc.get_threshold() == (heap.YOUNG_THRESHOLD, heap.OLDER_THRESHOLD, heap.OLDEST_THRESHOLD)
    assert not any(o is startup_object for o in gc.get_objects())  # frozen: full collections skip it


def test_bifrost_gc_default_leaves_the_collector_alone(restore_gc, monkeypatch):
    monkeypatch.setenv("BIFROST_GC", "default")
    gc.unfreeze()
    before = gc.get_threshold()
    heap.settle_after_startup()
    assert gc.get_freeze_count() == 0 and gc.get_threshold() == before
