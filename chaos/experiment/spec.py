"""The experiment file format (``experiments/*.yaml``), validated before anything runs.

A file declares the service under test, the load, the phase durations, the fault steps and
the SLO thresholds that decide the verdict. Units are parsed here, at the edge: durations
(``10s``, ``250ms``), rates (``300/s``), fractions (``1%``) become floats in SI units.

Steps are one-key mappings (the action) with optional ``as`` (a name for the resolved target,
referenced later as ``@name``) and ``timeout``. Node targets: ``leader``, ``follower`` (a
non-leader manager), ``worker``, ``any``, a node name (``node-002``), a label match
(``label:zone=a``), an earlier target (``@victim``), or ``{managers: N}`` for N managers
(the leader first).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationError,
    field_validator,
    model_validator,
)

from chaos import faults
from chaos.errors import UsageError
from chaos.units import Bytes, Fraction, Rate, Seconds
from chaos.yamlfile import parse_yaml, read_yaml

NODE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
ROLE_TARGETS = ("leader", "follower", "worker", "any")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Target(_Strict):
    """Which node(s) a step acts on; resolved at run time (see ``chaos.experiment.select``)."""

    kind: Literal["leader", "follower", "worker", "any", "name", "label", "ref", "managers"]
    value: str = ""
    count: int = 1

    @model_validator(mode="before")
    @classmethod
    def _parse(cls, raw: Any) -> Any:
        if isinstance(raw, dict) and "kind" in raw:
            return raw
        if isinstance(raw, dict) and set(raw) == {"managers"}:
            return {"kind": "managers", "count": raw["managers"]}
        if not isinstance(raw, str) or not raw:
            raise ValueError(
                "a target is leader, follower, worker, any, a node name, label:KEY=VALUE, "
                "@name or {managers: N}"
            )
        if raw in ROLE_TARGETS:
            return {"kind": raw}
        if raw.startswith("@"):
            return {"kind": "ref", "value": raw[1:]}
        if raw.startswith("label:"):
            if "=" not in raw:
                raise ValueError("a label target is label:KEY=VALUE")
            return {"kind": "label", "value": raw[6:]}
        if NODE_NAME.match(raw):
            return {"kind": "name", "value": raw}
        raise ValueError(f"unknown target {raw!r}")

    @field_validator("count")
    @classmethod
    def _positive(cls, v: int) -> int:
        if v < 1:
            raise ValueError("managers: N needs N >= 1")
        return v

    def __str__(self) -> str:
        if self.kind in ROLE_TARGETS:
            return self.kind
        if self.kind == "managers":
            return f"{self.count} managers"
        return {"name": "", "label": "label:", "ref": "@"}[self.kind] + self.value


class UpdateSettings(_Strict):
    """``--update-*`` / ``--rollback-*``; unset fields keep the engine's defaults."""

    parallelism: int | None = Field(default=None, ge=0)
    delay: Seconds | None = None
    order: Literal["stop-first", "start-first"] | None = None
    failure_action: Literal["pause", "continue", "rollback"] | None = None
    monitor: Seconds | None = None
    max_failure_ratio: float | None = Field(default=None, ge=0, le=1)


class Healthcheck(_Strict):
    cmd: str
    interval: Seconds = 2.0
    timeout: Seconds = 1.0
    retries: int = Field(default=3, ge=1)
    start_period: Seconds = 0.0


