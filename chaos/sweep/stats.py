"""The statistics of a sweep, exact and in pure Python (no sampling, so no seed to carry and
nothing that changes from one rendering to the next).

- :func:`median_interval`: the percentile **bootstrap** interval of a median, computed from
  the exact bootstrap distribution (every one of the ``n**n`` equally likely resamples counted
  through order statistics, not a few thousand drawn at random). With the 2-10 repeats of a
  sweep the distribution has at most ``n(n+1)/2`` values, so drawing resamples would only add
  noise to a number that can be counted.
- :func:`rank_test`: the one-sided **Mann-Whitney U** test of "x tends lower than y", its
  p-value from the exact permutation distribution of the rank sum (ties get mid-ranks and are
  permuted as they are, so tied data need no correction), a normal approximation beyond
  :data:`EXACT_UP_TO` runs in all.

Why a rank test decides, and the bootstrap only describes: with two repeats a side whose
values do not overlap, every bootstrap resample keeps them apart ("better in 100% of
resamples"), however little two runs say. The permutation test knows how many runs it has:
with 2 against 2 the smallest p-value possible is 1/6, with 3 against 3 it is 1/20.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

EXACT_UP_TO = 40  # runs in both samples; the exact rank-sum count is ~N^3/8 steps


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values))


def median_distribution(values: Sequence[float]) -> dict[float, Fraction]:
    """The exact bootstrap distribution of the median of ``values``: value -> probability
    over the ``n**n`` resamples of size ``n`` drawn with replacement.

    With the sample sorted, a resample's r-th smallest draw is at or below the k-th value
    exactly when at least r of the n draws land on the first k values (a binomial count);
    an even n's median is the mean of the two middle draws, counted pairwise by multinomial
    weights. Weights are integers over ``n**n``, so the result is exact."""
    xs = sorted(values)
    n = len(xs)
    if n == 0:
        raise ValueError("median_distribution of no values")
    weights: dict[float, int] = {}

    def add(value: float, w: int) -> None:
        if w:
            weights[value] = weights.get(value, 0) + w

    if n % 2:
        m = (n + 1) // 2  # the median is the m-th smallest draw
        below = 0  # resamples whose median is at or below index k - 1
        for k in range(1, n + 1):
            # resamples with at least m draws among the first k values
            at_most = sum(math.comb(n, j) * k**j * (n - k) ** (n - j) for j in range(m, n + 1))
            add(xs[k - 1], at_most - below)
            below = at_most
    else:
        m = n // 2  # the median is the mean of the m-th and (m+1)-th smallest draws
        fact = math.factorial
        for a in range(1, n + 1):
            lo, hi = a - 1, n - a  # values strictly below / above index a
            # both middle draws on value a: fewer than m draws below it, m + 1 or more up to it
            w = sum(
                fact(n) // (fact(b) * fact(c) * fact(n - b - c)) * lo**b * hi ** (n - b - c)
                for b in range(m)
                for c in range(m + 1 - b, n - b + 1)
            )
            add(xs[a - 1], w)
            for z in range(a + 1, n + 1):
                # the m-th draw on a, the (m+1)-th on z > a: exactly m draws up to a (at least
                # one on a), none strictly between, at least one on z
                above = n - z
                w = sum(
                    fact(n) // (fact(b) * fact(m - b) * fact(d) * fact(n - m - d))
                    * lo**b * above ** (n - m - d)
                    for b in range(m)
                    for d in range(1, n - m + 1)
                )  # fmt: skip
                add((xs[a - 1] + xs[z - 1]) / 2, w)
    total = n**n
    return {v: Fraction(w, total) for v, w in sorted(weights.items())}


@dataclass(frozen=True, slots=True)
class Interval:
    """``[low, high]``: the percentile bootstrap interval of a median at ``level``."""

    low: float
    high: float
    level: float


def median_interval(values: Sequence[float], level: float = 0.95) -> Interval | None:
    """The (1 - level)/2 and (1 + level)/2 quantiles of the exact bootstrap distribution of the
    median (the smallest value whose cumulative probability reaches each); ``None`` for fewer
    than two values (one run has no spread to resample). With 2-7 distinct repeats this is
    their min..max: the bootstrap cannot claim more than the runs showed."""
    if len(values) < 2:
        return None
    tail = (1 - Fraction(level).limit_denominator(10**6)) / 2
    dist = median_distribution(values)
    cum, low, high = Fraction(0), None, None
    for value, p in dist.items():
        cum += p
        if low is None and cum >= tail:
            low = value
        if high is None and cum >= 1 - tail:
            high = value
    assert low is not None and high is not None  # cum reaches 1
    return Interval(low, high, level)


@dataclass(frozen=True, slots=True)
class RankTest:
    """Mann-Whitney U for "x tends lower than y". ``wins``: pairs (one run of x, one of y)
    where x's value is lower, a tie counting one half, of ``pairs`` = len(x) * len(y);
    ``p``: the probability of at least as many wins if x and y came from one distribution
    (every split of the pooled runs into groups of these sizes equally likely); ``exact``:
    counted over every split, else the normal approximation with the tie correction."""

    wins: float
    pairs: int
    p: float
    exact: bool


def midranks(values: Sequence[float]) -> list[Fraction]:
    """Ranks 1..N of ``values`` in their order, tied values sharing the mean of their ranks."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    ranks = [Fraction(0)] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = Fraction(i + j + 2, 2)
        i = j + 1
    return ranks


