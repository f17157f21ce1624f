"""The run's clock and the log its events are written to as they happen."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import TextIO, TypeVar

from chaos.timeline.events import Event, KnownEvent, UnknownEvent, parse_event

E = TypeVar("E", bound=Event)


class Clock:
    """The run's clock: ``now()`` is seconds after ``t0_monotonic`` (the load's t0)."""

    def __init__(self, t0_monotonic: float | None = None) -> None:
        self.t0 = time.monotonic() if t0_monotonic is None else t0_monotonic

    def now(self) -> float:
        return time.monotonic() - self.t0


class EventLog:
    """Appends events to ``events.jsonl`` (flushed per event) and keeps them in memory."""

    def __init__(self, path: Path | None, clock: Clock) -> None:
        self.clock = clock
        self.events: list[Event] = []
        self._lock = threading.Lock()  # the observer thread and the runner both emit
        self._fh: TextIO | None = open(path, "a", encoding="utf-8") if path else None  # noqa: SIM115

    def emit(self, event: E) -> E:
        """``event`` stamped with the clock's now; stamped under the lock, so the log's order
        is time order (the analysis relies on it)."""
        with self._lock:
            stamped = event.model_copy(update={"t": round(self.clock.now(), 4)})
            self.events.append(stamped)
            if self._fh is not None:
                self._fh.write(stamped.model_dump_json() + "\n")
                self._fh.flush()
            return stamped

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None


def load_events(path: Path) -> list[KnownEvent | UnknownEvent]:
    """Read ``events.jsonl`` back; a torn last line (crash mid-write) is skipped."""
    events: list[KnownEvent | UnknownEvent] = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return events
    for line in lines:
        try:
            events.append(parse_event(json.loads(line)))
        except ValueError:
            continue
    return events
