"""The control plane on the request timeline: a thread that polls the reachable managers.

Every ``INTERVAL`` (250 ms) it asks one live manager (short timeouts; the last good one first)
for nodes, the service's tasks and the service (a slow platform's ``time_scale`` stretches both:
three calls four times a second cost an emulated guest's engine a good part of its CPU, and a
1 s timeout there would call a slow answer an outage), compares with what it saw last and emits an
event per change (:mod:`chaos.timeline.events` lists the kinds). A failing call is an ``api_error``
with the engine's message (e.g. "The swarm does not have a leader…"), the next success an
``api_ok``. The latest picture is kept in :attr:`Observer.snapshot` for waits and the live view.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass, field

from chaos.errors import ChaosError, NotFoundError
from chaos.experiment import rate
from chaos.platform.base import Platform
from chaos.platform.view import CutOff, Managers
from chaos.swarm.client import EngineClient
from chaos.swarm.model import NodeView, ServiceView, TaskView
from chaos.timeline import (
    ApiError,
    ApiOk,
    EventLog,
    LeaderChange,
    NodeAvailabilityChange,
    NodePowerChange,
    NodeReachabilityChange,
    NodeRoleChange,
    NodeStatusChange,
    TaskChange,
    TasksChange,
    UpdateStateChange,
)

INTERVAL = 0.25
API_TIMEOUT = 1.0
POWER_INTERVAL = 0.1


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What the observer saw last (``at``: run time of that poll)."""

    at: float = 0.0
    api_ok: bool = False
    api_error: str = ""
    leader: str | None = None
    nodes: dict[str, NodeView] = field(default_factory=dict)
    power: dict[str, str] = field(default_factory=dict)
    service: ServiceView | None = None
    tasks: tuple[TaskView, ...] = ()

    def running_tasks(self) -> list[TaskView]:
        return [t for t in self.tasks if t.running]

    def desired_tasks(self) -> int:
        if self.service is None:
            return 0
        if self.service.replicas is not None:
            return self.service.replicas
        return sum(1 for t in self.tasks if t.desired_state == "running")

    def serving_tasks(self) -> list[TaskView]:
        """Running tasks on nodes that are Ready and Active (a task on a drained or down node
        is about to go, however it looks now)."""
        ids = {v.id: v for v in self.nodes.values()}
        return [
            t
            for t in self.running_tasks()
            if t.node_id in ids
            and ids[t.node_id].state == "ready"
            and ids[t.node_id].availability == "active"
        ]

    def converged(self) -> bool:
        """All desired tasks serving and no update or rollback in progress."""
        if self.service is None:
            return False
        busy = self.service.update_state in ("updating", "rollback_started")
        return not busy and len(self.serving_tasks()) == self.desired_tasks()


