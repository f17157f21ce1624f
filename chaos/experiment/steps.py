"""Executing one step: resolve its targets on the live cluster (seeded), act, or wait.

Runs in a worker thread (docker calls block). Waits poll the observer's latest snapshot, so
they add no load on the managers and still work while the API is failing.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from chaos import faults
from chaos.errors import ChaosError, UsageError
from chaos.experiment import actions, rate
from chaos.experiment.actions import Context
from chaos.experiment.observer import Observer, Snapshot
from chaos.experiment.select import select
from chaos.experiment.spec import (
    DegradeStep,
    LabelStep,
    NodeStep,
    PowerStep,
    ServiceStep,
    ServiceUpdateStep,
    SleepStep,
    StackStep,
    Step,
    StressStep,
    Target,
    TaskStep,
    WaitStep,
)
from chaos.platform.base import NodeInfo

DEFAULT_WAIT = 120.0


class StepTimeout(ChaosError):
    """A ``wait_for`` did not see its condition before its deadline: the system deviated."""

    exit_code = 1


class Aborted(ChaosError):
    """The run is stopping (Ctrl-C); the step gave up."""


@dataclass
class StepRunner:
    ctx: Context
    observer: Observer
    seed: int
    abort: threading.Event = field(default_factory=threading.Event)
    refs: dict[str, tuple[str, ...]] = field(default_factory=dict)
    stop_grace: float = 10.0  # the service's stop grace period (kill_task with TERM)
    port: int = 80  # the service's published port (degrade of service traffic)
    rng: random.Random = field(init=False)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    def view(self) -> list[NodeInfo]:
        """The cluster as the observer last saw it, with the platform's power facts."""
        snap = self.observer.snapshot
        p = self.ctx.platform
        out = []
        for name in p.node_names():
            v = snap.nodes.get(name)
            out.append(
                NodeInfo(
                    name=name, ip=p.node_ip(name), power=p.power(name),
                    engine_up=p.engine_up(name), role=v.role if v else "",
                    leader=(v.leader if v else False) and snap.leader == name,
                    reachability=v.reachability if v else "", status=v.state if v else "",
                    availability=v.availability if v else "", labels=dict(v.labels) if v else {},
                )
            )  # fmt: skip
        return out

    def resolve(self, target: Target) -> tuple[str, ...]:
        return select(target, self.view(), self.refs, self.rng)

    def run(self, step: Step) -> tuple[tuple[str, ...], str]:
        """Execute a (non-sleep) step; returns (nodes hit, what happened)."""
        nodes: tuple[str, ...] = ()
        target = getattr(step, "target", None)
        if isinstance(target, Target):
            nodes = self.resolve(target)
        if step.as_:
            self.refs[step.as_] = nodes
        ctx = self.ctx
        per_node = self._per_node(step)
        if per_node is not None:
            return nodes, "; ".join(per_node(n) for n in nodes)
        if isinstance(step, TaskStep):
            where = nodes if step.target is not None else tuple(ctx.platform.node_names())
            return actions.kill_tasks(ctx, step, where, self.rng, self.stop_grace)
        if isinstance(step, StressStep):
            said = "; ".join(actions.stress(ctx, step, n) for n in nodes)
            return nodes, self._for_a_while(step, nodes, said, faults.kind("stress").heal)
        if isinstance(step, DegradeStep):
            said = "; ".join(actions.degrade(ctx, step, n, self.port) for n in nodes)
            return nodes, self._for_a_while(step, nodes, said, faults.kind("degrade").heal)
        if isinstance(step, ServiceUpdateStep):
            return nodes, actions.update_service(ctx, step)
        if isinstance(step, ServiceStep):
            return nodes, actions.service_change(ctx, step)
        if isinstance(step, StackStep):
            return nodes, actions.stack(ctx, step)
        if isinstance(step, WaitStep):
            return self.wait(step)
        if isinstance(step, SleepStep):
            raise UsageError("sleep steps run in the event loop, not here")
        raise UsageError(f"unknown step {step!r}")

    def _per_node(self, step: Step) -> Callable[[str], str] | None:
        """The action of a step that acts on each of its nodes in turn."""
        ctx = self.ctx
        if isinstance(step, PowerStep):
            return lambda n: actions.power(ctx, step, n)
        if isinstance(step, NodeStep):
            return lambda n: actions.node_change(ctx, step, n)
        if isinstance(step, LabelStep):
            return lambda n: actions.label_change(ctx, step, n)
        return None

    def _for_a_while(
        self, step: StressStep | DegradeStep, nodes: tuple[str, ...], said: str, heal: str
    ) -> str:
        """A fault with a ``duration`` holds that long (a stop cuts it short), then heals."""
        if step.duration is None or heal == step.action:
            return said
        self.abort.wait(step.duration)
        healed = "; ".join(actions.heal(self.ctx, heal, n) for n in nodes)
        return f"{said}; after {step.duration:g}s: {healed}"

    # -- waits ------------------------------------------------------------------------------
    def wait(self, step: WaitStep) -> tuple[tuple[str, ...], str]:
        nodes = self.resolve(step.node) if step.node is not None else ()
        if step.as_:
            self.refs[step.as_] = nodes
        # a slow platform (TCG guests) takes as much longer for swarm's own conditions as for
        # the tool's set-up: the file's timeout is for a cluster of ordinary speed
        timeout = rate.scaled(step.timeout if step.timeout is not None else DEFAULT_WAIT,
                              self.ctx.platform)  # fmt: skip
        started = time.monotonic()
        since = self.observer.log.clock.now()
        check = self._condition(step, nodes)
        while True:
            snap = self.observer.snapshot
            if snap.at <= since:  # only a picture taken after the step began can satisfy it
                if time.monotonic() - started > timeout:
                    raise StepTimeout(f"wait for {step.condition}: the observer saw nothing new")
                time.sleep(0.05)
                continue
            ok, why = check(snap)
            if ok:
                return nodes, f"{why} after {time.monotonic() - started:.1f}s"
            if self.abort.is_set():
                raise Aborted("the run is stopping")
            if time.monotonic() - started > timeout:
                raise StepTimeout(f"wait for {step.condition} timed out after {timeout:g}s: {why}")
            time.sleep(0.1)

    def _condition(
        self, step: WaitStep, nodes: tuple[str, ...]
    ) -> Callable[[Snapshot], tuple[bool, str]]:
        p = self.ctx.platform
        # a leader on a node this run has faulted is no answer (an isolated leader still
        # calls itself leader until it steps down)
        out = faults.removes_leader()
        faulted = {f.node for f in self.ctx.journal.pending(self.ctx.run) if f.action in out}

        def leader_elected(s: Snapshot) -> tuple[bool, str]:
            lead = s.leader
            ok = (
                s.api_ok
                and lead is not None
                and lead not in nodes
                and lead not in faulted
                and p.power(lead) == "running"
                and p.engine_up(lead)
            )
            return ok, f"leader {lead or 'none'}" + ("" if s.api_ok else f" ({s.api_error})")

        def node_status(s: Snapshot) -> tuple[bool, str]:
            want = step.status or "ready"
            states = {n: s.nodes[n].state if n in s.nodes else "?" for n in nodes}
            return all(v == want for v in states.values()), f"status {states}"

        def converged(s: Snapshot) -> tuple[bool, str]:
            running, desired = len(s.serving_tasks()), s.desired_tasks()
            state = s.service.update_state if s.service else "no service"
            return s.converged(), f"{running}/{desired} tasks running, update {state or '-'}"

        def quorum(s: Snapshot) -> tuple[bool, str]:
            ok = s.api_ok and s.leader is not None
            return ok, "manager API answers with a leader" if ok else s.api_error

        def update_state(s: Snapshot) -> tuple[bool, str]:
            wanted = set((step.status or "completed").split("|"))
            state = s.service.update_state if s.service else ""
            return state in wanted, f"update state {state or '-'}"

        return {
            "leader_elected": leader_elected,
            "node_status": node_status,
            "service_converged": converged,
            "quorum_restored": quorum,
            "update_state": update_state,
        }[step.condition]
