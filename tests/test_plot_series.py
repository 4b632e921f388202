"""The time plots' data and drawing without the screen (app/tui/plot_series.py): values rounded to what a
plot can show, the series cut into buckets as plain hashable tuples, a gap where there is no value, and
the clock bookkeeping (now within the series' minute, the gateway's start kept steady)."""
from __future__ import annotations

import math
from zoneinfo import ZoneInfo

import pytest

from app.tui.plot_bars import BAR_FILL
from app.tui.plot_series import (STARTED_SLACK, draw_series, gateway_started, prepare_series, series_now, sig,
                                 utc_offset_min, value_runs)
from app.tui.plot_time import TimeAxis, latency_buckets, rate_buckets

START = 29_460_000  # an epoch minute on a UTC hour
AXIS = TimeAxis(START, START + 60)


def test_sig_keeps_three_significant_digits():
    assert sig(123_456) == 123_000 and sig(-9876) == -9880
    assert sig(0.0012345) == pytest.approx(0.00123) and sig(4.2) == 4.2
    assert sig(2.71828, digits=2) == 2.7
    assert sig(0) == 0.0 and sig(math.nan) == 0.0 and sig(math.inf) == 0.0


def test_value_runs_break_at_missing_values():
    xs = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
    assert value_runs(xs, (1, None, 2, 3, None, 4)) == [([1.0], [1]), ([3.0, 4.0], [2, 3]), ([6.0], [4])]
    assert value_runs(xs, (None,) * 6) == []
    assert value_runs(xs[:2], (0, 0)) == [([1.0, 2.0], [0, 0])]  # zero is a value


def test_series_now_stays_within_the_series_current_minute():
    minutes = [START, START + 1]
    last = (START + 1) * 60.0
    assert series_now(last + 30, minutes) == last + 30
    assert series_now(last - 500, minutes) == last  # this clock is behind the gateway's
    assert series_now(last + 500, minutes) == last + 59.999  # ahead
    assert series_now(123.0, []) == 123.0


def test_gateway_started_is_kept_while_the_estimate_moves_little():
    assert gateway_started(1000.0, 100, -math.inf) == 900.0
    assert gateway_started(1003.0, 100, 900.0) == 900.0  # a poll-old uptime: keep the first estimate
    assert gateway_started(1000.0, 100 - STARTED_SLACK - 1, 900.0) == 900.0 + STARTED_SLACK + 1  # restarted
    assert gateway_started(1000.0, None, 900.0) == 900.0
    assert gateway_started(1000.0, True, -math.inf) == -math.inf  # not a number
    assert gateway_started(1000.0, 12.5, 900.0) == 987.5


def test_utc_offset_in_minutes():
    assert utc_offset_min(ZoneInfo("UTC")) == 0
    assert utc_offset_min(ZoneInfo("Asia/Kolkata")) == 330


def series(n: int = 60, spend=None, rps=None, p50=None, p95=None) -> dict:
    return {"minutes": list(range(START, START + n)), "spend_micro_usd": spend if spend is not None else [],
            "rps": rps if rps is not None else [], "p50_ms": p50 or [], "p95_ms": p95 or []}


def prepare(name, data, window="h", columns=60, **kw):
    kw = {"started_s": -math.inf, "now_s": math.inf, "live": None} | kw
    return prepare_series(name, data, window, "UTC", "₹", 84 / 1e6, AXIS, (80, 20), columns, 0, **kw)


def test_spend_is_summed_per_bucket_in_the_display_currency_and_rounded():
    data = series(spend=[1_000_000, None, 3_333_333] + [0] * 57)
    spend = prepare("spend", data, columns=20)  # 60 minutes in at most 20 buckets (one spare): 5 minutes each
    assert spend[:5] == ("spend", "h", "UTC", "₹", 5)
    xs, values, covers = spend[5], spend[6], spend[7]
    assert len(xs) == len(values) == len(covers) == 12 and xs[0] == START + 4
    assert values[0] == sig(4_333_333 * 84 / 1e6) == 364.0 and set(values[1:]) == {0.0}
    assert covers[0] == (START, START + 5) and spend[8] is AXIS and spend[9] == (80, 20)
    hash(spend)  # plain tuples: the screen redraws only when the hash changes


def test_spend_in_the_day_view_is_at_least_hourly_and_a_short_series_counts_as_zero():
    data = series(n=180, spend=[1_000_000] * 90)  # spend known for the first 90 minutes only
    spend = prepare("spend", data, window="d", columns=120)
    assert spend[1] == "d" and spend[4] == 60
    assert spend[6] == (sig(60 * 84.0), sig(30 * 84.0), 0.0)


