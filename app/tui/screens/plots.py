"""Plots (5): spend over time, requests/s, latency p50/p95, and this month's spend by key/team/model.

Keys: `h` last hour / `d` last day, `k` / `t` / `m` spend by key / team / model.

What is drawn (value axes and cells in `app.tui.plot_axes`, the time axis and buckets in
`app.tui.plot_time`, the bars in `app.tui.plot_bars`):
- the three time plots share one x axis: the window (the last 60 or 1440 minutes, ending with the
  current minute), ticks at round local times (every 5-60 min in the hour view, 1-12 h in the day
  view; local midnight labelled with its date) at their true positions, every bucket drawn where its
  time is;
- buckets are whole minutes aligned to the local clock, the same for the three plots (spend at least an
  hour in the day view), the smallest that gives at most one bucket per column;
- value axes have round, evenly spaced ticks on exact rows (`nice_axis`), not plotext's own;
- spend over time is one column of cells per bucket: an empty bucket draws nothing;
- requests/s per bucket is its requests over the seconds of it during which the gateway was running
  (its start from the overview's uptime_s), up to now: a bucket from before the gateway started has no
  value (blank), one after with no requests is 0. With one-minute buckets the minute in progress takes
  the header's rate (the last 60 s over 60), so the line ends at the header's number. The title says the
  bucket ("1 min avg", "1 h avg");
- latency per bucket comes from the minutes that had requests only (p50: their mean weighted by
  requests, p95: their maximum): a bucket without requests has no latency and is blank, not 0 ms;
- spend by key/team/model: one bar per row, labelled "name value" (`app.tui.plot_bars`).

Cost (a textual-plotext rebuild is 4-30 ms depending on the plot's area and how jagged the line is,
and it runs on the gateway's event loop):
- the series is fetched from the source at most once a second (every 5 s in the day window), from
  `refresh_data` (which the app calls only while this screen is shown), in a worker: never two fetches
  at once, never blocking the UI;
- every series is cut into at most one bucket per column of the plot, rounded to 3 significant digits
  (what a plot a few dozen cells tall can show), and the axis moves once a minute;
- each plot keeps a hash of the data it last drew and is redrawn only when that changes, at most once a
  second, one plot per STAGGER (0.2 s) so a frame never carries two rebuilds, and only while the screen
  is shown; a hidden screen's pending redraw happens when it is shown again. A plot's first draw and the
  key toggles redraw at once;
- border titles are cached here: setting one re-renders (rebuilds) the whole plot.
"""
from __future__ import annotations

import math
import time
from datetime import datetime, timedelta

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid
from textual.widgets import Static
from textual_plotext import PlotextPlot

from ..plot_axes import canvas_size, nice_axis, row_value, tick_texts, value_row
from ..plot_bars import BAR_FILL, GROUPS, draw_bars, prepare_bars
from ..request_detail import zone
from ..plot_time import TimeAxis, choose_span, latency_buckets, rate_buckets, sum_buckets, time_axis
from .base import LiveScreen

FETCH_EVERY = 1.0  # seconds between series fetches (at most)
FETCH_EVERY_DAY = 5.0  # the day window: hourly points move slowly, and a 1440-minute series costs the
                       # gateway ~16 ms at 100 requests/minute (a latency sort per minute bucket)
DRAW_EVERY = 1.0  # seconds between data-driven redraws of one plot (at most)
STAGGER = 0.2  # seconds between two plots' data-driven redraws (one plotext rebuild per frame)
WINDOWS = {"h": ("last hour", 60), "d": ("last day", 1440)}
PLOTS = ("spend", "rps", "latency", "bars")
BRAILLE_MAX_CELLS = 1600  # plots larger than this (in cells) draw lines with half blocks instead of braille
Y_LABEL_CELLS = 8  # plotext's y tick labels and axis take about this many columns
TIME_PLOTS = ("spend", "rps", "latency")
STARTED_SLACK = 5.0  # seconds: a gateway start estimate (now - uptime) that moves less is kept as it was



def sig(value: float, digits: int = 3) -> float:
    """`value` to `digits` significant digits: what a plot a few dozen cells tall can show. Changes
    below that do not count as new data (no redraw)."""
    if not value or not math.isfinite(value):
        return 0.0
    return round(value, digits - 1 - int(math.floor(math.log10(abs(value)))))


def _sig(value: float | None) -> float | None:
    return None if value is None else sig(value)


def _runs(xs: list[float], ys: tuple) -> list[tuple[list[float], list[float]]]:
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


