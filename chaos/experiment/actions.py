"""Acting on the cluster: each step's action journaled before it acts and performed through
the fault registry (:mod:`chaos.faults`), and the undo of journaled faults (used at the end
of a run and by ``chaos recover``)."""

from __future__ import annotations

import random
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from chaos import faults
from chaos.errors import ChaosError, PlatformError, UsageError
from chaos.experiment.spec import (
    DegradeStep,
    LabelStep,
    NodeStep,
    PowerStep,
    ServiceSpec,
    ServiceStep,
    ServiceUpdateStep,
    StackStep,
    StressStep,
    TaskStep,
    UpdateSettings,
)
from chaos.journal import Fault, Journal
from chaos.platform.base import Platform
from chaos.platform.degrade import Degradation
from chaos.platform.view import Managers
from chaos.swarm.client import EngineClient
from chaos.swarm.model import HealthPolicy, ServiceChange, ServiceRequest, UpdatePolicy

T = TypeVar("T")


@dataclass
class Context:
    """One run's hands on the cluster (the :class:`chaos.faults.Act` the registry uses)."""

    platform: Platform
    managers: Managers
    journal: Journal
    run: str
    service: str
    base_dir: Path  # the experiment file's folder (compose files are relative to it)

    # -- what the registry asks for -----------------------------------------------------
    def call(self, fn: Callable[[EngineClient], T]) -> T:
        return self.managers.call(fn)

    def node_id(self, node: str) -> str:
        node_id = {v.hostname: v.id for v in self.call(lambda e: e.nodes())}.get(node)
        if node_id is None:
            raise PlatformError(f"{node} is not in the swarm's node list")
        return node_id

    def cut_off(self, node: str, cut: bool) -> None:
        self.managers.set_cut_off(node, cut)

    def rejoin(self, node: str, role: str) -> str:
        return rejoin(self, node, role)

    def docker_cli(self, args: list[str]) -> str:
        return docker_cli(self, args)

    # -- the journal --------------------------------------------------------------------
    def record(self, action: str, node: str, arg: Any = None) -> Fault:
        heal = faults.kind(action).heal
        return self.journal.applied(self.run, self.platform.name, action, node, heal, arg)

    def pending_for(self, node: str, kinds: frozenset[str]) -> list[Fault]:
        return [f for f in self.journal.pending(self.run) if f.node == node and f.action in kinds]

    def settle(self, action: str, node: str) -> None:
        """An explicit healing step (start, resume, activate, …) closes the faults it heals."""
        for fault in self.pending_for(node, faults.healed_by(action)):
            self.journal.undone(fault)


def inject(ctx: Context, action: str, node: str, payload: Any = None, arg: Any = None) -> str:
    """Journal fault ``action`` on ``node`` (``arg``: what its heal needs), then inject it
    (``payload``: what the injection needs)."""
    ctx.record(action, node, arg)
    return faults.kind(action).inject(ctx, node, payload)


def heal(ctx: Context, action: str, node: str) -> str:
    """Heal ``node`` with ``action`` as a step; the faults it heals are closed."""
    pending = ctx.pending_for(node, faults.healed_by(action))
    fault = pending[0] if pending else Fault("", ctx.run, ctx.platform.name, "", node, action)
    message = faults.HEALS[action].undo(ctx, fault)
    ctx.settle(action, node)
    return message


def act(ctx: Context, action: str, node: str, payload: Any = None, arg: Any = None) -> str:
    """A step's action: a heal when it undoes a fault this run left on the node (a promote
    after a demote), else a fault when it is one, else a heal."""
    if action in faults.HEALS and ctx.pending_for(node, faults.healed_by(action)):
        return heal(ctx, action, node)
    if action in faults.FAULTS:
        return inject(ctx, action, node, payload, arg)
    return heal(ctx, action, node)


def service_request(spec: ServiceSpec, platform: Platform) -> ServiceRequest:
    ports, mesh_labels = platform.publish(spec.port, spec.target_port)
    health = None
    if spec.healthcheck is not None:
        h = spec.healthcheck
        health = HealthPolicy(
            ("CMD-SHELL", h.cmd), h.interval, h.timeout, h.retries, h.start_period
        )
    return ServiceRequest(
        name=spec.name,
        image=spec.image,
        replicas=spec.replicas if spec.mode == "replicated" else None,
        ports=ports,
        constraints=spec.constraints,
        labels={**spec.labels, **mesh_labels},
        update=_policy(spec.update),
        rollback=_policy(spec.rollback),
        health=health,
        restart_delay_s=spec.restart_delay,
        stop_grace_s=spec.stop_grace,
    )