def test_rps_takes_the_header_rate_only_when_it_is_a_number():
    data = series(n=10, rps=[1.0] * 10)
    kw = {"started_s": START * 60.0, "now_s": (START + 9) * 60.0 + 30}
    rps = prepare("rps", data, **kw, live=6)
    xs, ys, covers = rate_buckets(data["minutes"], data["rps"], 1, 0, started_s=kw["started_s"],
                                  now_s=kw["now_s"], live=6.0)
    assert rps == ("rps", "h", "UTC", tuple(xs), tuple(sig(y) for y in ys), 1, tuple(covers), AXIS, (80, 20))
    assert rps[4][-1] == 6.0
    for not_a_number in (None, "6", True):  # the minute's own requests so far, over its 30 s so far
        assert prepare("rps", data, **kw, live=not_a_number)[4][-1] == 2.0


def test_rps_before_the_gateway_started_is_blank():
    rps = prepare("rps", series(n=10, rps=[0.0] * 10), started_s=(START + 5) * 60.0, now_s=(START + 10) * 60.0)
    assert rps[4][:5] == (None,) * 5 and rps[4][5:] == (0.0,) * 5


def test_latency_is_blank_without_requests_and_rounded_otherwise():
    data = series(n=4, rps=[0, 2.0, 0, 1.0], p50=[0, 123.456, 0, 50.0], p95=[0, 400.0, 0, 999.99])
    latency = prepare("latency", data)
    _, p50, p95, covers = latency_buckets(data["minutes"], data["rps"], data["p50_ms"], data["p95_ms"], 1, 0)
    assert latency[:4] == ("latency", "h", "UTC", tuple(data["minutes"]))
    assert latency[4] == (None, 123.0, None, 50.0) and latency[5] == (None, 400.0, None, 1000.0)
    assert latency[6] == 1 and latency[7] == tuple(covers)


def test_an_unknown_plot_raises():
    with pytest.raises(KeyError):
        prepare("bars", series())


class RecordingPlt:
    """The plotext calls draw_series makes, in order."""

    def __init__(self):
        self.calls: list[tuple] = []

    def __getattr__(self, name):
        return lambda *args, **kwargs: self.calls.append((name, args, kwargs))

    def named(self, name: str) -> list[tuple]:
        return [(args, kwargs) for n, args, kwargs in self.calls if n == name]


def test_drawing_without_data_says_so():
    plt = RecordingPlt()
    draw_series(plt, "rps", ("rps", "h", "UTC", (), (), 1, (), AXIS, (80, 20)))
    assert plt.calls == [("title", ("no data yet",), {})]


def test_spend_draws_cell_columns_for_positive_buckets_only():
    plt = RecordingPlt()
    covers = tuple((START + i, START + i + 1) for i in range(60))
    values = (0.0,) * 10 + (5.0,) + (0.0,) * 49
    draw_series(plt, "spend", ("spend", "h", "UTC", "₹", 1, tuple(range(60)), values, covers, AXIS, (80, 20)))
    (args, kwargs), = plt.named("scatter")
    assert kwargs == {"marker": BAR_FILL, "color": "green"}
    (xlim, _), = plt.named("xlim")
    cols = xlim[1] + 1
    assert set(args[0]) == set(range(*AXIS.cells(START + 10, START + 11, cols)))  # the bucket's columns only
    assert plt.named("ylim") and plt.named("xticks") and plt.named("yticks")


def test_lines_break_where_there_is_no_value_and_a_lone_point_is_a_dot():
    plt = RecordingPlt()
    covers = tuple((START + i, START + i + 1) for i in range(6))
    ys = (1.0, 2.0, None, 3.0, None, None)
    draw_series(plt, "rps", ("rps", "h", "UTC", tuple(range(6)), ys, 1, covers, AXIS, (40, 10)))
    lines, dots = plt.named("plot"), plt.named("scatter")
    assert [args[1] for args, _ in lines] == [[1.0, 2.0]] and [args[1] for args, _ in dots] == [[3.0]]
    assert lines[0][1] == {"marker": "braille", "color": "cyan"}  # a small plot: braille
    big = RecordingPlt()
    draw_series(big, "latency", ("latency", "h", "UTC", tuple(range(6)), ys, ys, 1, covers, AXIS, (120, 40)))
    assert [kw["color"] for _, kw in big.named("plot")] == ["green", "red"]
    assert {kw["marker"] for _, kw in big.named("plot")} == {"hd"}
