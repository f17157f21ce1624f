"""``chaos lab status``: one row per node and the mesh's own report; the JSON form is a stable
interface."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

from chaos.lab import engines, network
from chaos.lab import state as lab_state
from chaos.lab.config import LabNode
from chaos.lab.power import Power, power_of
from chaos.swarm.model import NodeView


@dataclass(frozen=True, slots=True)
class NodeStatus:
    """One row of ``chaos lab status``; the JSON form is a stable interface."""

    name: str
    ip: str
    docker_host: str
    power: Power
    engine: Literal["running", "stopped"]
    role: str
    manager_status: str
    status: str
    availability: str
    network: Literal["connected", "isolated"] = "connected"


@dataclass(frozen=True, slots=True)
class LabStatus:
    nodes: tuple[NodeStatus, ...]
    mesh: str
    subnet: str
    leader: str | None
    mesh_detail: Mapping[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {
            "nodes": [asdict(n) for n in self.nodes],
            "mesh": self.mesh,
            "subnet": self.subnet,
            "leader": self.leader,
            "mesh_detail": dict(self.mesh_detail),
        }


def status_of(
    nodes: Sequence[LabNode],
    views: Mapping[str, NodeView],
    *,
    mesh: str,
    subnet: str,
    meshd_alive: bool,
) -> LabStatus:
    """The lab's status from its nodes and the swarm's view of them (empty if no manager
    answered)."""
    rows = []
    for node in nodes:
        view = views.get(node.name)
        rows.append(
            NodeStatus(
                name=node.name,
                ip=node.ip,
                docker_host=node.docker_host,
                power=power_of(node),
                engine="running" if engines.alive(node) else "stopped",
                role=view.role if view else "",
                manager_status=view.manager_status if view else "",
                status=view.state if view else "",
                availability=view.availability if view else "",
                network="isolated" if network.is_isolated(node) else "connected",
            )
        )
    leader = next((v.hostname for v in views.values() if v.leader), None)
    detail: Mapping[str, Any] = {}
    if mesh == "emulated":
        detail = lab_state.mesh_status() or {"error": "mesh supervisor has written no status"}
        detail = {**detail, "supervisor": "running" if meshd_alive else "stopped"}
    return LabStatus(tuple(rows), mesh, subnet, leader, detail)