def _policy(u: UpdateSettings) -> UpdatePolicy:
    return UpdatePolicy(
        parallelism=u.parallelism, delay_s=u.delay, order=u.order,
        failure_action=u.failure_action, monitor_s=u.monitor,
        max_failure_ratio=u.max_failure_ratio,
    )  # fmt: skip


def _labels_of(ctx: Context, node: str) -> dict[str, str]:
    views = {v.hostname: v for v in ctx.call(lambda e: e.nodes())}
    return dict(views[node].labels) if node in views else {}


# -- steps ------------------------------------------------------------------------------------
def power(ctx: Context, step: PowerStep, node: str) -> str:
    return act(ctx, step.action, node)


def node_change(ctx: Context, step: NodeStep, node: str) -> str:
    if step.action == "leave":  # the managers keep it as Down until removed
        before = {v.hostname: v for v in ctx.call(lambda e: e.nodes())}.get(node)
        return act(ctx, "leave", node, arg={"role": before.role if before else "manager"})
    return act(ctx, step.action, node)


def label_change(ctx: Context, step: LabelStep, node: str) -> str:
    key, _, value = step.label.partition("=")
    old = _labels_of(ctx, node).get(key)
    return inject(ctx, step.action, node, {"key": key, "value": value}, {"key": key, "old": old})


def set_label(ctx: Context, node: str, key: str, value: str) -> str:
    """A label the run sets before it deploys (journaled: the restore puts the old back)."""
    old = _labels_of(ctx, node).get(key)
    return inject(ctx, "label_add", node, {"key": key, "value": value}, {"key": key, "old": old})


def kill_tasks(
    ctx: Context, step: TaskStep, nodes: tuple[str, ...], rng: random.Random, grace: float
) -> tuple[tuple[str, ...], str]:
    """Kill ``count`` (or ``share``) of the service's running task containers on ``nodes``,
    chosen with ``rng``; returns the nodes hit and what happened."""
    service_id = ctx.call(lambda e: e.service(ctx.service)).id
    running: list[tuple[str, str]] = []
    for node in nodes:
        if ctx.platform.power(node) != "running" or not ctx.platform.engine_up(node):
            continue
        with ctx.platform.engine(node) as engine:
            running += [
                (node, c.id) for c in engine.task_containers() if c.service_id == service_id
            ]
    if not running:
        raise PlatformError(f"kill_task: no running task of {ctx.service} on {', '.join(nodes)}")
    count = step.count if step.share is None else max(1, round(step.share * len(running)))
    chosen = rng.sample(sorted(running), min(count, len(running)))
    said = []
    for node, cid in chosen:
        payload = {"container": cid, "signal": step.signal, "grace": grace}
        said.append(inject(ctx, "kill_task", node, payload, {"container": cid}))
    return tuple(dict.fromkeys(node for node, _ in chosen)), "; ".join(said)


def stress(ctx: Context, step: StressStep, node: str) -> str:
    if step.action in faults.HEALS:
        return heal(ctx, step.action, node)
    payload = {"cpu": step.cpu, "memory": step.memory}
    return inject(ctx, "stress", node, payload, payload)


def degrade(ctx: Context, step: DegradeStep, node: str, port: int) -> str:
    if step.action in faults.HEALS:
        return heal(ctx, step.action, node)
    d = Degradation(step.loss, step.delay, step.jitter, step.traffic, port)
    return inject(ctx, "degrade", node, d, d.as_json())


def update_service(ctx: Context, step: ServiceUpdateStep) -> str:
    policy = UpdatePolicy(
        parallelism=step.parallelism, delay_s=step.delay, order=step.order,
        failure_action=step.failure_action, monitor_s=step.monitor,
    )  # fmt: skip
    change = ServiceChange(image=step.image, update=policy, force=step.force)
    ctx.call(lambda e: e.update_service(ctx.service, change))
    return f"service {ctx.service} update {change.describe()}".rstrip()


