"""Plots (5): what reaches the screen. Bars proportional to spend and every bar labelled, empty spend
buckets drawn empty, round evenly spaced ticks, requests/s on the header's definition, no latency (a gap,
not 0 ms) where there were no requests, no requests/s before the gateway started, requests/s averaged
over the running time only, and one time axis with round local-time ticks for the three time plots.
Checked on the prepared data, on the rendered plotext text (what the terminal shows) at 80x24 and
120x40, with a fixed clock and series, and on the pure helpers in app.tui.plot_axes / plot_time."""
from __future__ import annotations

import math
import re
from datetime import datetime
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest

from app.tui.plot_axes import (bar_cells, compact_number, fit_bar_labels, fit_names, nice_axis,
                               tick_texts, value_row)
from app.tui.plot_time import TimeAxis, latency_buckets, rate_buckets, running_seconds, time_axis
from app.tui.screens.plots import PlotsScreen
from tui_harness import FakeSource, make_app

PER_USD = 84.0
START = 29_500_000  # an epoch minute
HOUR = 29_460_000  # an epoch minute on a UTC hour
SIZES = [(80, 24), (120, 40)]


def micro(inr: float) -> int:
    """micro-USD for an amount in rupees at 84/USD."""
    return round(inr / PER_USD * 1_000_000)


# QA's moment: the budgets screen showed intern-sam ₹15.85 and maria ₹63.51
BY_KEY = {"maria": micro(63.51), "intern-sam": micro(15.85), "pranay": micro(5.27), "li": micro(4.47), "asha": 0}
BY_TEAM = {"frontend": micro(52.87), "interns": micro(9.77), "backend": micro(3.10)}
BY_MODEL = {"claude-opus-4-1": micro(52.50), "claude-sonnet-4-5": micro(8.79), "claude-haiku-4-5": micro(1.20)}


def series(n: int = 60, spend: dict[int, int] | None = None, rps: list[float] | None = None) -> dict:
    """n minutes ending now (the last one in progress); spend only in the given minutes (index -> micro)."""
    spend = spend or {}
    return {"minutes": list(range(START, START + n)),
            "rps": rps if rps is not None else [0.0] * n,
            "p50_ms": [200.0 if i >= n - 3 else 0.0 for i in range(n)],
            "p95_ms": [261.0 if i >= n - 3 else 0.0 for i in range(n)],
            "spend_micro_usd": [spend.get(i, 0) for i in range(n)],
            "by_key": dict(BY_KEY), "by_team": dict(BY_TEAM), "by_model": dict(BY_MODEL)}


def plots_app(data: dict | None = None, **summary):
    fake = FakeSource(summary=summary or None)
    fake.series_data = data if data is not None else series()
    return make_app(fake), fake


async def open_plots(app, pilot) -> PlotsScreen:
    await pilot.press("5")
    await pilot.pause()
    app.refresh_screen()
    await app.workers.wait_for_complete()
    await pilot.pause()
    screen = app.screen
    assert isinstance(screen, PlotsScreen)
    return screen


async def press(app, pilot, key: str) -> None:
    await pilot.press(key)
    await pilot.pause()
    await app.workers.wait_for_complete()
    await pilot.pause()


def lines(screen: PlotsScreen, name: str) -> list[str]:
    """The plot as the terminal shows it (plotext's build at the widget's size), one str per row."""
    return screen.plot(name).render().plain.splitlines()


def bar_rows(screen: PlotsScreen) -> list[tuple[str, int, int]]:
    """(label, filled cells, canvas columns) for every labelled row of the bars plot."""
    out = []
    for line in lines(screen, "bars"):
        if "┤" in line:
            label, _, rest = line.partition("┤")
            canvas = rest.rstrip().removesuffix("│")
            out.append((label.strip(), canvas.count("█"), len(canvas)))
    return out


def y_ticks(screen: PlotsScreen, name: str) -> list[tuple[int, float]]:
    """(row from the bottom, value) of every y tick label of a time-series plot."""
    canvas = [line for line in lines(screen, name) if re.match(r"^\s*[\d.]*[kM]?[┤│]", line)]
    ticks = []
    for i, line in enumerate(reversed(canvas)):
        label, sep, _ = line.partition("┤")
        if sep and label.strip():
            text = label.strip()
            mult = {"k": 1e3, "M": 1e6}.get(text[-1], 1)
            ticks.append((i, float(text.rstrip("kM")) * mult))
    assert canvas  # the plot was built
    return ticks


