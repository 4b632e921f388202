"""Live, bounded views of the traffic for the console: rates, latency percentiles, spend, time series.

Fed by the event bus (one call per finished request, O(1) amortised); read by the console on a
timer. Everything is bounded: per-second buckets for the last minute, per-minute buckets for the
last day (latency percentiles from a small histogram, not the samples), a ring of recent latencies.
"""
from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from .latency_histogram import LatencyHistogram
from .records import RequestRecord
from .windows import parse_period

LATENCY_RING = 2000
MINUTES_KEPT = 24 * 60
_DAY = parse_period("1d", False)


def _at(ordered: list[float], q: float) -> float | None:
    """The q-quantile of already sorted values (None for none)."""
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else None


@dataclass
class MinuteBucket:
    minute: int  # epoch minute
    requests: int = 0
    errors: int = 0
    cost: int = 0  # micro-USD
    latencies: LatencyHistogram | None = field(default_factory=LatencyHistogram)  # None once closed
    p50: float | None = None  # computed once the minute has closed, then the histogram is dropped
    p95: float | None = None

    def close(self) -> None:
        if self.latencies is not None:
            self.p50, self.p95 = self.latencies.quantile(0.5), self.latencies.quantile(0.95)
            self.latencies = None

    def percentiles(self) -> tuple[float, float]:
        if self.latencies is not None:  # the current minute
            return self.latencies.quantile(0.5) or 0.0, self.latencies.quantile(0.95) or 0.0
        return self.p50 or 0.0, self.p95 or 0.0


class LiveStats:
    def __init__(self, tz: ZoneInfo, clock=time.time):
        self.tz = tz
        self.clock = clock
        self.started = clock()
        self.seconds: deque = deque(maxlen=61)  # (epoch second, requests, errors)
        self.minutes: deque[MinuteBucket] = deque(maxlen=MINUTES_KEPT)
        self.latencies: deque[float] = deque(maxlen=LATENCY_RING)
        self.spend_by_key: dict[str, int] = {}  # this month, micro-USD
        self.spend_by_team: dict[str, int] = {}
        self.spend_by_model: dict[str, int] = {}
        self.spend_today = 0
        self.spend_month = 0
        self.saved_month = 0  # requested-model cost minus actual, this month
        self.total_requests = 0  # since this process started
        self.total_errors = 0
        self.requests_month = 0  # this calendar month (local), the log's rows included
        self.errors_month = 0
        self._day_key = self._month_key = ""
        self._day_from = self._day_until = 0.0  # epoch seconds of the local day the keys above belong to
        self.loop_lag_ms = 0.0

    # -- feeding ----------------------------------------------------------------------
    def seed(self, rows: list[tuple]) -> None:
        """Rows of (ts_utc_iso, key, team, model, cost, requested_cost, status, error_type) from this month's
        log at start."""
        self._roll_calendar()
        today = datetime.now(self.tz).date()
        for ts, key, team, model, cost, requested, status, error_type in rows:
            cost = cost or 0
            self._add_spend(key, team, model, cost, requested)
            self.requests_month += 1
            self.errors_month += (status or 0) >= 400 or error_type is not None
            local = datetime.fromisoformat(ts.replace("Z", "+00:00")).astimezone(self.tz)
            if local.date() == today:
                self.spend_today += cost

    def observe(self, r: RequestRecord) -> None:
        now = self.clock()
        second, minute = int(now), int(now // 60)
        error = r.status >= 400 or r.error_type is not None
        if self.seconds and self.seconds[-1][0] == second:
            s, n, e = self.seconds[-1]
            self.seconds[-1] = (s, n + 1, e + error)
        else:
            self.seconds.append((second, 1, int(error)))
        if not self.minutes or self.minutes[-1].minute != minute:
            if self.minutes:
                self.minutes[-1].close()
            self.minutes.append(MinuteBucket(minute))
        bucket = self.minutes[-1]
        bucket.requests += 1
        bucket.errors += error
        bucket.latencies.add(r.latency_ms)
        cost = r.cost_micro_usd or 0
        bucket.cost += cost
        self.latencies.append(r.latency_ms)
        self.total_requests += 1
        self.total_errors += error
        self._roll_calendar()
        self.requests_month += 1
        self.errors_month += error
        self.spend_today += cost
        self._add_spend(r.key_name, r.team, r.served_model, cost, r.requested_cost_micro_usd)

    def _add_spend(self, key, team, model, cost: int, requested: int | None) -> None:
        self.spend_month += cost
        if requested is not None:
            self.saved_month += requested - cost
        for table, name in ((self.spend_by_key, key), (self.spend_by_team, team), (self.spend_by_model, model)):
            if name:
                table[name] = table.get(name, 0) + cost

    def _roll_calendar(self) -> None:
        now = time.time()
        if self._day_from <= now < self._day_until:  # nearly always: still the same local day
            return
        local = datetime.fromtimestamp(now, self.tz)
        today = _DAY.window_at(local, self.tz)  # local midnight to midnight, DST-aware
        self._day_from, self._day_until = today.start.timestamp(), today.end.timestamp()
        day, month = local.strftime("%Y-%m-%d"), local.strftime("%Y-%m")
        if month != self._month_key:
            self._month_key = month
            self.spend_month = self.saved_month = 0
            self.requests_month = self.errors_month = 0
            self.spend_by_key, self.spend_by_team, self.spend_by_model = {}, {}, {}
        if day != self._day_key:
            self._day_key = day
            self.spend_today = 0

    # -- reading ----------------------------------------------------------------------
    def summary(self, in_flight: int) -> dict:
        now = int(self.clock())
        recent = [(s, n, e) for s, n, e in self.seconds if now - 60 < s <= now]
        count = sum(n for _, n, _ in recent)
        errors = sum(e for _, _, e in recent)
        lat = sorted(self.latencies)  # once, for both percentiles
        top = sorted(self.spend_by_key.items(), key=lambda kv: -kv[1])[:5]
        return {
            "uptime_s": round(self.clock() - self.started, 1),
            "rps": round(count / 60, 2), "error_pct": round(100 * errors / count, 1) if count else 0.0,
            "p50_ms": _at(lat, 0.5), "p95_ms": _at(lat, 0.95), "in_flight": in_flight,
            "spend_today_micro_usd": self.spend_today, "spend_month_micro_usd": self.spend_month,
            "saved_month_micro_usd": self.saved_month, "top_keys": top,
            "requests_total": self.total_requests, "errors_total": self.total_errors,
            "requests_month": self.requests_month, "errors_month": self.errors_month,
            "loop_lag_ms": round(self.loop_lag_ms, 1),
        }

    def series(self, minutes: int = 60) -> dict:
        """Per-minute series for the plots: requests/s, p50/p95 latency, spend."""
        now_minute = int(self.clock() // 60)
        by_minute = {b.minute: b for b in self.minutes}
        xs, rps, p50, p95, spend = [], [], [], [], []
        for m in range(now_minute - minutes + 1, now_minute + 1):
            b = by_minute.get(m)
            xs.append(m)
            rps.append(round(b.requests / 60, 3) if b else 0.0)
            q50, q95 = b.percentiles() if b else (0.0, 0.0)
            p50.append(q50)
            p95.append(q95)
            spend.append(b.cost if b else 0)
        return {"minutes": xs, "rps": rps, "p50_ms": p50, "p95_ms": p95, "spend_micro_usd": spend,
                "by_key": dict(self.spend_by_key), "by_team": dict(self.spend_by_team),
                "by_model": dict(self.spend_by_model)}
