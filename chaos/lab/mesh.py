"""The emulated routing mesh: pure computation of each node's iptables rules.

Swarm's ingress mesh needs IPVS. Where the kernel lacks it, the lab publishes services in
host mode with an engine-chosen port per task and emulates the mesh the way kube-proxy's
iptables mode does: on every node, new TCP connections to ``node_ip:published`` are DNATed
with equal probability to one of the service's running tasks (``task_node_ip:host_port``) and
masqueraded when they leave the node. A service joins the mesh through the label
``com.swarm-chaos.mesh=PUBLISHED:TARGET[,PUBLISHED:TARGET...]``.

Backends are what swarm's gossip would advertise: the running (and healthy) task containers
that each reachable node's own engine lists, for the services whose label asks for the mesh.
A node whose engine stops answering keeps its backends until it has been silent for the
suspicion time (memberlist: 1 s probes, 500 ms timeout, 4 s suspicion on a small cluster: 5 s)
and is then dropped (:mod:`chaos.lab.meshd`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from chaos.errors import UsageError
from chaos.swarm.model import ContainerView, PortRequest, ServiceView

MESH_LABEL = "com.swarm-chaos.mesh"
NAT_CHAIN = "CHAOS-MESH"
POST_CHAIN = "CHAOS-MESH-POST"
FWD_CHAIN = "CHAOS-MESH-FWD"


@dataclass(frozen=True, slots=True, order=True)
class Backend:
    ip: str
    port: int
    node: str = ""

    def __str__(self) -> str:
        return f"{self.ip}:{self.port}"

    def named(self) -> str:
        return f"{self} ({self.node})"


@dataclass(frozen=True, slots=True)
class MeshEntry:
    """One published port of one service and where its new connections may go."""

    service: str
    published: int
    target: int
    backends: tuple[Backend, ...]


def parse_mesh_label(value: str) -> list[tuple[int, int]]:
    """``"80:80,8080:80"`` -> [(80, 80), (8080, 80)]."""
    pairs: list[tuple[int, int]] = []
    for raw in value.split(","):
        part = raw.strip()
        if not part:
            continue
        published, _, target = part.partition(":")
        try:
            pair = (int(published), int(target or published))
        except ValueError:
            raise UsageError(f"bad {MESH_LABEL} label {value!r}: use PUBLISHED:TARGET") from None
        if not all(0 < p < 65536 for p in pair):
            raise UsageError(f"bad {MESH_LABEL} label {value!r}: ports are 1-65535")
        pairs.append(pair)
    return pairs


@dataclass(frozen=True, slots=True)
class MeshService:
    """A service that asked for the mesh (its label), by ID."""

    id: str
    name: str
    pairs: tuple[tuple[int, int], ...]  # (published, target)


def meshed_services(services: Iterable[ServiceView]) -> list[MeshService]:
    """The services with a valid mesh label, sorted by name (a bad label is ignored)."""
    out: list[MeshService] = []
    for svc in sorted(services, key=lambda s: s.name):
        label = svc.labels.get(MESH_LABEL)
        if not label:
            continue
        try:
            out.append(MeshService(svc.id, svc.name, tuple(parse_mesh_label(label))))
        except UsageError:
            continue
    return out


def mesh_entries(
    services: Sequence[MeshService],
    containers: Mapping[str, Sequence[ContainerView]],
    addrs: Mapping[str, str],
) -> list[MeshEntry]:
    """Backends per published port. ``containers``: node name -> the task containers that
    node advertises (its engine's own listing; a node left out is not reachable); ``addrs``:
    node name -> its IP. Like swarm's gossip-fed mesh, this follows what really runs on the
    reachable nodes, not what the managers last scheduled, so it keeps serving while the
    managers elect, lose quorum, or still believe in a task whose node is gone."""
    entries: list[MeshEntry] = []
    for svc in services:
        for published, target in svc.pairs:
            backends = {
                Backend(addrs[node], port.published, node)
                for node, listed in containers.items()
                if node in addrs
                for c in listed
                if c.service_id == svc.id and c.serving
                for port in c.ports
                if port.target == target and port.protocol == "tcp" and port.published
            }
            entries.append(MeshEntry(svc.name, published, target, tuple(sorted(backends))))
    return entries


def publish_ports(
    mesh: str, published: int, target: int
) -> tuple[tuple[PortRequest, ...], dict[str, str]]:
    """Ports and labels that publish ``target`` as ``published`` on every node IP: swarm's own
    ingress where the cluster has it, else host-mode ports plus the emulated mesh's label."""
    if mesh == "ingress":
        return (PortRequest(target, published, "ingress"),), {}
    return (PortRequest(target, None, "host"),), {MESH_LABEL: f"{published}:{target}"}


def _probability(index: int, count: int) -> str:
    """Rule ``index`` of ``count`` matches with 1/(count-index): every backend gets 1/count."""
    return f"{1.0 / (count - index):.8f}"


def node_rules(node_ip: str, entries: Sequence[MeshEntry], iface: str = "eth0") -> str:
    """The ``iptables-restore --noflush`` input that sets this node's mesh chains."""
    lines = ["*nat", f":{NAT_CHAIN} - [0:0]", f":{POST_CHAIN} - [0:0]"]
    for entry in entries:
        match = f"-d {node_ip}/32 -p tcp -m tcp --dport {entry.published}"
        count = len(entry.backends)
        for i, backend in enumerate(entry.backends):
            stat = (
                f" -m statistic --mode random --probability {_probability(i, count)}"
                if i < count - 1
                else ""
            )
            lines.append(f"-A {NAT_CHAIN} {match}{stat} -j DNAT --to-destination {backend}")
    lines.append(f"-A {POST_CHAIN} -o {iface} -m conntrack --ctstate DNAT -j MASQUERADE")
    lines += ["COMMIT", "*filter", f":{FWD_CHAIN} - [0:0]"]
    lines.append(f"-A {FWD_CHAIN} -m conntrack --ctstate DNAT,RELATED,ESTABLISHED -j ACCEPT")
    lines.append("COMMIT")
    return "\n".join(lines) + "\n"


HOOKS: tuple[tuple[str, str, str], ...] = (
    ("nat", "PREROUTING", NAT_CHAIN),
    ("nat", "POSTROUTING", POST_CHAIN),
    ("filter", "FORWARD", FWD_CHAIN),
)


def describe(entries: Sequence[MeshEntry]) -> Mapping[str, object]:
    """JSON-ready summary for ``chaos lab status`` and results."""
    return {f"{e.service}:{e.published}": [b.named() for b in e.backends] for e in entries}


def one_line(entries: Sequence[MeshEntry]) -> str:
    """``web:80 -> 10.213.77.12:32769 (node-002), ...; api:8080 -> none`` for a log line."""
    parts = [
        f"{e.service}:{e.published} -> {', '.join(b.named() for b in e.backends) or 'none'}"
        for e in entries
    ]
    return "; ".join(parts) or "none"
