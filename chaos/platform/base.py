"""The platform interface the runner, observer and ``chaos recover`` use.

A platform knows its nodes (name, IP), powers them as a VM would feel it, gives a docker
engine client per node, and says how to publish a port on every node IP (swarm's ingress
mesh, or an emulation of it).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal, Protocol

from chaos.platform.degrade import Degradation
from chaos.swarm.client import EngineClient
from chaos.swarm.model import PortRequest
from chaos.swarm.steady import Member

Power = Literal["running", "halted", "suspended"]


@dataclass(frozen=True, slots=True)
class NodeInfo:
    """A node as selection and planning see it: platform facts joined with swarm facts."""

    name: str
    ip: str
    power: Power
    engine_up: bool
    role: str = ""  # manager | worker | "" (unknown: engine down)
    leader: bool = False
    reachability: str = ""
    status: str = ""  # ready | down | unknown
    availability: str = ""
    labels: Mapping[str, str] = field(default_factory=dict)

    def member(self) -> Member:
        """What readiness asks of it (:mod:`chaos.swarm.steady`)."""
        return Member(self.name, self.status, self.role, self.reachability, self.leader)


class Platform(Protocol):
    name: str

    @property
    def client_netns(self) -> str | None:
        """The network namespace that traffic to the node IPs must start from (the load,
        readiness probes; see :mod:`chaos.netns`), or ``None`` for the host's own."""
        ...

    @property
    def pulls_images(self) -> bool:
        """Whether the nodes can pull an image they lack from a registry (else every image a
        run needs must already be on every node, and a run checks it before acting)."""
        ...

    def present(self) -> bool:
        """Whether the cluster's network is still there (cheap, local). A run whose cluster
        disappears stops its load at once."""
        ...

    @property
    def mesh(self) -> str:
        """``ingress`` (swarm's own, IPVS) or ``emulated``."""
        ...

    def node_names(self) -> list[str]: ...

    def node_ip(self, node: str) -> str: ...

    def power(self, node: str) -> Power: ...

    def engine_up(self, node: str) -> bool: ...

    def supports(self, action: str) -> bool:
        """Whether this platform has a capability an action needs
        (:func:`chaos.faults.capability_of`; checked by ``chaos plan``)."""
        ...

    def halt(self, node: str) -> str: ...

    def shutdown(self, node: str) -> str:
        """A graceful power-off: the node's OS stops its engine, then the power goes."""
        ...

    def start(self, node: str) -> str: ...

    def suspend(self, node: str) -> str: ...

    def resume(self, node: str) -> str: ...

    def stop_engine(self, node: str) -> str: ...

    def isolate(self, node: str) -> str:
        """Drop the node's swarm traffic silently both ways (:mod:`chaos.platform.isolation`)."""
        ...

    def reconnect(self, node: str) -> str:
        """Undo :meth:`isolate`; harmless on a node that is not isolated."""
        ...

    def isolated(self, node: str) -> bool: ...

    def stress(self, node: str, cpu: int, memory: int) -> str:
        """``cpu`` busy loops and ``memory`` bytes held on the node (a capability)."""
        ...

    def unstress(self, node: str) -> str:
        """Undo :meth:`stress`; harmless on a node that is not stressed."""
        ...

    def degrade(self, node: str, degradation: Degradation) -> str:
        """Loss (and, with the ``delay`` capability, delay) on the node's traffic."""
        ...

    def undegrade(self, node: str) -> str:
        """Undo :meth:`degrade`; harmless on a node that is not degraded."""
        ...

    def engine(self, node: str, *, timeout: float = 10.0) -> EngineClient:
        """A client for the node's engine; raises NodeHaltedError for a halted node."""
        ...

    def docker_host(self, node: str) -> str:
        """The ``DOCKER_HOST`` URL of the node's engine (for the docker CLI)."""
        ...

    def publish(
        self, published: int, target: int
    ) -> tuple[tuple[PortRequest, ...], dict[str, str]]: ...

    def environment(self) -> dict[str, str]:
        """Facts for results: kernel, mesh, platform name, …"""
        ...
