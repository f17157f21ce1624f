"""What the live view shows, as plain data: the load's last second per node IP, the steps and
the control-plane events so far, folded from the same records that go to disk (the load's
``timeline.jsonl`` windows and the run's event log).

Nothing here draws or locks; :mod:`chaos.experiment.live` holds the lock and
:mod:`chaos.experiment.livepanel` draws a :class:`LiveFrame`.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

from chaos.experiment.schedule import Left, Schedule
from chaos.load import TimelineEntry
from chaos.load.config import WINDOW_S
from chaos.timeline import CONTROL_PLANE, Event, StepEnd, StepStart

LAST_S = 1.0  # "the last second": the newest windows of a target covering this long
EVENTS_SHOWN = 6


def ip_of(url: str) -> str:
    return urlsplit(url).hostname or url


@dataclass(frozen=True, slots=True)
class Second:
    """One target's newest windows (at most :data:`LAST_S` of them). ``t_end``: the end of the
    newest window on the run's clock; windows close only once each request in them has an
    outcome, so during an outage ``t_end`` lags the clock by up to the load's timeout.
    ``p99_ms``: the highest per-window success p99 (an upper bound of the second's p99);
    ``None`` without a success."""

    t_end: float
    span_s: float
    sent: int
    ok: int
    errors: Mapping[str, int]
    p99_ms: float | None

    @property
    def ok_per_s(self) -> float:
        return self.ok / self.span_s

    @property
    def errors_per_s(self) -> float:
        return (self.sent - self.ok) / self.span_s


class Rolling:
    """The newest second of windows per target, plus each target's failures so far."""

    def __init__(self, window_s: float = WINDOW_S) -> None:
        self.window_s = window_s
        self.keep = max(1, round(LAST_S / window_s))
        self._windows: dict[str, deque[TimelineEntry]] = {}
        self.failed: dict[str, int] = {}

    def add(self, entries: Iterable[TimelineEntry]) -> None:
        for e in entries:
            windows = self._windows.get(e.target)
            if windows is None:
                windows = self._windows[e.target] = deque(maxlen=self.keep)
            windows.append(e)
            self.failed[e.target] = self.failed.get(e.target, 0) + (e.total - e.ok)

    def second(self, target: str) -> Second | None:
        windows = self._windows.get(target)
        if not windows:
            return None
        errors: dict[str, int] = {}
        sent = ok = 0
        p99: float | None = None
        for e in windows:
            sent += e.total
            ok += e.ok
            for kind, n in e.errors.items():
                errors[kind] = errors.get(kind, 0) + n
            if e.p99_ms is not None and (p99 is None or e.p99_ms > p99):
                p99 = e.p99_ms
        return Second(
            t_end=windows[-1].t + self.window_s,
            span_s=len(windows) * self.window_s,
            sent=sent,
            ok=ok,
            errors=dict(sorted(errors.items(), key=lambda kv: -kv[1])),
            p99_ms=p99,
        )

    def targets(self) -> list[str]:
        return list(self._windows)


StepState = Literal["pending", "running", "done", "deviated", "failed"]


@dataclass(frozen=True, slots=True)
class StepLine:
    number: int  # 1-based, as the runner's lines number them
    text: str
    state: StepState
    detail: str = ""  # what it did (done) or why not
    elapsed_s: float | None = None  # running: so far; ended: how long it took
    bound_s: float | None = None


@dataclass(slots=True)
class _Step:
    text: str
    bound_s: float | None
    started: float | None = None
    ended: float | None = None
    state: StepState = "pending"
    detail: str = ""


class Steps:
    """The fault steps, from the run's ``step_start``/``step_end`` events."""

    def __init__(self, schedule: Schedule | None) -> None:
        plans = schedule.steps if schedule else ()
        self._steps = [_Step(p.text, p.bound_s) for p in plans]

    def add(self, event: Event) -> None:
        if not isinstance(event, StepStart | StepEnd) or event.index < 0:
            return
        while len(self._steps) <= event.index:  # a run without a schedule learns its steps
            self._steps.append(_Step("", None))
        step = self._steps[event.index]
        if isinstance(event, StepStart):
            step.started, step.state = event.t, "running"
            step.text = step.text or event.detail
            return
        step.ended, step.detail = event.t, event.detail
        if event.ok:
            step.state = "done"
        elif "timed out" in event.detail:
            # a wait_for timeout (StepTimeout's words): swarm did not do what the experiment
            # expects, which the verdict counts apart from a step that could not act
            step.state = "deviated"
        else:
            step.state = "failed"

    def current(self) -> int:
        """0-based index of the step under way, or of the next one to start."""
        for i, s in enumerate(self._steps):
            if s.state in ("pending", "running"):
                return i
        return len(self._steps)

    def lines(self, now: float | None) -> tuple[StepLine, ...]:
        out = []
        for i, s in enumerate(self._steps):
            elapsed = None
            if s.started is not None:
                end = s.ended if s.ended is not None else now
                elapsed = None if end is None else max(0.0, end - s.started)
            out.append(StepLine(i + 1, s.text, s.state, s.detail, elapsed, s.bound_s))
        return tuple(out)

    def elapsed_of_current(self, now: float | None) -> float:
        i = self.current()
        if i >= len(self._steps) or now is None:
            return 0.0
        started = self._steps[i].started
        return 0.0 if started is None else max(0.0, now - started)


@dataclass(frozen=True, slots=True)
class EventLine:
    t: float
    kind: str
    detail: str


class EventTail:
    """The last few control-plane events, read incrementally from the run's event list (the
    :class:`chaos.timeline.EventLog` keeps every event in memory; its list only grows)."""

    def __init__(self, steps: Steps, keep: int = EVENTS_SHOWN) -> None:
        self.steps = steps
        self.tail: deque[EventLine] = deque(maxlen=keep)
        self._seen = 0

    def read(self, events: Sequence[Event]) -> None:
        end = len(events)  # appended to by other threads: read up to what is there now
        for e in events[self._seen : end]:
            self.steps.add(e)
            if isinstance(e, CONTROL_PLANE):
                self.tail.append(EventLine(e.t, e.kind, e.detail))
        self._seen = end


@dataclass(frozen=True, slots=True)
class NodeLine:
    """One node IP: the swarm's view of the node (blank before the observer's first poll)
    and the load's last second on it (``None`` before its first window)."""

    node: str
    ip: str
    power: str = ""
    status: str = ""
    availability: str = ""
    manager: str = ""  # Leader / Reachable / Unreachable, '' for a worker
    second: Second | None = None
    failed: int = 0  # failed requests so far, the whole run


@dataclass(frozen=True, slots=True)
class LiveFrame:
    """Everything one refresh of the live view draws. Times in seconds; ``run_elapsed_s`` and
    ``phase_elapsed_s`` on the caller's clock (since the view and the phase started),
    ``load_t`` and event times on the run's clock (after the load's t0)."""

    phase: str
    run_elapsed_s: float
    phase_elapsed_s: float
    phase_length_s: float | None = None
    left: Left | None = None
    steps: tuple[StepLine, ...] = ()
    nodes: tuple[NodeLine, ...] = ()
    observed: bool = False  # the observer has a picture (leader/api below mean something)
    leader: str | None = None
    api_ok: bool = True
    api_error: str = ""
    now: float | None = None  # the run's clock now (None before the load started)
    events: tuple[EventLine, ...] = ()
    series: str | None = None  # "suite x: run 2 of 5, ..." while a suite or sweep runs

    @property
    def load_t(self) -> float | None:
        ends = [n.second.t_end for n in self.nodes if n.second is not None]
        return max(ends) if ends else None

    def totals(self) -> tuple[float, float]:
        """ok/s and errors/s of the last second over every node IP."""
        seconds = [n.second for n in self.nodes if n.second is not None]
        return (sum(s.ok_per_s for s in seconds), sum(s.errors_per_s for s in seconds))
