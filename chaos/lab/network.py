"""The lab's network: one bridge on the host, one namespace and veth pair per node.

Only objects named with the lab prefix are ever created or deleted here.
"""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path

from chaos.errors import UsageError
from chaos.lab.config import BRIDGE, PREFIX, LabConfig, LabNode
from chaos.lab.system import run
from chaos.platform import isolation

NETNS_DIR = Path("/run/netns")


def _links() -> list[dict[str, object]]:
    out = run(["ip", "-j", "link", "show"]).stdout
    return list(json.loads(out or "[]"))


def link_exists(name: str) -> bool:
    return any(link.get("ifname") == name for link in _links())


def lab_netns() -> list[str]:
    """Names of the lab's network namespaces that exist now."""
    if not NETNS_DIR.is_dir():
        return []
    return sorted(p.name for p in NETNS_DIR.iterdir() if p.name.startswith(f"{PREFIX}-"))


def check_subnet_free(config: LabConfig) -> None:
    """Refuse a subnet that overlaps an address or route the host already has (not ours)."""
    wanted = config.network
    routes = json.loads(run(["ip", "-j", "-4", "route", "show", "table", "all"]).stdout or "[]")
    for route in routes:
        dst = str(route.get("dst", ""))
        dev = str(route.get("dev", ""))
        if dev == BRIDGE or dst in ("", "default") or route.get("type") in ("broadcast", "local"):
            continue
        try:
            net = ipaddress.IPv4Network(dst, strict=False)
        except ValueError:
            continue
        if net.overlaps(wanted) and net.prefixlen > 0:
            raise UsageError(
                f"subnet {wanted} is already in use (route {dst} on {dev}): "
                "choose a free one with --subnet, e.g. --subnet 10.213.78.0/24"
            )


def create_bridge(config: LabConfig) -> None:
    if not link_exists(BRIDGE):
        run(["ip", "link", "add", BRIDGE, "type", "bridge"])
    addr = f"{config.gateway_ip}/{config.prefixlen}"
    have = run(["ip", "-j", "-4", "addr", "show", "dev", BRIDGE]).stdout
    if addr.split("/", maxsplit=1)[0] not in have:
        run(["ip", "addr", "add", addr, "dev", BRIDGE])
    run(["ip", "link", "set", BRIDGE, "up"])


def create_node_network(config: LabConfig, node: LabNode) -> None:
    """Namespace, veth pair (host end on the bridge, ``eth0`` inside), address, loopback.

    No default route: the nodes can reach each other and the host, nothing else (image pulls
    fail at once instead of waiting on DNS).
    """
    if node.netns not in lab_netns():
        run(["ip", "netns", "add", node.netns])
    if not link_exists(node.veth):
        run(
            [
                "ip",
                "link",
                "add",
                node.veth,
                "type",
                "veth",
                "peer",
                "name",
                "eth0",
                "netns",
                node.netns,
            ]
        )
    run(["ip", "link", "set", node.veth, "master", BRIDGE, "up"])
    have = run(["ip", "-j", "-4", "addr", "show", "dev", "eth0"], netns=node.netns).stdout
    if node.ip not in have:
        run(["ip", "addr", "add", f"{node.ip}/{config.prefixlen}", "dev", "eth0"], netns=node.netns)
    run(["ip", "link", "set", "eth0", "up"], netns=node.netns)
    run(["ip", "link", "set", "lo", "up"], netns=node.netns)


def set_cable(node: LabNode, plugged: bool) -> None:
    """Plug or pull the node's cable: its host-side veth up or down."""
    run(["ip", "link", "set", node.veth, "up" if plugged else "down"])


def cable_plugged(node: LabNode) -> bool:
    out = run(["ip", "-j", "link", "show", "dev", node.veth], check=False).stdout
    links = json.loads(out or "[]")
    return bool(links) and "UP" in links[0].get("flags", [])


def set_isolated(node: LabNode, isolated: bool) -> None:
    """Block (or unblock) the node's swarm ports inside its namespace; see
    :mod:`chaos.platform.isolation`. The host's own iptables are never touched."""
    script = isolation.isolate_script() if isolated else isolation.reconnect_script()
    run(["sh", "-c", script], netns=node.netns)


def is_isolated(node: LabNode) -> bool:
    out = run(["sh", "-c", isolation.status_script()], netns=node.netns, check=False).stdout
    return out.strip() == "isolated"


def delete_all() -> list[str]:
    """Delete every lab namespace (their veths go with them) and the bridge."""
    removed: list[str] = []
    for ns in lab_netns():
        run(["ip", "netns", "delete", ns], check=False)
        removed.append(f"netns {ns}")
    for link in _links():
        name = str(link.get("ifname", ""))
        if name.startswith("cl-node-"):
            run(["ip", "link", "delete", name], check=False)
            removed.append(f"veth {name}")
    if link_exists(BRIDGE):
        run(["ip", "link", "delete", BRIDGE], check=False)
        removed.append(f"bridge {BRIDGE}")
    return removed
