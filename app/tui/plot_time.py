"""The time axis of the plots screen (5): clock-aligned buckets, the time the gateway was running in
each, and one x axis with round local-time ticks shared by the three time plots.

- Buckets (`choose_span`, `bucket_ranges`) are whole minutes aligned to the local clock (a 10-minute
  bucket is 05:10-05:20, an hourly one 05:00-06:00), so they do not shift as time passes.
- `running_seconds` is the part of a minute during which the gateway was running and that has
  elapsed: a bucket's requests/s is its requests over the sum of these (QA: an hour bucket of a gateway
  8 minutes old was averaged over the whole hour and read 0.7 instead of 4.8), and a bucket with none
  (before the gateway started) has no value at all, so it is drawn blank.
- `TimeAxis` maps time to the columns of a plot's canvas: the window is [start, end) in epoch minutes
  (the end is the end of the current minute, so the axis only moves once a minute), cell c covers
  [start + c*w, start + (c+1)*w) with w = (end - start) / columns. Every time plot uses the same
  `TimeAxis`, so their ticks are the same times, each at its true position.
- Ticks (`time_axis`) are at round local times: every 5/10/15/20/30/60 minutes in the hour view, every
  1/2/3/4/6/12 hours in the day view, the smallest step whose labels fit with room between them. In
  the day view local midnight is labelled with its date ("28 Nov"), and a clock time that appears twice
  (both ends of a 24-hour window) carries its weekday ("Fri 05:00"), or the older one is dropped when
  that does not fit.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

SPANS = (1, 2, 3, 5, 10, 15, 20, 30, 60, 120, 180, 240, 360, 720, 1440)  # minutes per bucket
HOUR_STEPS = (5, 10, 15, 20, 30, 60)  # minutes between ticks, the hour view
DAY_STEPS = (60, 120, 180, 240, 360, 720)  # the day view
TICK_GRID = 5  # every candidate tick is a multiple of 5 local minutes
LABEL_ROOM = 3  # cells between two ticks beyond a label's width, when choosing the step
LABEL_GAP = 2  # blank cells at least between two tick labels (plotext drops a label that touches another)


# -- buckets ----------------------------------------------------------------------------------------
def choose_span(n: int, max_points: int, min_span: int = 1) -> int:
    """The smallest of SPANS (at least `min_span`) that cuts `n` minutes into at most `max_points`
    clock-aligned buckets; from the length alone (not the alignment), so it does not flap."""
    for span in SPANS:
        if span >= min_span and -(-n // span) + (span > 1) <= max(1, max_points):  # + 1: a misaligned start
            return span
    return SPANS[-1]


def bucket_ranges(minutes: list[int], span: int, offset_min: int = 0) -> list[tuple[int, int]]:
    """Index ranges [lo, hi) of `minutes` (consecutive epoch minutes) falling in the same local clock
    bucket of `span` minutes (`offset_min`: the zone's UTC offset in minutes)."""
    out: list[tuple[int, int]] = []
    key = None
    for i, m in enumerate(minutes):
        k = (m + offset_min) // span
        if k != key:
            if out:
                out[-1] = (out[-1][0], i)
            out.append((i, i + 1))
            key = k
    if out:
        out[-1] = (out[-1][0], len(minutes))
    return out


def running_seconds(minute: int, started_s: float, now_s: float) -> float:
    """Seconds of epoch minute `minute` during which the gateway was running, up to now."""
    return max(0.0, min(minute * 60 + 60, now_s) - max(minute * 60, started_s))


def rate_buckets(minutes: list[int], rps: list, span: int, offset_min: int = 0, *,
                 started_s: float = -math.inf, now_s: float = math.inf, live: float | None = None
                 ) -> tuple[list[int], list[float | None], list[tuple[int, int]]]:
    """Requests/s per clock-aligned bucket of `span` minutes: (x = each bucket's last minute, rate or
    None, the epoch minutes [first, end) it covers while running: whole minutes, finer than a cell).

    A bucket's rate is its requests over the seconds of it during which the gateway was running
    (`running_seconds`: not before `started_s`, not after `now_s`). A closed minute's requests are its
    rate (requests over 60 s) times 60. The minute in progress (the last) counts at `live`, the header's
    rate (the last 60 s over 60), over its running seconds so far, so a one-minute bucket ends at the
    header's number and a longer one is not diluted by the part of the minute still to come; without
    `live`, its requests so far. A bucket with no running time is None: no value, not a zero."""
    xs: list[int] = []
    ys: list[float | None] = []
    covers: list[tuple[int, int]] = []
    n = len(minutes)
    for lo, hi in bucket_ranges(minutes, span, offset_min):
        requests = seconds = 0.0
        first = last = None
        for i in range(lo, hi):
            m = minutes[i]
            run = running_seconds(m, started_s, now_s)
            current = i == n - 1 and live is not None
            if run <= 0 and not current:
                continue
            first = m if first is None else first
            last = m + 1
            requests += float(live) * run if current else float(rps[i] or 0) * 60
            seconds += run
        xs.append(minutes[hi - 1])
        if seconds > 0:
            ys.append(requests / seconds)
            covers.append((first, last))
        elif first is not None:  # only the current minute, just begun: the header's rate
            ys.append(float(live))
            covers.append((first, last))
        else:
            ys.append(None)
            covers.append((minutes[lo], minutes[hi - 1] + 1))
    return xs, ys, covers


def latency_buckets(minutes: list[int], rps: list, p50: list, p95: list, span: int, offset_min: int = 0
                    ) -> tuple[list[int], list[float | None], list[float | None], list[tuple[int, int]]]:
    """p50 and p95 per clock-aligned bucket of `span` minutes, from the minutes that had requests
    only: (x = each bucket's last minute, p50 = the mean of those minutes' p50 weighted by their
    requests, p95 = their largest p95, the epoch minutes [first, end) of those minutes). A minute
    without requests has no latency (the series says 0 for it): a bucket with none is None, drawn
    blank, not 0 ms."""
    xs: list[int] = []
    o50: list[float | None] = []
    o95: list[float | None] = []
    covers: list[tuple[int, int]] = []
    for lo, hi in bucket_ranges(minutes, span, offset_min):
        weight = total = 0.0
        worst = None
        first = last = None
        for i in range(lo, hi):
            r = float(rps[i] or 0) if i < len(rps) else 0.0
            q50 = float(p50[i] or 0) if i < len(p50) else 0.0
            q95 = float(p95[i] or 0) if i < len(p95) else 0.0
            if r <= 0 and q50 <= 0 and q95 <= 0:  # no requests in this minute
                continue
            w = r if r > 0 else 1.0
            weight += w
            total += w * q50
            worst = q95 if worst is None else max(worst, q95)
            first = minutes[i] if first is None else first
            last = minutes[i] + 1
        xs.append(minutes[hi - 1])
        if worst is None:
            o50.append(None)
            o95.append(None)
            covers.append((minutes[lo], minutes[hi - 1] + 1))
        else:
            o50.append(total / weight)
            o95.append(worst)
            covers.append((first, last))
    return xs, o50, o95, covers


def sum_buckets(minutes: list[int], values: list, span: int, offset_min: int = 0
                ) -> tuple[list[int], list[float], list[tuple[int, int]]]:
    """The sum per clock-aligned bucket of `span` minutes: (x = each bucket's last minute, sum, the
    epoch minutes [first, end) it covers)."""
    xs, ys, covers = [], [], []
    for lo, hi in bucket_ranges(minutes, span, offset_min):
        xs.append(minutes[hi - 1])
        ys.append(sum(float(v or 0) for v in values[lo:hi]))
        covers.append((minutes[lo], minutes[hi - 1] + 1))
    return xs, ys, covers


# -- the axis ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TimeAxis:
    """The x axis shared by the time plots: [start, end) in epoch minutes, ticks at epoch minutes."""
    start: int
    end: int
    ticks: tuple[int, ...] = ()
    labels: tuple[str, ...] = ()

    def position(self, minute: float, cols: int) -> float:
        """The column (cell centres at whole numbers, 0..cols-1) of time `minute`."""
        raw = (minute - self.start) * cols / max(1, self.end - self.start) - 0.5
        return min(cols - 1.0, max(0.0, raw))

    def cells(self, lo: float, hi: float, cols: int) -> tuple[int, int]:
        """Cells [c0, c1) whose centres lie in the time [lo, hi); the nearest one when none does."""
        scale = cols / max(1, self.end - self.start)
        c0 = max(0, math.ceil((lo - self.start) * scale - 0.5 - 1e-9))
        c1 = min(cols, math.ceil((hi - self.start) * scale - 0.5 - 1e-9))
        if c1 <= c0:
            c = round(self.position((lo + hi) / 2, cols))
            return c, c + 1
        return c0, c1

    def tick_cells(self, cols: int) -> list[int]:
        """The cell of each tick: the one its time falls in."""
        return [min(cols - 1, max(0, math.floor((t - self.start) * cols / max(1, self.end - self.start))))
                for t in self.ticks]

    def placed_ticks(self, cols: int, left_room: int) -> tuple[list[int], list[str]]:
        """(cells, labels) of the ticks whose labels fit: a label is centred on its tick, moved in
        from the plot's edges (`left_room` cells to the left of the canvas, one to the right), and must
        stay LABEL_GAP cells clear of the previous one; a tick whose label does not is left out (plotext
        would silently drop the label and leave a bare tick)."""
        cells: list[int] = []
        labels: list[str] = []
        prev_end = -math.inf
        for c, label in zip(self.tick_cells(cols), self.labels):
            width = len(label)
            begin = min(max(c - width // 2, -left_room), cols + 1 - width)
            if begin < prev_end + LABEL_GAP:
                continue
            cells.append(c)
            labels.append(label)
            prev_end = begin + width
        return cells, labels


def _local(minute: int, tz) -> datetime:
    return datetime.fromtimestamp(minute * 60, tz)


def _labels(ticks: list[int], tz, day: bool, weekday: bool) -> list[str]:
    out = []
    for t in ticks:
        local = _local(t, tz)
        if day and local.hour == 0 and local.minute == 0:
            out.append(local.strftime("%d %b"))
        elif weekday:
            out.append(local.strftime("%a %H:%M"))
        else:
            out.append(local.strftime("%H:%M"))
    return out


def time_axis(start: int, end: int, tz, cols: int, day: bool) -> TimeAxis:
    """The axis for the window [start, end) (epoch minutes) on `cols` columns, ticks at round local
    times: the smallest step of the view's steps whose labels are at least their width plus
    LABEL_ROOM cells apart (the largest when none is)."""
    if end <= start or cols <= 0:
        return TimeAxis(start, max(end, start + 1))
    grid = list(range(-(-start // TICK_GRID) * TICK_GRID, end + 1, TICK_GRID))
    minute_of_day = {}
    for m in grid:
        local = _local(m, tz)
        minute_of_day[m] = local.hour * 60 + local.minute
    per_cell = (end - start) / cols  # minutes per cell
    steps = DAY_STEPS if day else HOUR_STEPS
    chosen: tuple[list[int], list[str]] | None = None
    for step in steps:
        ticks = [m for m in grid if minute_of_day[m] % step == 0]
        labels = _labels(ticks, tz, day, weekday=False)
        room = step / per_cell  # cells between neighbouring ticks
        if len(set(labels)) < len(labels):  # both ends of a day: say which day, or drop the older
            marked = _labels(ticks, tz, day, weekday=True)
            if room >= max(map(len, marked)) + LABEL_ROOM:
                labels = marked
            else:
                seen: set[str] = set()
                keep = [i for i in reversed(range(len(ticks))) if not (labels[i] in seen or seen.add(labels[i]))]
                ticks, labels = [ticks[i] for i in sorted(keep)], [labels[i] for i in sorted(keep)]
        chosen = (ticks, labels)
        if room >= max(map(len, labels), default=0) + LABEL_ROOM:
            break
    ticks, labels = chosen
    return TimeAxis(start, end, tuple(ticks), tuple(labels))