class Observer:
    def __init__(
        self, platform: Platform, log: EventLog, service: str, cut_off: CutOff | None = None
    ) -> None:
        self.platform = platform
        self.log = log
        self.service_name = service
        self.interval = rate.scaled(INTERVAL, platform)
        timeout = rate.scaled(API_TIMEOUT, platform)
        self.managers = Managers(platform, timeout=timeout, cut_off=cut_off)
        self.snapshot = Snapshot()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="observer", daemon=True)
        # power is read from the platform (cheap, local) on its own beat, so a hung manager
        # call never delays a node_power event
        self._power_thread = threading.Thread(target=self._power_loop, name="power", daemon=True)
        self._power: dict[str, str] = {}
        self._api_failing = False
        self._tasks_key: tuple[object, ...] | None = None
        self._task_states: dict[str, str] = {}

    def start(self) -> None:
        self._power = self._read_power()
        self.poll()  # the first picture, synchronously: leader_before etc.
        self._thread.start()
        self._power_thread.start()

    def signal_stop(self) -> None:
        """Ask the threads to end (they finish their current call); :meth:`stop` waits."""
        self._stop.set()

    def stop(self) -> None:
        self._stop.set()
        for thread in (self._thread, self._power_thread):
            if thread.is_alive():
                thread.join(timeout=10)

    def _read_power(self) -> dict[str, str]:
        return {n: self.platform.power(n) for n in self.platform.node_names()}

    def _power_loop(self) -> None:
        while not self._stop.wait(POWER_INTERVAL):
            try:
                now = self._read_power()
            except Exception:  # a node being torn down mid-read: try again next beat
                continue
            for node, state in now.items():
                old = self._power.get(node)
                if old is not None and old != state:
                    self.log.emit(
                        NodePowerChange(
                            detail=f"{node} {old} -> {state}", node=node, old=old, new=state
                        )
                    )
            self._power = now

    def _loop(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                self.poll()
            except Exception as exc:  # never let the observer die silently mid-run
                if not self._api_failing:
                    self._api_failing = True  # the next good poll emits api_ok
                    self.log.emit(ApiError(detail=f"observer: {exc!r}", node="", message=repr(exc)))
            self._stop.wait(max(0.0, self.interval - (time.monotonic() - started)))

    # -- one poll -----------------------------------------------------------------------
    def poll(self) -> Snapshot:
        prev = self.snapshot
        power = dict(self._power)
        try:
            nodes, service, tasks = self.managers.call(self._fetch)
        except ChaosError as exc:
            message = str(exc)
            if not self._api_failing:
                self._api_failing = True
                self.log.emit(
                    ApiError(detail=message, node=self.managers.preferred or "", message=message)
                )
            self.snapshot = Snapshot(
                at=self.log.clock.now(), api_ok=False, api_error=message, leader=prev.leader,
                nodes=prev.nodes, power=power, service=prev.service, tasks=prev.tasks,
            )  # fmt: skip
            return self.snapshot
        if self._api_failing:
            self._api_failing = False
            self.log.emit(ApiOk(detail=f"manager API answers again ({self.managers.preferred})",
                                node=self.managers.preferred or ""))  # fmt: skip
        by_name = {v.hostname: v for v in nodes}
        leader = next((v.hostname for v in nodes if v.leader), None)
        if prev.at == 0.0 or leader != prev.leader:
            self.log.emit(
                LeaderChange(
                    detail=f"leader {prev.leader} -> {leader}", old=prev.leader, new=leader
                )
            )
        self._node_changes(prev.nodes, by_name)
        self._service_changes(prev, service, tasks, by_name)
        self.snapshot = Snapshot(
            at=self.log.clock.now(), api_ok=True, leader=leader, nodes=by_name, power=power,
            service=service, tasks=tuple(tasks),
        )  # fmt: skip
        return self.snapshot

    def _fetch(
        self, engine: EngineClient
    ) -> tuple[list[NodeView], ServiceView | None, list[TaskView]]:
        nodes = engine.nodes()
        try:
            service: ServiceView | None = engine.service(self.service_name)
            tasks = engine.tasks(self.service_name)
        except NotFoundError:
            service, tasks = None, []
        return nodes, service, tasks

    def _node_changes(self, old: dict[str, NodeView], new: dict[str, NodeView]) -> None:
        for name, view in sorted(new.items()):
            before = old.get(name)
            if before is None:
                continue  # a node seen for the first time has not changed
            pairs = (
                (NodeStatusChange, before.state, view.state),
                (NodeAvailabilityChange, before.availability, view.availability),
                (NodeReachabilityChange, before.reachability, view.reachability),
                (NodeRoleChange, before.role, view.role),
            )
            for kind, was, now in pairs:
                if was != now:
                    self.log.emit(
                        kind(detail=f"{name} {was} -> {now}", node=name, old=was, new=now)
                    )

    def _service_changes(
        self,
        prev: Snapshot,
        service: ServiceView | None,
        tasks: list[TaskView],
        nodes: dict[str, NodeView],
    ) -> None:
        host = {v.id: v.hostname for v in nodes.values()}
        if service is not None:
            old_state = prev.service.update_state if prev.service else ""
            if service.update_state != old_state:
                self.log.emit(UpdateStateChange(
                    detail=f"{service.name} update {old_state or '-'} -> "
                    f"{service.update_state or '-'}",
                    service=service.name, old=old_state, new=service.update_state,
                    message=service.update_message,
                ))  # fmt: skip
        for task in tasks:
            old = self._task_states.get(task.id)
            if old != task.state:
                self._task_states[task.id] = task.state
                if old is not None or task.state in ("running", "failed", "rejected"):
                    self.log.emit(TaskChange(
                        detail=f"{self.service_name}.{task.slot or host.get(task.node_id, '')} "
                        f"on {host.get(task.node_id, '?')}: {old or 'new'} -> {task.state}",
                        service=self.service_name, slot=task.slot, task=task.id,
                        node=host.get(task.node_id, ""), old=old, new=task.state,
                        error=task.error,
                    ))  # fmt: skip
        running = [t for t in tasks if t.running]
        by_node = dict(sorted(Counter(host.get(t.node_id, "?") for t in running).items()))
        images = dict(sorted(Counter(t.image for t in running).items()))
        desired = Snapshot(service=service, tasks=tuple(tasks)).desired_tasks()
        key = (len(running), desired, tuple(by_node.items()), tuple(images.items()))
        if key != self._tasks_key:
            self._tasks_key = key
            self.log.emit(TasksChange(
                detail=f"{self.service_name}: {len(running)}/{desired} running "
                + " ".join(f"{n}={c}" for n, c in by_node.items()),
                service=self.service_name, running=len(running), desired=desired,
                by_node=by_node, images=images,
            ))  # fmt: skip
