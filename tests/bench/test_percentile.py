"""The benchmarks' one percentile: nearest rank."""

from __future__ import annotations

from bench.pages import percentile


def test_percentile_nearest_rank() -> None:
    values = [5.0, 1.0, 4.0, 2.0, 3.0]
    assert percentile(values, 0.5) == 3.0
    assert percentile(values, 0.0) == 1.0
    assert percentile(values, 0.95) == 5.0
    assert percentile(list(map(float, range(1, 101))), 0.95) == 95.0


def test_percentile_of_nothing_is_zero() -> None:
    assert percentile([], 0.5) == 0.0
