"""Network isolation of a node from the swarm: its swarm ports blocked both ways (iptables).

One POSIX shell script per direction serves every platform: the lab runs it in the node's
network namespace, vagrant and ssh run it on the node over ssh. Swarm's traffic is blocked in
and out, by source *or* destination port, so established raft and gossip connections die
too: 2377/tcp (raft, dispatcher), 7946/tcp+udp (gossip) and 4789/udp (VXLAN overlay and
ingress). Everything else keeps flowing: the node's published ports answer clients, its
docker API (unix socket or ssh) still answers the tool, and loopback is untouched, so the
node's own agent still talks to its own manager. It is the partition jepsen calls
"isolate one node": the cluster loses a member that is alive, and the member keeps serving
what it has.

Both scripts are idempotent (isolating twice adds the rules once; reconnecting a connected
node does nothing) and run as root or through ``sudo -n``.
"""

from __future__ import annotations

from collections.abc import Callable

from chaos.errors import NodeHaltedError

CHAIN = "CHAOS-ISOLATE"
SWARM_PORTS: dict[str, tuple[int, ...]] = {"tcp": (2377, 7946), "udp": (7946, 4789)}
HOOKS = (("INPUT", "! -i lo"), ("OUTPUT", "! -o lo"))

_SUDO = 'S=; [ "$(id -u)" = 0 ] || S="sudo -n"'
_IPT = "$S iptables -w 5"


def isolate_script() -> str:
    """Create (or refill) the chain with the swarm ports and hook it first in INPUT/OUTPUT."""
    lines = [_SUDO, f"{_IPT} -N {CHAIN} 2>/dev/null", f"{_IPT} -F {CHAIN} || exit 1"]
    for proto, ports in SWARM_PORTS.items():
        joined = ",".join(str(p) for p in ports)
        rule = f"-p {proto} -m multiport --ports {joined} -j DROP"
        lines.append(f"{_IPT} -A {CHAIN} {rule} || exit 1")
    for chain, match in HOOKS:
        check = f"{_IPT} -C {chain} {match} -j {CHAIN} 2>/dev/null"
        lines.append(f"{check} || {_IPT} -I {chain} 1 {match} -j {CHAIN} || exit 1")
    return "\n".join(lines) + "\n"


def reconnect_script() -> str:
    """Unhook and remove the chain; a node that was never isolated is left as it is."""
    lines = [_SUDO]
    for chain, match in HOOKS:
        lines.append(f"while {_IPT} -D {chain} {match} -j {CHAIN} 2>/dev/null; do :; done")
    lines += [f"{_IPT} -F {CHAIN} 2>/dev/null", f"{_IPT} -X {CHAIN} 2>/dev/null", "true"]
    return "\n".join(lines) + "\n"


def status_script() -> str:
    """Prints ``isolated`` when the chain is hooked, else ``connected``."""
    hooked = f"{_IPT} -C INPUT {HOOKS[0][1]} -j {CHAIN} 2>/dev/null"
    return f"{_SUDO}\nif {hooked}; then echo isolated; else echo connected; fi\n"


def describe(node: str, isolated: bool) -> str:
    ports = ", ".join(
        f"{'+'.join(str(p) for p in ports)}/{proto}" for proto, ports in SWARM_PORTS.items()
    )
    if isolated:
        return f"{node} isolated: swarm ports {ports} dropped both ways (iptables {CHAIN})"
    return f"{node} reconnected: swarm ports open again"


def apply_remote(node: str, power: str, run: Callable[[str], str], *, isolate: bool) -> str:
    """Isolate or reconnect a machine through ``run`` (a shell on it, over ssh).

    A powered-off machine lost its (non-persistent) rules with its power, so reconnecting it
    has nothing to do; a suspended one keeps them and cannot be reached: resume it first.
    """
    if power == "halted" and not isolate:
        return f"{node} is halted: its iptables rules went with the power; nothing done"
    if power != "running":
        raise NodeHaltedError(f"{node} is {power}: resume or start it first")
    if (run(status_script()).strip() == "isolated") == isolate:
        state = "isolated" if isolate else "connected"
        return f"{node} is already {state}; nothing done"
    run(isolate_script() if isolate else reconnect_script())
    return describe(node, isolate)
