"""The fault registry: every kind of fault the tool injects, in one place (a Jepsen nemesis).

A :class:`FaultKind` says how it is injected and how it is healed, in which stage of a restore
it is healed, what it does to a node for the plan's quorum simulation, whether a leader on a
faulted node counts as elected, which platform capability it needs, and how a report names and
shades it. A :class:`Heal` says the same of the action that undoes one. Everything else asks
here: the step vocabulary of experiment files (:mod:`chaos.experiment.spec`), the journal's
undo record, the steps that act, the restore's order, ``chaos plan``, the report's shading and
the platforms' capability checks. Adding a fault kind is one entry here plus its platform
calls and its tests.

Injection and healing run against :class:`Act`, the small surface of a run they need (the
platform, the managers, the journal); the bodies live below, next to their entries. Nothing
here imports the docker SDK at run time, so reports (which read this registry) never need it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import IntEnum
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypeVar

if TYPE_CHECKING:
    from chaos.journal import Fault
    from chaos.platform.base import Platform, Power
    from chaos.swarm.client import EngineClient

T = TypeVar("T")


class Stage(IntEnum):
    """The restore heals in this order (:mod:`chaos.experiment.restore`)."""

    NETWORK = 1  # nodes back on the network: started, resumed, reconnected
    MEMBERSHIP = 2  # nodes that left joined again (needs a leader)
    CONTROL = 3  # after a Ready swarm: availability, roles, labels
    SERVICE = 4  # services and stacks, last


StepKind = Literal["power", "node", "label", "service", "stack", "task", "stress", "degrade"]


@dataclass(frozen=True, slots=True)
class Effect:
    """What an action does to a node in the plan's simulation (``None``: unchanged).
    ``engine_up`` False counts the node as lost to raft (halted, frozen, cut off, left)."""

    power: Power | None = None
    engine_up: bool | None = None
    role: str | None = None
    availability: str | None = None


class Act(Protocol):
    """What an injection or a heal may use of the run that performs it."""

    @property
    def platform(self) -> Platform: ...

    def call(self, fn: Callable[[EngineClient], T]) -> T:
        """A manager call on the first manager that answers."""
        ...

    def node_id(self, node: str) -> str: ...

    def cut_off(self, node: str, cut: bool) -> None:
        """Ask the managers ``node`` last (or again in turn): its view is not the majority's."""
        ...

    def rejoin(self, node: str, role: str) -> str: ...

    def docker_cli(self, args: list[str]) -> str: ...


Inject = Callable[[Act, str, Any], str]  # (act, node or name, argument) -> what happened
Undo = Callable[[Act, "Fault"], str]


@dataclass(frozen=True, slots=True)
class FaultKind:
    """One kind of fault. ``name`` is its step action; ``heal`` the action that undoes it;
    ``step`` the kind of step that names it (``None``: the run's set-up or another step
    injects it); ``capability``: the platform must support it (``Platform.supports``),
    ``None`` for a cluster operation every swarm allows; ``removes_leader``: a leader on such
    a node is no elected leader (an isolated leader still calls itself one); ``verb`` names
    it in reports; ``on_node``: it acts on the node itself (its power, engine or network), so
    the node's IP is a *dead IP* for the analysis; ``shade``: a report shades its window."""

    name: str
    heal: str
    step: StepKind | None
    inject: Inject
    effect: Effect
    verb: str
    capability: str | None = None
    removes_leader: bool = False
    on_node: bool = False
    shade: bool = False  # a report shades its window (node faults, stress, a degraded network)


@dataclass(frozen=True, slots=True)
class Heal:
    """The action that undoes faults (as a step of its own, or by the restore)."""

    name: str
    stage: Stage
    undo: Undo
    step: StepKind | None  # None: only the restore performs it
    effect: Effect = Effect()
    capability: str | None = None


# -- the bodies --------------------------------------------------------------------------------
def _platform_op(op: str) -> Inject:
    def run(act: Act, node: str, _arg: Any) -> str:
        message: str = getattr(act.platform, op)(node)
        return message

    return run


def _isolate(act: Act, node: str, _arg: Any) -> str:
    act.cut_off(node, True)
    return act.platform.isolate(node)


def _leave(act: Act, node: str, _arg: Any) -> str:
    with act.platform.engine(node) as engine:
        engine.swarm_leave(force=True)
    return f"{node} left the swarm"


def _availability(value: str) -> Inject:
    def run(act: Act, node: str, _arg: Any) -> str:
        node_id = act.node_id(node)
        act.call(lambda e: e.set_availability(node_id, value))
        return f"{node} availability {value}"

    return run


def _role(role: str, verb: str) -> Inject:
    def run(act: Act, node: str, _arg: Any) -> str:
        node_id = act.node_id(node)
        act.call(lambda e: e.set_role(node_id, role))
        return f"{node} {verb} to {role}"

    return run


