"""Window arithmetic and accumulation, table tests, no clock."""

from __future__ import annotations

import random

import pytest

from chaos.load.outcome import Outcome, Result
from chaos.load.windows import (
    HIST_MAX_US,
    WindowAccumulator,
    new_histogram,
    to_us,
    values_at_percentiles,
    window_of,
    window_start,
    windows_between,
)


@pytest.mark.parametrize(
    ("t", "width", "index"),
    [
        (0.0, 0.1, 0),
        (0.0999, 0.1, 0),
        (0.1, 0.1, 1),
        (0.3, 0.1, 3),
        (0.7, 0.1, 7),
        (12.34, 0.1, 123),
        (-0.5, 0.1, 0),
        (2.0, 1.0, 2),
    ],
)
def test_window_of(t: float, width: float, index: int) -> None:
    assert window_of(t, width) == index


@pytest.mark.parametrize(("index", "start"), [(0, 0.0), (3, 0.3), (123, 12.3)])
def test_window_start(index: int, start: float) -> None:
    assert window_start(index, 0.1) == start


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (0.0, 1.0, range(10)),
        (0.25, 0.45, range(2, 5)),
        (0.3, 0.3, range(0)),
        (1.0, 1.05, range(10, 11)),
    ],
)
def test_windows_between(start: float, end: float, expected: range) -> None:
    assert windows_between(start, end, 0.1) == expected


@pytest.mark.parametrize(
    ("seconds", "us"), [(0.0, 1), (0.0005, 500), (1.5, 1_500_000), (3600.0, HIST_MAX_US)]
)
def test_to_us_clamps(seconds: float, us: int) -> None:
    assert to_us(seconds) == us


def _result(seq: int, target: int, intended: float, done: float, outcome: Outcome) -> Result:
    return Result(seq, target, intended, intended, done, outcome)


def test_window_closes_only_when_passed_and_all_finished() -> None:
    acc = WindowAccumulator(n_targets=2, width=0.1)
    acc.issue(0.00)
    acc.issue(0.05)
    acc.record(_result(0, 0, 0.00, 0.01, Outcome.OK))
    assert acc.pop_closed(frontier=0.09) == []  # window 0 not over yet
    assert acc.pop_closed(frontier=0.15) == []  # request 1 still in flight
    acc.record(_result(1, 1, 0.05, 0.40, Outcome.RESET))
    closed = acc.pop_closed(frontier=0.35)
    assert [w.index for w in closed] == [0, 1, 2]  # empty windows 1 and 2 close too
    w0 = closed[0]
    assert w0.stats[0].counts == {Outcome.OK: 1}
    assert w0.stats[1].counts == {Outcome.RESET: 1}
    assert w0.stats[1].hist_ok.get_total_count() == 0
    assert w0.stats[1].hist_all.get_total_count() == 1
    assert w0.stats[1].hist_all.get_max_value() == pytest.approx(350_000, rel=1e-3)


def test_pop_all_flushes_unfinished_in_order() -> None:
    acc = WindowAccumulator(n_targets=1, width=0.1)
    acc.issue(0.12)
    acc.record(_result(0, 0, 0.12, 0.2, Outcome.OK))
    acc.issue(0.31)
    closed = acc.pop_all(end=0.4)
    assert [w.index for w in closed] == [0, 1, 2, 3]
    assert closed[1].stats[0].counts == {Outcome.OK: 1}


@pytest.mark.parametrize("seed", range(20))
def test_values_at_percentiles_match_hdrh(seed: int) -> None:
    rng = random.Random(seed)
    hist = new_histogram()
    for _ in range(rng.randint(1, 3000)):
        kind = rng.random()
        if kind < 0.6:
            value = rng.randint(50, 3000)
        elif kind < 0.9:
            value = rng.randint(1, 60_000_000)
        else:
            value = rng.choice([1, 60_000_000])
        hist.record_value(value, rng.randint(1, 3))
    ps = (0.0, 1.0, 50.0, 90.0, 99.0, 99.9, 100.0)
    assert values_at_percentiles(hist, ps) == [hist.get_value_at_percentile(p) for p in ps]


def test_values_at_percentiles_of_empty_histogram_are_zero() -> None:
    assert values_at_percentiles(new_histogram(), (50.0, 99.0)) == [0, 0]
