"""The three time plots of the plots screen (5): spend over time, requests/s and latency p50/p95. What
each shows (`prepare_series`: the series cut into buckets, plain hashable tuples) and how it is drawn
on a plotext figure (`draw_series`). No Textual here; the screen (app/tui/screens/plots.py) fetches,
decides when to redraw and owns the widgets.

- the three share one x axis (`TimeAxis`, app/tui/plot_time.py): the window (the last 60 or 1440
  minutes, ending with the current minute), ticks at round local times at their true positions, every
  bucket drawn where its time is;
- buckets are whole minutes aligned to the local clock, the same for the three plots (spend at least an
  hour in the day view), the smallest that gives at most one bucket per column;
- value axes have round, evenly spaced ticks on exact rows (`nice_axis`, app/tui/plot_axes.py), not
  plotext's own;
- every value is rounded to 3 significant digits (`sig`: what a plot a few dozen cells tall can show),
  so smaller changes are not new data;
- spend over time is one column of cells per bucket: an empty bucket draws nothing;
- requests/s per bucket is its requests over the seconds of it during which the gateway was running
  (its start from the overview's uptime_s), up to now: a bucket from before the gateway started has no
  value (blank), one after with no requests is 0. With one-minute buckets the minute in progress takes
  the header's rate (the last 60 s over 60), so the line ends at the header's number;
- latency per bucket comes from the minutes that had requests only (p50: their mean weighted by
  requests, p95: their maximum): a bucket without requests has no latency and is blank, not 0 ms.
"""
from __future__ import annotations

import math
from datetime import datetime, timedelta

from .plot_axes import canvas_size, nice_axis, row_value, tick_texts, value_row
from .plot_bars import BAR_FILL
from .plot_time import TimeAxis, choose_span, latency_buckets, rate_buckets, sum_buckets

BRAILLE_MAX_CELLS = 1600  # plots larger than this (in cells) draw lines with half blocks instead of braille
STARTED_SLACK = 5.0  # seconds: a gateway start estimate (now - uptime) that moves less is kept as it was


def sig(value: float, digits: int = 3) -> float:
    """`value` to `digits` significant digits: what a plot a few dozen cells tall can show. Changes
    below that do not count as new data (no redraw)."""
    if not value or not math.isfinite(value):
        return 0.0
    return round(value, digits - 1 - int(math.floor(math.log10(abs(value)))))


def _sig(value: float | None) -> float | None:
    return None if value is None else sig(value)


def series_now(wall_s: float, minutes: list) -> float:
    """Now (epoch seconds, from the wall clock) kept within the series' current minute (the last of
    `minutes`): a remote gateway's clock may differ."""
    if minutes:
        wall_s = min(max(wall_s, minutes[-1] * 60.0), minutes[-1] * 60.0 + 59.999)
    return wall_s


def gateway_started(now_s: float, uptime, known_s: float) -> float:
    """When the gateway started (epoch seconds): now minus its `uptime` (the overview's uptime_s), or
    `known_s`, the last estimate, while the new one moves less than STARTED_SLACK (the overview is up to
    a poll old), so the first bucket does not change every second; `known_s` too without an uptime."""
    if isinstance(uptime, (int, float)) and not isinstance(uptime, bool):
        started = now_s - float(uptime)
        if not abs(started - known_s) <= STARTED_SLACK:
            return started
    return known_s


