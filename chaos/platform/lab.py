"""The ``lab`` platform: the local lab (:mod:`chaos.lab`) behind the platform interface."""

from __future__ import annotations

import platform as host_platform

from chaos import faults
from chaos.errors import PlatformError
from chaos.lab import Lab, pressure
from chaos.lab import engines as lab_engines
from chaos.lab import network as lab_network
from chaos.lab import state as lab_state
from chaos.lab.config import CLIENT_NETNS
from chaos.platform.base import Power
from chaos.platform.degrade import Degradation
from chaos.swarm.engine import DockerEngine
from chaos.swarm.model import PortRequest


class LabPlatform:
    name = "lab"

    def __init__(self, lab: Lab) -> None:
        self.lab = lab

    @classmethod
    def connect(cls, *, start: bool = True) -> LabPlatform:
        """Attach to the running lab; with ``start``, bring one up when none is."""
        if lab_state.load() is None:
            if not start:
                raise PlatformError("no lab is up: start one with `chaos lab up`")
            return cls(Lab.up(log=lambda m: print(f"lab: {m}", flush=True)))
        return cls(Lab.attach())

    @property
    def mesh(self) -> str:
        return self.lab.state.mesh

    @property
    def client_netns(self) -> str | None:
        return CLIENT_NETNS

    @property
    def pulls_images(self) -> bool:
        return False  # no default route, no registry: images are imported at `lab up`

    def present(self) -> bool:
        return lab_network.client_present() and lab_state.STATE_FILE.exists()

    def node_names(self) -> list[str]:
        return [n.name for n in self.lab.nodes]

    def node_ip(self, node: str) -> str:
        return self.lab.node(node).ip

    def power(self, node: str) -> Power:
        return self.lab.power(node)

    def engine_up(self, node: str) -> bool:
        return lab_engines.alive(self.lab.node(node))

    def supports(self, action: str) -> bool:
        return action in faults.capabilities()

    def halt(self, node: str) -> str:
        return self.lab.halt(node)

    def shutdown(self, node: str) -> str:
        return self.lab.shutdown(node)

    def start(self, node: str) -> str:
        return self.lab.start(node)

    def suspend(self, node: str) -> str:
        return self.lab.suspend(node)

    def resume(self, node: str) -> str:
        return self.lab.resume(node)

    def stop_engine(self, node: str) -> str:
        return self.lab.stop_engine(node)

    def isolate(self, node: str) -> str:
        return self.lab.isolate(node)

    def reconnect(self, node: str) -> str:
        return self.lab.reconnect(node)

    def isolated(self, node: str) -> bool:
        return self.lab.isolated(node)

    def stress(self, node: str, cpu: int, memory: int) -> str:
        return pressure.stress(self.lab.node(node), self.power(node), cpu, memory)

    def unstress(self, node: str) -> str:
        return pressure.unstress(self.lab.node(node))

    def degrade(self, node: str, degradation: Degradation) -> str:
        return pressure.degrade(self.lab.node(node), self.power(node), degradation)

    def undegrade(self, node: str) -> str:
        return pressure.undegrade(self.lab.node(node))

    def engine(self, node: str, *, timeout: float = 10.0) -> DockerEngine:
        return self.lab.engine(node, timeout=timeout)

    def docker_host(self, node: str) -> str:
        return self.lab.node(node).docker_host

    def publish(
        self, published: int, target: int
    ) -> tuple[tuple[PortRequest, ...], dict[str, str]]:
        return self.lab.publish(published, target)

    def environment(self) -> dict[str, str]:
        return {
            "platform": self.name,
            "mesh": self.mesh,
            "kernel": host_platform.release(),
            "subnet": self.lab.config.subnet,
        }
