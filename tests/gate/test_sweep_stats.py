"""The statistics of a sweep against known answers: the exact bootstrap distribution of a
median against brute-force enumeration of every resample, its interval, and the one-sided
Mann-Whitney U test against a textbook example, the tables of exact critical values and a
brute-force permutation test (ties included)."""

from __future__ import annotations

import itertools
import math
import statistics
from collections import Counter
from fractions import Fraction

import pytest

from chaos.sweep import stats
from chaos.sweep.recommend import fewest_to_be_sure


def brute_median_distribution(xs: list[float]) -> dict[float, Fraction]:
    n = len(xs)
    counts = Counter(statistics.median(r) for r in itertools.product(xs, repeat=n))
    return {float(v): Fraction(c, n**n) for v, c in sorted(counts.items())}


@pytest.mark.parametrize(
    "xs",
    [
        [5.0],
        [1.0, 2.0],
        [3.0, 1.0, 2.0],
        [1.0, 2.0, 2.0, 5.0],
        [1.0, 2.0, 3.0, 4.0, 5.0],
        [0.0, 0.0, 1.0, 7.0, 7.0],
        [4.0, 1.0, 9.0, 2.0, 6.0, 3.0],
        [0.0, 0.0, 0.0],
    ],
)
def test_median_distribution_is_the_exact_bootstrap(xs: list[float]) -> None:
    got = stats.median_distribution(xs)
    assert got == brute_median_distribution(xs)
    assert sum(got.values()) == 1


def test_median_distribution_of_three_values_by_hand() -> None:
    # P(median = smallest) = P(at least 2 of 3 draws are the smallest) = (3*2 + 1) / 27
    assert stats.median_distribution([1.0, 2.0, 3.0]) == {
        1.0: Fraction(7, 27),
        2.0: Fraction(13, 27),
        3.0: Fraction(7, 27),
    }


@pytest.mark.parametrize(
    ("xs", "low", "high"),
    [
        ([19.0, 25.0], 19.0, 25.0),
        ([23.0, 19.0, 25.0], 19.0, 25.0),
        ([1.0, 2.0, 3.0, 4.0, 5.0], 1.0, 5.0),  # up to 5 runs: the bootstrap shows min..max
        ([float(i) for i in range(6)], 0.5, 4.5),
        ([float(i) for i in range(7)], 1.0, 5.0),
        ([float(i) for i in range(10)], 2.0, 7.0),
        ([4.0, 4.0, 4.0], 4.0, 4.0),
    ],
)
def test_median_interval(xs: list[float], low: float, high: float) -> None:
    got = stats.median_interval(xs, 0.95)
    assert got is not None and (got.low, got.high) == (low, high)


def test_no_interval_from_one_run() -> None:
    assert stats.median_interval([3.0]) is None
    assert stats.median_interval([]) is None


def test_mann_whitney_textbook_example() -> None:
    # Shier (2004), "Statistics: 2.3 The Mann-Whitney U Test", the example of SciPy's
    # mannwhitneyu docs: ages at diagnosis, U = 17 for the males, exact two-sided p = 0.1111,
    # so one-sided p = 7/126 that the females' ages tend lower.
    males = [19.0, 22.0, 16.0, 29.0, 24.0]
    females = [20.0, 11.0, 17.0, 12.0]
    got = stats.rank_test(females, males)
    assert got.exact and got.pairs == 20
    assert got.wins == 17  # = U of the males: pairs where the female is younger
    assert got.p == pytest.approx(7 / 126, abs=1e-15)
    assert 2 * got.p == pytest.approx(0.1111, abs=1e-4)


@pytest.mark.parametrize(
    ("n", "p"),
    # the tables' smallest one-sided p: every x below every y, one split in C(2n, n)
    [(1, 1 / 2), (2, 1 / 6), (3, 1 / 20), (4, 1 / 70), (5, 1 / 252)],
)
def test_mann_whitney_fully_separated(n: int, p: float) -> None:
    got = stats.rank_test([float(i) for i in range(n)], [float(10 + i) for i in range(n)])
    assert (got.wins, got.pairs) == (n * n, n * n)
    assert got.p == pytest.approx(p, abs=1e-15)


def brute_p(x: list[float], y: list[float]) -> float:
    """The permutation p-value by enumeration: splits with at least as many wins."""

    def wins(a: list[float], b: list[float]) -> float:
        return sum(1.0 if i < j else 0.5 if i == j else 0.0 for i in a for j in b)

    pooled = [*x, *y]
    observed = wins(x, y)
    hits = total = 0
    for idx in itertools.combinations(range(len(pooled)), len(x)):
        a = [pooled[i] for i in idx]
        b = [pooled[i] for i in range(len(pooled)) if i not in idx]
        total += 1
        hits += wins(a, b) >= observed - 1e-9
    return hits / total


@pytest.mark.parametrize(
    ("x", "y"),
    [
        ([0.0, 1.0, 0.0], [1.0, 1.0, 2.0]),
        ([0.0, 0.0, 1.0, 1.0], [1.0, 2.0, 2.0]),
        ([5.0, 5.0, 5.0], [5.0, 5.0, 6.0, 6.0]),
        ([1.0, 2.0, 3.0], [2.0, 4.0, 3.0]),
        ([3.0, 9.0, 4.0, 4.0, 12.0], [2.0, 8.0, 8.0, 15.0, 9.0, 7.0]),
        ([9.0, 8.0, 7.0], [1.0, 2.0, 3.0]),  # the other way round: p = 1
    ],
)
def test_mann_whitney_with_ties_is_the_permutation_test(x: list[float], y: list[float]) -> None:
    assert stats.rank_test(x, y).p == pytest.approx(brute_p(x, y), abs=1e-12)


def test_all_tied_is_no_evidence() -> None:
    got = stats.rank_test([0.0, 0.0, 0.0], [0.0, 0.0, 0.0])
    assert (got.wins, got.p) == (4.5, 1.0)


@pytest.mark.parametrize(("shift", "rel"), [(2.5, 0.02), (5.5, 0.15)])
def test_large_samples_use_the_normal_approximation_close_to_exact(
    shift: float, rel: float
) -> None:
    # 20 against 20 is still counted exactly; the approximation used beyond it, applied to
    # the same data, is within 2% at p ~ 0.3 and 15% far in the tail (p ~ 0.005)
    x = [float(i) for i in range(20)]
    y = [float(i) + shift for i in range(20)]
    exact = stats.rank_test(x, y)
    assert exact.exact
    assert not stats.rank_test([*x, 2.0], [*y, 30.0]).exact
    ranks = stats.midranks([*x, *y])
    approx = stats._normal_lower_tail(ranks, 20, sum(ranks[:20], Fraction(0)))
    assert approx == pytest.approx(exact.p, rel=rel)


def test_fewest_runs_that_can_be_sure() -> None:
    assert fewest_to_be_sure(0.95) == 3
    assert fewest_to_be_sure(0.99) == 5  # 4 vs 4: 1/70 > 1%; 5 vs 5: 1/252
    assert 1 / math.comb(8, 4) > 0.01 >= 1 / math.comb(10, 5)


def test_midranks() -> None:
    assert stats.midranks([10.0, 20.0, 10.0, 30.0]) == [
        Fraction(3, 2),
        Fraction(3),
        Fraction(3, 2),
        Fraction(4),
    ]