def rank_test(x: Sequence[float], y: Sequence[float]) -> RankTest:
    """The one-sided Mann-Whitney U test that ``x`` tends lower than ``y`` (see
    :class:`RankTest`); both need at least one value."""
    n1, n2 = len(x), len(y)
    if not n1 or not n2:
        raise ValueError("rank_test needs a value on each side")
    ranks = midranks([*x, *y])
    r1 = sum(ranks[:n1], Fraction(0))
    wins = float(n1 * n2 - (r1 - Fraction(n1 * (n1 + 1), 2)))  # n1*n2 - U of x
    if n1 + n2 <= EXACT_UP_TO:
        return RankTest(wins, n1 * n2, _lower_tail(ranks, n1, r1), True)
    return RankTest(wins, n1 * n2, _normal_lower_tail(ranks, n1, r1), False)


def _lower_tail(ranks: Sequence[Fraction], n1: int, r1: Fraction) -> float:
    """P(the rank sum of n1 runs drawn without replacement from ``ranks`` <= ``r1``): counts
    of subsets by size and doubled rank sum (mid-ranks are halves), sums above r1 dropped."""
    doubled = [int(r * 2) for r in ranks]
    limit = int(r1 * 2)
    counts: list[dict[int, int]] = [{0: 1}] + [{} for _ in range(n1)]
    for r in doubled:
        for k in range(n1, 0, -1):
            into = counts[k]
            for s, c in counts[k - 1].items():
                if s + r <= limit:
                    into[s + r] = into.get(s + r, 0) + c
    return float(Fraction(sum(counts[n1].values()), math.comb(len(ranks), n1)))


def _normal_lower_tail(ranks: Sequence[Fraction], n1: int, r1: Fraction) -> float:
    n = len(ranks)
    n2 = n - n1
    ties: dict[Fraction, int] = {}
    for r in ranks:
        ties[r] = ties.get(r, 0) + 1
    tie_term = sum(t**3 - t for t in ties.values()) / (n * (n - 1))
    var = n1 * n2 / 12 * ((n + 1) - tie_term)
    if var <= 0:
        return 1.0  # every value tied: no evidence either way
    z = (float(r1) - n1 * (n + 1) / 2 + 0.5) / math.sqrt(var)  # continuity correction
    return 0.5 * math.erfc(-z / math.sqrt(2))
