"""Per-window, per-target accumulation of outcome records.

Requests are bucketed by *intended* send time (not completion time), so a stall shows in the
windows of the requests it delayed. A window closes once the pacer has moved past its end and
every request issued in it has an outcome; since every request has a deadline, a window
closes at most about ``timeout`` after its end. Windows are emitted in time order.

Latencies are recorded in microseconds into ``HdrHistogram(1, 60_000_000, 3)``; values outside
that range are clamped (``record_value`` would silently drop them).
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import accumulate

from hdrh.histogram import HdrHistogram

from chaos.load.outcome import Outcome, Result

HIST_MIN_US = 1
HIST_MAX_US = 60_000_000
HIST_DIGITS = 3
_EPS = 1e-9


def new_histogram() -> HdrHistogram:
    return HdrHistogram(HIST_MIN_US, HIST_MAX_US, HIST_DIGITS)


def values_at_percentiles(hist: HdrHistogram, percentiles: Sequence[float]) -> list[int]:
    """``hist.get_value_at_percentile(p)`` for each ``p`` (same values), in one C-level pass.

    hdrh's own query walks the count array in Python (about 0.2 ms per call for sub-10 ms
    latencies), which the generator pays on its dispatch path at every window close; this sums
    only up to the bucket of the maximum with :func:`itertools.accumulate` and bisects.
    Returns zeros for an empty histogram.
    """
    total = hist.get_total_count()
    if total == 0:
        return [0 for _ in percentiles]
    top = min(hist.counts_len, hist._counts_index_for(hist.get_max_value()) + 1)
    cum = list(accumulate(hist.counts[:top]))
    out = []
    for p in percentiles:
        target = hist.get_target_count_at_percentile(p)
        index = min(bisect_left(cum, target), top - 1)
        value = hist.get_value_from_index(index)
        if p:
            out.append(int(hist.get_highest_equivalent_value(value)))
        else:
            out.append(int(hist.get_lowest_equivalent_value(value)))
    return out


def to_us(seconds: float) -> int:
    """Seconds to whole microseconds, clamped into the histograms' range."""
    return min(HIST_MAX_US, max(HIST_MIN_US, round(seconds * 1e6)))


def window_of(t: float, width: float) -> int:
    """Index of the window holding time ``t`` (seconds since t0); windows are [k*w, (k+1)*w)."""
    return max(0, math.floor(t / width + _EPS))


def window_start(index: int, width: float) -> float:
    """Start of window ``index`` in seconds since t0 (rounded to the microsecond)."""
    return round(index * width, 6)


def windows_between(start: float, end: float, width: float) -> range:
    """Indices of the windows overlapping [start, end)."""
    if end <= start:
        return range(0)
    return range(window_of(start, width), math.ceil(end / width - _EPS))


@dataclass(slots=True)
class WindowStats:
    """Counts per outcome and latency histograms (successes only, and all) for one window and
    one target. ``send_lag_max`` in seconds over the requests that were sent."""

    counts: dict[Outcome, int] = field(default_factory=dict)
    hist_ok: HdrHistogram = field(default_factory=new_histogram)
    hist_all: HdrHistogram = field(default_factory=new_histogram)
    send_lag_max: float = 0.0

    def add(self, result: Result) -> None:
        self.counts[result.outcome] = self.counts.get(result.outcome, 0) + 1
        us = to_us(result.latency)
        self.hist_all.record_value(us)
        if result.outcome is Outcome.OK:
            self.hist_ok.record_value(us)
        lag = result.send_lag
        if lag is not None and lag > self.send_lag_max:
            self.send_lag_max = lag

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass(frozen=True, slots=True)
class ClosedWindow:
    """One finished window: ``stats[k]`` belongs to target ``k``."""

    index: int
    start: float
    width: float
    stats: tuple[WindowStats, ...]


@dataclass(slots=True)
class WindowAccumulator:
    """Collects results into windows and hands out the ones that are complete."""

    n_targets: int
    width: float
    _open: dict[int, list[WindowStats]] = field(default_factory=dict)
    _issued: dict[int, int] = field(default_factory=dict)
    _finished: dict[int, int] = field(default_factory=dict)
    _next: int = 0  # oldest window not yet emitted

    def issue(self, intended: float) -> None:
        """Note that a request intended at ``intended`` was dispatched (or dropped)."""
        w = window_of(intended, self.width)
        self._issued[w] = self._issued.get(w, 0) + 1

    def record(self, result: Result) -> None:
        w = window_of(result.intended, self.width)
        stats = self._open.get(w)
        if stats is None:
            stats = self._open[w] = [WindowStats() for _ in range(self.n_targets)]
        stats[result.target].add(result)
        self._finished[w] = self._finished.get(w, 0) + 1

    def pop_closed(self, frontier: float) -> list[ClosedWindow]:
        """Windows ending at or before ``frontier`` (seconds; everything due before it has been
        issued) whose requests have all finished, oldest first, without gaps."""
        out: list[ClosedWindow] = []
        while (self._next + 1) * self.width <= frontier + _EPS:
            w = self._next
            if self._finished.get(w, 0) < self._issued.get(w, 0):
                break
            out.append(self._take(w))
        return out

    def pop_all(self, end: float) -> list[ClosedWindow]:
        """Every remaining window up to ``end`` seconds, finished or not (end of run)."""
        out: list[ClosedWindow] = []
        last = max(
            [*self._open.keys(), *self._issued.keys(), math.ceil(end / self.width - _EPS) - 1]
        )
        while self._next <= last:
            out.append(self._take(self._next))
        return out

    def _take(self, w: int) -> ClosedWindow:
        stats = self._open.pop(w, None) or [WindowStats() for _ in range(self.n_targets)]
        self._issued.pop(w, None)
        self._finished.pop(w, None)
        self._next = w + 1
        return ClosedWindow(w, window_start(w, self.width), self.width, tuple(stats))
