"""Latency percentiles in bounded memory: a sparse histogram over logarithmic bins.

A minute at 2,000 requests/s is 120,000 latencies; keeping them (and sorting them for every read) cost
~4 MB and tens of milliseconds. Bins 2% wide from 10 µs up keep at most ~1,100 counters whatever the
traffic (a few dozen in practice), and a percentile read off them is within 1% of the exact one.
"""
from __future__ import annotations

import math

FLOOR_MS = 0.01
GROWTH = 1.02
_LOG_GROWTH = math.log(GROWTH)


class LatencyHistogram:
    __slots__ = ("counts", "total")

    def __init__(self) -> None:
        self.counts: dict[int, int] = {}
        self.total = 0

    def add(self, ms: float) -> None:
        index = int(math.log(ms / FLOOR_MS) / _LOG_GROWTH) if ms > FLOOR_MS else 0
        self.counts[index] = self.counts.get(index, 0) + 1
        self.total += 1

    def quantile(self, q: float) -> float | None:
        """The value below which a fraction q of the samples lie (the bin's geometric middle), None if empty."""
        if not self.total:
            return None
        rank = min(self.total - 1, int(q * self.total))  # the same rank as sorting and indexing
        seen = 0
        for index in sorted(self.counts):
            seen += self.counts[index]
            if seen > rank:
                return FLOOR_MS * GROWTH ** (index + 0.5) if index else FLOOR_MS
        raise AssertionError("unreachable: total is the sum of the counts")
