"""The isolation scripts' decisions (the scripts themselves run for real in the lab tests)."""

from __future__ import annotations

import subprocess

import pytest

from chaos.errors import NodeHaltedError
from chaos.platform import degrade, isolation
from chaos.platform.degrade import Degradation, DelayBy


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


DEGRADED = [
    Degradation(loss=0.3),
    Degradation(loss=0.1, delay_s=0.4, jitter_s=0.1),
    Degradation(delay_s=0.2, traffic="service", port=8080),
]


@pytest.mark.parametrize("how", ["nfqueue", "netem"])
@pytest.mark.parametrize("d", DEGRADED, ids=lambda d: d.describe())
def test_degrade_scripts_are_valid_posix_sh(d: Degradation, how: DelayBy) -> None:
    for script in (
        degrade.degrade_script(d, how, "192.168.0.203"),
        degrade.undegrade_script(),
        degrade.status_script(),
    ):
        done = subprocess.run(
            ["sh", "-n", "-c", script], capture_output=True, text=True, check=False
        )
        assert done.returncode == 0, done.stderr


def test_netem_delays_every_swarm_port_both_ways_and_nothing_else() -> None:
    script = degrade.degrade_script(Degradation(delay_s=0.4, jitter_s=0.1), "netem", "10.0.0.3")
    assert script.count("netem delay 400ms 100ms") == 2  # out (prio band 4) and in (the IFB)
    out = [ln for ln in script.splitlines() if "parent 1: protocol ip" in ln]
    into = [ln for ln in script.splitlines() if "parent ffff: protocol ip" in ln]
    for lines in (out, into):
        # 2377/tcp, 7946/tcp, 7946/udp, 4789/udp as source or destination
        assert len(lines) == 8, lines
        assert {("protocol 6" in ln, ln.split("match ip ")[2].split()[:2][1]) for ln in lines} == {
            (True, "2377"), (True, "7946"), (False, "7946"), (False, "4789")
        }  # fmt: skip
    assert "NFQUEUE" not in script  # the lab's way, not a real kernel's
    service = degrade.degrade_script(Degradation(delay_s=0.1, traffic="service", port=8080),
                                     "netem", "10.0.0.3")  # fmt: skip
    assert "match ip sport 8080" in service and "match ip dport 8080" in service
    assert "2377" not in service
    # the undo, and every degrade before it acts, removes the qdiscs and the IFB device
    for text in (degrade.undegrade_script(), script):
        assert "qdisc del dev" in text and f"ip link del {degrade.IFB}" in text