def span_text(minutes: int) -> str:
    return f"{minutes // 60} h" if minutes >= 60 and minutes % 60 == 0 else f"{minutes} min"


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

    def __init__(self, *args, clock=time.monotonic, wall_clock=time.time, **kwargs):
        super().__init__(*args, **kwargs)
        self.clock = clock
        self.wall_clock = wall_clock  # epoch seconds: where "now" falls in the series' current minute
        self.window = "h"
        self.group = "k"
        self.series: dict | None = None  # the last fetched series
        self.series_window: str | None = None  # the window it was fetched for
        self.series_now = math.inf  # epoch seconds when it was fetched (within its current minute)
        self.started_s = -math.inf  # epoch seconds when the gateway started (now - the overview's uptime_s)
        self._axis: tuple[tuple, TimeAxis] | None = None  # the last time axis and what it was made for
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
            self._note_times(data)
            self.fetches += 1
        except Exception as exc:  # keep the last data; say why it is stale
            self.fetch_error = str(exc) or type(exc).__name__
        finally:
            self._fetching = False
        if self.series_window != self.window:  # toggled while fetching
            self.request_fetch()
        self.update_plots(force=toggled)

    def _note_times(self, data: dict) -> None:
        """Now (the wall clock, kept within the series' current minute: a remote gateway's clock may
        differ) and the gateway's start (now - its uptime), kept while it moves less than STARTED_SLACK
        (the overview is up to a poll old) so the first bucket does not change every second."""
        now = self.wall_clock()
        minutes = data.get("minutes") or []
        if minutes:
            now = min(max(now, minutes[-1] * 60.0), minutes[-1] * 60.0 + 59.999)
        self.series_now = now
        uptime = (self.state.overview.get("summary") or {}).get("uptime_s")
        if isinstance(uptime, (int, float)) and not isinstance(uptime, bool):
            started = now - float(uptime)
            if not abs(started - self.started_s) <= STARTED_SLACK:
                self.started_s = started

    # -- preparing (bucketed to the width, plain tuples: hashable and cheap to compare) ------------------
    def _columns(self) -> int:
        """Columns of the narrowest time plot's canvas (at most: y labels take up to Y_LABEL_CELLS): the
        buckets and ticks of the shared time axis are chosen for it."""
        widths = [self.plot(name).size.width for name in TIME_PLOTS]
        return max(2, min(widths) - Y_LABEL_CELLS) if all(widths) else 60

    def _plot_size(self, name: str) -> tuple[int, int]:
        """The plot's size in cells (what the drawing's geometry depends on); 40 x 10 before layout."""
        size = self.plot(name).size
        return (size.width or 40, size.height or 10)

    def time_axis(self, minutes: list[int], tz_name: str | None, window: str) -> TimeAxis:
        """The x axis of the three time plots (cached: it changes once a minute)."""
        cols = self._columns()
        key = (minutes[0] if minutes else 0, minutes[-1] if minutes else 0, tz_name, cols, window)
        if self._axis is None or self._axis[0] != key:
            if minutes:
                axis = time_axis(minutes[0], minutes[-1] + 1, zone(tz_name), cols, window == "d")
            else:
                axis = TimeAxis(0, 1)
            self._axis = (key, axis)
        return self._axis[1]

    def prepare(self, name: str) -> tuple | None:
        """What plot `name` should show now, in at most one bucket per column; None without data.

        spend:   ("spend", window, tz, symbol, minutes per bucket, xs, values, covers, axis, size)
        rps:     ("rps", window, tz, xs, requests/s, minutes per bucket, covers, axis, size)
        latency: ("latency", window, tz, xs, p50, p95, minutes per bucket, covers, axis, size)
        bars:    ("bars", group, symbol, ((name, value), ...), labels, size)
        xs are epoch minutes (each bucket's last), covers each bucket's [first, end) epoch minutes (for
        requests/s and latency: of the part with a value), values in the display currency, None for no
        value (drawn blank), axis the `TimeAxis` shared by the three, size (width, height) in cells."""
        series = self.series
        if series is None or self.series_window is None:
            return None
        state = self.state
        scale = state.per_usd / 1_000_000
        size = self._plot_size(name)
        if name == "bars":
            return prepare_bars(series, self.group, scale, state.currency_symbol, size, sig)
        tz_name = state.overview.get("timezone")
        window = self.series_window
        xs = list(series.get("minutes") or [])
        axis = self.time_axis(xs, tz_name, window)
        offset = self._offset_min(tz_name)
        span = choose_span(len(xs), self._columns())
        if name == "spend":
            per = max(span, 60) if window == "d" else span  # the day view: at least an hour
            values = [(v or 0) * scale for v in (series.get("spend_micro_usd") or [])[:len(xs)]]
            values += [0.0] * (len(xs) - len(values))
            px, py, covers = sum_buckets(xs, values, per, offset)
            return ("spend", window, tz_name, state.currency_symbol, per, tuple(px), tuple(sig(y) for y in py),
                    tuple(covers), axis, size)
        rates = [float(r or 0) for r in series.get("rps") or []][:len(xs)]
        if name == "rps":
            live = (state.overview.get("summary") or {}).get("rps")
            live = float(live) if isinstance(live, (int, float)) and not isinstance(live, bool) else None
            px, py, covers = rate_buckets(xs[:len(rates)], rates, span, offset, started_s=self.started_s,
                                          now_s=self.series_now, live=live)
            return ("rps", window, tz_name, tuple(px), tuple(_sig(y) for y in py), span, tuple(covers), axis, size)
        if name == "latency":
            px, p50, p95, covers = latency_buckets(xs, rates, series.get("p50_ms") or [],
                                                   series.get("p95_ms") or [], span, offset)
            return ("latency", window, tz_name, tuple(px), tuple(_sig(y) for y in p50), tuple(_sig(y) for y in p95),
                    span, tuple(covers), axis, size)
        raise KeyError(name)

    @staticmethod
    def _offset_min(tz_name: str | None) -> int:
        offset = datetime.now(zone(tz_name)).utcoffset() or timedelta(0)
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
            draw_bars(plt, data)
        else:
            self._draw_series(plt, name, data)
        widget.refresh()

    @staticmethod
    def _draw_series(plt, name: str, data: tuple) -> None:
        """A time plot on the shared axis: x in canvas columns (`TimeAxis`), so every bucket is drawn at
        its true time and the ticks sit at theirs."""
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
                for run_x, run_y in _runs(xs, values):  # a gap where there is no value
                    if len(run_x) == 1:
                        plt.scatter(run_x, run_y, marker=marker, color=color)
                    else:
                        plt.plot(run_x, run_y, marker=marker, color=color)
        plt.xlim(0, max(1, cols - 1))
        tick_cells, tick_labels = axis.placed_ticks(cols, max(len(t) for t in texts) + 1)
        plt.xticks(tick_cells, tick_labels)
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
