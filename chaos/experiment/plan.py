"""``chaos plan``: the steps resolved against the live cluster, with each step's quorum effect.

Pure: a simulation over a cluster view (no I/O). The runner uses the same selection code at
run time, on the live cluster as it is then.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from typing import cast

from chaos import faults
from chaos.errors import UsageError
from chaos.experiment.select import SelectionError, select
from chaos.experiment.spec import (
    DegradeStep,
    Experiment,
    LabelStep,
    NodeStep,
    PowerStep,
    SleepStep,
    Step,
    StressStep,
    Target,
    TaskStep,
    WaitStep,
)
from chaos.faults import Effect
from chaos.platform.base import NodeInfo


@dataclass(frozen=True, slots=True)
class PlannedStep:
    index: int
    text: str  # the step as written, e.g. "halt leader"
    nodes: tuple[str, ...]  # resolved targets ("" entries never)
    effect: str  # what it does to the cluster, incl. quorum
    quorum: bool  # quorum held after this step
    managers_up: int
    managers_total: int


@dataclass(frozen=True, slots=True)
class Plan:
    experiment: str
    leader: str | None
    steps: tuple[PlannedStep, ...]
    loses_quorum: bool

    def lines(self) -> list[str]:
        out = [f"experiment {self.experiment}: leader now {self.leader or 'none'}"]
        for s in self.steps:
            hits = f" -> {', '.join(s.nodes)}" if s.nodes else ""
            out.append(f"  {s.index + 1:>2}. {s.text}{hits}: {s.effect}")
        return out


def describe_step(step: Step) -> str:
    if isinstance(step, PowerStep | NodeStep):
        return f"{step.action.replace('_', '-')} {step.target}"
    if isinstance(step, LabelStep):
        return f"{step.action.replace('_', '-')} {step.label} on {step.target}"
    if isinstance(step, WaitStep):
        what = step.condition.replace("_", " ")
        if step.node is not None:
            what += f" {step.node}"
        if step.status:
            what += f" {step.status}"
        return f"wait for {what}"
    if isinstance(step, SleepStep):
        return f"sleep {step.duration:g}s"
    if isinstance(step, TaskStep):
        how_many = f"{step.share:.0%} of the" if step.share is not None else str(step.count)
        where = f" on {step.target}" if step.target is not None else ""
        return f"kill-task {how_many} task(s){where} ({step.signal})"
    if isinstance(step, StressStep | DegradeStep):
        return _held(step)
    fields = step.model_dump(exclude_none=True, exclude={"action", "as_", "timeout"})
    extra = " ".join(f"{k}={v}" for k, v in fields.items() if v not in (False, {}, ()))
    return f"{step.action.replace('_', '-')} service {extra}".strip()


def _held(step: StressStep | DegradeStep) -> str:
    name = step.action.replace("_", "-")
    if step.action in faults.HEALS:
        return f"{name} {step.target}"
    if isinstance(step, StressStep):
        what = f"{step.cpu} cpu loops" + (f", {step.memory / 2**20:.0f} MiB" if step.memory else "")
    else:
        parts = [f"{step.loss:.0%} loss"] if step.loss else []
        if step.delay:
            jitter = f" ± {step.jitter * 1000:.0f}ms" if step.jitter else ""
            parts.append(f"{step.delay * 1000:.0f}ms{jitter} delay")
        what = f"{' and '.join(parts)}, {step.traffic} traffic"
    held = f" for {step.duration:g}s" if step.duration is not None else ""
    return f"{name} {step.target} ({what}){held}"


def _quorum(nodes: list[NodeInfo]) -> tuple[bool, int, int]:
    managers = [n for n in nodes if n.role == "manager"]
    up = [n for n in managers if n.power == "running" and n.engine_up]
    return len(up) > len(managers) / 2, len(up), len(managers)


def _hit(n: NodeInfo, action: str, effect: Effect) -> NodeInfo:
    """A node after ``action`` (its registry effect), leadership lost with the engine or the
    manager role."""
    engine_up = effect.engine_up
    if action == "rejoin":  # back in the swarm only if the node is on
        engine_up = n.power == "running"
    power = effect.power or n.power
    up = n.engine_up if engine_up is None else engine_up
    role = effect.role or n.role
    return replace(
        n, power=power, engine_up=up, role=role, availability=effect.availability or n.availability,
        leader=n.leader and up and role == "manager",
    )  # fmt: skip


def _relabel(n: NodeInfo, step: LabelStep) -> NodeInfo:
    labels = dict(n.labels)
    key, _, value = step.label.partition("=")
    if step.action == "label_add":
        labels[key] = value
    else:
        labels.pop(key, None)
    return replace(n, labels=labels)


def _apply(step: Step, hit: tuple[str, ...], nodes: list[NodeInfo]) -> list[NodeInfo]:
    effect = faults.effect_of(step.action)
    out = []
    for n in nodes:
        if n.name not in hit:
            out.append(n)
        elif isinstance(step, LabelStep):
            out.append(_relabel(n, step))
        elif effect is not None:
            out.append(_hit(n, step.action, effect))
        else:
            out.append(n)
    lost_leader = any(n.leader for n in nodes) and not any(n.leader for n in out)
    if lost_leader and step.action == "demote":
        # demotion hands leadership over at once (raft TransferLeadership)
        quorum, _, _ = _quorum(out)
        candidates = [
            n for n in out if n.role == "manager" and n.power == "running" and n.engine_up
        ]
        if quorum and candidates:
            new = candidates[0].name
            out = [replace(n, leader=n.name == new) for n in out]
    return out


def _elect(nodes: list[NodeInfo]) -> list[NodeInfo]:
    quorum, _, _ = _quorum(nodes)
    if any(n.leader for n in nodes) or not quorum:
        return nodes
    new = next(
        n.name for n in nodes if n.role == "manager" and n.power == "running" and n.engine_up
    )
    return [replace(n, leader=n.name == new) for n in nodes]


def plan(exp: Experiment, nodes: list[NodeInfo], seed: int, supported: frozenset[str]) -> Plan:
    """Resolve every step against a simulated cluster; refuse an unexpected quorum loss."""
    rng = random.Random(seed)
    refs: dict[str, tuple[str, ...]] = {}
    leader = next((n.name for n in nodes if n.leader), None)
    # the labels the run sets before deploying
    current = [replace(n, labels={**n.labels, **exp.node_labels.get(n.name, {})}) for n in nodes]
    planned: list[PlannedStep] = []
    loses = False
    for i, step in enumerate(exp.steps):
        target = cast(Target | None, getattr(step, "target", None))
        hit: tuple[str, ...] = ()
        capability = faults.capability_of(step.action)
        if capability is not None and capability not in supported:
            raise UsageError(
                f"{exp.source or exp.name}: steps.{i}: this platform cannot {step.action}"
            )
        if isinstance(step, DegradeStep) and step.delay and "delay" not in supported:
            raise UsageError(
                f"{exp.source or exp.name}: steps.{i}: this platform cannot delay packets "
                "(no netem, no packet delayer): degrade with loss only, or run it on another "
                "platform"
            )
        if target is not None:
            try:
                hit = select(target, current, refs, rng)
            except SelectionError as exc:
                if target.kind == "leader":
                    raise UsageError(
                        f"steps.{i}: the leader is not known at this point of the plan; "
                        "add a `wait_for: leader_elected` step before it"
                    ) from None
                raise UsageError(f"steps.{i}: {exc}") from None
        if step.as_:
            refs[step.as_] = hit
        current = _apply(step, hit, current)
        if isinstance(step, WaitStep) and step.condition in ("leader_elected", "quorum_restored"):
            current = _elect(current)
        quorum, up, total = _quorum(current)
        effect = f"managers up {up}/{total}: " + ("quorum kept" if quorum else "QUORUM LOST")
        if not quorum:
            loses = True
            if not exp.expect_quorum_loss:
                raise UsageError(
                    f"{exp.source or exp.name}: step {i + 1} ({describe_step(step)}) would lose "
                    f"quorum ({up}/{total} managers up); set expect_quorum_loss: true to allow it"
                )
        planned.append(PlannedStep(i, describe_step(step), hit, effect, quorum, up, total))
    return Plan(exp.name, leader, tuple(planned), loses)
