"""A fence in the host's own namespace around the guests' subnets, while they live in the
tool's namespace.

The guests' networks exist only inside the namespace the tool made (:mod:`chaos.vm.libvirt`),
and every process of the tool that talks to a guest runs there. A process in the host's own
namespace that asked for a guest's address anyway (a script that built the driver without its
namespace, a user's ``ssh 192.168.0.201``) would not fail: the host has no route to the
guests' subnets but a default one, and its packets would leave the machine for whatever
network that is. So while the guests are up, the host's OUTPUT chain rejects every packet to
those subnets at once (chain ``CHAOS-VM-GUARD``, a REJECT: the sender gets an error at
``connect()``, nothing leaves). ``chaos lab down --platform vagrant`` removes it.

A subnet that the host reaches without a gateway (a network of the host's own, where the
guests' addresses would be someone else's) is not fenced: that traffic is the host's, and the
tool says so.
"""

from __future__ import annotations

import ipaddress
import json
import subprocess
from collections.abc import Callable

from chaos import netns as ns

CHAIN = "CHAOS-VM-GUARD"
_IPT = ["iptables", "-w", "5"]
Say = Callable[[str], None]


def _ipt(*args: str) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run([*_IPT, *args], capture_output=True, text=True, check=False,
                              timeout=30)  # fmt: skip
    except FileNotFoundError:  # no iptables on this host: nothing to add, nothing to remove
        return subprocess.CompletedProcess([*_IPT, *args], 127, "", "iptables not found")


def _routes(netns: str | None) -> list[dict[str, object]]:
    argv = ns.command(netns, ["ip", "-4", "-j", "route", "show"])
    done = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=10)
    loaded = json.loads(done.stdout or "[]") if done.returncode == 0 else []
    return [r for r in loaded if isinstance(r, dict)]


def guest_subnets(netns: str) -> list[str]:
    """The subnets the guests' namespace reaches directly (its bridges' networks)."""
    out = []
    for route in _routes(netns):
        dst = str(route.get("dst", ""))
        if "gateway" not in route and "/" in dst:
            out.append(str(ipaddress.ip_network(dst, strict=False)))
    return sorted(set(out))


def _host_owns(subnet: str) -> bool:
    """The host's namespace reaches ``subnet`` without a gateway: a network of its own."""
    net = ipaddress.ip_network(subnet)
    for route in _routes(None):
        dst = str(route.get("dst", ""))
        if "gateway" in route or dst == "default" or "/" not in dst:
            continue
        if ipaddress.ip_network(dst, strict=False).overlaps(net):
            return True
    return False


def installed() -> list[str]:
    """The subnets fenced now (empty when the chain is not there)."""
    done = _ipt("-S", CHAIN)
    if done.returncode != 0:
        return []
    return [line.split()[3] for line in done.stdout.splitlines()
            if line.startswith(f"-A {CHAIN} -d ")]  # fmt: skip


def install(netns: str, say: Say) -> list[str]:
    """Fence the guests' subnets (idempotent: the chain is written anew); returns them."""
    fenced = []
    for subnet in guest_subnets(netns):
        if _host_owns(subnet):
            say(f"host guard: {subnet} is a network of this host's own; not fenced")
        else:
            fenced.append(subnet)
    remove()
    if not fenced:
        return []
    _ipt("-N", CHAIN)
    for subnet in fenced:
        _ipt("-A", CHAIN, "-d", subnet, "-j", "REJECT", "--reject-with", "icmp-net-prohibited")
    hooked = _ipt("-I", "OUTPUT", "1", "-j", CHAIN)
    if hooked.returncode != 0:
        remove()
        say(f"host guard: not installed ({hooked.stderr.strip()})")
        return []
    say(f"host guard: this host's own namespace can send nothing to {', '.join(fenced)}")
    return fenced


def remove() -> bool:
    """Unhook and delete the chain; whether it was there."""
    was = _ipt("-S", CHAIN).returncode == 0
    while _ipt("-D", "OUTPUT", "-j", CHAIN).returncode == 0:
        pass
    _ipt("-F", CHAIN)
    _ipt("-X", CHAIN)
    return was
