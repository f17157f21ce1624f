"""The lab's network: one bridge on the host, one namespace and veth pair per node.

Only objects named with the lab prefix are ever created or deleted here.
"""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path

from chaos.errors import PlatformError, UsageError
from chaos.lab.config import BRIDGE, CLIENT_NETNS, CLIENT_VETH, PREFIX, LabConfig, LabNode
from chaos.lab.system import run
from chaos.platform import degrade, isolation

NETNS_DIR = Path("/run/netns")


def _links(netns: str | None = None) -> list[dict[str, object]]:
    out = run(["ip", "-j", "link", "show"], netns=netns).stdout
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


def _attach(config: LabConfig, netns: str, veth: str, ip: str) -> None:
    """Namespace, veth pair (host end on the bridge, ``eth0`` inside), address, loopback.

    No default route: whoever lives there reaches the lab's subnet and nothing else (image
    pulls fail at once instead of waiting on DNS; the load cannot leave the lab).
    """
    if netns not in lab_netns():
        run(["ip", "netns", "add", netns])
    if not link_exists(veth):
        run(["ip", "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", netns])
    run(["ip", "link", "set", veth, "master", BRIDGE, "up"])
    have = run(["ip", "-j", "-4", "addr", "show", "dev", "eth0"], netns=netns).stdout
    if ip not in have:
        run(["ip", "addr", "add", f"{ip}/{config.prefixlen}", "dev", "eth0"], netns=netns)
    run(["ip", "link", "set", "eth0", "up"], netns=netns)
    run(["ip", "link", "set", "lo", "up"], netns=netns)


def create_node_network(config: LabConfig, node: LabNode) -> None:
    _attach(config, node.netns, node.veth, node.ip)


def create_client_network(config: LabConfig) -> None:
    """The client namespace (:mod:`chaos.netns`): the load generator and the readiness
    probes send from here, so with the bridge gone they get "network unreachable" instead
    of the host's default route."""
    _attach(config, CLIENT_NETNS, CLIENT_VETH, config.client_ip)


def client_present() -> bool:
    """The client namespace and the bridge both exist (the lab's network is there)."""
    return (NETNS_DIR / CLIENT_NETNS).exists() and Path(f"/sys/class/net/{BRIDGE}").exists()


def flush_conntrack(netns: str) -> None:
    """Forget every tracked connection of a namespace: what a reboot does to a machine's
    connection table (a halted node's table would otherwise outlive its power cut)."""
    run(["conntrack", "-F"], netns=netns, check=False)


def nat_rules(netns: str) -> str:
    """The namespace's nat table as ``iptables-save`` prints it."""
    return run(["iptables-save", "-t", "nat"], netns=netns, check=False).stdout


def tracked_tcp(netns: str) -> str:
    """The namespace's tracked TCP connections as ``conntrack -L`` prints them."""
    return run(["conntrack", "-L", "-p", "tcp"], netns=netns, check=False).stdout


def flush_rules(netns: str) -> None:
    """Empty every iptables table of a namespace (rules and chains of its own): a machine
    boots with none. The engine re-creates its own at start, the mesh supervisor the mesh's
    once the node's engine answers it again, as swarm's agent re-programs the ingress of a
    node that rejoined; rules of ours that were on the node (an isolation, a degraded
    network) went with the power, as they do on a VM."""
    # one iptables-restore without --noflush replaces each table whole, user chains and all,
    # atomically: a `-F` then `-X` can lose to a writer in between (a chain referenced again
    # cannot be deleted)
    empty = "".join(f"*{table}\nCOMMIT\n" for table in ("filter", "nat", "mangle", "raw"))
    run(["iptables-restore", "-w", "5"], input_text=empty, netns=netns)


# what a node's own configuration gives it (the lab's cable and loopback): a boot keeps these
NODE_LINKS = frozenset({"lo", "eth0"})


def remove_engine_links(netns: str) -> list[str]:
    """Delete every link of a halted node's namespace but its loopback and its cable: what
    a reboot does to the bridges and veths the engine made. A killed container's network
    namespace is freed by the kernel in its own time (tens of seconds on a busy host), and
    until then its veth stays on ``docker0`` with the container's old address and MAC; the
    engine, booting with an empty address pool, gives a new task that same address, and the
    bridge sends part of its traffic to the dead one (refused connections, no swarm event).
    Returns the names deleted."""
    gone = []
    for link in _links(netns):
        name = str(link.get("ifname", ""))
        if name in NODE_LINKS or not name:
            continue
        # a veth's peer goes with it; a link already gone with its peer is not an error
        if run(["ip", "link", "delete", name], netns=netns, check=False).returncode == 0:
            gone.append(name)
    return gone


# conntrack 1.4.7 deletes a filtered set one entry at a time and gives up at the first one
# that vanished meanwhile (a connection that closed or expired: with thousands of short-lived
# ones to a backend, often), leaving the rest: measured, 89 of 403 established entries left
VANISHED = "such conntrack doesn't exist"
FORGET_PASSES = 20


