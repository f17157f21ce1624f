"""Pure pacing arithmetic: when request *i* is due, and how many are due by time *t*.

Times are seconds since the run's t0. Request ``i`` (0-based) is due at ``i / rate``; a run of
``duration`` seconds sends the requests due strictly before ``duration``. The generator
dispatches *every* request due at each wake-up instead of sleeping once per request, so the
timer resolution of the event loop (about 1 ms with epoll) costs send lag, not rate.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

# Absorbs float error in i/rate products so that t == due(i) counts request i as due.
_EPS = 1e-9


@dataclass(frozen=True, slots=True)
class Pacer:
    """Constant-rate schedule. ``rate`` in requests per second (> 0); ``duration`` in seconds,
    ``None`` for open-ended runs."""

    rate: float
    duration: float | None = None

    def __post_init__(self) -> None:
        if not self.rate > 0:
            raise ValueError(f"rate must be positive, got {self.rate}")
        if self.duration is not None and self.duration < 0:
            raise ValueError(f"duration must not be negative, got {self.duration}")

    @property
    def total(self) -> int | None:
        """Number of requests in the run; ``None`` when open-ended."""
        if self.duration is None:
            return None
        return max(0, math.ceil(self.duration * self.rate - _EPS))

    def due(self, i: int) -> float:
        """Intended send time of request ``i`` in seconds since t0."""
        return i / self.rate

    def due_count(self, t: float) -> int:
        """How many requests are due at time ``t`` (requests 0..n-1 have ``due(i) <= t``)."""
        if t < 0:
            return 0
        n = math.floor(t * self.rate + _EPS) + 1
        total = self.total
        return n if total is None else min(n, total)

    def finished(self, sent: int) -> bool:
        """True when ``sent`` requests complete the run (never for open-ended runs)."""
        total = self.total
        return total is not None and sent >= total
