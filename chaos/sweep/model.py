"""``sweep.json``: the comparison of a sweep's settings, as plain frozen models (the Markdown,
the page and the log all render these; nothing recomputes a number)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from chaos.sweep.metrics import MetricKey
from chaos.sweep.stats import median, median_interval

LEVEL = 0.95  # of the medians' intervals and of "sure" (a rank test's p at most 1 - LEVEL)


class Spread(BaseModel):
    """Median and range of one metric over a cell's repeats that have it (``n`` of them)."""

    model_config = ConfigDict(frozen=True)

    n: int
    median: float | None
    min: float | None
    max: float | None

    @classmethod
    def of(cls, values: Sequence[float | None]) -> Spread:
        xs = sorted(v for v in values if v is not None)
        if not xs:
            return cls(n=0, median=None, min=None, max=None)
        return cls(n=len(xs), median=median(xs), min=xs[0], max=xs[-1])


class Estimate(Spread):
    """A :class:`Spread` with ``low``..``high``, the percentile bootstrap interval of the
    median at ``level`` (:func:`chaos.sweep.stats.median_interval`; ``None`` with fewer than
    two values)."""

    low: float | None = None
    high: float | None = None
    level: float = LEVEL

    @classmethod
    def of(cls, values: Sequence[float | None]) -> Estimate:
        spread = Spread.of(values)
        xs = [v for v in values if v is not None]
        interval = median_interval(xs, LEVEL)
        if interval is None:
            return cls(**spread.model_dump())
        return cls(**spread.model_dump(), low=float(interval.low), high=float(interval.high))


class RepSummary(BaseModel):
    """One repeat: its dir (relative to the sweep dir), verdict and headline numbers
    (``None``: no result, or not applicable)."""

    model_config = ConfigDict(frozen=True)

    dir: str
    verdict: str
    failed: float | None
    error_rate: float | None
    p99_ms: float | None
    update_s: float | None

    def value(self, key: MetricKey) -> float | None:
        v: float | None = getattr(self, key)
        return v


class CellSummary(BaseModel):
    model_config = ConfigDict(frozen=True)

    slug: str
    label: str
    settings: dict[str, Any]
    runs: list[RepSummary]
    failed: Estimate
    error_rate: Estimate
    p99_ms: Estimate
    update_s: Estimate

    def estimate(self, key: MetricKey) -> Estimate:
        e: Estimate = getattr(self, key)
        return e

    def values(self, key: MetricKey) -> list[float]:
        return [v for r in self.runs if (v := r.value(key)) is not None]


Confidence = Literal["confident", "not_sure", "none"]


class Comparison(BaseModel):
    """The recommended setting against one other on the deciding ``metric`` (``None``: no
    metric could decide, ``why`` says so): the one-sided Mann-Whitney U test that the
    recommended setting's runs tend lower (``wins`` of ``pairs`` run pairs, ``p``, ``exact``);
    ``sure`` when ``p <= 1 - level``; ``text`` says it in words."""

    model_config = ConfigDict(frozen=True)

    other: str
    other_label: str
    metric: MetricKey | None
    n: int = 0
    n_other: int = 0
    wins: float | None = None
    pairs: int | None = None
    p: float | None = None
    exact: bool = True
    sure: bool = False
    text: str


class Recommendation(BaseModel):
    """``slug``: the recommended setting (``None``: no setting has a result);
    ``confidence``: ``confident`` when every comparison in ``versus`` is sure; ``text``: one
    line saying which and how sure."""

    model_config = ConfigDict(frozen=True)

    slug: str | None
    confidence: Confidence
    text: str
    versus: list[Comparison] = []
    level: float = LEVEL


class SweepSummary(BaseModel):
    """``sweep.json``. ``repeat``: planned runs per setting (with ``auto``, the first round);
    ``auto``: ``--repeat auto`` was used; ``stopped``: why the sweep ended (from its log)."""

    model_config = ConfigDict(frozen=True)

    experiment: str
    repeat: int
    axes: list[tuple[str, list[Any]]]
    cells: list[CellSummary]
    recommendation: Recommendation
    auto: bool = False
    stopped: str | None = None
