"""Control-plane recovery metrics from cluster events (pure functions over :class:`Event` lists).

All results are seconds (``float``) or ``None``: not applicable to this scenario, or not
observed before the run ended. Times are on the load's t axis (seconds after t0); "after the
fault" means ``t >= fault_start``. Events are taken in list order (the order they were
emitted, which is time order).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict

from chaos.timeline import Event

UPDATE_DONE = frozenset({"completed", "rollback_completed"})
UPDATE_STUCK = frozenset({"paused", "rollback_paused"})


def _after(events: Sequence[Event], kind: str, t: float) -> list[Event]:
    return [e for e in events if e.kind == kind and e.t >= t]


def leader_elected_s(
    events: Sequence[Event], fault_start: float | None, leader_before: str | None
) -> float | None:
    """Fault start -> the first ``leader`` event after it whose ``new`` is a node other than
    ``leader_before`` (``null`` = no leader does not count). ``None`` without a fault or when
    the leader never changed."""
    if fault_start is None:
        return None
    for e in _after(events, "leader", fault_start):
        new = e.data.get("new")
        if new is not None and new != leader_before:
            return round(e.t - fault_start, 4)
    return None


def leader_after(events: Sequence[Event], leader_before: str | None) -> str | None:
    """The leader at the end: ``new`` of the last ``leader`` event, else ``leader_before``."""
    last = [e for e in events if e.kind == "leader"]
    if not last:
        return leader_before
    new = last[-1].data.get("new")
    return new if isinstance(new, str) else None


def node_down_detected_s(
    events: Sequence[Event], fault_start: float | None, faulted_nodes: Collection[str]
) -> float | None:
    """Fault start -> the first ``node_status`` event after it with ``new == "down"`` for a
    node in ``faulted_nodes``. ``None`` without a fault, faulted nodes, or such an event."""
    if fault_start is None:
        return None
    for e in _after(events, "node_status", fault_start):
        if e.data.get("new") == "down" and e.data.get("node") in faulted_nodes:
            return round(e.t - fault_start, 4)
    return None


def _of_service(events: Sequence[Event], kind: str, service: str) -> list[Event]:
    return [e for e in events if e.kind == kind and e.data.get("service", service) == service]


def _running_on(by_node: Any, nodes: Collection[str]) -> bool:
    """Whether ``by_node`` ({node: running count}, or {node: [tasks]}) has a running task on
    any of ``nodes``."""
    if not isinstance(by_node, Mapping):
        return False
    return any(by_node.get(n) for n in nodes)


def _converged(e: Event) -> bool:
    running, desired = e.data.get("running"), e.data.get("desired")
    return isinstance(running, int) and running == desired


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
    tasks = _of_service(events, "tasks", service)
    before = [e for e in tasks if e.t < fault_start]
    if not before or not _running_on(before[-1].data.get("by_node"), faulted_nodes):
        return None
    for e in tasks:
        if (
            e.t >= fault_start
            and _converged(e)
            and not _running_on(e.data.get("by_node"), faulted_nodes)
        ):
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
    updates = [e for e in _of_service(events, "update_state", service) if e.t >= fault_start]
    if updates:
        origin = fault_start if update_start is None else update_start
        for e in updates:
            new = e.data.get("new")
            if new in UPDATE_DONE:
                return Converged(round(e.t - origin, 4))
            if new in UPDATE_STUCK:
                return Converged(None, f"the update ended {new}: {e.data.get('message', '')}")
        return Converged(None, "the update did not complete before the run ended")
    tasks = [e for e in _of_service(events, "tasks", service) if e.t >= fault_start]
    if not tasks:
        return Converged(None, "no task change observed after the fault")
    if not _converged(tasks[-1]):
        return Converged(None, "running != desired at the end of the run")
    unconverged = [k for k, e in enumerate(tasks) if not _converged(e)]
    first = tasks[unconverged[-1] + 1] if unconverged else tasks[0]
    return Converged(round(first.t - fault_start, 4))


@dataclass(frozen=True, slots=True)
class ApiOutage:
    """``seconds``: total time the manager API was failing; ``first_error``: its message."""

    seconds: float
    first_error: str | None


def api_unavailable(events: Sequence[Event], end: float) -> ApiOutage:
    """Sum over outages of (next ``api_ok`` - first ``api_error`` of the outage), an outage
    still open at ``end`` (seconds after t0, the run's end) clipped there. 0 without any
    ``api_error``."""
    total = 0.0
    since: float | None = None
    first_error: str | None = None
    for e in events:
        if e.kind == "api_error":
            if first_error is None:
                first_error = str(e.data.get("message", e.detail))
            if since is None:
                since = e.t
        elif e.kind == "api_ok" and since is not None:
            total += e.t - since
            since = None
    if since is not None:
        total += max(0.0, end - since)
    return ApiOutage(round(total, 4), first_error)


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
    trip = next((e for e in events if e.kind == "guard_tripped"), None)
    if trip is None:
        return None
    start = next((e.t for e in events if e.kind == "restore_start" and e.t >= trip.t), None)
    data_end = float(trip.data.get("data_end", trip.t))
    return GuardReport(
        reason=trip.detail,
        data_end=data_end,
        tripped=trip.t,
        restore_started=start,
        detect_latency_s=round(trip.t - data_end, 4),
        restore_latency_s=None if start is None else round(start - trip.t, 4),
    )