def utc_offset_min(tz) -> int:
    """The zone's UTC offset now, in minutes (local clock buckets start at multiples of their span)."""
    offset = datetime.now(tz).utcoffset() or timedelta(0)
    return int(offset // timedelta(minutes=1))


def prepare_series(name: str, series: dict, window: str, tz_name: str | None, symbol: str, scale: float,
                   axis: TimeAxis, size: tuple[int, int], columns: int, offset: int, *, started_s: float,
                   now_s: float, live) -> tuple:
    """What time plot `name` should show, in at most one bucket per column (of `columns`), from `series`
    (the gateway's per-minute series for `window`; money in micro-USD, `scale` display units each):

    spend:   ("spend", window, tz, symbol, minutes per bucket, xs, values, covers, axis, size)
    rps:     ("rps", window, tz, xs, requests/s, minutes per bucket, covers, axis, size)
    latency: ("latency", window, tz, xs, p50, p95, minutes per bucket, covers, axis, size)
    xs are epoch minutes (each bucket's last), covers each bucket's [first, end) epoch minutes (for
    requests/s and latency: of the part with a value), values in the display currency, None for no
    value (drawn blank), axis the `TimeAxis` shared by the three, size (width, height) in cells.
    `offset` is the zone's UTC offset in minutes, `started_s` and `now_s` when the gateway started and
    now (epoch seconds), `live` the header's requests/s (not a number: none)."""
    xs = list(series.get("minutes") or [])
    span = choose_span(len(xs), columns)
    if name == "spend":
        per = max(span, 60) if window == "d" else span  # the day view: at least an hour
        values = [(v or 0) * scale for v in (series.get("spend_micro_usd") or [])[:len(xs)]]
        values += [0.0] * (len(xs) - len(values))
        px, py, covers = sum_buckets(xs, values, per, offset)
        return ("spend", window, tz_name, symbol, per, tuple(px), tuple(sig(y) for y in py),
                tuple(covers), axis, size)
    rates = [float(r or 0) for r in series.get("rps") or []][:len(xs)]
    if name == "rps":
        live = float(live) if isinstance(live, (int, float)) and not isinstance(live, bool) else None
        px, py, covers = rate_buckets(xs[:len(rates)], rates, span, offset, started_s=started_s,
                                      now_s=now_s, live=live)
        return ("rps", window, tz_name, tuple(px), tuple(_sig(y) for y in py), span, tuple(covers), axis, size)
    if name == "latency":
        px, p50, p95, covers = latency_buckets(xs, rates, series.get("p50_ms") or [],
                                               series.get("p95_ms") or [], span, offset)
        return ("latency", window, tz_name, tuple(px), tuple(_sig(y) for y in p50), tuple(_sig(y) for y in p95),
                span, tuple(covers), axis, size)
    raise KeyError(name)


def draw_series(plt, name: str, data: tuple) -> None:
    """Time plot `name` from its prepared `data` on the shared axis: x in canvas columns (`TimeAxis`), so
    every bucket is drawn at its true time and the ticks sit at theirs."""
    axis, (width, height) = data[-2], data[-1]
    covers = data[-3]
    if name == "spend":
        series = [data[6]]
    elif name == "rps":
        series = [data[4]]
    else:
        series = [data[4], data[5]]
    if not data[3 if name != "spend" else 5]:
        plt.title("no data yet")
        return
    _, lines = canvas_size(width, height, 0)
    vmax = max((v for s in series for v in s if v is not None), default=0.0)
    ticks, top = nice_axis(vmax, lines)
    texts = tick_texts(ticks)
    cols, lines = canvas_size(width, height, max(len(t) for t in texts))
    if name == "spend":  # a column of cells per bucket, up to its value's row; nothing for 0
        heights: dict[int, int] = {}
        for (lo, hi), value in zip(covers, data[6]):
            if value > 0:
                c0, c1 = axis.cells(lo, hi, cols)
                row = value_row(value, top, lines)
                for c in range(c0, c1):
                    heights[c] = max(heights.get(c, -1), row)
        cx = [c for c, top_row in heights.items() for _ in range(top_row + 1)]
        cy = [row_value(r, top, lines) for top_row in heights.values() for r in range(top_row + 1)]
        if cx:
            plt.scatter(cx, cy, marker=BAR_FILL, color="green")
    else:
        # braille lines cost about twice the half-block ones and grow with the plot's area
        marker = "braille" if width * height <= BRAILLE_MAX_CELLS else "hd"
        colors = ("cyan",) if name == "rps" else ("green", "red")  # the title names p50 green, p95 red:
        xs = [axis.position((lo + hi) / 2, cols) for lo, hi in covers]  # no legend over the plot's top rows
        for values, color in zip(series, colors):
            for run_x, run_y in value_runs(xs, values):  # a gap where there is no value
                if len(run_x) == 1:
                    plt.scatter(run_x, run_y, marker=marker, color=color)
                else:
                    plt.plot(run_x, run_y, marker=marker, color=color)
    plt.xlim(0, max(1, cols - 1))
    tick_cells, tick_labels = axis.placed_ticks(cols, max(len(t) for t in texts) + 1)
    plt.xticks(tick_cells, tick_labels)
    plt.ylim(0, top)
    plt.yticks(ticks, texts)


def value_runs(xs: list[float], ys: tuple) -> list[tuple[list[float], list[float]]]:
    """The stretches of consecutive points that have a value (None ends one)."""
    runs: list[tuple[list[float], list[float]]] = []
    current: tuple[list[float], list[float]] | None = None
    for x, y in zip(xs, ys):
        if y is None:
            current = None
            continue
        if current is None:
            current = ([], [])
            runs.append(current)
        current[0].append(x)
        current[1].append(y)
    return runs
