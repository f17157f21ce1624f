"""What the remote platforms (vagrant, ssh) share about acting on a node over ssh: the node
faults that are a shell script run on the node (stress, degraded network, isolation), written
once for both drivers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from chaos.errors import NodeHaltedError
from chaos.platform import degrade, isolation, stress
from chaos.platform.degrade import Degradation


def require_running(node: str, power: str) -> None:
    if power != "running":
        raise NodeHaltedError(f"{node} is {power}: start or resume it first")


class _Driver(Protocol):
    def node_names(self: _Driver) -> list[str]: ...

    def power(self: _Driver, node: str) -> str: ...

    def node_ip(self: _Driver, node: str) -> str: ...

    def _sh(self: _Driver, node: str) -> Callable[[str], str]: ...


class ShellFaults:
    """Stress, degrade and isolate by script over ssh, for a driver that knows its nodes'
    power and addresses and runs a script as a node's admin (``_sh``); delay is the node
    kernel's netem."""

    def stress(self: _Driver, node: str, cpu: int, memory: int) -> str:
        require_running(node, self.power(node))
        self._sh(node)(stress.stress_script(cpu, memory))
        return f"{node} stressed: {cpu} busy CPU loops, {memory / 2**20:.0f} MiB held"

    def unstress(self: _Driver, node: str) -> str:
        if self.power(node) != "running":
            return f"{node} is {self.power(node)}: its stress went with its power"
        self._sh(node)(stress.unstress_script())
        return f"{node}: stress stopped"

    def degrade(self: _Driver, node: str, degradation: Degradation) -> str:
        require_running(node, self.power(node))
        script = degrade.degrade_script(degradation, "netem", self.node_ip(node))
        self._sh(node)(script)
        return f"{node} degraded: {degradation.describe()}"

    def undegrade(self: _Driver, node: str) -> str:
        if self.power(node) != "running":
            return f"{node} is {self.power(node)}: its rules went with its power"
        self._sh(node)(degrade.undegrade_script())
        return f"{node}: network no longer degraded"

    def degraded(self: _Driver, node: str) -> bool:
        """Whether the node's network is degraded by us (loss rules or a netem delay)."""
        if self.power(node) != "running":
            return False
        return self._sh(node)(degrade.status_script()).strip() == "degraded"

    def isolate(self: _Driver, node: str) -> str:
        return _isolation(self, node, isolate=True)

    def reconnect(self: _Driver, node: str) -> str:
        return _isolation(self, node, isolate=False)

    def isolated(self: _Driver, node: str) -> bool:
        if self.power(node) != "running":
            return False
        return self._sh(node)(isolation.status_script()).strip() == "isolated"


def _isolation(driver: _Driver, node: str, *, isolate: bool) -> str:
    def machine(name: str) -> isolation.Machine:
        return isolation.Machine(name, driver.node_ip(name), driver.power(name), driver._sh(name))

    peers = [machine(n) for n in driver.node_names() if n != node]
    return isolation.apply_remote(machine(node), peers, isolate=isolate)
