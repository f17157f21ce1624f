"""A degraded network on a real guest: the kernel's netem delays the node's swarm traffic both
ways (an IFB device for what it receives) and loses a share of what it sends, iptables'
statistic match drops a share of what it receives, and the undo leaves no qdisc, IFB device or
rule. Measured from the tool's namespace, where the
guests' network is: TCP connects to the guest's swarm port (2377) against a closed port's RST."""

from __future__ import annotations

from statistics import median

import pytest

from chaos.platform.degrade import IFB, Degradation
from chaos.platform.vagrant_libvirt import LibvirtVagrantPlatform
from tests import netprobe

pytestmark = [pytest.mark.vm, pytest.mark.timeout(600)]


def connect_times(
    vp: LibvirtVagrantPlatform, node: str, port: int, n: int, timeout: float = 3.0
) -> list[float]:
    """From the tool's namespace, where the guests' network is."""
    return netprobe.connect_times(vp.client_netns, vp.node_ip(node), port, n, timeout)


CONTROL_PORT = 9  # closed on the guests: the kernel answers a SYN with a RST, nothing forks


def reset_times(vp: LibvirtVagrantPlatform, node: str, n: int, timeout: float) -> list[float]:
    """Seconds until the guest's kernel refused a connect to a closed port (inf: no answer)."""
    return netprobe.connect_times(
        vp.client_netns, vp.node_ip(node), CONTROL_PORT, n, timeout, refused_answers=True
    )


def paired(
    vp: LibvirtVagrantPlatform, node: str, n: int, timeout: float = 3.0
) -> tuple[list[float], list[float]]:
    """Connect times to the swarm port and, alternately, the round trip of a refused connect
    to a closed port, the control (not a swarm port: never degraded). A TCG guest answers
    any SYN late when it is not scheduled; a delay or a loss is what the swarm port costs
    beyond the control. Not the ssh port: every connect there forks an sshd, which on a TCG
    guest takes a second of CPU, and a few dozen of them made the next ssh command time out
    in its banner exchange."""
    swarm, control = [], []
    for _ in range(n):
        swarm += connect_times(vp, node, 2377, 1, timeout)
        control += reset_times(vp, node, 1, timeout)
    return swarm, control


def leftovers(vp: LibvirtVagrantPlatform, node: str) -> str:
    """What of a degrade is on the guest: netem or prio qdiscs, the IFB, our chains."""
    return vp.ssh(
        node,
        "sudo tc qdisc show | grep -E 'netem|prio|ingress' ; ip -o link show | grep -c "
        f"{IFB} ; sudo iptables -t mangle -S | grep -c CHAOS- ; true",
    )


def test_delay_both_ways_on_the_swarm_ports_only_and_undone(
    platform: LibvirtVagrantPlatform,
) -> None:
    node = "node-003"
    swarm, control = paired(platform, node, 5)
    assert median(swarm) - median(control) < 0.2, (swarm, control)
    platform.degrade(node, Degradation(delay_s=0.25))
    try:
        assert platform.degraded(node)
        swarm, control = paired(platform, node, 5)
        # the SYN waits on the way in (the IFB's netem), the SYN-ACK on the way out; the
        # closed port is not a swarm port: not delayed
        assert min(swarm) > 0.45, swarm
        assert median(swarm) - median(control) > 0.4, (swarm, control)
    finally:
        print(platform.undegrade(node))
    swarm, control = paired(platform, node, 5)
    assert median(swarm) - median(control) < 0.2, (swarm, control)
    assert not platform.degraded(node)
    assert leftovers(platform, node).split() == ["0", "0"]


def test_loss_on_the_swarm_ports(platform: LibvirtVagrantPlatform) -> None:
    node = "node-002"
    platform.degrade(node, Degradation(loss=0.5))
    try:
        # a connect within 0.9 s needs the SYN in and the SYN-ACK out on the first try
        # (0.5 x 0.5; a retransmit comes 1 s later): about 22 of 30 miss on the swarm port;
        # the closed port's RST misses only when the guest was not scheduled in time
        swarm, control = paired(platform, node, 30, timeout=0.9)
        lost = sum(t == float("inf") for t in swarm)
        late = sum(t == float("inf") for t in control)
        assert lost - late >= 10 and lost < 30, (swarm, control)
        # the guest's own gossip datagrams are lost on the way (netem), never refused to the
        # sender as a DROP in OUTPUT would (EPERM: memberlist then skips its probe)
        peer = platform.node_ip("node-001")
        sends = platform.ssh(
            node,
            "bash -c 'for i in $(seq 50); do { echo ping > /dev/udp/"
            f"{peer}/7946; }} 2>/dev/null && echo sent || echo refused; done'",
        ).split()
        assert sends == ["sent"] * 50, sends
    finally:
        platform.undegrade(node)
    assert not platform.degraded(node)
    assert leftovers(platform, node).split() == ["0", "0"]
    swarm, control = paired(platform, node, 5)
    assert median(swarm) - median(control) < 0.2, (swarm, control)
