"""Names, addresses and paths of the local lab: one place, so ``down`` finds all of it.

Everything the lab creates carries the ``chaoslab`` prefix (namespaces, bridge, veths,
cgroups) or lives under the two lab directories, so clean-up never needs a state file and
never touches anything else on the host.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path

from chaos.errors import UsageError

PREFIX = "chaoslab"
BRIDGE = f"{PREFIX}0"
CGROUP = PREFIX  # /sys/fs/cgroup/<controller>/chaoslab/<node>
MESHD_CGROUP = f"{CGROUP}/meshd"  # the mesh supervisor's (freezer)
CGROUP_ROOT = Path("/sys/fs/cgroup")
STATE_DIR = Path("/var/lib/swarm-chaos/lab")  # engine data roots, images, state.json
RUN_DIR = Path("/run/swarm-chaos/lab")  # sockets, exec roots, pid files
DEFAULT_SUBNET = "10.213.77.0/24"
FIRST_NODE_HOST = 11  # node-001 is .11, node-002 .12, ...
CLIENT_HOST = 2  # the client namespace's address: .2
CLIENT_NETNS = f"{PREFIX}-client"  # where the tool's traffic to the nodes starts (chaos.netns)
CLIENT_VETH = "cl-client"
WEB_PORT = 80
MAX_NODES = 9


def node_name(index: int) -> str:
    """``node-001`` for index 1: the tutorial's names."""
    return f"node-{index:03d}"


def netns_name(node: str) -> str:
    return f"{PREFIX}-{node}"


def veth_name(node: str) -> str:
    """Host-side veth; at most 15 characters (IFNAMSIZ)."""
    return f"cl-{node}"


@dataclass(frozen=True, slots=True)
class LabNode:
    """One node of the lab: its name, address and engine endpoint."""

    name: str
    index: int
    ip: str
    manager: bool

    @property
    def netns(self) -> str:
        return netns_name(self.name)

    @property
    def veth(self) -> str:
        return veth_name(self.name)

    @property
    def run_dir(self) -> Path:
        return RUN_DIR / self.name

    @property
    def data_root(self) -> Path:
        return STATE_DIR / self.name / "docker"

    @property
    def socket(self) -> Path:
        return self.run_dir / "docker.sock"

    @property
    def docker_host(self) -> str:
        return f"unix://{self.socket}"

    @property
    def engine_log(self) -> Path:
        return STATE_DIR / self.name / "dockerd.log"

    @property
    def cgroup(self) -> str:
        """Relative cgroup path, the same under every controller."""
        return f"{CGROUP}/{self.name}"


@dataclass(frozen=True, slots=True)
class LabConfig:
    """The shape of a lab: node count, how many are managers, and its subnet."""

    nodes: int = 3
    managers: int = 3
    subnet: str = DEFAULT_SUBNET

    def __post_init__(self) -> None:
        if not 1 <= self.nodes <= MAX_NODES:
            raise UsageError(f"--nodes {self.nodes}: use between 1 and {MAX_NODES} nodes")
        if not 1 <= self.managers <= self.nodes:
            raise UsageError(
                f"--managers {self.managers}: use between 1 and --nodes ({self.nodes})"
            )
        try:
            net = ipaddress.IPv4Network(self.subnet, strict=True)
        except ValueError as exc:
            raise UsageError(
                f"--subnet {self.subnet!r}: {exc}; use a CIDR like 10.213.77.0/24"
            ) from None
        if net.num_addresses < 32:
            raise UsageError(f"--subnet {self.subnet}: too small; use a /27 or larger")

    @property
    def network(self) -> ipaddress.IPv4Network:
        return ipaddress.IPv4Network(self.subnet)

    @property
    def gateway_ip(self) -> str:
        """The host's address on the lab bridge."""
        return str(self.network.network_address + 1)

    @property
    def client_ip(self) -> str:
        """The client namespace's address: the source of the load and the readiness probes."""
        return str(self.network.network_address + CLIENT_HOST)

    @property
    def prefixlen(self) -> int:
        return self.network.prefixlen

    def lab_nodes(self) -> list[LabNode]:
        base = self.network.network_address
        return [
            LabNode(
                name=node_name(i),
                index=i,
                ip=str(base + FIRST_NODE_HOST + i - 1),
                manager=i <= self.managers,
            )
            for i in range(1, self.nodes + 1)
        ]
