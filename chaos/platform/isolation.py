"""Network isolation of a node from the swarm: a silent partition of its swarm ports (iptables).

A partition loses packets; it does not refuse to send them. So every rule drops what a node
*receives*: the isolated node drops each packet on a swarm port that comes in (chain
``CHAOS-ISOLATE``, hooked first in INPUT), and each of its peers drops the ones that come
from the isolated node's address (chain ``CHAOS-ISOLATE-PEER``). A drop in OUTPUT would not be
silent: the sender's own ``sendto()`` fails with EPERM, memberlist (swarm's gossip) then skips
the probe instead of counting the peer as unresponsive, and an isolated node that cannot send
never suspects its peers, so its routing mesh keeps balancing to their tasks (measured on
real guests: BENCHMARKS "leader-isolate"). It is jepsen's "isolate one node", done as jepsen
does it: on the receiving side, by the other side's address.

Swarm's ports are 2377/tcp (raft, dispatcher), 7946/tcp+udp (gossip) and 4789/udp (VXLAN
overlay and ingress), matched as source *or* destination, so established raft and gossip
connections die too. Everything else keeps flowing: the node's published ports answer
clients, its docker API (unix socket or ssh) still answers the tool, and loopback is
untouched, so the node's own agent still talks to its own manager: the cluster loses a
member that is alive, and the member keeps serving what it has.

One POSIX shell script per role serves every platform: the lab runs it in the node's network
namespace, vagrant and ssh run it on the node over ssh. The isolated node's rules go on
first and come off last, so a run killed in between leaves a node that ``chaos recover``
sees as isolated, and reconnecting it clears its peers. Every script is idempotent and runs
as root or through ``sudo -n``.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from chaos.errors import NodeHaltedError, UsageError

CHAIN = "CHAOS-ISOLATE"
PEER_CHAIN = "CHAOS-ISOLATE-PEER"
SWARM_PORTS: dict[str, tuple[int, ...]] = {"tcp": (2377, 7946), "udp": (7946, 4789)}
HOOK = "! -i lo"
# where an earlier release hooked the chain too (a drop on sending): reconnect unhooks it
_OLD_HOOK = ("OUTPUT", "! -o lo")

_SUDO = 'S=; [ "$(id -u)" = 0 ] || S="sudo -n"'
_IPT = "$S iptables -w 5"


def _rules(source: str = "") -> list[str]:
    match = f"-s {source} " if source else ""
    return [
        f"{match}-p {proto} -m multiport --ports {','.join(str(p) for p in ports)} -j DROP"
        for proto, ports in SWARM_PORTS.items()
    ]


def _hook(chain: str) -> str:
    check = f"{_IPT} -C INPUT {HOOK} -j {chain} 2>/dev/null"
    return f"{check} || {_IPT} -I INPUT 1 {HOOK} -j {chain} || exit 1"


def _unhook(chain: str) -> list[str]:
    return [f"while {_IPT} -D INPUT {HOOK} -j {chain} 2>/dev/null; do :; done",
            f"{_IPT} -F {chain} 2>/dev/null", f"{_IPT} -X {chain} 2>/dev/null"]  # fmt: skip


def isolate_script() -> str:
    """On the isolated node: create (or refill) the chain and hook it first in INPUT."""
    lines = [_SUDO, f"{_IPT} -N {CHAIN} 2>/dev/null", f"{_IPT} -F {CHAIN} || exit 1"]
    lines += [f"{_IPT} -A {CHAIN} {rule} || exit 1" for rule in _rules()]
    return "\n".join([*lines, _hook(CHAIN)]) + "\n"


def reconnect_script() -> str:
    """On the isolated node: unhook and remove the chain; a connected node is left as it is."""
    old_chain, old_match = _OLD_HOOK
    old = f"while {_IPT} -D {old_chain} {old_match} -j {CHAIN} 2>/dev/null; do :; done"
    return "\n".join([_SUDO, old, *_unhook(CHAIN), "true"]) + "\n"


def _address(ip: str) -> str:
    try:
        return str(ipaddress.ip_address(ip))
    except ValueError:
        raise UsageError(f"{ip!r} is not an IP address: fix the node's address") from None


def peer_script(isolated_ip: str, *, cut: bool) -> str:
    """On a peer: drop (``cut``) or stop dropping what comes from ``isolated_ip`` on the swarm
    ports. The chain holds one set of rules per isolated node and goes with the last one."""
    rules = _rules(_address(isolated_ip))
    if cut:
        lines = [_SUDO, f"{_IPT} -N {PEER_CHAIN} 2>/dev/null"]
        lines += [f"{_IPT} -C {PEER_CHAIN} {r} 2>/dev/null || {_IPT} -A {PEER_CHAIN} {r} || exit 1"
                  for r in rules]  # fmt: skip
        return "\n".join([*lines, _hook(PEER_CHAIN)]) + "\n"
    lines = [_SUDO]
    lines += [f"while {_IPT} -D {PEER_CHAIN} {r} 2>/dev/null; do :; done" for r in rules]
    left = f"{_IPT} -S {PEER_CHAIN} 2>/dev/null | grep -q -- '^-A'"
    lines.append(f"if ! {left}; then")
    lines += [f"  {line}" for line in _unhook(PEER_CHAIN)]
    return "\n".join([*lines, "fi", "true"]) + "\n"


def status_script() -> str:
    """Prints ``isolated`` when the isolated node's chain is hooked, else ``connected``."""
    hooked = f"{_IPT} -C INPUT {HOOK} -j {CHAIN} 2>/dev/null"
    return f"{_SUDO}\nif {hooked}; then echo isolated; else echo connected; fi\n"