def forget_connections(netns: str, ip: str, port: int) -> int:
    """Delete the namespace's tracked TCP connections that were DNATed to ``ip:port`` (a
    mesh backend that is gone), as kube-proxy does for a removed endpoint: otherwise a new
    connection that reuses the source port of a stale entry follows its old NAT binding to
    the dead backend (a timeout, or a refusal once the node is back without that task).

    A pass that ``conntrack`` gave up on (``VANISHED``) is followed by another, on a fresh
    dump, until one completes. Returns how many the completed pass deleted (those of an
    abandoned pass are not counted: conntrack does not say)."""
    args = ["conntrack", "-D", "-p", "tcp", "--reply-src", ip, "--reply-port-src", str(port)]
    for _ in range(FORGET_PASSES):
        proc = run(args, netns=netns, check=False)
        if VANISHED not in proc.stderr:
            # "... N flow entries have been deleted." on stderr (exit 1 when 0)
            for word in reversed(proc.stderr.split()):
                if word.isdigit():
                    return int(word)
            return 0
    raise PlatformError(
        f"conntrack in {netns} could not delete the connections to {ip}:{port} in "
        f"{FORGET_PASSES} passes: entries kept vanishing under it"
    )


def set_cable(node: LabNode, plugged: bool) -> None:
    """Plug or pull the node's cable: its host-side veth up or down."""
    run(["ip", "link", "set", node.veth, "up" if plugged else "down"])


IFF_UP = 0x1


def cable_plugged(node: LabNode) -> bool:
    """The node's host-side veth is administratively up. Read from sysfs, not ``ip``: the
    observer asks for every node ten times a second."""
    try:
        flags = int(Path(f"/sys/class/net/{node.veth}/flags").read_text(), 16)
    except (OSError, ValueError):
        return False
    return bool(flags & IFF_UP)


# Swarm's mesh carries a connection that one node balances to another node's task over the
# ingress overlay (VXLAN, 4789/udp), which an isolation drops with the other swarm ports; the
# lab's mesh carries it over the nodes' own addresses (DNAT to the peer's published port), so
# an isolated lab node also drops its traffic with its peers as it comes in or passes through
# (between lab nodes there is no other traffic: the tool reaches their engines from the host).
# Nothing is dropped on its way out of a node: a drop in OUTPUT fails the sender's own
# send with EPERM, which no network does (see :mod:`chaos.platform.isolation`).
OVERLAY_CHAIN = "CHAOS-ISOLATE-MESH"
OVERLAY_HOOKS = ("INPUT", "FORWARD")
_OLD_OVERLAY_HOOKS = ("OUTPUT",)  # an earlier release's (a drop on sending): unhooked too


def _overlay_script(peers: list[str], cut: bool) -> str:
    ipt = "iptables -w 5"
    lines = [f"while {ipt} -D {hook} -j {OVERLAY_CHAIN} 2>/dev/null; do :; done"
             for hook in (*OVERLAY_HOOKS, *_OLD_OVERLAY_HOOKS)]  # fmt: skip
    lines += [f"{ipt} -F {OVERLAY_CHAIN} 2>/dev/null", f"{ipt} -X {OVERLAY_CHAIN} 2>/dev/null"]
    if cut:
        lines.append(f"{ipt} -N {OVERLAY_CHAIN} || exit 1")
        for peer in peers:
            lines.append(f"{ipt} -A {OVERLAY_CHAIN} -s {peer} -j DROP || exit 1")
            lines.append(f"{ipt} -A {OVERLAY_CHAIN} -d {peer} -j DROP || exit 1")
        lines += [f"{ipt} -I {hook} 1 -j {OVERLAY_CHAIN} || exit 1" for hook in OVERLAY_HOOKS]
    return "\n".join([*lines, "true"]) + "\n"


def set_isolated(node: LabNode, isolated: bool, peers: list[LabNode]) -> None:
    """Cut (or join again) the node from ``peers`` (the other nodes): its swarm ports and its
    mesh traffic dropped as they reach it, and what it sends dropped as it reaches each peer
    (see :mod:`chaos.platform.isolation`). Its own rules go on first and come off last (what
    :func:`is_isolated` reads). The host's own iptables are never touched."""
    script = isolation.isolate_script() if isolated else isolation.reconnect_script()
    own = script + _overlay_script([p.ip for p in peers], isolated)
    if isolated:
        run(["sh", "-c", own], netns=node.netns)
    for peer in peers:
        run(["sh", "-c", isolation.peer_script(node.ip, cut=isolated)], netns=peer.netns)
    if not isolated:
        run(["sh", "-c", own], netns=node.netns)


def is_isolated(node: LabNode) -> bool:
    """The rules themselves say (whoever put them there: this lab, or the ssh platform's
    script run on the node)."""
    out = run(["sh", "-c", isolation.status_script()], netns=node.netns, check=False).stdout
    return out.strip() == "isolated"


def swarm_faults(node: LabNode) -> tuple[bool, bool]:
    """Whether the node's swarm traffic is cut off, and whether it is degraded (lost or
    delayed): what the rules in its namespace say, whoever put them there, in one shell."""
    script = isolation.status_script() + degrade.status_script()
    said = run(["sh", "-c", script], netns=node.netns, check=False).stdout.split()
    return "isolated" in said, "degraded" in said


def delete_all() -> list[str]:
    """Delete every lab namespace (their veths go with them) and the bridge."""
    removed: list[str] = []
    for ns in lab_netns():
        run(["ip", "netns", "delete", ns], check=False)
        removed.append(f"netns {ns}")
    for link in _links():
        name = str(link.get("ifname", ""))
        if name.startswith("cl-node-") or name == CLIENT_VETH:
            run(["ip", "link", "delete", name], check=False)
            removed.append(f"veth {name}")
    if link_exists(BRIDGE):
        run(["ip", "link", "delete", BRIDGE], check=False)
        removed.append(f"bridge {BRIDGE}")
    return removed
