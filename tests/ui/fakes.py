"""Synthetic inputs for the terminal views: load windows, an observer's snapshot, an event
log on a clock the test sets, an experiment with known phases and steps."""

from __future__ import annotations

from dataclasses import dataclass, field

from chaos.experiment.observer import Snapshot
from chaos.experiment.spec import Experiment
from chaos.load import TimelineEntry
from chaos.swarm.model import NodeView
from chaos.timeline import Clock, EventLog

NODES = ("node-001", "node-002", "node-003")
TARGETS = {f"http://10.213.77.{11 + i}:80/": n for i, n in enumerate(NODES)}


class ManualClock(Clock):
    """A run clock that moves only when the test says so."""

    def __init__(self, now: float = 0.0) -> None:
        super().__init__(0.0)
        self.t = now

    def now(self) -> float:
        return self.t


@dataclass
class Ticker:
    """A monotonic clock for the view (``clock=``), moved by hand."""

    t: float = 1000.0

    def __call__(self) -> float:
        return self.t


def window(
    t: float, target: str, ok: int, errors: dict[str, int] | None = None, p99: float | None = 2.0
) -> TimelineEntry:
    errors = errors or {}
    p99 = p99 if ok else None  # latencies are over successes
    return TimelineEntry(
        t=t,
        target=target,
        total=ok + sum(errors.values()),
        ok=ok,
        errors=errors,
        p50_ms=None if p99 is None else p99 / 2,
        p99_ms=p99,
        p99_all_ms=p99,
        send_lag_max_ms=0.1,
    )


def second_of_windows(
    start: float, ok: int = 7, errors: dict[str, dict[str, int]] | None = None
) -> list[TimelineEntry]:
    """Ten 100 ms windows from ``start`` for every target; ``errors``: node -> kinds per window."""
    errors = errors or {}
    out = []
    for k in range(10):
        for url, node in TARGETS.items():
            err = errors.get(node, {})
            out.append(window(round(start + k * 0.1, 3), url, 0 if err else ok, err))
    return out


def node_view(name: str, *, leader: bool = False, state: str = "ready") -> NodeView:
    return NodeView(
        id=f"id-{name}", hostname=name, addr="", role="manager", state=state,
        availability="active", leader=leader,
        reachability="unreachable" if state == "down" else "reachable",
        engine_version="20.10.24",
    )  # fmt: skip


def snapshot(
    leader: str | None = "node-001", down: tuple[str, ...] = (), at: float = 1.0
) -> Snapshot:
    return Snapshot(
        at=at,
        api_ok=True,
        leader=leader,
        nodes={
            n: node_view(n, leader=n == leader, state="down" if n in down else "ready")
            for n in NODES
        },
        power={n: "halted" if n in down else "running" for n in NODES},
    )


@dataclass
class FakeObserver:
    snapshot: Snapshot = field(default_factory=snapshot)
    log: EventLog = field(default_factory=lambda: EventLog(None, ManualClock()))

    @property
    def clock(self) -> ManualClock:
        assert isinstance(self.log.clock, ManualClock)
        return self.log.clock


def experiment(**phases: float) -> Experiment:
    raw = {
        "name": "leader-kill",
        "description": "Halt the leader.",
        "service": {"image": "chaoslab/web:1", "replicas": 3},
        "phases": {"warmup": 2, "baseline": 10, "observe": 30, **phases},
        "steps": [
            {"halt": "leader", "as": "victim"},
            {"wait_for": "leader_elected", "timeout": 60},
            {"sleep": 5},
            {"start": "@victim"},
        ],
    }
    return Experiment.model_validate(raw)
