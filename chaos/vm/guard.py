"""A fence in the host's own namespace around the guests' subnets, while they live in the
tool's namespace.

The guests' networks exist only inside the namespace the tool made (:mod:`chaos.vm.libvirt`),
and every process of the tool that talks to a guest runs there. A process in the host's own
namespace that asked for a guest's address anyway (a script that built the driver without its
namespace, a user's ``ssh 192.168.0.201``) would not fail: the host has no route to the
guests' subnets but a default one, and its packets would leave the machine for whatever
network that is. So while the guests are up, the host's namespace has an ``unreachable``
route for each of those subnets (marked ``proto 199``, the tool's): the sender gets "no
route to host" at ``connect()``, nothing leaves. ``chaos lab down --platform vagrant``
deletes them. A route, not a firewall rule: the host's iptables are never touched (their
tables, once made, outlive their rules).

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

PROTO = "199"  # the routes' protocol number: how the tool finds its own (and only those)
Say = Callable[[str], None]
_NOT_A_NETWORK = ("unreachable", "prohibit", "blackhole", "throw")  # route types that lead nowhere


def _ip(netns: str | None, *args: str) -> subprocess.CompletedProcess[str]:
    argv = ns.command(netns, ["ip", *args])
    try:
        return subprocess.run(argv, capture_output=True, text=True, check=False, timeout=10)
    except (FileNotFoundError, subprocess.TimeoutExpired) as exc:
        return subprocess.CompletedProcess(argv, 127, "", str(exc))


def _routes(netns: str | None, *match: str) -> list[dict[str, object]]:
    done = _ip(netns, "-4", "-j", "route", "show", *match)
    loaded = json.loads(done.stdout or "[]") if done.returncode == 0 else []
    return [r for r in loaded if isinstance(r, dict)]


def guest_subnets(netns: str) -> list[str]:
    """The subnets the guests' namespace reaches directly (its bridges' networks)."""
    out = []
    for route in _routes(netns):
        dst = str(route.get("dst", ""))
        if "gateway" not in route and "/" in dst and route.get("type") not in _NOT_A_NETWORK:
            out.append(str(ipaddress.ip_network(dst, strict=False)))
    return sorted(set(out))


def _host_owns(subnet: str) -> bool:
    """The host's namespace reaches ``subnet`` without a gateway: a network of its own."""
    net = ipaddress.ip_network(subnet)
    for route in _routes(None):
        dst = str(route.get("dst", ""))
        if "gateway" in route or "/" not in dst or route.get("type") in _NOT_A_NETWORK:
            continue
        if ipaddress.ip_network(dst, strict=False).overlaps(net):
            return True
    return False


def installed() -> list[str]:
    """The subnets fenced now."""
    return sorted(str(r["dst"]) for r in _routes(None, "proto", PROTO) if "dst" in r)


def install(netns: str, say: Say) -> list[str]:
    """Fence the guests' subnets (idempotent: written anew); returns them."""
    remove()
    fenced = []
    for subnet in guest_subnets(netns):
        if _host_owns(subnet):
            say(f"host guard: {subnet} is a network of this host's own; not fenced")
            continue
        done = _ip(None, "route", "add", "unreachable", subnet, "proto", PROTO)
        if done.returncode != 0:
            say(f"host guard: {subnet} not fenced ({done.stderr.strip()})")
            continue
        fenced.append(subnet)
    if fenced:
        say(f"host guard: this host's own namespace has no route to {', '.join(fenced)}")
    return fenced


def remove() -> bool:
    """Delete the tool's routes; whether there were any."""
    subnets = installed()
    for subnet in subnets:
        _ip(None, "route", "del", "unreachable", subnet, "proto", PROTO)
    return bool(subnets)
