"""The steady-leader start line, on a controlled clock."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from chaos.swarm import steady as steady_mod
from chaos.swarm.steady import Member, Readiness, SteadyLeader


def test_same_leader_for_the_window_or_start_again(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [100.0]
    monkeypatch.setattr(steady_mod, "time", SimpleNamespace(monotonic=lambda: now[0]))
    s = SteadyLeader(2.0)
    assert not s.healthy("node-001")
    now[0] = 101.5
    assert not s.healthy("node-001")
    now[0] = 102.5
    assert not s.healthy("node-002")  # a new leader starts the window again
    now[0] = 104.4
    assert not s.healthy("node-002")
    now[0] = 104.5
    assert s.healthy("node-002")
    s.unhealthy()  # a moment without a leader starts it again too
    assert not s.healthy("node-002")
    now[0] = 106.5
    assert s.healthy("node-002")


def member(name: str, status: str = "ready", role: str = "manager", reach: str = "reachable",
           leader: bool = False) -> Member:  # fmt: skip
    return Member(name, status, role, reach, leader)


def test_ready_means_ready_and_a_manager_heard() -> None:
    assert member("a").ready and member("w", role="worker", reach="").ready
    assert not member("a", status="down").ready
    assert not member("a", reach="unreachable").ready  # would depose the leader once heard
    assert member("a", reach="", leader=True).ready  # the leader hears itself


def test_settled_needs_every_node_ready_under_one_leader() -> None:
    three = [member("a", leader=True), member("b"), member("c")]
    assert Readiness.of(three).settled(3)
    assert not Readiness.of(three).settled(4)  # a node missing from the managers' view
    swarm = Readiness.of([*three[:2], member("c", reach="unreachable")])
    assert not swarm.settled(3) and swarm.waiting == ("c",)
    assert not Readiness.of([member("a", leader=True), member("b", leader=True)]).settled(2)
    assert not Readiness.of([member("a"), member("b")]).settled(2)  # no leader
