"""The live line on stderr: once a second, the last second's rate, errors and p99."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TextIO

from chaos.fmt import text_ms
from chaos.load.summary import TimelineEntry


class LiveLine:
    """An ``on_window`` callback that redraws one status line about once per second.

    The p99 shown is the highest per-window success p99 of the last second (an upper bound
    of that second's p99, cheap to get from the timeline entries)."""

    def __init__(self, stream: TextIO | None = None, every: float = 1.0) -> None:
        self._out = stream if stream is not None else sys.stderr
        self._every = every
        self._reset()
        self._tty = self._out.isatty()

    def _reset(self) -> None:
        self._total = 0
        self._ok = 0
        self._dropped = 0
        self._p99: float | None = None
        self._span_start: float | None = None

    def __call__(self, entries: Sequence[TimelineEntry]) -> None:
        for e in entries:
            if self._span_start is None:
                self._span_start = e.t
            self._total += e.total
            self._ok += e.ok
            self._dropped += e.errors.get("dropped", 0)
            if e.p99_ms is not None and (self._p99 is None or e.p99_ms > self._p99):
                self._p99 = e.p99_ms
        if not entries:
            return
        t_end = entries[0].t + 0.1
        if self._span_start is not None and t_end - self._span_start >= self._every - 1e-9:
            self._draw(t_end, t_end - self._span_start)
            self._reset()

    def _draw(self, t: float, span: float) -> None:
        errors = self._total - self._ok
        p99 = text_ms(self._p99)
        line = (
            f"t={t:6.1f}s  rate={self._total / span:7.0f}/s  ok={self._ok}  "
            f"errors={errors}  dropped={self._dropped}  p99={p99}"
        )
        if self._tty:
            self._out.write("\r\x1b[2K" + line)
        else:
            self._out.write(line + "\n")
        self._out.flush()

    def close(self) -> None:
        if self._tty:
            self._out.write("\n")
            self._out.flush()