def _label(add: bool) -> Inject:
    def run(act: Act, node: str, arg: Any) -> str:
        key, value = str(arg["key"]), arg.get("value")
        node_id = act.node_id(node)
        act.call(lambda e: e.set_label(node_id, key, value if add else None))
        if add:
            return f"{node} label {key}={value} added"
        return f"{node} label {key} removed"

    return run


def _kill_task(act: Act, node: str, arg: Any) -> str:
    """``arg``: {"container": id, "signal": "KILL"|"TERM", "grace": seconds}."""
    container, signal = str(arg["container"]), str(arg["signal"])
    grace = float(arg.get("grace", 10.0))
    with act.platform.engine(node) as engine:
        began = time.monotonic()
        if signal == "TERM":
            code = engine.stop_container(container, grace)
        else:
            code = engine.kill_container(container)
        took = time.monotonic() - began
    if signal != "TERM":
        how = f"SIGKILLed (exit {code})"
    elif code == 137:
        how = f"sent SIGTERM, still running after its {grace:g} s grace: SIGKILLed (exit 137)"
    else:
        how = f"stopped by SIGTERM in {took:.1f} s (exit {code}, within its {grace:g} s grace)"
    return f"task container {container[:12]} on {node} {how}"


def _stress(act: Act, node: str, arg: Any) -> str:
    return act.platform.stress(node, int(arg["cpu"]), int(arg["memory"]))


def _degrade(act: Act, node: str, arg: Any) -> str:
    return act.platform.degrade(node, arg)


def _create_service(act: Act, name: str, arg: Any) -> str:
    act.call(lambda e: e.create_service(arg))
    return f"service {name} created"


def _stack_deploy(act: Act, name: str, arg: Any) -> str:
    act.docker_cli(["stack", "deploy", "--resolve-image", "never", "-c", str(arg), name])
    return f"stack {name} deployed"


def _replaced(act: Act, fault: Fault) -> str:
    return f"{fault.node}: swarm replaces a killed task itself; nothing to undo"


def _start(act: Act, fault: Fault) -> str:
    if act.platform.power(fault.node) == "suspended":
        act.platform.resume(fault.node)
    return act.platform.start(fault.node)


def _heal_op(op: str) -> Undo:
    def run(act: Act, fault: Fault) -> str:
        message: str = getattr(act.platform, op)(fault.node)
        return message

    return run


def _reconnect(act: Act, fault: Fault) -> str:
    message = act.platform.reconnect(fault.node)
    act.cut_off(fault.node, False)
    return message


def _heal_with(inject: Inject) -> Undo:
    return lambda act, fault: inject(act, fault.node, fault.arg)


def _rejoin(act: Act, fault: Fault) -> str:
    arg = fault.arg if isinstance(fault.arg, dict) else {}
    return act.rejoin(fault.node, str(arg.get("role") or "manager"))


def _label_restore(act: Act, fault: Fault) -> str:
    arg = fault.arg if isinstance(fault.arg, dict) else {}
    key, old = str(arg.get("key")), arg.get("old")
    node_id = act.node_id(fault.node)
    act.call(lambda e: e.set_label(node_id, key, old))
    return f"{fault.node} label {key} restored"


def _remove_service(act: Act, fault: Fault) -> str:
    act.call(lambda e: e.remove_service(fault.node))
    return f"service {fault.node} removed"


def _stack_rm(act: Act, fault: Fault) -> str:
    act.docker_cli(["stack", "rm", fault.node])
    return f"stack {fault.node} removed"


# -- the registry ------------------------------------------------------------------------------
_DOWN = Effect(engine_up=False)

FAULTS: Mapping[str, FaultKind] = {
    k.name: k
    for k in (
        FaultKind("halt", "start", "power", _platform_op("halt"), Effect("halted", False),
                  "halted", capability="halt", removes_leader=True, on_node=True, shade=True),
        # the tutorial's `vagrant halt`: the OS shuts down cleanly (its engine stopped first,
        # connections closed, gossip told), then the power goes
        FaultKind("shutdown", "start", "power", _platform_op("shutdown"), Effect("halted", False),
                  "shut down", capability="shutdown", removes_leader=True, on_node=True,
                  shade=True),
        FaultKind("stop_engine", "start", "power", _platform_op("stop_engine"),
                  Effect("running", False), "engine stopped", capability="stop_engine",
                  removes_leader=True, on_node=True, shade=True),
        FaultKind("suspend", "resume", "power", _platform_op("suspend"),
                  Effect("suspended", False), "suspended", capability="suspend",
                  removes_leader=True, on_node=True, shade=True),
        FaultKind("isolate", "reconnect", "power", _isolate, Effect("running", False),
                  "isolated", capability="isolate", removes_leader=True, on_node=True, shade=True),
        FaultKind("leave", "rejoin", "node", _leave, _DOWN, "left the swarm",
                  removes_leader=True),
        FaultKind("drain", "activate", "node", _availability("drain"),
                  Effect(availability="drain"), "drained"),
        FaultKind("demote", "promote", "node", _role("worker", "demoted"),
                  Effect(role="worker"), "demoted", removes_leader=True),
        FaultKind("promote", "demote", "node", _role("manager", "promoted"),
                  Effect(role="manager"), "promoted"),
        FaultKind("label_add", "label_restore", "label", _label(add=True), Effect(),
                  "labelled"),
        FaultKind("label_rm", "label_restore", "label", _label(add=False), Effect(),
                  "unlabelled"),
        FaultKind("kill_task", "replaced", "task", _kill_task, Effect(), "task killed"),
        FaultKind("stress", "unstress", "stress", _stress, Effect(), "stressed",
                  capability="stress", shade=True),
        FaultKind("degrade", "undegrade", "degrade", _degrade, Effect(), "degraded",
                  capability="degrade", shade=True),
        FaultKind("create_service", "remove_service", None, _create_service, Effect(),
                  "created"),
        FaultKind("stack_deploy", "stack_rm", "stack", _stack_deploy, Effect(), "deployed"),
    )
}  # fmt: skip