def describe(node: str, isolated: bool) -> str:
    ports = ", ".join(
        f"{'+'.join(str(p) for p in ports)}/{proto}" for proto, ports in SWARM_PORTS.items()
    )
    if isolated:
        return (
            f"{node} isolated: swarm ports {ports} silently dropped both ways"
            f" (iptables {CHAIN} on it, {PEER_CHAIN} on its peers)"
        )
    return f"{node} reconnected: swarm ports open again"


@dataclass(frozen=True, slots=True)
class Machine:
    """A node as a remote platform reaches it: its address, power, and a shell on it."""

    name: str
    ip: str
    power: str
    run: Callable[[str], str]


def _on_peers(node: Machine, peers: Sequence[Machine], *, cut: bool) -> list[Machine]:
    """Run the peer script on every running peer at once; returns the peers not running."""
    running = [p for p in peers if p.power == "running"]
    script = peer_script(node.ip, cut=cut)
    with ThreadPoolExecutor(max_workers=max(1, len(running))) as pool:
        list(pool.map(lambda p: p.run(script), running))
    return [p for p in peers if p.power != "running"]


def _isolate(node: Machine, peers: Sequence[Machine]) -> str:
    if node.power != "running":
        raise NodeHaltedError(f"{node.name} is {node.power}: resume or start it first")
    already = node.run(status_script()).strip() == "isolated"
    if not already:
        node.run(isolate_script())
    away = _on_peers(node, peers, cut=True)
    message = f"{node.name} is already isolated" if already else describe(node.name, True)
    notes = [f"{p.name} is {p.power}: it will hear {node.name} once it runs" for p in away]
    if already and not notes:
        return f"{message}; nothing done"
    return "; ".join([message, *notes])


def _reconnect(node: Machine, peers: Sequence[Machine]) -> str:
    unreachable = [p.name for p in _on_peers(node, peers, cut=False) if p.power == "suspended"]
    if node.power == "halted":
        message = f"{node.name} is halted: its iptables rules went with the power; nothing done"
    elif node.power != "running":
        raise NodeHaltedError(f"{node.name} is {node.power}: resume or start it first")
    elif node.run(status_script()).strip() != "isolated":
        message = f"{node.name} is already connected; nothing done"
    else:
        node.run(reconnect_script())
        message = describe(node.name, False)
    if unreachable:
        raise NodeHaltedError(
            f"{', '.join(unreachable)} suspended and may still drop {node.name}'s swarm traffic:"
            " resume it, then run `chaos recover`"
        )
    return message


def apply_remote(node: Machine, peers: Sequence[Machine], *, isolate: bool) -> str:
    """Isolate or reconnect ``node`` from ``peers`` (every other node of the cluster).

    A powered-off machine lost its (non-persistent) rules with its power, so there is
    nothing to undo on it; a suspended one keeps them and cannot be reached: resume it first.
    """
    return _isolate(node, peers) if isolate else _reconnect(node, peers)
