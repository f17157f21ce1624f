"""Time series and latency distributions of a run, folded from its 100 ms windows.

Buckets: the charts use buckets of ``bucket_s`` seconds laid on a grid anchored at ``origin``
(0 on a run page, the first fault on a comparison page); a 100 ms window goes to the bucket
holding its start, as everywhere in the analysis. :func:`pick_bucket` keeps a chart to at most
``MAX_POINTS`` points: 0.5 s for runs up to 200 s, 1 s for a 5-minute run. Never below 0.5 s:
a 100 ms window holds a handful of requests per target (7 at 200 req/s over 3 IPs), so its
rate alternates between two integers and hides the shape.

Rates are per second of *covered* time (the windows present in the bucket), so a partial
bucket at either end is not under-reported. Latency percentiles are in milliseconds over
successes, from the exact merge of the bucket's HdrHistograms (never an average).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from hdrh.histogram import HdrHistogram

from chaos.analysis.loaddir import GENERATOR_KINDS, in_span
from chaos.analysis.phases import PhaseStats
from chaos.load.summary import TimelineEntry
from chaos.load.windows import new_histogram, values_at_percentiles
from chaos.report.rundir import Run, Window

MAX_POINTS = 400
BUCKETS_S = (0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0)
TICKS_PER_DECADE = 10  # points per decade of 1/(1-p) in the percentile plots
DISTRIBUTION_PHASES = ("baseline", "fault", "observe")
_EPS = 1e-6


def pick_bucket(duration_s: float, max_points: int = MAX_POINTS) -> float:
    """The smallest bucket (seconds) that keeps ``duration_s`` to ``max_points`` points."""
    for bucket in BUCKETS_S:
        if duration_s / bucket <= max_points:
            return bucket
    return BUCKETS_S[-1]


def bucket_index(t: float, bucket_s: float, origin: float) -> int:
    """The bucket holding time ``t`` (seconds) on the grid ``origin + k * bucket_s``."""
    return math.floor((t - origin) / bucket_s + _EPS)


@dataclass(frozen=True, slots=True)
class Grid:
    """Buckets ``first .. last`` (inclusive) of width ``bucket_s`` anchored at ``origin``;
    ``x`` are their starts relative to ``shift`` (seconds)."""

    bucket_s: float
    origin: float
    first: int
    last: int
    shift: float = 0.0

    @property
    def x(self) -> list[float]:
        return [
            round(self.origin + k * self.bucket_s - self.shift, 4)
            for k in range(self.first, self.last + 1)
        ]

    def slot(self, t: float) -> int | None:
        k = bucket_index(t, self.bucket_s, self.origin)
        return k - self.first if self.first <= k <= self.last else None

    @property
    def size(self) -> int:
        return self.last - self.first + 1


def grid_of(run: Run, bucket_s: float, origin: float = 0.0, shift: float = 0.0) -> Grid:
    """The bucket grid covering every window of ``run`` (one empty bucket without data)."""
    starts = [e.t for e in run.timeline] or [0.0]
    first = bucket_index(min(starts), bucket_s, origin)
    last = bucket_index(max(starts), bucket_s, origin)
    return Grid(bucket_s, origin, first, last, shift)


@dataclass(frozen=True, slots=True)
class Rates:
    """Per target URL: successes and server-side errors per second, one value per bucket
    (``None`` where the target has no window)."""

    ok: dict[str, list[float | None]]
    errors: dict[str, list[float | None]]


def rates(entries: Iterable[TimelineEntry], grid: Grid, window_s: float) -> Rates:
    """Fold timeline entries into per-second rates on ``grid`` (generator-side outcomes such
    as ``dropped`` are not server errors and are left out)."""
    ok: dict[str, list[int]] = {}
    err: dict[str, list[int]] = {}
    windows: dict[str, list[int]] = {}
    for e in entries:
        i = grid.slot(e.t)
        if i is None:
            continue
        if e.target not in ok:
            ok[e.target], err[e.target], windows[e.target] = (
                [0] * grid.size,
                [0] * grid.size,
                [0] * grid.size,
            )
        ok[e.target][i] += e.ok
        err[e.target][i] += sum(n for k, n in e.errors.items() if k not in GENERATOR_KINDS)
        windows[e.target][i] += 1

    def per_s(counts: list[int], n: list[int]) -> list[float | None]:
        return [round(c / (w * window_s), 2) if w else None for c, w in zip(counts, n, strict=True)]

    return Rates(
        ok={u: per_s(c, windows[u]) for u, c in ok.items()},
        errors={u: per_s(c, windows[u]) for u, c in err.items()},
    )


@dataclass(frozen=True, slots=True)
class Latency:
    """Success latency per bucket, all targets merged, milliseconds (``None``: no success)."""

    p50: list[float | None]
    p99: list[float | None]
    max: list[float | None]


def latency(windows: Sequence[Window], grid: Grid) -> Latency:
    """p50/p99/max per bucket from the exact merge of the bucket's window histograms."""
    merged: list[HdrHistogram | None] = [None] * grid.size
    for w in windows:
        i = grid.slot(w.start)
        if i is None or w.hist.get_total_count() == 0:
            continue
        hist = merged[i]
        if hist is None:
            hist = merged[i] = new_histogram()
        hist.add(w.hist)
    p50: list[float | None] = []
    p99: list[float | None] = []
    top: list[float | None] = []
    for hist in merged:
        if hist is None:
            p50.append(None)
            p99.append(None)
            top.append(None)
            continue
        a, b = values_at_percentiles(hist, [50.0, 99.0])
        p50.append(_ms(a))
        p99.append(_ms(b))
        top.append(_ms(hist.get_max_value()))
    return Latency(p50, p99, top)


