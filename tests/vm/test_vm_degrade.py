"""A degraded network on a real guest: the kernel's netem delays the node's swarm traffic both
ways (an IFB device for what it receives), iptables' statistic match drops a share of it, and
the undo leaves no qdisc, IFB device or rule. Measured from the tool's namespace, where the
guests' network is: TCP connects to the guest's swarm port (2377) against its ssh port."""

from __future__ import annotations

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
    before = connect_times(platform, node, 2377, 5)
    assert max(before) < 0.3, before
    platform.degrade(node, Degradation(delay_s=0.25))
    try:
        assert platform.degraded(node)
        slow = connect_times(platform, node, 2377, 5)
        # the SYN waits on the way in (the IFB's netem), the SYN-ACK on the way out
        assert all(0.45 < t < 1.5 for t in slow), slow
        ssh = connect_times(platform, node, 22, 5)
        assert max(ssh) < 0.3, ssh  # not a swarm port: not delayed
    finally:
        print(platform.undegrade(node))
    assert max(connect_times(platform, node, 2377, 5)) < 0.3
    assert not platform.degraded(node)
    assert leftovers(platform, node).split() == ["0", "0"]


def test_loss_on_the_swarm_ports(platform: LibvirtVagrantPlatform) -> None:
    node = "node-002"
    platform.degrade(node, Degradation(loss=0.5))
    try:
        # a connect within 0.9 s needs the SYN in and the SYN-ACK out on the first try
        # (0.5 x 0.5; a retransmit comes 1 s later): about 22 of 30 miss
        lossy = connect_times(platform, node, 2377, 30, timeout=0.9)
        lost = sum(t == float("inf") for t in lossy)
        assert 12 <= lost <= 29, lossy
        assert max(connect_times(platform, node, 22, 5)) < 0.3
    finally:
        platform.undegrade(node)
    assert not platform.degraded(node)
    assert max(connect_times(platform, node, 2377, 5)) < 0.3