HEALS: Mapping[str, Heal] = {
    h.name: h
    for h in (
        Heal("start", Stage.NETWORK, _start, "power", Effect("running", True), "start"),
        Heal("resume", Stage.NETWORK, _heal_op("resume"), "power", Effect("running", True),
             "resume"),
        Heal("reconnect", Stage.NETWORK, _reconnect, "power", Effect("running", True),
             "reconnect"),
        Heal("rejoin", Stage.MEMBERSHIP, _rejoin, "node", Effect(engine_up=True)),
        Heal("activate", Stage.CONTROL, _heal_with(_availability("active")), "node",
             Effect(availability="active")),
        # promote heals a demote and demote a promote: both are steps (FAULTS) as well
        Heal("promote", Stage.CONTROL, _heal_with(_role("manager", "promoted")), None),
        Heal("demote", Stage.CONTROL, _heal_with(_role("worker", "demoted")), None),
        Heal("label_restore", Stage.CONTROL, _label_restore, None),
        Heal("remove_service", Stage.SERVICE, _remove_service, None),
        Heal("stack_rm", Stage.SERVICE, _stack_rm, "stack"),
        Heal("replaced", Stage.SERVICE, _replaced, None),
        # stress and degradation go with the network: a starved or lossy node slows the rest
        Heal("unstress", Stage.NETWORK, _heal_op("unstress"), "stress", capability="stress"),
        Heal("undegrade", Stage.NETWORK, _heal_op("undegrade"), "degrade",
             capability="degrade"),
    )
}  # fmt: skip


def kind(name: str) -> FaultKind:
    return FAULTS[name]


def healed_by(action: str) -> frozenset[str]:
    """The fault kinds a heal action undoes (``start`` undoes ``halt`` and ``stop_engine``)."""
    return frozenset(k.name for k in FAULTS.values() if k.heal == action)


def step_actions(step: StepKind) -> tuple[str, ...]:
    """The actions a step kind names in experiment files, faults first, in registry order."""
    faults = [k.name for k in FAULTS.values() if k.step == step]
    heals = [h.name for h in HEALS.values() if h.step == step and h.name not in faults]
    return (*faults, *heals)


# capabilities a step's parameters need beyond its action's: a degrade with a delay
PARAMETER_CAPABILITIES = ("delay",)


def capabilities() -> tuple[str, ...]:
    """The platform capabilities actions need (what ``Platform.supports`` is asked)."""
    caps = [k.capability for k in FAULTS.values()] + [h.capability for h in HEALS.values()]
    return tuple(dict.fromkeys([*(c for c in caps if c is not None), *PARAMETER_CAPABILITIES]))


def capability_of(action: str) -> str | None:
    if action in FAULTS:
        return FAULTS[action].capability
    if action in HEALS:
        return HEALS[action].capability
    return None


def effect_of(action: str) -> Effect | None:
    """The plan's effect of a step action on the nodes it hits (``None``: not a node act)."""
    if action in FAULTS:
        return FAULTS[action].effect
    if action in HEALS and HEALS[action].step is not None:
        return HEALS[action].effect
    return None


def removes_leader() -> frozenset[str]:
    return frozenset(k.name for k in FAULTS.values() if k.removes_leader)


def on_node() -> frozenset[str]:
    """Fault kinds that act on the node itself: its IP is a dead IP for the analysis."""
    return frozenset(k.name for k in FAULTS.values() if k.on_node)


def shaded() -> Mapping[str, str]:
    """Fault kinds a report shades on the timeline -> their verb."""
    return {k.name: k.verb for k in FAULTS.values() if k.shade}


def shaded_heals() -> frozenset[str]:
    return frozenset(k.heal for k in FAULTS.values() if k.shade)
