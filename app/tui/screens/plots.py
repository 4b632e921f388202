"""Plots (5): spend over time, requests/s, latency p50/p95, and this month's spend by key/team/model.

Keys: `h` last hour (one point per minute) / `d` last day (spend per hour; rates and latency per
bucket of minutes), `k` / `t` / `m` spend by key / team / model.

What is drawn (geometry in `app.tui.plot_axes`):
- value axes have round, evenly spaced ticks on exact rows (`nice_axis`), not plotext's own;
- spend over time is one column of cells per bucket, computed here: an empty bucket draws nothing (a
  filled plotext line paints its 0 row in every bucket);
- requests/s is, per clock-aligned bucket, the mean of its minutes' rates (a minute's requests over
  60 s), the header's definition (the last 60 s over 60) so the two compare. The minute in progress
  would read a third of its rate a third of the way into it, so it takes the header's own value
  instead: with one-minute buckets the line ends at the header's number. The title says the bucket
  ("1 min avg", "10 min avg");
- spend by key/team/model: one bar per row, its length proportional to the value (the longest fills
  the width), each labelled "name value" (fitted to the width: `fit_bar_labels`); rows that do not fit
  are summed into "(others)".

Cost (a textual-plotext rebuild is 4-30 ms depending on the plot's area and how jagged the line is,
and it runs on the gateway's event loop):
- the series is fetched from the source at most once a second (every 5 s in the day window), from
  `refresh_data` (which the app calls only while this screen is shown), in a worker: never two fetches
  at once, never blocking the UI;
- every series is downsampled to the plot's width in characters before plotting (1440 minutes become
  at most ~width points: sums for spend, means for rates and p50, maxima for p95) and rounded to 3
  significant digits (what a plot a few dozen cells tall can show);
- each plot keeps a hash of the data it last drew and is redrawn only when that changes, at most once a
  second, one plot per STAGGER (0.2 s) so a frame never carries two rebuilds, and only while the screen
  is shown; a hidden screen's pending redraw happens when it is shown again. A plot's first draw and the
  key toggles redraw at once;
- border titles are cached here: setting one re-renders (rebuilds) the whole plot.
"""
from __future__ import annotations

import math
import time
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid
from textual.widgets import Static
from textual_plotext import PlotextPlot

from ..plot_axes import (bar_cells, canvas_size, column_spans, fit_bar_labels, nice_axis, row_value, short_name,
                         tick_texts, value_row)
from .base import LiveScreen

FETCH_EVERY = 1.0  # seconds between series fetches (at most)
FETCH_EVERY_DAY = 5.0  # the day window: hourly points move slowly, and a 1440-minute series costs the
                       # gateway ~16 ms at 100 requests/minute (a latency sort per minute bucket)
DRAW_EVERY = 1.0  # seconds between data-driven redraws of one plot (at most)
STAGGER = 0.2  # seconds between two plots' data-driven redraws (one plotext rebuild per frame)
WINDOWS = {"h": ("last hour", 60), "d": ("last day", 1440)}
GROUPS = {"k": ("key", "by_key"), "t": ("team", "by_team"), "m": ("model", "by_model")}
PLOTS = ("spend", "rps", "latency", "bars")
BRAILLE_MAX_CELLS = 1600  # plots larger than this (in cells) draw lines with half blocks instead of braille
Y_LABEL_CELLS = 8  # plotext's y tick labels and axis take about this many columns
RATE_SPANS = (1, 2, 3, 5, 10, 15, 20, 30, 60, 120, 180, 240, 360, 720, 1440)  # minutes per requests/s bucket
OTHERS = "(others)"
BAR_FILL = "█"


def _zone(name: str | None):
    try:
        return ZoneInfo(name) if name else timezone.utc
    except (ZoneInfoNotFoundError, ValueError):
        return timezone.utc


