"""The emulated mesh's rules, from swarm documents to iptables-restore input (no cluster)."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest

from chaos.errors import UsageError
from chaos.lab.mesh import (
    MESH_LABEL,
    Backend,
    mesh_entries,
    node_rules,
    parse_mesh_label,
    task_time,
)
from chaos.swarm.model import NodeView, ServiceView, TaskView


def node(nid: str, host: str, addr: str) -> NodeView:
    return NodeView.parse(
        {
            "ID": nid,
            "Description": {"Hostname": host, "Engine": {"EngineVersion": "20.10"}},
            "Status": {"State": "ready", "Addr": addr},
            "Spec": {"Role": "manager", "Availability": "active"},
            "ManagerStatus": {"Leader": nid == "n1", "Reachability": "reachable"},
        }
    )


def task(
    tid: str, nid: str, port: int, state: str = "running", desired: str = "running"
) -> TaskView:
    return TaskView.parse(
        {
            "ID": tid,
            "ServiceID": "s1",
            "NodeID": nid,
            "Slot": 1,
            "DesiredState": desired,
            "Spec": {"ContainerSpec": {"Image": "chaoslab/web:1@sha256:abc"}},
            "Status": {
                "State": state,
                "PortStatus": {
                    "Ports": [
                        {"TargetPort": 80, "PublishedPort": port, "PublishMode": "host"},
                        {"TargetPort": 80, "PublishedPort": port, "PublishMode": "host"},
                    ]
                },
            },
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
NODES = [node("n1", "node-001", "10.0.0.11"), node("n2", "node-002", "10.0.0.12")]


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


def test_entries_keep_running_tasks_once_each() -> None:
    tasks = [
        task("t1", "n1", 32768),
        task("t2", "n2", 32769),
        task("t3", "n2", 32770, state="starting"),
        task("t4", "n1", 32771, desired="shutdown"),
    ]
    (entry,) = mesh_entries([SERVICE], tasks, NODES)
    assert entry.published == 80
    assert entry.backends == (
        Backend("10.0.0.11", 32768, "node-001"),
        Backend("10.0.0.12", 32769, "node-002"),
    )


def test_entries_drop_dead_nodes() -> None:
    tasks = [task("t1", "n1", 32768), task("t2", "n2", 32769)]
    (entry,) = mesh_entries([SERVICE], tasks, NODES, dead_nodes=frozenset({"node-001"}))
    assert [b.node for b in entry.backends] == ["node-002"]


def test_unlabelled_services_are_not_meshed() -> None:
    plain = ServiceView.parse({"ID": "s1", "Spec": {"Name": "other"}})
    assert mesh_entries([plain], [task("t1", "n1", 1)], NODES) == []


def test_rules_give_every_backend_an_equal_share() -> None:
    backends = tuple(Backend(f"10.0.0.{i}", 30000 + i) for i in range(1, 4))
    entries = mesh_entries([SERVICE], [], NODES)
    entries = [type(entries[0])("web", 80, 80, backends)]
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
    entries = mesh_entries([SERVICE], [], NODES)
    text = node_rules("10.0.0.11", entries)
    assert "DNAT --to" not in text
    assert ":CHAOS-MESH - [0:0]" in text  # the chain is still declared, hence flushed


def test_task_time_parses_engine_timestamps() -> None:
    t = task("t1", "n1", 1)
    assert task_time(t) is None
    stamped = TaskView.parse(
        {
            "ID": "x",
            "NodeID": "n1",
            "Status": {"State": "running", "Timestamp": "2026-11-27T14:38:01.123456789Z"},
        }
    )
    assert task_time(stamped) == pytest.approx(1795790281.123456)


def test_tasks_older_than_their_nodes_death_are_left_out() -> None:
    def stamped(tid: str, nid: str, port: int, when: str) -> TaskView:
        base = task(tid, nid, port)
        return replace(base, timestamp=when)

    tasks = [
        stamped("t1", "n1", 32768, "2026-11-27T14:00:00.5Z"),  # from before node-001 died
        stamped("t2", "n1", 32769, "2026-11-27T14:10:00Z"),  # started after it came back
        stamped("t3", "n2", 32770, "2026-11-27T14:00:00Z"),  # another node: untouched
    ]
    died = {"node-001": dt.datetime(2026, 11, 27, 14, 5, tzinfo=dt.UTC).timestamp()}
    (entry,) = mesh_entries([SERVICE], tasks, NODES, died_at=died)
    assert [b.port for b in entry.backends] == [32769, 32770]
    (everything,) = mesh_entries([SERVICE], tasks, NODES)
    assert len(everything.backends) == 3
