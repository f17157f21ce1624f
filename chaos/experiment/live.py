"""The live view of a run on stderr: phase, elapsed, rate, errors per node, p99, leader, nodes.

One line per second on a terminal (rewritten in place); one line every 5 s otherwise (CI logs).
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Sequence

from chaos.experiment.observer import Observer
from chaos.load import TimelineEntry


class LiveView:
    def __init__(self, node_of: dict[str, str], enabled: bool = True) -> None:
        self.node_of = node_of
        self.enabled = enabled
        self.tty = sys.stderr.isatty()
        self.phase = "setup"
        self.started = time.monotonic()
        self.observer: Observer | None = None
        self._lock = threading.Lock()
        self._ok = 0
        self._err: dict[str, int] = {}
        self._p99 = 0.0
        self._last_print = 0.0

    def on_window(self, entries: Sequence[TimelineEntry]) -> None:
        with self._lock:
            for e in entries:
                self._ok += e.ok
                node = self.node_of.get(e.target, e.target)
                self._err[node] = self._err.get(node, 0) + sum(e.errors.values())
                if e.p99_ms is not None:
                    self._p99 = max(self._p99, e.p99_ms)
        now = time.monotonic()
        every = 1.0 if self.tty else 5.0
        if self.enabled and now - self._last_print >= every:
            self._print(now - self._last_print if self._last_print else every)
            self._last_print = now

    def _print(self, span: float) -> None:
        with self._lock:
            ok, err, p99 = self._ok, dict(self._err), self._p99
            self._ok, self._err, self._p99 = 0, {}, 0.0
        total = ok + sum(err.values())
        errors = " ".join(f"{n}:{c}" for n, c in sorted(err.items()) if c) or "none"
        leader, nodes = "?", ""
        if self.observer is not None:
            snap = self.observer.snapshot
            leader = snap.leader or ("none" if snap.api_ok else "API down")
            nodes = " ".join(
                f"{n}={snap.power.get(n, '?')[:4]}/{v.state}" for n, v in sorted(snap.nodes.items())
            )
        line = (
            f"[{self.phase:<8} {time.monotonic() - self.started:6.1f}s] {total / span:6.0f} req/s "
            f"errors {errors}  p99 {p99:6.1f}ms  leader {leader}  {nodes}"
        )
        if self.tty:
            sys.stderr.write("\r\x1b[2K" + line)
        else:
            sys.stderr.write(line + "\n")
        sys.stderr.flush()

    def say(self, message: str) -> None:
        """A line that stays (phase changes, steps)."""
        if not self.enabled:
            return
        prefix = "\r\x1b[2K" if self.tty else ""
        sys.stderr.write(f"{prefix}{message}\n")
        sys.stderr.flush()
