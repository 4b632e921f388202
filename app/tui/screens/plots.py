"""Plots (5): spend over time, requests/s, latency p50/p95, and this month's spend by key/team/model.

Keys: `h` last hour / `d` last day, `k` / `t` / `m` spend by key / team / model.

This screen fetches the series, decides when to draw and owns the widgets. What each plot shows and
how it is drawn: the time plots in `app.tui.plot_series` (their shared time axis and buckets in
`app.tui.plot_time`, value axes and cells in `app.tui.plot_axes`), the bars in `app.tui.plot_bars`;
the titles and status line in `app.tui.plot_titles`; when a changed plot is redrawn in
`app.tui.plot_pacing`.

Cost (a textual-plotext rebuild is 4-30 ms depending on the plot's area and how jagged the line is,
and it runs on the gateway's event loop):
- the series is fetched from the source at most once a second (every 5 s in the day window), from
  `refresh_data` (which the app calls only while this screen is shown), in a worker: never two fetches
  at once, never blocking the UI;
- every series is cut into at most one bucket per column of the plot, rounded to 3 significant digits
  (what a plot a few dozen cells tall can show), and the axis moves once a minute;
- each plot keeps a hash of the data it last drew and is redrawn only when that changes, paced by
  `plan_redraws` (at most once a second, one plot per STAGGER), and only while the screen is shown; a
  hidden screen's pending redraw happens when it is shown again. A plot's first draw and the key
  toggles redraw at once;
- border titles are cached here: setting one re-renders (rebuilds) the whole plot.
"""
from __future__ import annotations

import math
import time

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid
from textual.widgets import Static
from textual_plotext import PlotextPlot

from ..plot_bars import draw_bars, prepare_bars
from ..plot_pacing import plan_redraws
from ..plot_series import draw_series, gateway_started, prepare_series, series_now, sig, utc_offset_min
from ..plot_time import TimeAxis, time_axis
from ..plot_titles import WINDOWS, plot_titles, status_line
from ..request_detail import zone
from .base import LiveScreen

FETCH_EVERY = 1.0  # seconds between series fetches (at most)
FETCH_EVERY_DAY = 5.0  # the day window: hourly points move slowly, and a 1440-minute series costs the
                       # gateway ~16 ms at 100 requests/minute (a latency sort per minute bucket)
PLOTS = ("spend", "rps", "latency", "bars")
Y_LABEL_CELLS = 8  # plotext's y tick labels and axis take about this many columns
TIME_PLOTS = ("spend", "rps", "latency")


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
        """Now within the series' current minute, and when the gateway started (`gateway_started`)."""
        self.series_now = now = series_now(self.wall_clock(), data.get("minutes") or [])
        uptime = (self.state.overview.get("summary") or {}).get("uptime_s")
        self.started_s = gateway_started(now, uptime, self.started_s)

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
        """What plot `name` should show now, in at most one bucket per column (plain tuples: hashable and
        cheap to compare; see `prepare_series` and `prepare_bars`); None without data."""
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
        axis = self.time_axis(list(series.get("minutes") or []), tz_name, window)
        return prepare_series(name, series, window, tz_name, state.currency_symbol, scale, axis, size,
                              self._columns(), utc_offset_min(zone(tz_name)), started_s=self.started_s,
                              now_s=self.series_now, live=(state.overview.get("summary") or {}).get("rps"))

    # -- drawing ---------------------------------------------------------------------------------
    def plot_resized(self) -> None:
        self.update_plots()

    def update_plots(self, force: bool = False) -> None:
        """Redraw the plots whose data changed, only while this screen is shown, paced by `plan_redraws`
        (one plotext rebuild a frame); `force` (a key toggle) draws every changed plot at once."""
        self._update_titles()
        if not self.is_current or self.series is None:
            return
        now = self.clock()
        prepared = {name: data for name in PLOTS if (data := self.prepare(name)) is not None}
        digests = {name: hash(data) for name, data in prepared.items()}
        changed = [(name, name not in self._drawn_hash) for name, digest in digests.items()
                   if self._drawn_hash.get(name) != digest]
        due, wait = plan_redraws(changed, self._last_draw, now, force)
        for name in due:
            self.draw(name, prepared[name])
            self._drawn_hash[name] = digests[name]
            self._last_draw[name] = now
        if due:  # titles that name the drawn buckets ("per 2 min", "10 min avg")
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
            draw_series(plt, name, data)
        widget.refresh()

    # -- titles ----------------------------------------------------------------------------------
    def _update_titles(self) -> None:
        titles = plot_titles(self.window, self.group, self.state.currency_symbol, self.drawn)
        for name, title in titles.items():
            if self._titles.get(name) != title:  # setting a border title re-renders the whole plot
                self._titles[name] = title
                self.plot(name).border_title = title
        status = status_line(self.window, self.group, self.fetch_error, self.series is None)
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
