"""The emulated routing mesh: pure computation of each node's iptables rules.

Swarm's ingress mesh needs IPVS. Where the kernel lacks it, the lab publishes services in
host mode with an engine-chosen port per task and emulates the mesh the way kube-proxy's
iptables mode does: on every node, new TCP connections to ``node_ip:published`` are DNATed
with equal probability to one of the service's running tasks (``task_node_ip:host_port``) and
masqueraded when they leave the node. A service joins the mesh through the label
``com.swarm-chaos.mesh=PUBLISHED:TARGET[,PUBLISHED:TARGET...]``.

As swarm's gossip layer does, backends on a node whose engine stops answering are dropped
after a suspicion time (memberlist: 1 s probe + 4 s suspicion on a small cluster), and the
task list is followed for everything else.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from chaos.errors import UsageError
from chaos.swarm.model import NodeView, PortRequest, ServiceView, TaskView

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


def task_time(task: TaskView) -> float | None:
    """The epoch seconds of the task's last status change (RFC 3339 with nanoseconds)."""
    text = task.timestamp
    if not text:
        return None
    text = text.replace("Z", "+00:00")
    head, dot, rest = text.partition(".")
    if dot:  # Python parses at most microseconds
        digits = "".join(ch for ch in rest if ch.isdigit())
        zone = rest[len(digits) :]
        text = f"{head}.{digits[:6]}{zone}"
    try:
        return dt.datetime.fromisoformat(text).timestamp()
    except ValueError:
        return None


def mesh_entries(
    services: Iterable[ServiceView],
    tasks: Iterable[TaskView],
    nodes: Iterable[NodeView],
    dead_nodes: frozenset[str] = frozenset(),
    died_at: Mapping[str, float] | None = None,
) -> list[MeshEntry]:
    """Backends per published port, from the swarm's view. ``dead_nodes`` are hostnames.

    ``died_at`` (hostname -> epoch seconds) remembers when a node was last found dead: a task
    on it whose last status change is older than that did not survive (a power cut kills its
    container), though swarm may still list it as running until the node re-registers; gossip
    would not advertise it either, so it is left out.
    """
    node_by_id = {n.id: n for n in nodes}
    died = died_at or {}
    by_service: dict[str, list[TaskView]] = {}
    for task in tasks:
        if not task.running:
            continue
        host = node_by_id[task.node_id].hostname if task.node_id in node_by_id else ""
        seen = task_time(task)
        if host in died and (seen is None or seen < died[host]):
            continue
        by_service.setdefault(task.service_id, []).append(task)
    entries: list[MeshEntry] = []
    for svc in sorted(services, key=lambda s: s.name):
        label = svc.labels.get(MESH_LABEL)
        if not label:
            continue
        try:
            pairs = parse_mesh_label(label)
        except UsageError:
            continue
        for published, target in pairs:
            backends: list[Backend] = []
            for task in by_service.get(svc.id, []):
                node = node_by_id.get(task.node_id)
                if node is None or not node.addr or node.hostname in dead_nodes:
                    continue
                for port in task.ports:
                    if port.target == target and port.mode == "host" and port.published:
                        backends.append(Backend(node.addr, port.published, node.hostname))
            entries.append(MeshEntry(svc.name, published, target, tuple(sorted(set(backends)))))
    return entries


def local_only(entries: Sequence[MeshEntry], node: str) -> list[MeshEntry]:
    """The mesh as an isolated node sees it: only its own tasks are reachable."""
    return [
        MeshEntry(e.service, e.published, e.target, tuple(b for b in e.backends if b.node == node))
        for e in entries
    ]


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
    return {f"{e.service}:{e.published}": [f"{b} ({b.node})" for b in e.backends] for e in entries}
