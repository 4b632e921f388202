"""Latency percentiles from the bounded histogram agree with sorting the samples, within the bin width."""
import random

import pytest

from app.core.latency_histogram import LatencyHistogram


def percentile(values: list[float], q: float) -> float:
    """The exact q-quantile: sort, then index (the rank the histogram also uses)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


@pytest.mark.parametrize("seed", range(5))
def test_quantiles_within_one_percent_of_the_exact_ones(seed):
    rng = random.Random(seed)
    samples = [max(0.02, rng.lognormvariate(0.5, 1.2)) for _ in range(20_000)] + [rng.uniform(200, 30_000) for _ in range(500)]
    hist = LatencyHistogram()
    for ms in samples:
        hist.add(ms)
    for q in (0.0, 0.5, 0.9, 0.95, 0.99, 1.0):
        exact = percentile(samples, q)
        assert hist.quantile(q) == pytest.approx(exact, rel=0.0101), q


def test_memory_is_a_few_bins_not_the_samples():
    hist = LatencyHistogram()
    rng = random.Random(1)
    for _ in range(120_000):  # a minute at 2,000 requests/s, latencies between 1 and 10 ms
        hist.add(rng.uniform(1.0, 10.0))
    assert hist.total == 120_000
    assert len(hist.counts) <= 118  # log(10)/log(1.02) + 1 bins


def test_empty_and_tiny_values():
    hist = LatencyHistogram()
    assert hist.quantile(0.5) is None
    hist.add(0.0)
    hist.add(0.004)
    assert hist.quantile(0.5) == 0.01  # everything at or under 10 µs shares the first bin
