"""Plots (5): what reaches the screen. Bars proportional to spend and every bar labelled, empty spend
buckets drawn empty, round evenly spaced ticks, requests/s on the header's definition. Checked on the
prepared data, on the rendered plotext text (what the terminal shows) at 80x24 and 120x40, and on the
pure helpers in app.tui.plot_axes."""
from __future__ import annotations

import math
import re
from itertools import pairwise

import pytest

from app.tui.plot_axes import (bar_cells, column_spans, compact_number, fit_bar_labels, fit_names, nice_axis,
                               tick_texts, value_row)
from app.tui.screens.plots import PlotsScreen, rate_buckets
from tui_harness import FakeSource, make_app

PER_USD = 84.0
START = 29_500_000  # an epoch minute
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
        spans = column_spans(len(values), len(canvas))
        assert filled == sum(hi - lo for (lo, hi), v in zip(spans, values) if v > 0)
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


async def test_rps_without_a_header_rate_leaves_the_current_minute_out():
    rps = [5.0] * 59 + [1.0]
    app, _ = plots_app(series(rps=rps))
    async with app.run_test(size=(120, 40)) as pilot:
        app.state.overview["summary"].pop("rps", None)
        screen = await open_plots(app, pilot)
        screen.update_plots(force=True)
        drawn = screen.drawn["rps"]
        assert drawn[3][-1] == START + 58 and set(drawn[4]) == {5.0}


def test_rate_buckets():
    minutes = list(range(START, START + 60))
    rates = [float(i % 4) for i in range(60)]
    xs, ys, span = rate_buckets(minutes, rates, 60)
    assert span == 1 and ys == rates and xs == minutes
    xs, ys, span = rate_buckets(minutes, rates, 30)
    assert span == 3 and len(xs) <= 30
    for x, y in zip(xs, ys):  # each bucket: the mean of the whole minutes in it, clock-aligned
        members = [r for m, r in zip(minutes, rates) if m // span == x // span]
        assert y == pytest.approx(sum(members) / len(members))
    # the bucket does not change as the window slides a minute
    assert rate_buckets(minutes[1:] + [START + 60], rates, 30)[2] == span
    day = list(range(START, START + 1440))
    xs, ys, span = rate_buckets(day, [2.0] * 1440, 30, offset_min=330)
    assert span == 60 and set(ys) == {2.0} and len(xs) <= 30
    assert all((x + 330) % 60 == 59 for x in xs[:-1])  # buckets end on the local hour


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
    assert column_spans(3, 10) == [(0, 3), (3, 6), (6, 10)]
    assert all(hi > lo for lo, hi in column_spans(12, 10))