def service_change(ctx: Context, step: ServiceStep) -> str:
    if step.action == "scale":
        replicas = step.replicas if step.replicas is not None else 1
        ctx.call(lambda e: e.scale_service(ctx.service, replicas))
        return f"service {ctx.service} scaled to {replicas}"
    if step.action == "rollback":
        ctx.call(lambda e: e.rollback_service(ctx.service))
        return f"service {ctx.service} rolled back"
    if step.action == "remove":
        ctx.call(lambda e: e.remove_service(ctx.service))
        return f"service {ctx.service} removed"
    if step.service is None:
        raise UsageError("create needs a service: {name, image, replicas, port…}")
    req = service_request(step.service, ctx.platform)
    return inject(ctx, "create_service", req.name, req)


def stack(ctx: Context, step: StackStep) -> str:
    if step.action == "stack_rm":
        return heal(ctx, "stack_rm", step.name)
    if step.compose is None:
        raise UsageError("stack_deploy needs compose: FILE (relative to the experiment file)")
    compose = (ctx.base_dir / step.compose).resolve()
    if not compose.is_file():
        raise UsageError(f"stack_deploy: compose file {compose} not found")
    message = inject(ctx, "stack_deploy", step.name, compose)
    return f"{message} from {compose.name}"


# -- the cluster operations the registry calls back ---------------------------------------------
def docker_cli(ctx: Context, args: list[str]) -> str:
    """The docker CLI against a live manager (for stacks: compose is a client-side feature)."""
    docker = shutil.which("docker", path="/usr/bin:/usr/local/bin")
    if docker is None:
        raise PlatformError("the docker CLI is not installed: apt-get install docker.io")
    name = ctx.managers.candidates()[0] if ctx.managers.candidates() else None
    if name is None:
        raise PlatformError("no manager is powered")
    host = ctx.platform.docker_host(name)
    proc = subprocess.run(
        [docker, "--host", host, *args], capture_output=True, text=True, timeout=120, check=False
    )
    if proc.returncode != 0:
        raise PlatformError(f"docker {' '.join(args)}: {proc.stderr.strip().splitlines()[-1:]}")
    return proc.stdout.strip()


def _forget_node(ctx: Context, node_id: str, *, demote: bool) -> None:
    def forget(engine: EngineClient) -> None:
        if demote:
            engine.set_role(node_id, "worker")
        engine.remove_node(node_id)

    ctx.call(forget)


def rejoin(ctx: Context, node: str, role: str) -> str:
    """Undo a leave: drop the node's stale entry (a manager is demoted first, which takes it
    out of raft), then join it again with the token of its old role (a new node ID)."""
    p = ctx.platform
    with p.engine(node) as engine:
        if engine.swarm_member():
            return f"{node} is in a swarm; nothing done"
    views = ctx.call(lambda e: e.nodes())
    for stale in (v for v in views if v.hostname == node and v.state != "ready"):
        _forget_node(ctx, stale.id, demote=stale.role == "manager")
    ready = [v for v in views if v.role == "manager" and v.state == "ready" and v.hostname != node]
    remote = ready[0].addr if ready else None
    if remote is None:
        raise PlatformError(f"no Ready manager to rejoin {node} to")
    worker_token, manager_token = ctx.call(lambda e: e.join_tokens())
    token = manager_token if role == "manager" else worker_token
    with p.engine(node) as engine:
        engine.swarm_join(f"{remote.split(':')[0]}:2377", token, p.node_ip(node))
    return f"{node} rejoined the swarm as a {role}"


# -- undo -------------------------------------------------------------------------------------
def undo(ctx: Context, fault: Fault) -> str:
    """Heal one journaled fault; healing what is already healed is harmless."""
    heal_ = faults.HEALS.get(fault.undo)
    message = (
        heal_.undo(ctx, fault)
        if heal_ is not None
        else f"{fault.describe()}: cannot be undone automatically"
    )
    ctx.journal.undone(fault)
    return message


def undo_all(ctx: Context, pending: list[Fault], log: Callable[[str], None]) -> list[str]:
    """Undo faults newest first; returns the errors (empty: all undone)."""
    errors: list[str] = []
    for fault in reversed(pending):
        try:
            log(undo(ctx, fault))
        except ChaosError as exc:
            errors.append(f"undo {fault.describe()}: {exc}")
    return errors
