"""When a changed plot is redrawn (app/tui/plot_pacing.py): each at most once every DRAW_EVERY, one
data-driven redraw at a time (the next STAGGER later), first draws and forced redraws at once."""
from __future__ import annotations

import math

import pytest

from app.tui.plot_pacing import DRAW_EVERY, STAGGER, plan_redraws

NOW = 100.0


def test_nothing_changed_nothing_waits():
    assert plan_redraws([], {"spend": NOW}, NOW) == ([], math.inf)


def test_one_data_driven_redraw_at_a_time_the_rest_a_stagger_later():
    long_ago = {name: NOW - 5 for name in ("spend", "rps", "latency")}
    changed = [("spend", False), ("rps", False), ("latency", False)]
    assert plan_redraws(changed, long_ago, NOW) == (["spend"], STAGGER)


def test_a_plot_drawn_less_than_draw_every_ago_waits_for_the_rest_of_it():
    due, wait = plan_redraws([("spend", False), ("rps", False)], {"spend": NOW - 0.3, "rps": NOW - 0.9}, NOW)
    assert due == [] and wait == pytest.approx(DRAW_EVERY - 0.9)
    due, wait = plan_redraws([("spend", False), ("rps", False)], {"spend": NOW - 0.3, "rps": NOW - 2}, NOW)
    assert due == ["rps"] and wait == pytest.approx(DRAW_EVERY - 0.3)


def test_first_draws_and_forced_redraws_are_not_paced():
    recent = {"spend": NOW - 0.1, "rps": NOW - 0.1}
    assert plan_redraws([("spend", False), ("bars", True), ("latency", True)], recent, NOW) == (
        ["bars", "latency"], pytest.approx(DRAW_EVERY - 0.1))
    assert plan_redraws([("spend", False), ("rps", False)], recent, NOW, force=True) == (["spend", "rps"], math.inf)


def test_a_plot_never_drawn_but_not_first_is_due():
    assert plan_redraws([("rps", False)], {}, NOW) == (["rps"], math.inf)
