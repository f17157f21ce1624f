"""Acting on the cluster: one function per step kind, each journaled before it acts, and the
undo of every journaled fault (used at the end of a run and by ``chaos recover``)."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chaos.errors import ChaosError, PlatformError, UsageError
from chaos.experiment.spec import (
    LabelStep,
    NodeStep,
    PowerStep,
    ServiceSpec,
    ServiceStep,
    ServiceUpdateStep,
    StackStep,
    UpdateSettings,
)
from chaos.journal import Fault, Journal
from chaos.platform.base import Platform
from chaos.platform.view import Managers
from chaos.swarm.engine import Engine
from chaos.swarm.model import HealthPolicy, ServiceRequest, UpdatePolicy

NS = 1_000_000_000
FAULTS = ("halt", "suspend", "stop_engine", "isolate")  # power steps that the journal undoes


@dataclass
class Context:
    platform: Platform
    managers: Managers
    journal: Journal
    run: str
    service: str
    base_dir: Path  # the experiment file's folder (compose files are relative to it)

    def record(self, action: str, node: str, arg: Any = None) -> Fault:
        return self.journal.applied(self.run, self.platform.name, action, node, arg)

    def settle(self, action: str, node: str) -> None:
        """An explicit healing step (start, resume, activate, …) closes the matching fault."""
        undoing = {
            "start": ("halt", "stop_engine"),
            "resume": ("suspend",),
            "reconnect": ("isolate",),
            "activate": ("drain",),
            "promote": ("demote",),
            "demote": ("promote",),
            "rejoin": ("leave",),
        }
        for fault in self.journal.pending(self.run):
            if fault.node == node and fault.action in undoing.get(action, ()):
                self.journal.undone(fault)  # fmt: skip


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


def _ids(ctx: Context) -> dict[str, str]:
    return {v.hostname: v.id for v in ctx.managers.call(lambda e: e.nodes())}


def _node_update(ctx: Context, node: str, mutate: Callable[[dict[str, Any]], None]) -> None:
    node_id = _ids(ctx).get(node)
    if node_id is None:
        raise PlatformError(f"{node} is not in the swarm's node list")
    ctx.managers.call(lambda e: e.update_node(node_id, mutate))


# -- power ------------------------------------------------------------------------------------
def power(ctx: Context, step: PowerStep, node: str) -> str:
    if step.action in FAULTS:
        ctx.record(step.action, node)
    if step.action == "isolate":
        ctx.managers.cut_off.add(node)
    message: str = getattr(ctx.platform, step.action)(node)
    if step.action == "reconnect":
        ctx.managers.cut_off.discard(node)
    if step.action in ("start", "resume", "reconnect"):
        ctx.settle(step.action, node)
    return message


# -- nodes ------------------------------------------------------------------------------------
def node_change(ctx: Context, step: NodeStep, node: str) -> str:
    if step.action in ("drain", "activate"):
        avail = "drain" if step.action == "drain" else "active"
        if step.action == "drain":
            ctx.record("drain", node)
        _node_update(ctx, node, lambda spec: spec.__setitem__("Availability", avail))
        if step.action == "activate":
            ctx.settle("activate", node)
        return f"{node} availability {avail}"
    if step.action in ("demote", "promote"):
        role = "worker" if step.action == "demote" else "manager"
        opposite = "promote" if step.action == "demote" else "demote"
        healing = [
            f for f in ctx.journal.pending(ctx.run) if f.node == node and f.action == opposite
        ]
        if healing:  # this step undoes an earlier one: settle it, it is no new fault
            ctx.settle(step.action, node)
        else:
            ctx.record(step.action, node)
        _node_update(ctx, node, lambda spec: spec.__setitem__("Role", role))
        return f"{node} {step.action}d to {role}"
    if step.action == "rejoin":
        message = rejoin(ctx, node, _left_as(ctx, node))
        ctx.settle("rejoin", node)
        return message
    # leave: the node forgets the swarm; the managers keep it as Down until removed
    before = {v.hostname: v for v in ctx.managers.call(lambda e: e.nodes())}.get(node)
    ctx.record("leave", node, {"role": before.role if before else "manager"})
    with ctx.platform.engine(node) as engine:
        engine.swarm_leave(force=True)
    return f"{node} left the swarm"


def _left_as(ctx: Context, node: str) -> str:
    """The role a node had when this run made it leave (manager when unknown)."""
    for fault in ctx.journal.pending(ctx.run):
        if fault.node == node and fault.action == "leave" and isinstance(fault.arg, dict):
            return str(fault.arg.get("role") or "manager")
    return "manager"


def _forget_node(ctx: Context, node_id: str, *, demote: bool) -> None:
    def forget(engine: Engine) -> None:
        if demote:
            engine.update_node(node_id, lambda spec: spec.__setitem__("Role", "worker"))
        engine.remove_node(node_id)

    ctx.managers.call(forget)


def rejoin(ctx: Context, node: str, role: str) -> str:
    """Undo a leave: drop the node's stale entry (a manager is demoted first, which takes it
    out of raft), then join it again with the token of its old role (a new node ID)."""
    p = ctx.platform
    with p.engine(node) as engine:
        if engine.swarm_member():
            return f"{node} is in a swarm; nothing done"
    views = ctx.managers.call(lambda e: e.nodes())
    for stale in (v for v in views if v.hostname == node and v.state != "ready"):
        _forget_node(ctx, stale.id, demote=stale.role == "manager")
    ready = [v for v in views if v.role == "manager" and v.state == "ready" and v.hostname != node]
    remote = ready[0].addr if ready else None
    if remote is None:
        raise PlatformError(f"no Ready manager to rejoin {node} to")
    worker_token, manager_token = ctx.managers.call(lambda e: e.join_tokens())
    token = manager_token if role == "manager" else worker_token
    with p.engine(node) as engine:
        engine.swarm_join(f"{remote.split(':')[0]}:2377", token, p.node_ip(node))
    return f"{node} rejoined the swarm as a {role}"


def label_change(ctx: Context, step: LabelStep, node: str) -> str:
    key, _, value = step.label.partition("=")
    before = {v.hostname: v for v in ctx.managers.call(lambda e: e.nodes())}.get(node)
    old = before.labels.get(key) if before else None
    ctx.record(step.action, node, {"key": key, "old": old})

    def mutate(spec: dict[str, Any]) -> None:
        labels = dict(spec.get("Labels") or {})
        if step.action == "label_add":
            labels[key] = value
        else:
            labels.pop(key, None)
        spec["Labels"] = labels

    _node_update(ctx, node, mutate)
    return f"{node} label {step.label} {'added' if step.action == 'label_add' else 'removed'}"


def set_label(ctx: Context, node: str, key: str, value: str | None) -> None:
    def mutate(spec: dict[str, Any]) -> None:
        labels = dict(spec.get("Labels") or {})
        if value is None:
            labels.pop(key, None)
        else:
            labels[key] = value
        spec["Labels"] = labels

    _node_update(ctx, node, mutate)


# -- services ---------------------------------------------------------------------------------
def update_service(ctx: Context, step: ServiceUpdateStep) -> str:
    changes: list[str] = []

    def mutate(spec: dict[str, Any]) -> None:
        template = spec.setdefault("TaskTemplate", {})
        if step.image is not None:
            template.setdefault("ContainerSpec", {})["Image"] = step.image
            changes.append(f"image={step.image}")
        cfg = spec.setdefault("UpdateConfig", {})
        for key, doc_key, scale in (
            ("parallelism", "Parallelism", 1),
            ("delay", "Delay", NS),
            ("order", "Order", 1),
            ("failure_action", "FailureAction", 1),
            ("monitor", "Monitor", NS),
        ):
            value = getattr(step, key)
            if value is not None:
                cfg[doc_key] = round(value * scale) if scale != 1 else value
                changes.append(f"{key}={value}")
        if step.force:
            template["ForceUpdate"] = int(template.get("ForceUpdate", 0)) + 1
            changes.append("force")

    ctx.managers.call(lambda e: e.update_service_spec(ctx.service, mutate))
    return f"service {ctx.service} update " + " ".join(changes)


def service_change(ctx: Context, step: ServiceStep) -> str:
    if step.action == "scale":
        replicas = step.replicas if step.replicas is not None else 1

        def scale(spec: dict[str, Any]) -> None:
            mode = spec.get("Mode", {})
            if "Replicated" not in mode:
                raise UsageError("scale needs a replicated service (this one is global)")
            mode["Replicated"]["Replicas"] = replicas

        ctx.managers.call(lambda e: e.update_service_spec(ctx.service, scale))
        return f"service {ctx.service} scaled to {replicas}"
    if step.action == "rollback":
        ctx.managers.call(lambda e: e.update_service_spec(ctx.service, None, rollback=True))
        return f"service {ctx.service} rolled back"
    if step.action == "remove":
        ctx.managers.call(lambda e: e.remove_service(ctx.service))
        return f"service {ctx.service} removed"
    if step.service is None:
        raise UsageError("create needs a service: {name, image, replicas, port…}")
    req = service_request(step.service, ctx.platform)
    ctx.record("create_service", req.name)
    ctx.managers.call(lambda e: e.create_service(req))
    return f"service {req.name} created"


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


def stack(ctx: Context, step: StackStep) -> str:
    if step.action == "stack_rm":
        docker_cli(ctx, ["stack", "rm", step.name])
        ctx.settle("stack_rm", step.name)
        return f"stack {step.name} removed"
    if step.compose is None:
        raise UsageError("stack_deploy needs compose: FILE (relative to the experiment file)")
    compose = (ctx.base_dir / step.compose).resolve()
    if not compose.is_file():
        raise UsageError(f"stack_deploy: compose file {compose} not found")
    ctx.record("stack_deploy", step.name)
    docker_cli(ctx, ["stack", "deploy", "--resolve-image", "never", "-c", str(compose), step.name])
    return f"stack {step.name} deployed from {compose.name}"


# -- undo -------------------------------------------------------------------------------------
def undo(ctx: Context, fault: Fault) -> str:
    """Heal one journaled fault; healing what is already healed is harmless."""
    p = ctx.platform
    if fault.undo == "start":
        if p.power(fault.node) == "suspended":
            p.resume(fault.node)
        message = p.start(fault.node)
    elif fault.undo == "resume":
        message = p.resume(fault.node)
    elif fault.undo == "reconnect":
        message = p.reconnect(fault.node)
    elif fault.undo in ("activate", "promote", "demote"):
        value = {"activate": ("Availability", "active"), "promote": ("Role", "manager"),
                 "demote": ("Role", "worker")}[fault.undo]  # fmt: skip
        _node_update(ctx, fault.node, lambda spec: spec.__setitem__(*value))
        message = f"{fault.node} {value[0].lower()} {value[1]}"
    elif fault.undo == "label_restore":
        arg = fault.arg or {}
        set_label(ctx, fault.node, str(arg.get("key")), arg.get("old"))
        message = f"{fault.node} label {arg.get('key')} restored"
    elif fault.undo == "remove_service":
        ctx.managers.call(lambda e: e.remove_service(fault.node))
        message = f"service {fault.node} removed"
    elif fault.undo == "stack_rm":
        docker_cli(ctx, ["stack", "rm", fault.node])
        message = f"stack {fault.node} removed"
    elif fault.undo == "rejoin":
        arg = fault.arg if isinstance(fault.arg, dict) else {}
        message = rejoin(ctx, fault.node, str(arg.get("role") or "manager"))
    else:
        message = f"{fault.describe()}: cannot be undone automatically"
    ctx.journal.undone(fault)
    return message


def undo_all(ctx: Context, faults: list[Fault], log: Callable[[str], None]) -> list[str]:
    """Undo faults newest first; returns the errors (empty: all undone)."""
    errors: list[str] = []
    for fault in reversed(faults):
        try:
            log(undo(ctx, fault))
        except ChaosError as exc:
            errors.append(f"undo {fault.describe()}: {exc}")
    return errors
