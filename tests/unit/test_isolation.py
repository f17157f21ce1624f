"""The isolation scripts' decisions (the scripts themselves run for real in the lab tests)."""

from __future__ import annotations

import re
import subprocess

import pytest

from chaos.errors import NodeHaltedError, UsageError
from chaos.platform import degrade, isolation
from chaos.platform.degrade import Degradation, DelayBy


class Node:
    """A shell on a machine whose iptables state is what the scripts key on: whether it is
    the isolated one, and which isolated addresses it drops as a peer. Every script it runs
    goes to ``log`` (shared by a cluster, so the order across machines shows)."""

    def __init__(self, name: str, log: list[str], isolated: bool = False) -> None:
        self.name, self.log, self.isolated = name, log, isolated
        self.dropping: set[str] = set()

    def __call__(self, script: str) -> str:
        if script == isolation.status_script():
            return "isolated\n" if self.isolated else "connected\n"
        for ip in IPS.values():
            if script == isolation.peer_script(ip, cut=True):
                self.dropping.add(ip)
                self.log.append(f"{self.name} drops {ip}")
            elif script == isolation.peer_script(ip, cut=False):
                self.dropping.discard(ip)
                self.log.append(f"{self.name} hears {ip}")
        if script in (isolation.isolate_script(), isolation.reconnect_script()):
            self.isolated = script == isolation.isolate_script()
            self.log.append(f"{self.name} {'isolated' if self.isolated else 'connected'}")
        return ""


IPS = {"n1": "10.0.0.1", "n2": "10.0.0.2", "n3": "10.0.0.3"}


def cluster(**power: str) -> tuple[dict[str, Node], dict[str, isolation.Machine], list[str]]:
    log: list[str] = []
    nodes = {name: Node(name, log) for name in IPS}
    machines = {
        name: isolation.Machine(name, IPS[name], power.get(name, "running"), nodes[name])
        for name in IPS
    }
    return nodes, machines, log


def act(machines: dict[str, isolation.Machine], node: str, *, isolate: bool) -> str:
    peers = [m for name, m in machines.items() if name != node]
    return isolation.apply_remote(machines[node], peers, isolate=isolate)


def test_isolate_then_reconnect_cuts_both_sides_and_undoes_in_reverse() -> None:
    nodes, machines, log = cluster()
    message = act(machines, "n1", isolate=True)
    assert "n1 isolated: swarm ports 2377+7946/tcp, 7946+4789/udp silently dropped" in message
    assert nodes["n1"].isolated
    assert nodes["n2"].dropping == nodes["n3"].dropping == {"10.0.0.1"}
    # the isolated node's rules first: a run killed here leaves what `chaos recover` finds
    assert log[0] == "n1 isolated" and sorted(log[1:]) == ["n2 drops 10.0.0.1", "n3 drops 10.0.0.1"]
    assert act(machines, "n1", isolate=True) == "n1 is already isolated; nothing done"
    log.clear()
    assert "n1 reconnected" in act(machines, "n1", isolate=False)
    assert not nodes["n1"].isolated and not nodes["n2"].dropping and not nodes["n3"].dropping
    assert log[-1] == "n1 connected"  # its own rules last, for the same reason
    assert "already connected" in act(machines, "n1", isolate=False)


def test_reconnect_clears_the_peers_of_a_node_that_lost_its_own_rules() -> None:
    nodes, machines, _ = cluster()
    act(machines, "n1", isolate=True)
    nodes["n1"].isolated = False  # powered off and on: its rules went, its peers' did not
    assert "already connected" in act(machines, "n1", isolate=False)
    assert not nodes["n2"].dropping and not nodes["n3"].dropping


def test_power_decides_what_can_be_done() -> None:
    nodes, machines, log = cluster(n1="halted")
    nodes["n2"].dropping.add("10.0.0.1")
    assert "n1 is halted" in act(machines, "n1", isolate=False)
    assert not nodes["n2"].dropping and "n1" not in " ".join(log)  # the victim is not reached
    for power, isolate in (("halted", True), ("suspended", True), ("suspended", False)):
        _, machines, _ = cluster(n1=power)
        with pytest.raises(NodeHaltedError, match=f"n1 is {power}"):
            act(machines, "n1", isolate=isolate)


def test_a_peer_that_is_not_running_is_said_and_never_left_dropping_quietly() -> None:
    nodes, machines, _ = cluster(n3="halted")
    message = act(machines, "n1", isolate=True)
    assert "n3 is halted: it will hear n1 once it runs" in message
    assert nodes["n2"].dropping == {"10.0.0.1"} and not nodes["n3"].dropping
    nodes, machines, _ = cluster(n3="suspended")
    act(machines, "n1", isolate=True)
    nodes["n3"].dropping.add("10.0.0.1")  # suspended after the cut: it still holds its rules
    with pytest.raises(NodeHaltedError, match="n3 suspended and may still drop n1's"):
        act(machines, "n1", isolate=False)
    assert not nodes["n1"].isolated and not nodes["n2"].dropping  # the rest is undone


