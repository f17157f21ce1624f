"""The isolation scripts' decisions (the scripts themselves run for real in the lab tests)."""

from __future__ import annotations

import subprocess

import pytest

from chaos.errors import NodeHaltedError
from chaos.platform import isolation


class Node:
    """A shell on a machine whose iptables state is one flag (what the scripts key on)."""

    def __init__(self, isolated: bool = False) -> None:
        self.isolated = isolated
        self.ran: list[str] = []

    def __call__(self, script: str) -> str:
        self.ran.append(script)
        if script == isolation.status_script():
            return "isolated\n" if self.isolated else "connected\n"
        self.isolated = script == isolation.isolate_script()
        return ""


def test_isolate_then_reconnect_runs_each_script_once() -> None:
    node = Node()
    assert "isolated: swarm ports 2377+7946/tcp, 7946+4789/udp" in isolation.apply_remote(
        "n1", "running", node, isolate=True
    )
    assert node.isolated
    assert "already isolated" in isolation.apply_remote("n1", "running", node, isolate=True)
    assert "reconnected" in isolation.apply_remote("n1", "running", node, isolate=False)
    assert "already connected" in isolation.apply_remote("n1", "running", node, isolate=False)
    assert [s for s in node.ran if s != isolation.status_script()] == [
        isolation.isolate_script(),
        isolation.reconnect_script(),
    ]


def test_power_decides_what_can_be_done() -> None:
    node = Node(isolated=True)
    assert "nothing done" in isolation.apply_remote("n1", "halted", node, isolate=False)
    assert node.ran == []  # a halted machine cannot be reached, and lost its rules anyway
    for power, isolate in (("halted", True), ("suspended", True), ("suspended", False)):
        with pytest.raises(NodeHaltedError, match=f"n1 is {power}"):
            isolation.apply_remote("n1", power, node, isolate=isolate)


@pytest.mark.parametrize(
    "script", [isolation.isolate_script(), isolation.reconnect_script(), isolation.status_script()]
)
def test_scripts_are_valid_posix_sh(script: str) -> None:
    done = subprocess.run(["sh", "-n", "-c", script], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr


def test_every_swarm_port_is_dropped_in_both_directions() -> None:
    text = isolation.isolate_script()
    assert "-p tcp -m multiport --ports 2377,7946 -j DROP" in text
    assert "-p udp -m multiport --ports 7946,4789 -j DROP" in text
    assert "-I INPUT 1 ! -i lo -j CHAOS-ISOLATE" in text
    assert "-I OUTPUT 1 ! -o lo -j CHAOS-ISOLATE" in text