class ServiceSpec(_Strict):
    """The service under test (``docker service create``)."""

    name: str = Field(default="web", pattern=r"^[a-zA-Z0-9][a-zA-Z0-9_.-]*$")
    image: str = "chaoslab/web:1"
    mode: Literal["replicated", "global"] = "replicated"
    replicas: int = Field(default=3, ge=1)  # a service under test must answer (scale: 0 is a step)
    port: int = Field(default=80, ge=1, le=65535)
    target_port: int = Field(default=80, ge=1, le=65535)
    constraints: tuple[str, ...] = ()
    labels: dict[str, str] = Field(default_factory=dict)
    update: UpdateSettings = UpdateSettings()
    rollback: UpdateSettings = UpdateSettings()
    healthcheck: Healthcheck | None = None
    restart_delay: Seconds | None = None
    stop_grace: Seconds | None = None

    @field_validator("constraints")
    @classmethod
    def _constraints(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        for c in v:
            if not re.match(r"^\s*(node|engine)\.[\w.-]+\s*(==|!=)\s*\S+\s*$", c):
                raise ValueError(
                    f"constraint {c!r}: use e.g. node.hostname==node-002, node.labels.zone==a"
                )
        return v


class LoadSpec(_Strict):
    rate: Rate = 200.0
    connection: Literal["new", "keepalive"] = "new"
    timeout: Seconds = 2.0
    engine: Literal["raw", "aiohttp", "httpx"] = "raw"
    # the pacer's busy-wait before each due request (see chaos.load.config); 0 by default in
    # experiments: the swarm under test shares the cores, and 1 ms of send lag is enough here
    spin: Seconds = 0.0
    path: str = "/"


class Phases(_Strict):
    """Durations: ``warmup`` (not judged), ``baseline`` (the reference), then the fault steps
    (as long as they take), then ``observe``."""

    warmup: Seconds = 2.0
    baseline: Seconds = 10.0
    observe: Seconds = 30.0


class Slo(_Strict):
    """Thresholds that decide the verdict; unset ones are not checked."""

    max_error_rate: Fraction | None = None  # failed / sent, live node IPs, fault + observe
    max_p99: Seconds | None = None  # live node IPs, fault + observe, successes
    max_recovery: Seconds | None = None  # client_recovered_s
    max_leader_election: Seconds | None = None  # leader_elected_s
    max_dropped: int | None = Field(default=0, ge=0)  # generator-side drops (a run validity check)


class GuardSpec(_Strict):
    """A stop condition watched while the run goes (:mod:`chaos.experiment.guard`): over the
    last ``window`` of the live IPs' requests, an error rate above ``max_error_rate`` or a
    p99 above ``max_p99`` in every window stops the run at once."""

    max_error_rate: Fraction | None = None
    max_p99: Seconds | None = None
    window: Seconds = 5.0

    @model_validator(mode="after")
    def _something(self) -> GuardSpec:
        if self.max_error_rate is None and self.max_p99 is None:
            raise ValueError("a guard needs max_error_rate or max_p99 (or both)")
        if not 0.1 <= self.window <= 600:
            raise ValueError("window: between 100ms and 10m")
        return self


# -- steps -------------------------------------------------------------------------------
class _Step(_Strict):
    as_: str | None = Field(default=None, alias="as", pattern=r"^[a-zA-Z_][\w-]*$")
    timeout: Seconds | None = None


def _registered(kind: faults.StepKind) -> Callable[[str], str]:
    """A step action of ``kind`` as the fault registry names them (chaos.faults)."""
    allowed = faults.step_actions(kind)

    def check(action: str) -> str:
        if action not in allowed:
            raise ValueError(f"a {kind} step is one of {', '.join(allowed)}")
        return action

    return check


class PowerStep(_Step):
    action: Annotated[str, AfterValidator(_registered("power"))]
    target: Target


class NodeStep(_Step):
    action: Annotated[str, AfterValidator(_registered("node"))]
    target: Target


class LabelStep(_Step):
    action: Annotated[str, AfterValidator(_registered("label"))]
    target: Target
    label: str  # "key=value" for add, "key" for rm


class TaskStep(_Step):
    """``kill_task``: kill ``count`` (or a ``share`` of the) running tasks of the service on
    the ``target`` nodes (every node when none is given; seeded choice); ``signal`` KILL
    (SIGKILL) or TERM (a graceful stop: SIGTERM, then SIGKILL after the service's stop grace
    period). Swarm replaces them."""

    action: Annotated[str, AfterValidator(_registered("task"))]
    target: Target | None = None
    count: int = Field(default=1, ge=1)
    share: Fraction | None = None
    signal: Literal["KILL", "TERM"] = "KILL"


class StressStep(_Step):
    """``stress``: ``cpu`` busy loops and ``memory`` held on the target nodes, for
    ``duration`` (then undone) or until an ``unstress`` step or the restore."""

    action: Annotated[str, AfterValidator(_registered("stress"))]
    target: Target
    cpu: int = Field(default=1, ge=0, le=64)
    memory: Bytes = 0
    duration: Seconds | None = None


class DegradeStep(_Step):
    """``degrade``: packet ``loss`` (a fraction), ``delay`` and ``jitter`` on the target
    nodes' ``traffic`` (``swarm``: raft 2377/tcp, gossip 7946/tcp+udp, VXLAN 4789/udp; or
    ``service``: the published port's connections), both ways, for ``duration`` (then
    undone) or until an ``undegrade`` step or the restore."""

    action: Annotated[str, AfterValidator(_registered("degrade"))]
    target: Target
    loss: Fraction = 0.0
    delay: Seconds = 0.0
    jitter: Seconds = 0.0
    traffic: Literal["swarm", "service"] = "swarm"
    duration: Seconds | None = None

    @model_validator(mode="after")
    def _something(self) -> DegradeStep:
        if self.action == "degrade" and not (self.loss or self.delay):
            raise ValueError("degrade needs loss or delay (or both)")
        if self.jitter > self.delay:
            raise ValueError("jitter may not exceed delay")
        return self


class ServiceUpdateStep(_Step):
    action: Literal["update"] = "update"
    image: str | None = None
    parallelism: int | None = Field(default=None, ge=0)
    delay: Seconds | None = None
    order: Literal["stop-first", "start-first"] | None = None
    failure_action: Literal["pause", "continue", "rollback"] | None = None
    monitor: Seconds | None = None
    force: bool = False


class ServiceStep(_Step):
    action: Literal["scale", "rollback", "remove", "create"]
    replicas: int | None = Field(default=None, ge=0)
    service: ServiceSpec | None = None  # for create: another service


class StackStep(_Step):
    action: Literal["stack_deploy", "stack_rm"]
    name: str
    compose: str | None = None  # path relative to the experiment file


class WaitStep(_Step):
    action: Literal["wait_for"] = "wait_for"
    condition: Literal[
        "leader_elected", "node_status", "service_converged", "quorum_restored", "update_state"
    ]
    node: Target | None = None
    status: str | None = None  # node_status: ready|down|unknown; update_state: completed|paused|…


class SleepStep(_Step):
    action: Literal["sleep"] = "sleep"
    duration: Seconds


POWER_ACTIONS = faults.step_actions("power")
NODE_ACTIONS = faults.step_actions("node")
LABEL_ACTIONS = faults.step_actions("label")
# the step kind of every action an experiment file may name: the registry's, then the rest
STEP_KINDS: dict[str, str] = {
    **dict.fromkeys(POWER_ACTIONS, "power"),
    **dict.fromkeys(NODE_ACTIONS, "node"),
    **dict.fromkeys(LABEL_ACTIONS, "label"),
    **dict.fromkeys(faults.step_actions("task"), "task"),
    **dict.fromkeys(faults.step_actions("stress"), "stress"),
    **dict.fromkeys(faults.step_actions("degrade"), "degrade"),
    "update": "update",
    **dict.fromkeys(("scale", "rollback", "remove", "create"), "service"),
    **dict.fromkeys(("stack_deploy", "stack_rm"), "stack"),
    "wait_for": "wait",
    "sleep": "sleep",
}


def _step_kind(raw: Any) -> str | None:
    action = raw.get("action") if isinstance(raw, dict) else getattr(raw, "action", None)
    return STEP_KINDS.get(action) if isinstance(action, str) else None


Step = Annotated[
    Annotated[PowerStep, Tag("power")]
    | Annotated[NodeStep, Tag("node")]
    | Annotated[LabelStep, Tag("label")]
    | Annotated[TaskStep, Tag("task")]
    | Annotated[StressStep, Tag("stress")]
    | Annotated[DegradeStep, Tag("degrade")]
    | Annotated[ServiceUpdateStep, Tag("update")]
    | Annotated[ServiceStep, Tag("service")]
    | Annotated[StackStep, Tag("stack")]
    | Annotated[WaitStep, Tag("wait")]
    | Annotated[SleepStep, Tag("sleep")],
    Discriminator(_step_kind),
]


def _mapping(action: str, value: Any, form: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValueError(f"{action} takes a mapping: {form}")
    return value


def _label_fields(action: str, value: Any) -> dict[str, Any]:
    fields = _mapping(action, value, "{node: TARGET, label: KEY[=VALUE]}")
    return {"target": fields.get("node"), "label": fields.get("label")}


def _targeted(action: str, value: Any, form: str) -> dict[str, Any]:
    """``{kill_task: leader}`` or ``{kill_task: {node: leader, count: 2}}``: ``node`` is the
    step's target."""
    if isinstance(value, str):
        return {"target": value}
    fields = dict(_mapping(action, value, form))
    if "node" in fields:
        fields["target"] = fields.pop("node")
    return fields


def _wait_fields(action: str, value: Any) -> dict[str, Any]:
    if isinstance(value, str):
        return {"condition": value}
    return _mapping(action, value, "{condition: NAME, node: TARGET, status: S} or a NAME")


# how each kind of step's value becomes its fields (``{halt: leader}`` -> target: leader)
_FIELDS: dict[str, Callable[[str, Any], dict[str, Any]]] = {
    "power": lambda _a, v: {"target": v},
    "node": lambda _a, v: {"target": v},
    "label": _label_fields,
    "task": lambda a, v: _targeted(a, v, "{node: TARGET, count: N, share: F, signal: KILL|TERM}"),
    "stress": lambda a, v: _targeted(a, v, "{node: TARGET, cpu: N, memory: 256M, duration: D}"),
    "degrade": lambda a, v: _targeted(
        a, v, "{node: TARGET, loss: 30%, delay: 300ms, jitter: 100ms, duration: D}"
    ),
    "update": lambda a, v: _mapping(a, v, "{image: I, parallelism: N, delay: D, ...}"),
    "stack": lambda a, v: _mapping(a, v, "{name: N, compose: FILE}"),
    "wait": _wait_fields,
    "sleep": lambda _a, v: {"duration": v},
}
_SERVICE_FIELDS: dict[str, Callable[[Any], dict[str, Any]]] = {
    "scale": lambda v: {"replicas": v},
    "create": lambda v: {"service": v},
    "rollback": lambda _v: {},
    "remove": lambda _v: {},
}


def _normalise_step(raw: Any) -> Any:
    """``{halt: leader, as: victim}`` -> ``{action: halt, target: leader, as: victim}``."""
    if not isinstance(raw, dict):
        raise ValueError("a step is a mapping like {halt: leader} or {sleep: 5s}")
    if "action" in raw:
        return raw
    actions = [k for k in raw if k not in ("as", "timeout")]
    if len(actions) != 1:
        raise ValueError(f"a step has exactly one action, got {actions or 'none'}")
    (action,) = actions
    value = raw[action]
    rest = {k: v for k, v in raw.items() if k != action}
    key = str(action).replace("-", "_")
    kind = STEP_KINDS.get(key)
    if kind is None:
        raise ValueError(f"unknown step {action!r}; steps: {', '.join(STEP_KINDS)}")
    fields = _SERVICE_FIELDS[key](value) if kind == "service" else _FIELDS[kind](key, value)
    return {"action": key, **fields, **rest}


class Experiment(_Strict):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    description: str
    expect: str = ""  # the expected swarm behaviour, in words, with sources
    service: ServiceSpec = ServiceSpec()
    node_labels: dict[str, dict[str, str]] = Field(default_factory=dict)  # set before deploy
    load: LoadSpec = LoadSpec()
    phases: Phases = Phases()
    steps: tuple[Annotated[Step, BeforeValidator(_normalise_step)], ...] = ()
    expect_quorum_loss: bool = False
    slo: Slo = Slo()
    guard: GuardSpec | None = None
    source: str = Field(default="", exclude=True)  # the file it came from

    @model_validator(mode="after")
    def _refs_defined(self) -> Experiment:
        names: set[str] = set()
        for i, step in enumerate(self.steps):
            targets = [getattr(step, "target", None), getattr(step, "node", None)]
            for t in targets:
                if isinstance(t, Target) and t.kind == "ref" and t.value not in names:
                    raise ValueError(
                        f"steps.{i}: @{t.value} is not named by an earlier step's `as`"
                    )
            if step.as_:
                names.add(step.as_)
        return self


def _format_error(source: str, exc: ValidationError) -> str:
    first = exc.errors()[0]
    path = ".".join(str(p) for p in first["loc"] if not str(p).startswith("function-"))
    msg = first["msg"].removeprefix("Value error, ")
    more = f" (and {len(exc.errors()) - 1} more)" if len(exc.errors()) > 1 else ""
    return f"{source}: {path or '<top>'}: {msg}{more}"


def parse_experiment(data: Any, source: str = "<experiment>") -> Experiment:
    """Validate a parsed document; errors name the source, the field path and what is allowed."""
    if not isinstance(data, dict):
        raise UsageError(f"{source}: an experiment file is a YAML mapping")
    try:
        return Experiment.model_validate({**data, "source": source})
    except ValidationError as exc:
        raise UsageError(_format_error(source, exc)) from None
    except UsageError as exc:  # raised by unit parsers inside validators
        raise UsageError(f"{source}: {exc}") from None


def load_experiment(path: Path, overrides: dict[str, Any] | None = None) -> Experiment:
    """Read, apply ``--set`` overrides (dotted keys), validate."""
    data = read_yaml(path)
    if isinstance(data, dict) and overrides:
        data = apply_overrides(data, overrides)
    return parse_experiment(data, str(path))


# Short forms of ``--set`` keys (in ``chaos run``, ``chaos plan``, suites and sweeps): the
# service's settings are the ones swept and overridden most.
SET_ALIASES = {
    "update": "service.update",
    "rollback": "service.rollback",
    "replicas": "service.replicas",
    "image": "service.image",
}


def canonical_key(key: str) -> str:
    """``update.parallelism`` -> ``service.update.parallelism``; other keys unchanged."""
    key = key.strip()
    head, dot, rest = key.partition(".")
    if head in SET_ALIASES:
        return SET_ALIASES[head] + dot + rest
    return key


def apply_overrides(data: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """``{"phases.observe": "5s"}`` sets ``data["phases"]["observe"]``; steps by index; the
    keys of :data:`SET_ALIASES` are short for their ``service.*`` keys."""
    out: dict[str, Any] = yaml.safe_load(yaml.safe_dump(data))  # deep copy
    for dotted, value in overrides.items():
        keys = canonical_key(dotted).split(".")
        cur: Any = out
        for key in keys[:-1]:
            if isinstance(cur, list):
                if not key.isdigit() or int(key) >= len(cur):
                    raise UsageError(f"--set {dotted}: no list item {key}")
                cur = cur[int(key)]
            else:
                cur = cur.setdefault(key, {})
        last = keys[-1]
        if isinstance(cur, list):
            if not last.isdigit() or int(last) >= len(cur):
                raise UsageError(f"--set {dotted}: no list item {last}")
            cur[int(last)] = value
        elif isinstance(cur, dict):
            cur[last] = value
        else:
            raise UsageError(f"--set {dotted}: {'.'.join(keys[:-1])} is not a mapping")
    return out


def parse_set(items: tuple[str, ...]) -> dict[str, Any]:
    """``("phases.observe=5s", "service.replicas=2")`` -> dict with YAML-typed values."""
    out: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UsageError(f"--set {item!r}: use key=value, e.g. --set phases.observe=10s")
        out[key.strip()] = parse_yaml(value, f"--set {item}") if value else ""
    return out
