"""Control-plane recovery metrics from cluster events (pure functions over :class:`Event` lists).

All results are seconds (``float``) or ``None``: not applicable to this scenario, or not
observed before the run ended. Times are on the load's t axis (seconds after t0); "after the
fault" means ``t >= fault_start``. Events are taken in list order (the order they were
emitted, which is time order).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

from pydantic import BaseModel, ConfigDict

from chaos.timeline import (
    ApiError,
    ApiOk,
    Event,
    GuardTripped,
    LeaderChange,
    NodeStatusChange,
    RestoreStart,
    TasksChange,
    UpdateStateChange,
)

UPDATE_DONE = frozenset({"completed", "rollback_completed"})
UPDATE_STUCK = frozenset({"paused", "rollback_paused"})

E = TypeVar("E", bound=Event)
S = TypeVar("S", TasksChange, UpdateStateChange)  # the kinds that name their service


def of_kind(events: Sequence[Event], kind: type[E], after: float = float("-inf")) -> list[E]:
    """The events of ``kind`` at or after ``after`` (seconds), in order."""
    return [e for e in events if isinstance(e, kind) and e.t >= after]


def leader_elected_s(
    events: Sequence[Event], fault_start: float | None, leader_before: str | None
) -> float | None:
    """Fault start -> the first ``leader`` event after it whose ``new`` is a node other than
    ``leader_before`` (``null`` = no leader does not count). ``None`` without a fault or when
    the leader never changed."""
    if fault_start is None:
        return None
    for e in of_kind(events, LeaderChange, fault_start):
        if e.new is not None and e.new != leader_before:
            return round(e.t - fault_start, 4)
    return None


def leader_after(events: Sequence[Event], leader_before: str | None) -> str | None:
    """The leader at the end: ``new`` of the last ``leader`` event, else ``leader_before``."""
    last = of_kind(events, LeaderChange)
    return last[-1].new if last else leader_before


def node_down_detected_s(
    events: Sequence[Event], fault_start: float | None, faulted_nodes: Collection[str]
) -> float | None:
    """Fault start -> the first ``node_status`` event after it with ``new == "down"`` for a
    node in ``faulted_nodes``. ``None`` without a fault, faulted nodes, or such an event."""
    if fault_start is None:
        return None
    for e in of_kind(events, NodeStatusChange, fault_start):
        if e.new == "down" and e.node in faulted_nodes:
            return round(e.t - fault_start, 4)
    return None


def _of_service(events: Sequence[Event], kind: type[S], service: str) -> list[S]:
    return [e for e in of_kind(events, kind) if e.service == service]


def _running_on(by_node: Mapping[str, int], nodes: Collection[str]) -> bool:
    """Whether ``by_node`` ({node: running count}) has a running task on any of ``nodes``."""
    return any(by_node.get(n) for n in nodes)


def _converged(e: TasksChange) -> bool:
    return e.running == e.desired


def tasks_rescheduled_s(
    events: Sequence[Event],
    fault_start: float | None,
    faulted_nodes: Collection[str],
    service: str,
) -> float | None:
    """Fault start -> the first ``tasks`` event after it with ``running == desired`` and no
    running task on a faulted node. ``None`` when nothing had to move (the last ``tasks``
    event before the fault shows no running task on a faulted node), or never observed."""
    if fault_start is None or not faulted_nodes:
        return None
    tasks = _of_service(events, TasksChange, service)
    before = [e for e in tasks if e.t < fault_start]
    if not before or not _running_on(before[-1].by_node, faulted_nodes):
        return None
    for e in tasks:
        if e.t >= fault_start and _converged(e) and not _running_on(e.by_node, faulted_nodes):
            return round(e.t - fault_start, 4)
    return None


@dataclass(frozen=True, slots=True)
class Converged:
    """``seconds`` (or ``None``) and a ``note`` saying why it is ``None``."""

    seconds: float | None
    note: str = ""


def service_converged(
    events: Sequence[Event],
    fault_start: float | None,
    update_start: float | None,
    service: str,
) -> Converged:
    """For an update or rollback (an ``update_state`` event after the fault): ``update_start``
    (the first update step's start; the fault start when not given) -> the first
    ``update_state`` with ``new`` in {completed, rollback_completed}; ``None`` with a note when
    it ended paused or never finished.

    Otherwise: fault start -> the ``tasks`` event from which ``running == desired`` held to
    the end of the run (the first converged one after the last unconverged one after the
    fault); ``None`` if the last ``tasks`` event is unconverged or there is none after the
    fault."""
    if fault_start is None:
        return Converged(None, "no fault step in this run")
    updates = [e for e in _of_service(events, UpdateStateChange, service) if e.t >= fault_start]
    if updates:
        origin = fault_start if update_start is None else update_start
        for e in updates:
            if e.new in UPDATE_DONE:
                return Converged(round(e.t - origin, 4))
            if e.new in UPDATE_STUCK:
                return Converged(None, f"the update ended {e.new}: {e.message}")
        return Converged(None, "the update did not complete before the run ended")
    tasks = [e for e in _of_service(events, TasksChange, service) if e.t >= fault_start]
    if not tasks:
        return Converged(None, "no task change observed after the fault")
    if not _converged(tasks[-1]):
        return Converged(None, "running != desired at the end of the run")
    unconverged = [k for k, e in enumerate(tasks) if not _converged(e)]
    first = tasks[unconverged[-1] + 1] if unconverged else tasks[0]
    return Converged(round(first.t - fault_start, 4))


@dataclass(frozen=True, slots=True)
class Outage:
    """The manager API failing: from the first ``api_error`` of an outage to the next
    ``api_ok`` (seconds after t0); ``open``: still failing at the end of the data, where
    ``end`` is clipped; ``first_error``: the message of its first ``api_error``."""

    start: float
    end: float
    open: bool
    first_error: str


def api_outages(events: Sequence[Event], end: float) -> list[Outage]:
    """Every outage in time order; one still open at ``end`` (the run's end, seconds after
    t0) ends there (never before its start). Further ``api_error`` events inside an outage
    are part of it; an ``api_ok`` outside one is nothing."""
    out: list[Outage] = []
    opened: ApiError | None = None
    for e in events:
        if isinstance(e, ApiError) and opened is None:
            opened = e
        elif isinstance(e, ApiOk) and opened is not None:
            out.append(Outage(opened.t, e.t, False, opened.message))
            opened = None
    if opened is not None:
        out.append(Outage(opened.t, max(end, opened.t), True, opened.message))
    return out


@dataclass(frozen=True, slots=True)
class ApiOutage:
    """``seconds``: total time the manager API was failing; ``first_error``: its message."""

    seconds: float
    first_error: str | None


def api_unavailable(events: Sequence[Event], end: float) -> ApiOutage:
    """The outages of :func:`api_outages` summed (0 without any ``api_error``)."""
    outages = api_outages(events, end)
    total = 0.0
    for o in outages:
        total += o.end - o.start
    return ApiOutage(round(total, 4), outages[0].first_error if outages else None)


class GuardReport(BaseModel):
    """The live guard's trip (``None`` in results of runs it did not stop). Seconds after t0:
    ``data_end`` the end of the last window it judged, ``tripped`` when it tripped,
    ``restore_started`` when the restore began; ``detect_latency_s`` = tripped - data_end
    (how late the windows reached it), ``restore_latency_s`` = restore_started - tripped."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    reason: str
    data_end: float
    tripped: float
    restore_started: float | None
    detect_latency_s: float
    restore_latency_s: float | None


def guard_report(events: Sequence[Event]) -> GuardReport | None:
    trip = next(iter(of_kind(events, GuardTripped)), None)
    if trip is None:
        return None
    start = next((e.t for e in of_kind(events, RestoreStart, trip.t)), None)
    data_end = trip.data_end
    return GuardReport(
        reason=trip.detail,
        data_end=data_end,
        tripped=trip.t,
        restore_started=start,
        detect_latency_s=round(trip.t - data_end, 4),
        restore_latency_s=None if start is None else round(start - trip.t, 4),
    )
