"""The emulated mesh's rules, from engine documents to iptables-restore input (no cluster)."""

from __future__ import annotations

import pytest

from chaos.errors import UsageError
from chaos.lab.mesh import (
    MESH_LABEL,
    Backend,
    MeshEntry,
    mesh_entries,
    meshed_services,
    node_rules,
    one_line,
    parse_mesh_label,
)
from chaos.swarm.model import ContainerView, ServiceView


def container(port: int, service: str = "s1", status: str = "Up 3 seconds") -> ContainerView:
    """A task container as ``GET /containers/json`` lists it (one binding per family)."""
    return ContainerView.parse(
        {
            "Id": f"c{port}",
            "Labels": {
                "com.docker.swarm.service.id": service,
                "com.docker.swarm.task.id": f"t{port}",
            },
            "State": "running",
            "Status": status,
            "Ports": [
                {"IP": "0.0.0.0", "PrivatePort": 80, "PublicPort": port, "Type": "tcp"},
                {"IP": "::", "PrivatePort": 80, "PublicPort": port, "Type": "tcp"},
            ],
        }
    )


SERVICE = ServiceView.parse(
    {
        "ID": "s1",
        "Spec": {
            "Name": "web",
            "Labels": {MESH_LABEL: "80:80"},
            "Mode": {"Replicated": {"Replicas": 3}},
            "TaskTemplate": {"ContainerSpec": {"Image": "chaoslab/web:1"}},
        },
    }
)
MESHED = meshed_services([SERVICE])
ADDRS = {"node-001": "10.0.0.11", "node-002": "10.0.0.12"}


@pytest.mark.parametrize(
    ("label", "pairs"),
    [("80:80", [(80, 80)]), ("8080:80, 81:81", [(8080, 80), (81, 81)]), ("90", [(90, 90)])],
)
def test_parse_mesh_label(label: str, pairs: list[tuple[int, int]]) -> None:
    assert parse_mesh_label(label) == pairs


@pytest.mark.parametrize("label", ["x:80", "80:0", "70000:80"])
def test_parse_mesh_label_rejects(label: str) -> None:
    with pytest.raises(UsageError):
        parse_mesh_label(label)


def test_entries_are_the_serving_containers_of_reachable_nodes_once_each() -> None:
    listed = {
        "node-001": [container(32768), container(32771, service="other")],
        "node-002": [
            container(32769),
            container(32770, status="Up 1 second (health: starting)"),
            container(32772, status="Up 9 seconds (unhealthy)"),
            container(32773, status="Up 9 seconds (healthy)"),
        ],
    }
    (entry,) = mesh_entries(MESHED, listed, ADDRS)
    assert (entry.service, entry.published, entry.target) == ("web", 80, 80)
    assert entry.backends == (
        Backend("10.0.0.11", 32768, "node-001"),
        Backend("10.0.0.12", 32769, "node-002"),
        Backend("10.0.0.12", 32773, "node-002"),
    )


def test_a_node_left_out_of_the_listing_is_not_a_backend() -> None:
    (entry,) = mesh_entries(MESHED, {"node-002": [container(32769)]}, ADDRS)
    assert [b.node for b in entry.backends] == ["node-002"]


def test_unlabelled_or_mislabelled_services_are_not_meshed() -> None:
    plain = ServiceView.parse({"ID": "s2", "Spec": {"Name": "other"}})
    bad = ServiceView.parse({"ID": "s3", "Spec": {"Name": "bad", "Labels": {MESH_LABEL: "x"}}})
    assert meshed_services([plain, bad]) == []
    assert mesh_entries(meshed_services([plain]), {"node-001": [container(1)]}, ADDRS) == []


def test_container_health_and_ports_parse() -> None:
    c = container(32768, status="Up 2 minutes (healthy)")
    assert c.serving and c.health == "healthy" and len(c.ports) == 1
    assert not container(1, status="Up 1 second (health: starting)").serving


def test_only_the_ipv4_binding_is_a_backend() -> None:
    # a dynamic host port is allocated per address family: the same container listed as
    # 0.0.0.0:32789 and :::32788 (seen on the lab's engines); the mesh reaches the node over
    # IPv4, where 32788 refuses, so it must never be a backend
    c = ContainerView.parse(
        {
            "Id": "c1",
            "Labels": {"com.docker.swarm.service.id": "s1", "com.docker.swarm.task.id": "t1"},
            "State": "running",
            "Status": "Up 3 seconds",
            "Ports": [
                {"IP": "0.0.0.0", "PrivatePort": 80, "PublicPort": 32789, "Type": "tcp"},
                {"IP": "::", "PrivatePort": 80, "PublicPort": 32788, "Type": "tcp"},
            ],
        }
    )
    assert [p.published for p in c.ports] == [32789]
    (entry,) = mesh_entries(MESHED, {"node-001": [c]}, ADDRS)
    assert [b.port for b in entry.backends] == [32789]


def test_rules_give_every_backend_an_equal_share() -> None:
    backends = tuple(Backend(f"10.0.0.{i}", 30000 + i) for i in range(1, 4))
    entries = [MeshEntry("web", 80, 80, backends)]
    text = node_rules("10.0.0.11", entries)
    dnat = [ln for ln in text.splitlines() if "-j DNAT" in ln]
    assert len(dnat) == 3
    assert "--probability 0.33333333" in dnat[0]
    assert "--probability 0.50000000" in dnat[1]
    assert "statistic" not in dnat[2]  # the last rule takes what is left
    assert all("-d 10.0.0.11/32 -p tcp -m tcp --dport 80" in ln for ln in dnat)
    # share of backend k = prod(1 - p_j for j < k) * p_k == 1/3 for each
    probs = [1 / 3, 1 / 2, 1.0]
    shares, left = [], 1.0
    for p in probs:
        shares.append(left * p)
        left *= 1 - p
    assert shares == pytest.approx([1 / 3] * 3)
    assert text.count("COMMIT") == 2


def test_no_backends_means_no_dnat() -> None:
    entries = mesh_entries(MESHED, {}, ADDRS)
    text = node_rules("10.0.0.11", entries)
    assert "DNAT --to" not in text
    assert ":CHAOS-MESH - [0:0]" in text  # the chain is still declared, hence flushed


def test_one_line_names_every_backend_and_an_empty_port() -> None:
    entries = [
        MeshEntry("web", 80, 80, (Backend("10.0.0.2", 32768, "node-002"),)),
        MeshEntry("api", 8080, 80, ()),
    ]
    assert one_line(entries) == "web:80 -> 10.0.0.2:32768 (node-002); api:8080 -> none"
    assert one_line([]) == "none"
