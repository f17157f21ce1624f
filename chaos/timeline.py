"""Cluster and fault events on the request timeline.

Every event carries ``t``: seconds after the load generator's t0 (the run's zero), on the
monotonic clock the load is paced on, so requests and events line up exactly. Events are
appended to ``events.jsonl`` as they happen (a crash keeps them).

Kinds (``data`` keys in brackets):

- ``phase``: a phase starts [name]
- ``step_start`` / ``step_end``: a fault step [index, action, nodes, ok, error]
- ``leader``: the leader changed [old, new]; ``new`` is null while no manager reports one
- ``node_status``: [node, old, new] (ready/down/unknown/disconnected)
- ``node_availability``: [node, old, new] (active/pause/drain)
- ``node_reachability``: [node, old, new] (reachable/unreachable; managers only)
- ``node_role``: [node, old, new]
- ``node_power``: the platform's view [node, old, new] (running/halted/suspended)
- ``tasks``: the service's task picture changed [service, running, desired, by_node, images]
- ``task``: one task changed state [service, slot, task, node, old, new, error]
- ``update_state``: the service's UpdateStatus [service, old, new, message]
- ``api_error``: a manager call failed [node, message]; ``api_ok``: calls succeed again [node]
- ``restore``: the clean-up after the run [detail]
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, TextIO

from pydantic import BaseModel, ConfigDict, Field


class Event(BaseModel):
    model_config = ConfigDict(frozen=True)

    t: float
    kind: str
    detail: str = ""
    data: dict[str, Any] = Field(default_factory=dict)


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

    def emit(self, kind: str, detail: str = "", **data: Any) -> Event:
        with self._lock:
            event = Event(t=round(self.clock.now(), 4), kind=kind, detail=detail, data=data)
            self.events.append(event)
            if self._fh is not None:
                self._fh.write(event.model_dump_json() + "\n")
                self._fh.flush()
            return event

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None

    def of_kind(self, *kinds: str) -> Iterator[Event]:
        return (e for e in self.events if e.kind in kinds)


def load_events(path: Path) -> list[Event]:
    """Read ``events.jsonl`` back; a torn last line (crash mid-write) is skipped."""
    events: list[Event] = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return events
    for line in lines:
        try:
            events.append(Event.model_validate(json.loads(line)))
        except ValueError:
            continue
    return events


def first(
    events: list[Event], kind: str, after: float = float("-inf"), **match: Any
) -> Event | None:
    """The first event of ``kind`` at or after ``after`` whose data matches ``match``."""
    for e in events:
        if e.kind == kind and e.t >= after and _matches(e.data, match):
            return e
    return None


def _matches(data: Mapping[str, Any], match: Mapping[str, Any]) -> bool:
    return all(data.get(k) == v for k, v in match.items())