def _ms(us: int) -> float:
    return round(us / 1000.0, 3)


@dataclass(frozen=True, slots=True)
class Distributions:
    """HdrHistogram percentile plots: ``x`` = 1/(1-p) on a grid of ``TICKS_PER_DECADE`` per
    decade; per phase the latency (ms) at each p, ``None`` beyond the phase's sample count;
    each phase's last point is its max. ``counts``: successes per phase."""

    x: list[float]
    values: dict[str, list[float | None]]
    counts: dict[str, int]


def phase_histograms(
    windows: Sequence[Window], phases: Sequence[PhaseStats], names: Sequence[str]
) -> dict[str, HdrHistogram]:
    """The exact merge of every window starting in each phase named in ``names``, in order."""
    spans = [p for p in phases if p.name in names]
    out = {p.name: new_histogram() for p in spans}
    for w in windows:
        for p in spans:
            if in_span(w.start, p.start, p.end):
                out[p.name].add(w.hist)
                break
    return out


def distributions(hists: dict[str, HdrHistogram]) -> Distributions:
    """Percentile plots of ``hists`` (microseconds) on one shared 1/(1-p) grid."""
    kept = {name: h for name, h in hists.items() if h.get_total_count() > 0}
    steps = {
        name: math.floor(TICKS_PER_DECADE * math.log10(h.get_total_count()) + _EPS)
        for name, h in kept.items()
    }
    last = max(steps.values(), default=0) + 1
    x = [round(10 ** (k / TICKS_PER_DECADE), 4) for k in range(last + 1)]
    values: dict[str, list[float | None]] = {}
    for name, hist in kept.items():
        k_max = steps[name]
        pcts = [100.0 * (1.0 - 10 ** (-k / TICKS_PER_DECADE)) for k in range(k_max + 1)]
        vals: list[float | None] = [_ms(v) for v in values_at_percentiles(hist, pcts)]
        vals.append(_ms(hist.get_max_value()))
        values[name] = vals + [None] * (len(x) - len(vals))
    return Distributions(x, values, {n: h.get_total_count() for n, h in kept.items()})
