"""Which setting a sweep recommends, and how sure that is.

1. Rank the settings with results by median failed requests, then median update duration (a
   missing update duration ranks last; ties keep the matrix order). The first is recommended.
2. Against every other setting with results, the **deciding metric** is failed requests, or
   the update duration when the two have the same median failed requests.
3. On it, the one-sided Mann-Whitney U test (:func:`chaos.sweep.stats.rank_test`) of "the
   recommended setting's runs tend lower": **sure** when its p-value is at most 1 - ``LEVEL``
   (5%): a lead at least that one-sided would come by chance at most 5% of the time if the two
   settings were alike.
4. The recommendation is ``confident`` when it is sure against every other setting; no
   correction for the number of comparisons is needed, since "better than each of them" is
   claimed only when every one of the tests says so (an intersection-union test keeps its
   level). Otherwise ``not_sure``, naming the first comparison that is not.

The rank test knows how few runs it has: 2 runs against 2 can never reach 5% (the most
one-sided split has a 1/6 chance), 3 against 3 just can (1/20); the text says so.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from chaos.sweep.metrics import BY_KEY, MetricKey, fmt
from chaos.sweep.model import LEVEL, CellSummary, Comparison, Recommendation
from chaos.sweep.stats import rank_test

# p-values are ratios of small integers, computed in floats: 1/20 must count as 5%
_EPS = 1e-12


def rank_key(c: CellSummary) -> tuple[float, float]:
    inf = float("inf")
    failed = c.failed.median if c.failed.median is not None else inf
    update = c.update_s.median if c.update_s.median is not None else inf
    return failed, update


def chance(p: float) -> str:
    """A p-value in words: ``5.0%``, ``<0.1%``."""
    return "<0.1%" if p < 0.001 else f"{p * 100:.1f}%"


def fewest_to_be_sure(level: float = LEVEL) -> int:
    """The fewest runs per setting (equal on both sides) that can be sure at ``level``."""
    n = 1
    while 1 / math.comb(2 * n, n) > 1 - level + _EPS:
        n += 1
    return n


def deciding_metric(best: CellSummary, other: CellSummary) -> MetricKey:
    return "failed" if best.failed.median != other.failed.median else "update_s"


def compare(best: CellSummary, other: CellSummary, level: float = LEVEL) -> Comparison:
    """``best`` against ``other`` (rule 2 and 3 of the module docstring)."""
    metric = deciding_metric(best, other)
    if metric == "update_s":
        why = None
        if best.update_s.median is None or other.update_s.median is None:
            why = f"no update duration to compare with {other.label}"
        elif best.update_s.median == other.update_s.median:
            why = f"tied with {other.label} on failed requests and update"
        if why is not None:
            return Comparison(other=other.slug, other_label=other.label, metric=None, text=why)
    x, y = best.values(metric), other.values(metric)
    test = rank_test(x, y)
    sure = test.p <= 1 - level + _EPS
    m = BY_KEY[metric]
    said = (
        f"{best.label} {m.better} than {other.label} in {test.wins:g} of {test.pairs} run "
        f"pairs ({len(x)} vs {len(y)} runs); a lead this one-sided comes by chance "
        f"{chance(test.p)} of the time when two settings are alike"
    )
    if sure:
        text = f"{said}: sure at {level:.0%}"
    elif len(x) == 1 and len(y) == 1:
        text = "one run per setting, no spread to judge by (use --repeat 3 or --repeat auto)"
    elif 1 / math.comb(len(x) + len(y), len(x)) > 1 - level + _EPS:
        text = (
            f"{said}; {len(x)} vs {len(y)} runs can never be sure at {level:.0%}: repeat each "
            f"setting at least {fewest_to_be_sure(level)} times"
        )
    else:
        text = f"{said}: not sure (sure needs {chance(1 - level)} or less)"
    return Comparison(
        other=other.slug,
        other_label=other.label,
        metric=metric,
        n=len(x),
        n_other=len(y),
        wins=test.wins,
        pairs=test.pairs,
        p=test.p,
        exact=test.exact,
        sure=sure,
        text=text,
    )


def recommend(cells: Sequence[CellSummary], level: float = LEVEL) -> Recommendation:
    """The rule of the module docstring."""
    usable = [c for c in cells if c.failed.n > 0]
    if not usable:
        return Recommendation(
            slug=None, confidence="none", text="no recommendation: no setting has a result"
        )
    ranked = sorted(usable, key=rank_key)  # stable: ties keep the matrix order
    best = ranked[0]
    head = f"recommended: {best.label} ({fmt('failed', best.failed.median)} failed requests"
    head += f", update {fmt('update_s', best.update_s.median)}, medians)"
    if len(ranked) == 1:
        why = "only one setting has results" if len(cells) > 1 else "only one setting"
        return Recommendation(slug=best.slug, confidence="not_sure", text=f"{head}; {why}")
    versus = [compare(best, other, level) for other in ranked[1:]]
    unsure = [c for c in versus if not c.sure]
    if not unsure:
        if len(versus) == 1:
            text = f"{head}; sure: {versus[0].text}"
        else:
            worst = max(versus, key=lambda c: c.p or 0.0)
            text = (
                f"{head}; sure at {level:.0%} against all {len(versus)} other settings (the "
                f"least one-sided lead, vs {worst.other_label}, comes by chance "
                f"{chance(worst.p or 0.0)} of the time when two settings are alike)"
            )
        return Recommendation(
            slug=best.slug, confidence="confident", text=text, versus=versus, level=level
        )
    more = f" (and {len(unsure) - 1} more settings not sure)" if len(unsure) > 1 else ""
    text = f"{head}; not sure: {unsure[0].text}{more}"
    return Recommendation(
        slug=best.slug, confidence="not_sure", text=text, versus=versus, level=level
    )
