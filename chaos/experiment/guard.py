"""The live guard: a run stops itself when it hurts more than its experiment agreed to
(AWS FIS's stop condition, Litmus' stopOnFailure).

It reads the load generator's own numbers, the 100 ms windows of ``timeline.jsonl`` as the
runner reads them back, for the **live** node IPs (those no fault step of this run acted on)
from the start of the fault phase on. Over the last ``window`` seconds of data:

- ``max_error_rate``: server errors / sent above it trips the guard;
- ``max_p99``: every window of the span with a success p99 (or, with no success, an all-
  requests p99) above it trips the guard (sustained latency, not one slow window).

Nothing trips before the span holds ``window`` seconds of data: one bad window is not a
trend. When it trips, the runner records ``guard_tripped`` on the timeline with the numbers,
stops its fault steps, restores at once and ends with its own verdict (``guard_tripped``,
exit 6). Its latency is measured twice: from the end of the data that tripped it to the
moment it tripped (how late the windows reached it; a window closes once its slowest request
ended, up to the load's timeout after it), and from then to the restore's start.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from chaos.experiment.spec import GuardSpec
from chaos.load import TimelineEntry
from chaos.load.config import WINDOW_S


@dataclass(frozen=True, slots=True)
class Trip:
    """Why the guard tripped: ``reason`` in words, ``data_end`` (seconds after t0) the end of
    the last window it judged, ``error_rate`` and ``p99_ms`` over its span."""

    reason: str
    data_end: float
    error_rate: float | None
    p99_ms: float | None
    span_s: float


@dataclass(slots=True)
class _Window:
    t: float
    sent: int
    errors: int
    p99_ms: float | None


class Guard:
    """Fed with windows (:meth:`on_window`, from the load's tail thread); calls ``on_trip``
    once, the first time its condition holds. ``faulted()`` names the nodes this run has
    faulted so far (their IPs are not judged); ``armed()`` is true from the fault phase on."""

    def __init__(
        self,
        spec: GuardSpec,
        node_of: Mapping[str, str],
        *,
        faulted: Callable[[], set[str]],
        armed_at: Callable[[], float | None],
        on_trip: Callable[[Trip], None],
    ) -> None:
        self.spec = spec
        self.node_of = dict(node_of)
        self.faulted = faulted
        self.armed_at = armed_at
        self.on_trip = on_trip
        self.tripped: Trip | None = None
        self._lock = threading.Lock()
        self._windows: deque[_Window] = deque()

    def on_window(self, entries: Sequence[TimelineEntry]) -> None:
        start = self.armed_at()
        if start is None or self.tripped is not None:
            return
        with self._lock:
            self._fold(entries, start)
            trip = self._judge()
            if trip is None:
                return
            self.tripped = trip
        self.on_trip(trip)

    def _fold(self, entries: Sequence[TimelineEntry], start: float) -> None:
        dead = self.faulted()
        by_t: dict[float, _Window] = {}
        for e in entries:
            if e.t < start - 1e-6 or self.node_of.get(e.target, e.target) in dead:
                continue
            w = by_t.setdefault(e.t, _Window(e.t, 0, 0, None))
            w.sent += e.total
            w.errors += sum(e.errors.values())
            p99 = e.p99_ms if e.p99_ms is not None else e.p99_all_ms
            if p99 is not None:
                w.p99_ms = p99 if w.p99_ms is None else max(w.p99_ms, p99)
        for t in sorted(by_t):
            last = self._windows[-1] if self._windows else None
            if last is not None and abs(last.t - t) < 1e-6:  # a window read in two parts
                last.sent += by_t[t].sent
                last.errors += by_t[t].errors
                if by_t[t].p99_ms is not None:
                    last.p99_ms = max(last.p99_ms or 0.0, by_t[t].p99_ms or 0.0)
            else:
                self._windows.append(by_t[t])
        if self._windows:
            newest = self._windows[-1].t
            while self._windows and self._windows[0].t <= newest - self.spec.window:
                self._windows.popleft()

    def _judge(self) -> Trip | None:
        if not self._windows:
            return None
        span = self._windows[-1].t + WINDOW_S - self._windows[0].t
        if span < self.spec.window - 1e-6:
            return None  # not a whole span of data yet
        sent = sum(w.sent for w in self._windows)
        errors = sum(w.errors for w in self._windows)
        rate = errors / sent if sent else None
        p99s = [w.p99_ms for w in self._windows]
        worst = max((p for p in p99s if p is not None), default=None)
        end = self._windows[-1].t + WINDOW_S
        spec = self.spec
        if spec.max_error_rate is not None and rate is not None and rate > spec.max_error_rate:
            why = (
                f"error rate {rate:.1%} > {spec.max_error_rate:.1%} on the live IPs over "
                f"{span:.1f}s ({errors} of {sent})"
            )
            return Trip(why, end, rate, worst, span)
        limit_ms = None if spec.max_p99 is None else spec.max_p99 * 1000
        if limit_ms is not None and all(p is not None and p > limit_ms for p in p99s):
            best = min(p for p in p99s if p is not None)
            why = (
                f"p99 above {limit_ms:.0f}ms in every window of the last {span:.1f}s on the "
                f"live IPs (at least {best:.0f}ms)"
            )
            return Trip(why, end, rate, worst, span)
        return None