def assert_even_round_ticks(ticks: list[tuple[int, float]]) -> None:
    assert len(ticks) >= 2, ticks
    rows = [r for r, _ in ticks]
    values = [v for _, v in ticks]
    assert values[0] == 0 and rows[0] == 0, ticks
    steps = {round(b - a, 9) for a, b in pairwise(values)}
    gaps = {b - a for a, b in pairwise(rows)}
    assert len(steps) == 1 and len(gaps) == 1, ticks  # even in value and on screen
    step = steps.pop()
    mantissa = step / 10 ** math.floor(math.log10(step))
    assert any(math.isclose(mantissa, m) for m in (1, 2, 2.5, 5)), ticks


IST = ZoneInfo("Asia/Kolkata")  # FakeSource's timezone


def local_minute(*args) -> int:
    """The epoch minute of a local (IST) time."""
    return int(datetime(*args, tzinfo=IST).timestamp() // 60)


def window_series(last: int, n: int, rps: dict[int, float], latency: dict[int, tuple[float, float]]) -> dict:
    """n minutes ending with `last` (in progress): requests/s and (p50, p95) in the given minutes (by epoch
    minute), 0 elsewhere, as the gateway's series reports minutes without requests."""
    minutes = list(range(last - n + 1, last + 1))
    return {"minutes": minutes, "rps": [rps.get(m, 0.0) for m in minutes],
            "p50_ms": [latency.get(m, (0.0, 0.0))[0] for m in minutes],
            "p95_ms": [latency.get(m, (0.0, 0.0))[1] for m in minutes],
            "spend_micro_usd": [micro(1.0) if rps.get(m) else 0 for m in minutes],
            "by_key": dict(BY_KEY), "by_team": dict(BY_TEAM), "by_model": dict(BY_MODEL)}


async def at(app, pilot, screen: PlotsScreen, now_s: float, **summary) -> None:
    """Fetch again with the wall clock at `now_s` (and these overview summary fields), then draw."""
    app.state.overview.setdefault("summary", {}).update(summary)
    screen.wall_clock = lambda: now_s
    screen.started_s = -math.inf
    screen._last_fetch = -math.inf
    screen.request_fetch()
    await app.workers.wait_for_complete()
    screen.update_plots(force=True)
    await pilot.pause()


def canvas(screen: PlotsScreen, name: str) -> tuple[list[str], str, str]:
    """(the canvas rows top to bottom, the x axis row, the x tick label row) of a time plot, each cut to
    the canvas's columns (the label row from the plot's left edge: labels may start left of the canvas)."""
    rendered = lines(screen, name)
    top = next(i for i, line in enumerate(rendered) if "┌" in line)
    bottom = next(i for i, line in enumerate(rendered) if "└" in line)
    left, right = rendered[bottom].index("└") + 1, rendered[bottom].rindex("┘")
    rows = [line[left:right] for line in rendered[top + 1:bottom]]
    return rows, rendered[bottom][left:right], rendered[bottom + 1] if bottom + 1 < len(rendered) else ""


def x_ticks(screen: PlotsScreen, name: str) -> list[tuple[int, str]]:
    """(cell, label) of every x tick of a time plot as rendered: each ┬ with the label nearest it."""
    _, axis_row, label_row = canvas(screen, name)
    rendered = lines(screen, name)
    left = next(line for line in rendered if "└" in line).index("└") + 1
    marks = [i for i, ch in enumerate(axis_row) if ch == "┬"]
    labels = [(m.start() + len(m.group()) / 2 - left, m.group()) for m in re.finditer(r"\S+(?: \S+)?", label_row)]
    assert len(marks) == len(labels), (axis_row, label_row)  # every tick labelled, every label a tick
    return [(c, label) for c, (_, label) in zip(marks, sorted(labels))]


def is_mark(ch: str) -> bool:
    """A braille or block cell: something drawn."""
    return "\u2801" <= ch <= "\u28ff" or ch in "█▀▄▌▐▖▗▘▙▚▛▜▝▞▟"


def drawn_cells(rows: list[str]) -> set[int]:
    """Columns with anything drawn in them, in any row (legend rows, "p50"/"p95", left out)."""
    return {c for row in rows if "p50" not in row and "p95" not in row for c, ch in enumerate(row) if is_mark(ch)}


def cell_of(axis: TimeAxis, minute: float, cols: int) -> int:
    return math.floor((minute - axis.start) * cols / (axis.end - axis.start))


def clock_minutes(label: str, day: bool) -> int:
    """Minutes after local midnight of a tick label ("05:20", "Fri 06:00"; "28 Nov" is midnight)."""
    if re.fullmatch(r"\d\d [A-Z][a-z]{2}", label):
        assert day, label
        return 0
    hh, mm = label.split()[-1].split(":")
    return int(hh) * 60 + int(mm)


# -- bars: proportional, every one labelled -------------------------------------------------------
@pytest.mark.parametrize("size", SIZES)
async def test_bars_are_proportional_to_spend(size):
    app, _ = plots_app()
    async with app.run_test(size=size) as pilot:
        screen = await open_plots(app, pilot)
        rows = bar_rows(screen)
        assert [label.split()[0] for label, _, _ in rows] == ["maria", "intern-sam", "pranay", "li", "asha"]
        cols = rows[0][2]
        assert rows[0][1] == cols  # the largest fills the width
        values = {"maria": 63.51, "intern-sam": 15.85, "pranay": 5.27, "li": 4.47, "asha": 0.0}
        for label, cells, _ in rows:
            expected = cols * values[label.split()[0]] / 63.51
            assert abs(cells - expected) <= 1, (label, cells, expected, cols)
        assert rows[-1][0].startswith("asha") and rows[-1][1] == 0  # no spend, no bar
        # intern-sam is about a quarter of maria, never the same length (QA: both were full width)
        assert rows[1][1] < rows[0][1] / 3
        # the data fed to plotext: the same values as the budgets screen would show
        drawn = dict(screen.drawn["bars"][3])
        assert drawn["maria"] == pytest.approx(63.51, abs=0.06) and drawn["intern-sam"] == pytest.approx(15.85, abs=0.06)
        assert "63.51" in rows[0][0] and "15.85" in rows[1][0]


@pytest.mark.parametrize("size", SIZES)
async def test_every_bar_is_labelled_by_key_team_and_model(size):
    app, _ = plots_app()
    async with app.run_test(size=size) as pilot:
        screen = await open_plots(app, pilot)
        expected = {"k": ["maria", "intern-sam", "pranay", "li", "asha"],
                    "t": ["frontend", "interns", "backend"],
                    "m": ["opus-4-1", "sonnet-4-5", "haiku-4-5"]}  # "claude-" dropped
        for key in ("m", "t", "k"):
            await press(app, pilot, key)
            rows = bar_rows(screen)
            assert [label.split()[0] for label, _, _ in rows] == expected[key], (key, rows)
            assert len({label for label, _, _ in rows}) == len(rows)
            # the longest bar is labelled too (QA: opus had none), and every label has its value
            assert rows[0][1] == rows[0][2]
            for label, _, _ in rows:
                assert re.search(r"\d+\.\d\d$", label), label
        assert "by key" in str(screen.plot("bars").border_title)


async def test_bars_fit_long_names_and_many_keys_at_80x24():
    data = series()
    data["by_key"] = {f"backend-service-account-{i:02d}": micro(10.0 + i) for i in range(14)}
    app, _ = plots_app(data)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_plots(app, pilot)
        rows = bar_rows(screen)
        labels = [label for label, _, _ in rows]
        assert labels[-1].startswith("(others)")
        assert len(set(labels)) == len(labels)  # clipped names stay distinct
        width = screen.plot("bars").size.width
        assert all(len(label) <= max(12, width // 2) for label in labels)
        drawn = screen.drawn["bars"][3]
        assert sum(v for _, v in drawn) == pytest.approx(sum(10.0 + i for i in range(14)), rel=1e-2)
        assert len(drawn) == len(rows)  # every bar drawn has its label


# -- spend over time: empty buckets are empty --------------------------------------------------------
@pytest.mark.parametrize("size", SIZES)
async def test_empty_spend_buckets_draw_nothing(size):
    # a gateway a few minutes old: spend in three of sixty minutes
    app, _ = plots_app(series(spend={55: micro(20.0), 56: micro(10.0), 58: micro(5.0)}))
    async with app.run_test(size=size) as pilot:
        screen = await open_plots(app, pilot)
        drawn = screen.drawn["spend"]
        values = drawn[6]
        assert sum(1 for v in values if v > 0) <= 3 and sum(values) == pytest.approx(35.0, rel=1e-2)
        zero_row = next(line for line in lines(screen, "spend") if line.strip().startswith("0┤"))
        canvas = zero_row.partition("┤")[2].rstrip().removesuffix("│")
        filled = canvas.count("█")
        axis, covers = drawn[-2], drawn[7]
        cells = set()
        for (lo, hi), v in zip(covers, values):
            if v > 0:
                cells.update(range(*axis.cells(lo, hi, len(canvas))))
        assert filled == len(cells)  # each bucket's columns at its time on the axis, nothing for 0
        assert {i for i, ch in enumerate(canvas) if ch == "█"} == cells
        assert canvas[: len(canvas) // 2].strip() == ""  # the first half hour had no spend: blank


async def test_no_spend_draws_no_cells():
    app, _ = plots_app(series())
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_plots(app, pilot)
        assert not any("█" in line for line in lines(screen, "spend"))


async def test_spend_column_heights_follow_the_axis():
    app, _ = plots_app(series(spend={i: micro(40.0 * (i + 1) / 60) for i in range(60)}))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_plots(app, pilot)
        rendered = lines(screen, "spend")
        canvas = [line.partition("┤")[2] if "┤" in line else line.partition("│")[2]
                  for line in rendered if re.match(r"^\s*[\d.]*[┤│]", line)]
        heights = [sum(1 for row in canvas if len(row) > c and row[c] == "█") for c in range(len(canvas[0]) - 1)]
        assert heights == sorted(heights) and heights[0] >= 1  # growing spend: growing columns


# -- ticks -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("size", SIZES)
async def test_y_ticks_are_round_and_evenly_spaced(size):
    rps = [5.0] * 59 + [1.6]
    app, _ = plots_app(series(spend={i: micro(62.7 * (i % 7) / 6) for i in range(60)}, rps=rps), rps=5.0)
    async with app.run_test(size=size) as pilot:
        screen = await open_plots(app, pilot)
        for name in ("spend", "rps", "latency"):
            ticks = y_ticks(screen, name)
            assert_even_round_ticks(ticks)


@pytest.mark.parametrize("vmax", [0, 0.004, 0.9, 1.06, 3.23, 22.4, 35.4, 62.7, 261, 1850, 12_345, 2.5e6])
@pytest.mark.parametrize("rows", [2, 3, 5, 6, 8, 13, 17, 30])
def test_nice_axis(vmax, rows):
    ticks, top = nice_axis(vmax, rows)
    assert top >= vmax and ticks[0] == 0 and len(ticks) >= 2
    assert ticks[-1] <= top * (1 + 1e-9)
    step = ticks[1] - ticks[0]
    assert all(math.isclose(b - a, step) for a, b in pairwise(ticks))
    mantissa = step / 10 ** math.floor(math.log10(step))
    assert any(math.isclose(mantissa, m) for m in (1, 2, 2.5, 5))
    row_of = [value_row(t, top, rows) for t in ticks]
    assert len({b - a for a, b in pairwise(row_of)}) == 1  # evenly spaced rows too
    assert len(set(row_of)) == len(ticks)
    if rows >= 7:
        assert len(ticks) >= 4 and top <= 2.1 * (vmax or 1)  # the data uses half the height or more


def test_tick_texts():
    assert tick_texts([0, 20, 40]) == ["0", "20", "40"]
    assert tick_texts([0, 0.5, 1.0]) == ["0", "0.5", "1.0"]
    assert tick_texts([0, 0.25, 0.5]) == ["0", "0.25", "0.50"]
    assert tick_texts([0, 10_000, 20_000]) == ["0", "10k", "20k"]


# -- requests/s: the header's definition ---------------------------------------------------------------
async def test_rps_matches_the_header_rate():
    # a steady 5 req/s; the current minute is a third done (100 requests so far: 1.67 "per minute")
    rps = [0.0] * 50 + [5.0] * 9 + [round(100 / 60, 3)]
    app, _ = plots_app(series(rps=rps), rps=5.0)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_plots(app, pilot)
        drawn = screen.drawn["rps"]
        assert max(drawn[4]) == pytest.approx(5.0)
        assert drawn[4][-1] == pytest.approx(5.0)  # not diluted by the minute in progress
        assert drawn[3][-1] == START + 59
        title = str(screen.plot("rps").border_title)
        assert f"{drawn[5]} min avg" in title
        top = max(v for _, v in y_ticks(screen, "rps"))
        assert top >= 5.0


async def test_rps_without_a_header_rate_counts_the_current_minute_so_far():
    # 100 requests in the 20 s of the current minute so far: 5/s, like the minutes before it
    rps = [5.0] * 59 + [round(100 / 60, 3)]
    app, _ = plots_app(series(rps=rps))
    async with app.run_test(size=(120, 40)) as pilot:
        app.state.overview["summary"].pop("rps", None)
        screen = await open_plots(app, pilot)
        await at(app, pilot, screen, (START + 59) * 60 + 20)
        drawn = screen.drawn["rps"]
        assert drawn[3][-1] == START + 59 and set(drawn[4]) == {5.0}


def test_rate_buckets():
    minutes = list(range(START, START + 60))
    rates = [float(i % 4) for i in range(60)]
    xs, ys, _ = rate_buckets(minutes, rates, 1)
    assert ys == rates and xs == minutes
    xs, ys, _ = rate_buckets(minutes, rates, 3)
    for x, y in zip(xs, ys):  # each bucket: the mean of the whole minutes in it, clock-aligned
        members = [r for m, r in zip(minutes, rates) if m // 3 == x // 3]
        assert y == pytest.approx(sum(members) / len(members))
    day = list(range(START, START + 1440))
    xs, ys, _ = rate_buckets(day, [2.0] * 1440, 60, offset_min=330)
    assert set(ys) == {2.0} and len(xs) in (24, 25)
    assert all((x + 330) % 60 == 59 for x in xs[:-1])  # buckets end on the local hour


def test_rate_buckets_count_only_the_running_time():
    # one hour (UTC): the gateway started at :42:30, it is :50:30 now; 4.8 req/s all along
    hour = list(range(HOUR, HOUR + 51))  # :00 .. :50, the last in progress
    started, now = hour[42] * 60 + 30, hour[50] * 60 + 30
    rps = [0.0] * 42 + [round(4.8 * 30 / 60, 3)] + [4.8] * 7 + [round(4.8 * 30 / 60, 3)]
    _, ys, covers = rate_buckets(hour, rps, 60, started_s=started, now_s=now, live=4.8)
    assert ys == [pytest.approx(4.8)]  # QA: 0.7, averaged over the hour before the start and to come
    assert covers == [(hour[42], hour[50] + 1)]
    # without the header's rate: the current minute's requests so far over its 30 s
    assert rate_buckets(hour, rps, 60, started_s=started, now_s=now)[1] == [pytest.approx(4.8)]
    # ten-minute buckets: before the start no value (None), after it a real 0 where there were no requests
    rps2 = [0.0] * 45 + [3.0] * 6
    _, ys, _ = rate_buckets(hour, rps2, 10, started_s=hour[30] * 60, now_s=now, live=3.0)
    assert ys[:3] == [None, None, None] and ys[3] == 0.0 and ys[4] == pytest.approx(1.5)
    assert ys[5] == pytest.approx(3.0)
    assert running_seconds(hour[42], started, now) == 30 and running_seconds(hour[41], started, now) == 0
    assert running_seconds(hour[50], started, now) == 30 and running_seconds(hour[43], started, now) == 60


def test_latency_buckets_leave_minutes_without_requests_out():
    minutes = list(range(HOUR, HOUR + 12))
    rps = [0.0] * 4 + [1.0, 3.0] + [0.0] * 4 + [2.0, 2.0]
    p50 = [0.0] * 4 + [100.0, 200.0] + [0.0] * 4 + [300.0, 300.0]
    p95 = [0.0] * 4 + [150.0, 400.0] + [0.0] * 4 + [350.0, 500.0]
    _, o50, o95, covers = latency_buckets(minutes, rps, p50, p95, 2)
    assert o50[:2] == [None, None] and o95[:2] == [None, None]  # no requests: no latency, not 0 ms
    assert o50[2] == pytest.approx((1 * 100 + 3 * 200) / 4) and o95[2] == 400.0  # weighted mean, max
    assert o50[3:5] == [None, None] and o50[5] == 300.0 and o95[5] == 500.0
    assert covers[2] == (HOUR + 4, HOUR + 6)


# -- label helpers ------------------------------------------------------------------------------------
def test_fit_bar_labels():
    names, labels = fit_bar_labels(["maria", "intern-sam", "asha"], [63.51, 15.85, 0.0], 19)
    assert names == ["maria", "intern-sam", "asha"]
    assert labels == ["maria      63.51", "intern-sam 15.85", "asha        0.00"]
    names, labels = fit_bar_labels(["backend-team-a", "backend-team-b", "x"], [1234.5, 2.0, 3.0], 12)
    assert len(set(names)) == 3 and all(len(label) <= 12 for label in labels)
    assert all(label.endswith(v) for label, v in zip(labels, ["1.23k", "2.00", "3.00"]))
    assert fit_names(["abcdefghij"], 5) == ["abcd…"]


def test_compact_number_and_bar_cells():
    assert [compact_number(v) for v in (0, 0.9, 63.51, 1234.5, 12_345, 999_999, 1.5e6)] == \
        ["0.00", "0.90", "63.51", "1.23k", "12.3k", "1.00M", "1.50M"]
    assert bar_cells(63.51, 63.51, 20) == 20 and bar_cells(15.85, 63.51, 20) == 5
    assert bar_cells(0.01, 63.51, 20) == 1 and bar_cells(0, 63.51, 20) == 0
    axis = TimeAxis(0, 60)
    assert [axis.cells(lo, lo + 20, 30) for lo in (0, 20, 40)] == [(0, 10), (10, 20), (20, 30)]
    assert axis.cells(30, 30.5, 30) == (15, 16)  # narrower than a cell: still one


# -- QA, with the demo 20 minutes old: gaps, the gateway's start, one time axis --------------------------
NOW_MIN = local_minute(2026, 11, 28, 5, 50)  # a Saturday, 05:50 IST; the minute in progress
NOW_S = NOW_MIN * 60 + 30  # 05:50:30
STARTED_MIN = local_minute(2026, 11, 28, 5, 30)  # the gateway started at 05:30:00: 20.5 minutes up
BUSY_MIN = local_minute(2026, 11, 28, 5, 40)  # requests from 05:40 on (none 05:30-05:39)


def qa_series(n: int) -> dict:
    busy = range(BUSY_MIN, NOW_MIN + 1)
    rps = {m: 5.0 for m in busy} | {NOW_MIN: 2.5}  # the current minute: 75 requests in its 30 s
    return window_series(NOW_MIN, n, rps, {m: (200.0, 261.0) for m in busy})


async def qa_screen(app, fake, pilot, window: str) -> PlotsScreen:
    """The plots screen on the QA series for `window`, at 05:50:30 with the gateway up since 05:30."""
    screen = await open_plots(app, pilot)
    if window == "d":
        fake.series_data = qa_series(1440)
        await press(app, pilot, "d")
    await at(app, pilot, screen, NOW_S, uptime_s=NOW_S - STARTED_MIN * 60)
    return screen


@pytest.mark.parametrize("window", ["h", "d"])
@pytest.mark.parametrize("size", SIZES)
async def test_latency_is_blank_without_requests(size, window):
    app, fake = plots_app(qa_series(60), rps=5.0)
    async with app.run_test(size=size) as pilot:
        screen = await qa_screen(app, fake, pilot, window)
        drawn = screen.drawn["latency"]
        assert drawn[1] == window and len(drawn[-2].labels) >= 2
        assert drawn[-2].end - drawn[-2].start == (60 if window == "h" else 1440)
        axis, covers = drawn[-2], drawn[-3]
        for (lo, hi), p50, p95 in zip(covers, drawn[4], drawn[5]):
            if hi <= BUSY_MIN:  # no requests in the bucket: no latency, not 0 ms
                assert p50 is None and p95 is None, (lo, hi)
            else:
                assert p50 == 200.0 and p95 == 261.0
        rows, _, _ = canvas(screen, "latency")
        cols = len(rows[0])
        assert not any(is_mark(ch) for ch in rows[-1])  # QA: 0┤⣀⣀⣀… along the whole window
        first = cell_of(axis, BUSY_MIN, cols)
        assert drawn_cells(rows) and min(drawn_cells(rows)) >= first  # blank before the first request
        # no legend over the plot's top rows (the title names the colours): at 80x24 it took two of five
        assert not any("p50" in line or "p95" in line for line in lines(screen, "latency"))


@pytest.mark.parametrize("size", SIZES)
async def test_rps_is_blank_before_the_gateway_started_and_zero_after(size):
    app, fake = plots_app(qa_series(60), rps=5.0)
    async with app.run_test(size=size) as pilot:
        screen = await qa_screen(app, fake, pilot, "h")
        assert screen.started_s == STARTED_MIN * 60
        drawn = screen.drawn["rps"]
        axis, covers, span = drawn[-2], drawn[-3], drawn[5]
        values = dict(zip(covers, drawn[4]))
        assert all(v is None for (lo, hi), v in values.items() if hi <= STARTED_MIN)  # no gateway yet
        assert all(v == 0.0 for (lo, hi), v in values.items() if lo >= STARTED_MIN and hi <= BUSY_MIN)
        assert any(lo >= STARTED_MIN and hi <= BUSY_MIN for lo, hi in values)  # an idle bucket: a real 0
        assert drawn[4][-1] == pytest.approx(5.0)  # the header's rate, not 2.5 (half a minute over 60 s)
        rows, _, _ = canvas(screen, "rps")
        cols = len(rows[0])
        start_cell = cell_of(axis, STARTED_MIN, cols)
        assert min(drawn_cells(rows)) >= start_cell  # nothing before the gateway existed
        zero_row = rows[-1]
        idle = range(cell_of(axis, STARTED_MIN + span, cols), cell_of(axis, BUSY_MIN - span, cols))
        assert any(is_mark(zero_row[c]) for c in idle), zero_row  # idle but running: drawn at 0
        assert not any(is_mark(ch) for ch in zero_row[:start_cell])


@pytest.mark.parametrize("size", SIZES)
async def test_day_view_rps_is_averaged_over_the_running_time(size):
    # QA: the header at 4.8 req/s, the "1 h avg" line ending around 0.7
    app, fake = plots_app(qa_series(60), rps=4.8)
    async with app.run_test(size=size) as pilot:
        screen = await open_plots(app, pilot)
        busy = range(STARTED_MIN, NOW_MIN + 1)  # requests at 4.8/s since the start this time
        fake.series_data = window_series(NOW_MIN, 1440, {m: 4.8 for m in busy} | {NOW_MIN: 2.4},
                                         {m: (200.0, 261.0) for m in busy})
        await press(app, pilot, "d")
        await at(app, pilot, screen, NOW_S, uptime_s=NOW_S - STARTED_MIN * 60)
        drawn = screen.drawn["rps"]
        assert drawn[1] == "d" and drawn[5] >= 30
        assert drawn[4][-1] == pytest.approx(4.8, rel=0.01)  # not diluted by 05:00-05:30 nor 05:51-06:00
        assert all(v is None for (lo, hi), v in zip(drawn[-3], drawn[4]) if hi <= STARTED_MIN)
        assert all(v == pytest.approx(4.8, rel=0.01) for v in drawn[4] if v is not None)
        title = str(screen.plot("rps").border_title)
        assert f"{drawn[5] // 60} h avg" in title if drawn[5] >= 60 else f"{drawn[5]} min avg" in title
        # the line's last point is on the row of 4.8, not near 0
        rows, _, _ = canvas(screen, "rps")
        ticks = y_ticks(screen, "rps")
        top_row = max(r for r, row in enumerate(reversed(rows)) if any(is_mark(ch) for ch in row))
        step_rows, step = ticks[1][0] - ticks[0][0], ticks[1][1] - ticks[0][1]
        assert abs(top_row - 4.8 / step * step_rows) <= 1


@pytest.mark.parametrize("window", ["h", "d"])
@pytest.mark.parametrize("size", SIZES)
async def test_the_time_plots_share_round_evenly_spaced_ticks(size, window):
    app, fake = plots_app(qa_series(60), rps=5.0)
    async with app.run_test(size=size) as pilot:
        screen = await qa_screen(app, fake, pilot, window)
        axes = {screen.drawn[name][-2] for name in ("spend", "rps", "latency")}
        assert len(axes) == 1  # one axis
        axis = axes.pop()
        assert (axis.start, axis.end) == (NOW_MIN - (59 if window == "h" else 1439), NOW_MIN + 1)
        rendered = {}
        for name in ("spend", "rps", "latency"):
            ticks = x_ticks(screen, name)
            cols = len(canvas(screen, name)[0][0])
            assert len(ticks) >= 2, (name, ticks)
            labels = [label for _, label in ticks]
            rendered[name] = labels
            assert len(set(labels)) == len(labels)  # no two ticks with the same text (QA: 05:00 twice)
            times = [t for t in axis.ticks if axis.labels[axis.ticks.index(t)] in labels]
            assert len(times) == len(labels)
            for (cell, label), t in zip(ticks, times):  # each at its true position
                assert cell == cell_of(axis, t, cols), (name, label, cell)
                local = datetime.fromtimestamp(t * 60, IST)
                assert clock_minutes(label, window == "d") == local.hour * 60 + local.minute
            steps = {b - a for a, b in pairwise(times)}
            assert len(steps) == 1, (name, labels)  # evenly spaced in time
            step = steps.pop()
            assert step in ((10, 15, 20, 30) if window == "h" else (180, 240, 360, 720)), (name, labels)
            assert all(clock_minutes(label, window == "d") % step == 0 for label in labels)  # round
            gaps = {b - a for (a, _), (b, _) in pairwise(ticks)}
            assert max(gaps) - min(gaps) <= 1  # evenly spaced on screen (to the cell)
            if window == "d":
                assert "28 Nov" in labels  # midnight carries the date
        assert rendered["spend"] == rendered["rps"] == rendered["latency"]  # the same ticks in the three


@pytest.mark.parametrize("size", SIZES)
async def test_day_view_ticks_that_repeat_a_clock_time_show_the_day(size):
    last = local_minute(2026, 11, 28, 5, 59)  # the window: Fri 06:00 to Sat 06:00
    app, fake = plots_app(window_series(last, 60, {}, {}))
    async with app.run_test(size=size) as pilot:
        screen = await open_plots(app, pilot)
        fake.series_data = window_series(last, 1440, {last: 1.0}, {last: (100.0, 100.0)})
        await press(app, pilot, "d")
        await at(app, pilot, screen, last * 60 + 30)
        axis = screen.drawn["rps"][-2]
        for name in ("spend", "rps", "latency"):
            labels = [label for _, label in x_ticks(screen, name)]
            assert len(set(labels)) == len(labels), labels
            clock = [label.split()[-1] for label in labels if ":" in label]
            repeated = {c for c in clock if clock.count(c) > 1}
            for label in labels:  # a clock time shown twice says which day each is
                if label.split()[-1] in repeated:
                    assert re.fullmatch(r"(Fri|Sat) \d\d:\d\d", label), labels
        if size == (120, 40):  # room for them: 6-hourly, both 06:00s shown with their day
            assert axis.labels == ("Fri 06:00", "Fri 12:00", "Fri 18:00", "28 Nov", "Sat 06:00")


def test_time_axis_steps():
    hour = local_minute(2026, 11, 28, 4, 51)
    for cols, step in ((30, 20), (50, 10), (100, 5)):
        axis = time_axis(hour, hour + 60, IST, cols, day=False)
        times = [datetime.fromtimestamp(t * 60, IST) for t in axis.ticks]
        assert all((t.hour * 60 + t.minute) % step == 0 for t in times), (cols, axis.labels)
        assert {b - a for a, b in pairwise(axis.ticks)} == {step}, (cols, axis.labels)
    day = local_minute(2026, 11, 27, 5, 51)
    for cols, step in ((30, 720), (52, 360), (80, 180), (120, 120)):
        axis = time_axis(day, day + 1440, IST, cols, day=True)
        assert {b - a for a, b in pairwise(axis.ticks)} == {step}, (cols, axis.labels)
        assert "28 Nov" in axis.labels