def test_a_bad_address_is_one_clear_error() -> None:
    with pytest.raises(UsageError, match=re.escape("'10.0.0.1; reboot' is not an IP address")):
        isolation.peer_script("10.0.0.1; reboot", cut=True)


SCRIPTS = [
    isolation.isolate_script(),
    isolation.reconnect_script(),
    isolation.status_script(),
    isolation.peer_script("10.0.0.1", cut=True),
    isolation.peer_script("10.0.0.1", cut=False),
]


@pytest.mark.parametrize("script", SCRIPTS)
def test_scripts_are_valid_posix_sh(script: str) -> None:
    done = subprocess.run(["sh", "-n", "-c", script], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr


def test_every_swarm_port_is_dropped_where_it_is_received_never_where_it_is_sent() -> None:
    own = isolation.isolate_script()
    assert "-p tcp -m multiport --ports 2377,7946 -j DROP" in own
    assert "-p udp -m multiport --ports 7946,4789 -j DROP" in own
    assert "-I INPUT 1 ! -i lo -j CHAOS-ISOLATE" in own
    peer = isolation.peer_script("10.0.0.1", cut=True)
    assert "-A CHAOS-ISOLATE-PEER -s 10.0.0.1 -p udp -m multiport --ports 7946,4789 -j DROP" in peer
    assert "-I INPUT 1 ! -i lo -j CHAOS-ISOLATE-PEER" in peer
    # a drop in OUTPUT fails the sender's send (EPERM): gossip would know it is cut off
    for script in SCRIPTS:
        assert "-I OUTPUT" not in script and "-A OUTPUT" not in script
    assert "-D OUTPUT ! -o lo -j CHAOS-ISOLATE" in isolation.reconnect_script()  # older rules


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


def _hooked(script: str, chain: str) -> set[str]:
    return {hook for hook in degrade.HOOKS if f"-I {hook} 1 -j {chain}" in script}


@pytest.mark.parametrize("how", ["nfqueue", "netem"])
@pytest.mark.parametrize("d", DEGRADED, ids=lambda d: d.describe())
def test_no_degrade_drops_what_the_node_sends_in_output(d: Degradation, how: DelayBy) -> None:
    # a DROP in OUTPUT fails the node's own sendto() with EPERM (gossip then skips its probe
    # instead of suspecting the peer): loss on the way out is netem's or the delayer's
    script = degrade.degrade_script(d, how, "10.0.0.3")
    assert _hooked(script, degrade.CHAIN) == {"PREROUTING"}
    out = [ln for ln in script.splitlines() if "OUTPUT" in ln and "-j DROP" in ln]
    assert out == []


def test_the_labs_loss_on_sends_is_the_delayers() -> None:
    lossy = degrade.degrade_script(Degradation(loss=0.3), "nfqueue")
    assert "-A CHAOS-DEGRADE -p tcp -m multiport --ports 2377,7946 -m statistic" in lossy
    assert _hooked(lossy, degrade.DELAY_CHAIN) == {"OUTPUT"}  # only the node's own sends
    assert degrade.needs_shaping(Degradation(loss=0.3))
    # with a delay every matched packet is queued; one the delayer accepts leaves the mangle
    # table, so a drop rule could not see it: the delayer alone loses packets
    both = degrade.degrade_script(Degradation(loss=0.3, delay_s=0.2), "nfqueue")
    assert _hooked(both, degrade.DELAY_CHAIN) == {"PREROUTING", "OUTPUT"}
    assert "statistic" not in both
    # service traffic is lost where it arrives, both ways: no delayer for a loss alone
    service = Degradation(loss=0.3, traffic="service")
    assert not degrade.needs_shaping(service)
    assert (
        degrade.DELAY_CHAIN
        not in degrade.degrade_script(service, "nfqueue").split("-X CHAOS-DELAY")[-1]
    )


def test_netem_loses_the_swarm_packets_the_node_sends() -> None:
    lossy = degrade.degrade_script(Degradation(loss=0.3), "netem", "10.0.0.3")
    assert "parent 1:4 handle 40: netem loss 30.0000% || exit 1" in lossy
    assert "type ifb" not in lossy  # no delay: nothing redirected on the way in
    both = degrade.degrade_script(Degradation(loss=0.1, delay_s=0.4, jitter_s=0.1), "netem", "a")
    assert "handle 40: netem delay 400ms 100ms loss 10.0000% ||" in both
    assert f"dev {degrade.IFB} root handle 1: netem delay 400ms 100ms ||" in both  # no loss in
    service = degrade.degrade_script(Degradation(loss=0.3, traffic="service"), "netem", "a")
    assert "netem" not in service.split("ip link del")[-1]  # lost where it arrives, both ways