def downsample(xs: list, ys: list, max_points: int, how: str = "mean") -> tuple[list, list]:
    """At most `max_points` points, each the aggregate (`sum`, `mean` or `max`) of a bucket of
    consecutive points, placed at the bucket's last x. Sums use equal buckets of ceil(n / max_points)
    points (so every point covers the same span of time); means and maxima use exactly `max_points`
    buckets of n // max_points or one more points."""
    n = len(xs)
    if n <= max_points or max_points <= 0:
        return list(xs), [float(y or 0) for y in ys]
    if how == "sum":
        step = math.ceil(n / max_points)
        bounds = [(i, min(n, i + step)) for i in range(0, n, step)]
    else:
        bounds = [(n * j // max_points, n * (j + 1) // max_points) for j in range(max_points)]
    values = [float(y or 0) for y in ys]
    out_x, out_y = [], []
    for lo, hi in bounds:
        chunk = values[lo:hi]
        out_x.append(xs[hi - 1])
        out_y.append(sum(chunk) if how == "sum" else (max(chunk) if how == "max" else sum(chunk) / len(chunk)))
    return out_x, out_y


def sig(value: float, digits: int = 3) -> float:
    """`value` to `digits` significant digits: what a plot a few dozen cells tall can show. Changes
    below that do not count as new data (no redraw)."""
    if not value or not math.isfinite(value):
        return 0.0
    return round(value, digits - 1 - int(math.floor(math.log10(abs(value)))))


def hourly(minutes: list[int], values: list, offset_min: int) -> tuple[list[int], list[float]]:
    """Sum per local clock hour (`offset_min` = the zone's UTC offset in minutes). x = the hour's first
    epoch minute."""
    xs: list[int] = []
    ys: list[float] = []
    for m, v in zip(minutes, values):
        hour = (m + offset_min) // 60 * 60 - offset_min
        if xs and xs[-1] == hour:
            ys[-1] += float(v or 0)
        else:
            xs.append(hour)
            ys.append(float(v or 0))
    return xs, ys


def rate_buckets(minutes: list[int], rps: list, max_points: int, offset_min: int = 0
                 ) -> tuple[list[int], list[float], int]:
    """Requests/s per bucket of whole minutes: (x = each bucket's last minute, rate, minutes per
    bucket). The bucket is the smallest of RATE_SPANS that gives at most `max_points` buckets, aligned
    to the local clock (`offset_min`: the zone's UTC offset) so buckets do not shift as time passes;
    each rate is the mean of its minutes' rates (= its requests over its seconds)."""
    n = len(minutes)
    if not n:
        return [], [], 1
    for span in RATE_SPANS:  # from the length alone (not the alignment), so it does not flap
        if -(-n // span) + (span > 1) <= max(1, max_points):  # + 1: a misaligned start adds a bucket
            break
    xs: list[int] = []
    sums: list[float] = []
    counts: list[int] = []
    key = None
    for m, r in zip(minutes, rps):
        k = (m + offset_min) // span
        if k != key:
            key = k
            xs.append(m)
            sums.append(0.0)
            counts.append(0)
        xs[-1] = m
        sums[-1] += float(r or 0)
        counts[-1] += 1
    return xs, [s / c for s, c in zip(sums, counts)], span


def span_text(minutes: int) -> str:
    return f"{minutes // 60} h" if minutes >= 60 and minutes % 60 == 0 else f"{minutes} min"


def tick_labels(xs: list[int], tz, count: int) -> tuple[list[int], list[str]]:
    """About `count` evenly spaced x positions (indexes into xs) with local HH:MM labels."""
    n = len(xs)
    if n == 0:
        return [], []
    count = max(2, min(count, n))
    idx = sorted({round(i * (n - 1) / (count - 1)) for i in range(count)})
    labels = [datetime.fromtimestamp(xs[i] * 60, tz).strftime("%H:%M") for i in idx]
    return idx, labels


class SeriesPlot(PlotextPlot):
    """A plot that tells its screen when its size changes (the downsampling depends on it)."""

    DEFAULT_CSS = """
    SeriesPlot { border: round $primary; height: 1fr; width: 1fr; }
    """

    def on_resize(self, event) -> None:
        screen = self.screen
        if isinstance(screen, PlotsScreen):
            screen.plot_resized()


class PlotsScreen(LiveScreen):
    TITLE = "Plots"
    DEFAULT_CSS = """
    PlotsScreen #plots-grid { grid-size: 2 2; height: 1fr; }
    PlotsScreen #plots-status { height: 1; padding: 0 1; background: $boost; }
    """
    BINDINGS = [
        Binding("h", "window('h')", "Hour", id="plots-hour"),
        Binding("d", "window('d')", "Day", id="plots-day"),
        Binding("k", "group('k')", "By key", id="plots-by-key"),
        Binding("t", "group('t')", "By team", id="plots-by-team"),
        Binding("m", "group('m')", "By model", id="plots-by-model"),
    ]

    def __init__(self, *args, clock=time.monotonic, **kwargs):
        super().__init__(*args, **kwargs)
        self.clock = clock
        self.window = "h"
        self.group = "k"
        self.series: dict | None = None  # the last fetched series
        self.series_window: str | None = None  # the window it was fetched for
        self.fetch_error: str | None = None
        self.fetches = 0
        self.draw_counts = {name: 0 for name in PLOTS}
        self.drawn: dict[str, tuple] = {}  # what each plot shows now (the prepared data), for tests
        self._fetching = False
        self._last_fetch = -math.inf
        self._drawn_hash: dict[str, int] = {}
        self._last_draw: dict[str, float] = {}
        self._draw_timer = None
        self._draw_due_at = 0.0
        self._fetch_timer = None
        self._status: Text | None = None
        self._titles: dict[str, str] = {}

    # -- layout ----------------------------------------------------------------------------------
    def compose_body(self) -> ComposeResult:
        yield Static(id="plots-status")
        with Grid(id="plots-grid"):
            for name in PLOTS:
                yield SeriesPlot(id=f"plot-{name}")

    def on_mount(self) -> None:
        self._update_titles()

    def plot(self, name: str) -> SeriesPlot:
        return self.query_one(f"#plot-{name}", SeriesPlot)

    # -- fetching --------------------------------------------------------------------------------
    def refresh_data(self, state) -> None:
        """Called after every poll while shown: fetch at most once a second; draw what changed."""
        self.request_fetch()
        self.update_plots()

    def request_fetch(self) -> None:
        if self._fetching:
            return
        every = FETCH_EVERY_DAY if self.window == "d" and self.series_window == "d" else FETCH_EVERY
        wait = self._last_fetch + every - self.clock()
        if wait > 0:
            if self.series_window != self.window and self._fetch_timer is None:  # a toggle: fetch soon
                self._fetch_timer = self.set_timer(wait, self._fetch_due)
            return
        self._fetching = True
        self._last_fetch = self.clock()
        self.run_worker(self._fetch(self.window), group="plots-fetch", exit_on_error=False)

    def _fetch_due(self) -> None:
        self._fetch_timer = None
        if self.is_current:
            self.request_fetch()

    async def _fetch(self, window: str) -> None:
        toggled = self.series_window is not None and self.series_window != window
        try:
            data = await self.source.series(WINDOWS[window][1])
            self.series, self.series_window, self.fetch_error = data, window, None
            self.fetches += 1
        except Exception as exc:  # keep the last data; say why it is stale
            self.fetch_error = str(exc) or type(exc).__name__
        finally:
            self._fetching = False
        if self.series_window != self.window:  # toggled while fetching
            self.request_fetch()
        self.update_plots(force=toggled)

    # -- preparing (downsampled, plain tuples: hashable and cheap to compare) ------------------------
    def _max_points(self, name: str) -> int:
        width = self.plot(name).size.width
        return max(2, width - Y_LABEL_CELLS) if width else 60

    def _plot_size(self, name: str) -> tuple[int, int]:
        """The plot's size in cells (what the drawing's geometry depends on); 40 x 10 before layout."""
        size = self.plot(name).size
        return (size.width or 40, size.height or 10)

    def prepare(self, name: str) -> tuple | None:
        """What plot `name` should show now, downsampled to its width; None without data.

        spend:   ("spend", window, tz, symbol, minutes per bucket, xs, values, size)
        rps:     ("rps", window, tz, xs, requests/s, minutes per bucket, size)
        latency: ("latency", window, tz, xs, p50, p95, size)
        bars:    ("bars", group, symbol, ((name, value), ...), labels, size)
        xs are epoch minutes (each bucket's last), values in the display currency, size (width,
        height) in cells."""
        series = self.series
        if series is None or self.series_window is None:
            return None
        state = self.state
        scale = state.per_usd / 1_000_000
        tz_name = state.overview.get("timezone")
        window = self.series_window
        size = self._plot_size(name)
        xs = list(series.get("minutes") or [])
        if name == "bars":
            _, field = GROUPS[self.group]
            rows = sorted((series.get(field) or {}).items(), key=lambda kv: (-kv[1], kv[0]))
            _, lines = canvas_size(*size, 0, x_ticks=False)  # one bar per row at most
            if len(rows) > lines:
                keep = max(0, lines - 1)
                rows = rows[:keep] + [(OTHERS, sum(v for _, v in rows[keep:]))]
            names = [k if k == OTHERS else short_name(k, self.group) for k, _ in rows]
            values = [(v or 0) * scale for _, v in rows]
            names, labels = fit_bar_labels(names, values, max(12, size[0] // 2))
            return ("bars", self.group, state.currency_symbol,
                    tuple((n, sig(v)) for n, v in zip(names, values)), tuple(labels), size)
        max_points = self._max_points(name)
        if name == "spend":
            values = [(v or 0) * scale for v in series.get("spend_micro_usd") or []]
            if window == "d":  # per local clock hour
                px, py, unit = *hourly(xs, values, self._offset_min(tz_name)), 60
            else:  # per minute
                px, py, unit = xs, values, 1
            n = len(px)
            px, py = downsample(px, py, max_points, "sum")
            per = unit * (math.ceil(n / len(px)) if px else 1)
            return ("spend", window, tz_name, state.currency_symbol, per, tuple(px), tuple(sig(y) for y in py),
                    size)
        if name == "rps":
            # The last minute is in progress: its requests over a whole minute would understate the
            # rate. It gets the header's rate instead (the last 60 s over 60, the same definition as a
            # whole minute's), so the plot ends where the header is; without one it is left out.
            rates = [float(r or 0) for r in series.get("rps") or []][:len(xs)]
            xs = xs[:len(rates)]
            live = (state.overview.get("summary") or {}).get("rps")
            if xs and isinstance(live, (int, float)):
                rates[-1] = float(live)
            else:
                xs, rates = xs[:-1], rates[:-1]
            px, py, span = rate_buckets(xs, rates, max_points, self._offset_min(tz_name))
            return ("rps", window, tz_name, tuple(px), tuple(sig(y) for y in py), span, size)
        if name == "latency":
            px, p50 = downsample(xs, series.get("p50_ms") or [], max_points, "mean")
            _, p95 = downsample(xs, series.get("p95_ms") or [], max_points, "max")
            return ("latency", window, tz_name, tuple(px), tuple(sig(y) for y in p50), tuple(sig(y) for y in p95),
                    size)
        raise KeyError(name)

    @staticmethod
    def _offset_min(tz_name: str | None) -> int:
        offset = datetime.now(_zone(tz_name)).utcoffset() or timedelta(0)
        return int(offset // timedelta(minutes=1))

    # -- drawing ---------------------------------------------------------------------------------
    def plot_resized(self) -> None:
        self.update_plots()

    def update_plots(self, force: bool = False) -> None:
        """Redraw the plots whose data changed, only while this screen is shown.

        Data-driven redraws: each plot at most once a second, and at most one plot per call — the
        others follow STAGGER seconds apart, so a frame never carries more than one plotext rebuild.
        A plot's first draw and `force` (a key toggle) draw every changed plot at once."""
        self._update_titles()
        if not self.is_current or self.series is None:
            return
        now = self.clock()
        wait = math.inf  # seconds until the next plot may be drawn
        drawn_one = drew = False
        for name in PLOTS:
            data = self.prepare(name)
            if data is None:
                continue
            digest = hash(data)
            if self._drawn_hash.get(name) == digest:
                continue
            first = name not in self._drawn_hash
            if not (force or first):
                since = now - self._last_draw.get(name, -math.inf)
                if since < DRAW_EVERY:
                    wait = min(wait, DRAW_EVERY - since)
                    continue
                if drawn_one:
                    wait = min(wait, STAGGER)
                    continue
                drawn_one = True
            self.draw(name, data)
            self._drawn_hash[name] = digest
            self._last_draw[name] = now
            drew = True
        if drew:  # titles that name the drawn buckets ("per 2 min", "10 min avg")
            self._update_titles()
        if wait < math.inf:
            self._schedule(wait)

    def _schedule(self, wait: float) -> None:
        """One pending redraw timer, for the soonest plot that is due."""
        due = time.monotonic() + wait
        if self._draw_timer is not None:
            if self._draw_due_at <= due + 0.01:
                return
            self._draw_timer.stop()
        self._draw_due_at = due
        self._draw_timer = self.set_timer(wait, self._draw_due)

    def _draw_due(self) -> None:
        self._draw_timer = None
        self.update_plots()

    def on_screen_resume(self) -> None:
        super().on_screen_resume()
        self.update_plots()

    def draw(self, name: str, data: tuple) -> None:
        """Plot prepared data through the widget's own plotext figure, then refresh that widget."""
        self.draw_counts[name] += 1
        self.drawn[name] = data
        widget = self.plot(name)
        plt = widget.plt
        plt.clear_figure()
        if name == "bars":
            self._draw_bars(plt, data)
        else:
            self._draw_series(plt, name, data)
        widget.refresh()

    @staticmethod
    def _draw_bars(plt, data: tuple) -> None:
        """One bar per row (a blank row between bars when they fit), from the left axis, its length in
        cells proportional to its value, labelled with its name and value; no value axis (the labels
        carry the values)."""
        _, _, _, rows, labels, (width, height) = data
        if not rows:
            plt.title("no spend yet this month")
            return
        cols, lines = canvas_size(width, height, max(len(label) for label in labels), x_ticks=False)
        pitch = 2 if 2 * len(rows) - 1 <= lines else 1
        ys = [lines - 1 - i * pitch for i in range(len(rows))]
        vmax = max(v for _, v in rows)
        cx: list[int] = []
        cy: list[int] = []
        for (_, value), y in zip(rows, ys):
            n = bar_cells(value, vmax, cols)
            cx.extend(range(n))
            cy.extend([y] * n)
        if cx:
            plt.scatter(cx, cy, marker=BAR_FILL, color="cyan")
        plt.xlim(0, max(1, cols - 1))
        plt.ylim(0, max(1, lines - 1))
        plt.yticks(ys, list(labels))
        plt.xticks([])

    def _draw_series(self, plt, name: str, data: tuple) -> None:
        tz = _zone(data[2])
        width, height = data[-1]
        if name == "spend":
            xs, series = data[5], [data[6]]
        elif name == "rps":
            xs, series = data[3], [data[4]]
        else:
            xs, series = data[3], [data[4], data[5]]
        if not xs:
            plt.title("no data yet")
            return
        _, lines = canvas_size(width, height, 0)
        ticks, top = nice_axis(max(max(s) for s in series), lines)
        texts = tick_texts(ticks)
        cols, lines = canvas_size(width, height, max(len(t) for t in texts))
        tick_idx, tick_text = tick_labels(list(xs), tz, max(2, width // 12))
        if name == "spend":  # a column of cells per bucket, up to its value's row; nothing for 0
            spans = column_spans(len(xs), cols)
            cx: list[int] = []
            cy: list[float] = []
            for (c0, c1), value in zip(spans, data[6]):
                if value > 0:
                    for row in range(value_row(value, top, lines) + 1):
                        y = row_value(row, top, lines)
                        cx.extend(range(c0, c1))
                        cy.extend([y] * (c1 - c0))
            if cx:
                plt.scatter(cx, cy, marker=BAR_FILL, color="green")
            plt.xlim(0, max(1, cols - 1))
            tick_idx = [(spans[i][0] + spans[i][1] - 1) // 2 for i in tick_idx]
        else:
            idx = list(range(len(xs)))
            # braille lines cost about twice the half-block ones and grow with the plot's area
            marker = "braille" if width * height <= BRAILLE_MAX_CELLS else "hd"
            if name == "rps":
                plt.plot(idx, list(data[4]), marker=marker, color="cyan")
            else:
                plt.plot(idx, list(data[4]), marker=marker, color="green", label="p50")
                plt.plot(idx, list(data[5]), marker=marker, color="red", label="p95")
            if len(idx) == 1:
                plt.xlim(-1, 1)
        if tick_idx:
            plt.xticks(tick_idx, tick_text)
        plt.ylim(0, top)
        plt.yticks(ticks, texts)

    # -- titles ----------------------------------------------------------------------------------
    def _update_titles(self) -> None:
        window_label = WINDOWS[self.window][0]
        symbol = self.state.currency_symbol
        spend = self.drawn.get("spend")
        if self.window == "d":
            per = "hour" if not spend or spend[4] <= 60 else f"{spend[4] // 60} h"
        else:
            per = "minute" if not spend or spend[4] <= 1 else f"{spend[4]} min"
        rps = self.drawn.get("rps")
        titles = {
            "spend": f"Spend ({symbol} per {per}) · {window_label}",
            "rps": f"Requests/s · {span_text(rps[5] if rps else 1)} avg · {window_label}",
            "latency": f"Latency ms [green]p50[/] [red]p95[/] · {window_label}",
            "bars": f"Spend this month by {GROUPS[self.group][0]} ({symbol})",
        }
        for name, title in titles.items():
            if self._titles.get(name) != title:  # setting a border title re-renders the whole plot
                self._titles[name] = title
                self.plot(name).border_title = title
        status = Text()
        for key, (label, _) in WINDOWS.items():
            status.append(f" {key} ", style="bold reverse" if key == self.window else "bold")
            status.append(f"{label}  ")
        status.append("│ ", style="dim")
        for key, (label, _) in GROUPS.items():
            status.append(f" {key} ", style="bold reverse" if key == self.group else "bold")
            status.append(f"by {label}  ")
        if self.fetch_error:
            status.append(f"│ series unavailable: {self.fetch_error}", style="bold red")
        elif self.series is None:
            status.append("│ loading…", style="dim")
        if status != self._status or (self._status is not None and status.spans != self._status.spans):
            self._status = status
            self.query_one("#plots-status", Static).update(status)

    # -- keys ------------------------------------------------------------------------------------
    def action_window(self, window: str) -> None:
        if window == self.window:
            return
        self.window = window
        self._update_titles()
        self.request_fetch()

    def action_group(self, group: str) -> None:
        if group == self.group:
            return
        self.group = group
        self.update_plots(force=True)
