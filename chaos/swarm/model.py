"""Typed, immutable views of swarm objects, parsed from engine API documents.

Pure code: no I/O, so tests feed it documents directly. Times are the engine's RFC 3339
strings, left as strings; the runner stamps events with its own monotonic clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from chaos.swarm.steady import Member


def _get(doc: Mapping[str, Any], *path: str, default: Any = None) -> Any:
    cur: Any = doc
    for key in path:
        if not isinstance(cur, Mapping) or key not in cur:
            return default
        cur = cur[key]
    return cur


@dataclass(frozen=True, slots=True)
class NodeView:
    """One swarm node as a manager sees it."""

    id: str
    hostname: str
    addr: str
    role: str  # "manager" | "worker"
    state: str  # "ready" | "down" | "unknown" | "disconnected"
    availability: str  # "active" | "pause" | "drain"
    leader: bool
    reachability: str  # "reachable" | "unreachable" | "unknown" | "" for workers
    engine_version: str
    labels: Mapping[str, str] = field(default_factory=dict)
    version: int = 0
    message: str = ""

    @property
    def manager_status(self) -> str:
        """The MANAGER STATUS column of ``docker node ls``: Leader, Reachable, Unreachable or ''."""
        if self.role != "manager":
            return ""
        if self.leader:
            return "Leader"
        return self.reachability.capitalize() if self.reachability else "Unknown"

    def member(self) -> Member:
        """What readiness asks of it (:mod:`chaos.swarm.steady`)."""
        return Member(self.hostname, self.state, self.role, self.reachability, self.leader)

    @classmethod
    def parse(cls, doc: Mapping[str, Any]) -> NodeView:
        return cls(
            id=str(doc.get("ID", "")),
            hostname=str(_get(doc, "Description", "Hostname", default="")),
            addr=str(_get(doc, "Status", "Addr", default="")),
            role=str(_get(doc, "Spec", "Role", default="")),
            state=str(_get(doc, "Status", "State", default="")),
            availability=str(_get(doc, "Spec", "Availability", default="")),
            leader=bool(_get(doc, "ManagerStatus", "Leader", default=False)),
            reachability=str(_get(doc, "ManagerStatus", "Reachability", default="")),
            engine_version=str(_get(doc, "Description", "Engine", "EngineVersion", default="")),
            labels=dict(_get(doc, "Spec", "Labels", default=None) or {}),
            version=int(_get(doc, "Version", "Index", default=0)),
            message=str(_get(doc, "Status", "Message", default="")),
        )


@dataclass(frozen=True, slots=True)
class PortView:
    target: int
    published: int
    mode: str  # "host" | "ingress"
    protocol: str = "tcp"


@dataclass(frozen=True, slots=True)
class ContainerView:
    """A swarm task's container as its own node's engine lists it: what the node's gossip
    would advertise to the routing mesh, whatever the managers currently believe."""

    id: str
    service_id: str
    task_id: str
    state: str  # "running" for the engine's default listing
    health: str  # "" (no healthcheck), "starting", "healthy" or "unhealthy"
    ports: tuple[PortView, ...]  # host-mode ports published on the node

    @property
    def serving(self) -> bool:
        """Running, and healthy when it has a healthcheck (swarm's load balancing rule)."""
        return self.state == "running" and self.health in ("", "healthy")

    @classmethod
    def parse(cls, doc: Mapping[str, Any]) -> ContainerView:
        labels = doc.get("Labels") or {}
        status = str(doc.get("Status", ""))
        health = ""
        for marker, value in (
            ("(healthy)", "healthy"),
            ("(unhealthy)", "unhealthy"),
            ("health: starting", "starting"),
        ):
            if marker in status:
                health = value
        # Only the IPv4 bindings: the mesh reaches a node at its IPv4 address, and a dynamic
        # host port is allocated per address family, so the IPv6 binding of the same
        # container can be another port (0.0.0.0:32789 and :::32788 seen on the lab's
        # engines), which refuses over IPv4. Counting both made a quarter of a service's
        # connections refused with nothing broken.
        ports = {
            PortView(
                target=int(p.get("PrivatePort", 0) or 0),
                published=int(p.get("PublicPort", 0) or 0),
                mode="host",
                protocol=str(p.get("Type", "tcp")),
            )
            for p in doc.get("Ports") or []
            if p.get("PublicPort") and ":" not in str(p.get("IP", ""))
        }
        return cls(
            id=str(doc.get("Id", "")),
            service_id=str(labels.get("com.docker.swarm.service.id", "")),
            task_id=str(labels.get("com.docker.swarm.task.id", "")),
            state=str(doc.get("State", "")),
            health=health,
            ports=tuple(sorted(ports, key=lambda p: (p.target, p.published, p.protocol))),
        )


@dataclass(frozen=True, slots=True)
class TaskView:
    """One task: which slot of which service runs where, in which state."""

    id: str
    service_id: str
    node_id: str
    slot: int
    state: str
    desired_state: str
    image: str
    ports: tuple[PortView, ...]
    message: str
    error: str
    timestamp: str

    @property
    def running(self) -> bool:
        return self.state == "running" and self.desired_state == "running"

    @classmethod
    def parse(cls, doc: Mapping[str, Any]) -> TaskView:
        ports = tuple(
            PortView(
                target=int(p.get("TargetPort", 0)),
                published=int(p.get("PublishedPort", 0)),
                mode=str(p.get("PublishMode", "")),
                protocol=str(p.get("Protocol", "tcp")),
            )
            for p in (_get(doc, "Status", "PortStatus", "Ports", default=None) or [])
        )
        image = str(_get(doc, "Spec", "ContainerSpec", "Image", default=""))
        return cls(
            id=str(doc.get("ID", "")),
            service_id=str(doc.get("ServiceID", "")),
            node_id=str(doc.get("NodeID", "")),
            slot=int(doc.get("Slot", 0) or 0),
            state=str(_get(doc, "Status", "State", default="")),
            desired_state=str(doc.get("DesiredState", "")),
            image=image.split("@", 1)[0],
            ports=ports,
            message=str(_get(doc, "Status", "Message", default="")),
            error=str(_get(doc, "Status", "Err", default="")),
            timestamp=str(_get(doc, "Status", "Timestamp", default="")),
        )


@dataclass(frozen=True, slots=True)
class ServiceView:
    """One service: its spec essentials and its update status."""

    id: str
    name: str
    image: str
    mode: str  # "replicated" | "global"
    replicas: int | None
    labels: Mapping[str, str]
    update_state: str
    update_message: str
    version: int

    @classmethod
    def parse(cls, doc: Mapping[str, Any]) -> ServiceView:
        mode_doc = _get(doc, "Spec", "Mode", default=None) or {}
        if "Global" in mode_doc:
            mode, replicas = "global", None
        else:
            mode = "replicated"
            replicas = int(_get(mode_doc, "Replicated", "Replicas", default=0) or 0)
        image = str(_get(doc, "Spec", "TaskTemplate", "ContainerSpec", "Image", default=""))
        return cls(
            id=str(doc.get("ID", "")),
            name=str(_get(doc, "Spec", "Name", default="")),
            image=image.split("@", 1)[0],
            mode=mode,
            replicas=replicas,
            labels=dict(_get(doc, "Spec", "Labels", default=None) or {}),
            update_state=str(_get(doc, "UpdateStatus", "State", default="")),
            update_message=str(_get(doc, "UpdateStatus", "Message", default="")),
            version=int(_get(doc, "Version", "Index", default=0)),
        )


@dataclass(frozen=True, slots=True)
class UpdatePolicy:
    """``--update-*`` settings; ``None`` leaves the engine's default (not docker-py's)."""

    parallelism: int | None = None
    delay_s: float | None = None
    order: str | None = None  # "stop-first" | "start-first"
    failure_action: str | None = None  # "pause" | "continue" | "rollback"
    monitor_s: float | None = None
    max_failure_ratio: float | None = None


@dataclass(frozen=True, slots=True)
class ServiceChange:
    """A ``docker service update``: a new image, update settings (unset fields kept as they
    are), and ``force`` (redeploy every task even when nothing else changed)."""

    image: str | None = None
    update: UpdatePolicy = UpdatePolicy()
    force: bool = False

    def describe(self) -> str:
        parts = [f"image={self.image}"] if self.image is not None else []
        fields = (
            ("parallelism", self.update.parallelism), ("delay", self.update.delay_s),
            ("order", self.update.order), ("failure_action", self.update.failure_action),
            ("monitor", self.update.monitor_s),
        )  # fmt: skip
        parts += [f"{k}={v}" for k, v in fields if v is not None]
        return " ".join(parts + (["force"] if self.force else []))


@dataclass(frozen=True, slots=True)
class HealthPolicy:
    test: tuple[str, ...]
    interval_s: float = 2.0
    timeout_s: float = 1.0
    retries: int = 3
    start_period_s: float = 0.0


@dataclass(frozen=True, slots=True)
class PortRequest:
    """A published port. ``published=None`` lets the engine pick one (host mode only)."""

    target: int
    published: int | None
    mode: str = "ingress"  # "ingress" | "host"


@dataclass(frozen=True, slots=True)
class ServiceRequest:
    """What to create: the subset of ``docker service create`` the experiments use."""

    name: str
    image: str
    replicas: int | None = 1  # None: global mode
    ports: tuple[PortRequest, ...] = ()
    constraints: tuple[str, ...] = ()
    labels: Mapping[str, str] = field(default_factory=dict)
    update: UpdatePolicy = field(default_factory=UpdatePolicy)
    rollback: UpdatePolicy = field(default_factory=UpdatePolicy)
    health: HealthPolicy | None = None
    restart_delay_s: float | None = None
    stop_grace_s: float | None = None
    env: Mapping[str, str] = field(default_factory=dict)
