"""The manager API's latency as a user of each manager feels it: ``RUN_DIR/api.jsonl``.

The observer asks one manager at a time with a 1 s timeout, which says whether the API
answers but not how fast each manager does. This prober asks *every* manager the same
read-only call (``node ls``) once per ``INTERVAL``, each in its own thread so a hung manager
delays no other, with a timeout long enough to measure a slow answer (``TIMEOUT``); a slow
platform's ``time_scale`` stretches both, as the observer's. On a
follower that call is forwarded to the leader over the swarm port (swarmkit proxies the
control API to the leader), so a slow or cut-off leader shows in the followers' latency
while the leader's own stays local.

One line per call, written as the run goes, on the run's clock (seconds after the load's
t0, at the call's start)::

    {"t": 12.503, "node": "node-002", "ms": 812.4, "ok": true}
    {"t": 13.504, "node": "node-002", "ms": 5001.2, "ok": false, "failure": "timeout",
     "error": "..."}

``failure``: ``timeout`` (the engine took the call and said nothing within ``TIMEOUT``: a
frozen node, a manager waiting for a leader) or ``error`` (it answered with an error, e.g.
"The swarm does not have a leader"). A node powered off, or whose engine refuses the
connection (halted, stopped), gets no line: that is the observer's ``node_power`` and
``api_error``, not a latency. Workers are never asked (they refuse manager calls).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from chaos.analysis.api import FILE
from chaos.errors import ChaosError, EngineUnreachableError
from chaos.experiment import rate
from chaos.platform.base import Platform
from chaos.timeline import Clock

INTERVAL = 1.0
TIMEOUT = 5.0


class ApiProber:
    """Threads that time ``node ls`` on every manager; :meth:`stop` ends them."""

    def __init__(
        self,
        platform: Platform,
        clock: Clock,
        out_dir: Path,
        managers: Callable[[], list[str]],
    ) -> None:
        self.platform = platform
        self.clock = clock
        self.path = out_dir / FILE
        self.managers = managers  # the manager nodes now (the observer's last picture)
        self.interval = rate.scaled(INTERVAL, platform)
        self.timeout = rate.scaled(TIMEOUT, platform)
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._out: TextIO | None = None
        self._threads: dict[str, threading.Thread] = {}
        self._loop = threading.Thread(target=self._run, name="api-probe", daemon=True)

    def start(self) -> None:
        self._out = self.path.open("a", encoding="utf-8")
        self._loop.start()

    def stop(self) -> None:
        """End the beat and close the file at once: a call still waiting on a hung manager
        is not waited for (its line is dropped), so stopping never delays the restore."""
        self._stop.set()
        if self._loop.is_alive():
            self._loop.join(timeout=1.0)
        with self._lock:
            if self._out is not None:
                self._out.close()
                self._out = None

    def _run(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            for node in self.managers():
                busy = self._threads.get(node)
                if busy is not None and busy.is_alive():
                    continue  # still waiting on the last call: that one's line will say
                thread = threading.Thread(
                    target=self._probe, args=(node,), name=f"api-probe-{node}", daemon=True
                )
                self._threads[node] = thread
                thread.start()
            self._stop.wait(max(0.0, self.interval - (time.monotonic() - started)))

    def _probe(self, node: str) -> None:
        if self.platform.power(node) != "running":
            return
        try:
            engine = self.platform.engine(node, timeout=self.timeout)
        except ChaosError:
            return  # halted since, or no way to reach it: not a latency
        t = self.clock.now()
        began = time.monotonic()
        failure: tuple[str, str] | None = None
        try:
            with engine:
                engine.nodes()
        except EngineUnreachableError as exc:
            if not exc.timed_out:
                return  # refused or reset: the engine is gone (a halt, a stop), not slow
            failure = ("timeout", str(exc))
        except ChaosError as exc:  # the engine answered with an error (no leader, ...)
            failure = ("error", str(exc))
        record: dict[str, object] = {
            "t": round(t, 4),
            "node": node,
            "ms": round((time.monotonic() - began) * 1e3, 1),
            "ok": failure is None,
        }
        if failure is not None:
            record["failure"], record["error"] = failure
        self._write(record)

    def _write(self, record: dict[str, object]) -> None:
        with self._lock:
            if self._out is None:
                return
            self._out.write(json.dumps(record) + "\n")
            self._out.flush()
