"""Degrading a node's network instead of cutting it: packet loss (every platform, iptables'
``statistic`` match), delay and jitter (where the platform can delay packets).

One POSIX shell script per direction serves every platform, as :mod:`chaos.platform.isolation`
does: the lab runs it in the node's network namespace, vagrant and ssh over ssh. Loss is
dropped by chain ``CHAOS-DEGRADE`` in the mangle table, both ways:

- ``swarm`` traffic (raft 2377/tcp, gossip 7946/tcp+udp, VXLAN 4789/udp) by port, in
  PREROUTING (what the node receives) and OUTPUT (what it sends);
- ``service`` traffic: every packet of a connection first addressed to the service's
  published port (``conntrack --ctorigdstport``), as it enters the node (PREROUTING sees the
  clients' packets and the replies of the tasks it forwards to).

Delay, two ways:

- **netem** (a real host, a VM: ``delay_by="netem"``): on the interface that holds the node's
  swarm address, the matched packets it sends go to a ``prio`` qdisc's fourth band, which is
  a ``netem delay D J`` (jitter uniform); the matched packets it receives are redirected from
  an ``ingress`` qdisc to an IFB device (``chaos-ifb``) whose root is the same ``netem``.
  Matching is by port with ``u32`` (tc sees packets before netfilter): swarm ports as source
  or destination, or the service's published port (destination in, source out: the node's
  clients). The interface's name is kept in ``STATE`` for the undo. Needs ``tc`` (iproute2)
  and the ``ifb`` and ``sch_netem`` modules (Debian's kernel has both).
- **NFQUEUE** (the lab, whose kernel has no netem: ``delay_by="nfqueue"``): the matched
  packets go to a queue (``--queue-bypass``: with no consumer, packets pass) that the platform
  serves, :mod:`chaos.lab.delayer` in the node's namespace.

The scripts are idempotent (a degrade first undoes an earlier one) and run as root or through
``sudo -n``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

from chaos.platform.isolation import SWARM_PORTS

DelayBy = Literal["nfqueue", "netem"]

CHAIN = "CHAOS-DEGRADE"
DELAY_CHAIN = "CHAOS-DELAY"
QUEUE = 4242  # the NFQUEUE number the delayer serves
HOOKS = ("PREROUTING", "OUTPUT")
IFB = "chaos-ifb"  # the netem way's ingress device
STATE = "/run/swarm-chaos-degrade.dev"  # the netem way's interface, for the undo
_TC = "$S tc"

_SUDO = 'S=; [ "$(id -u)" = 0 ] || S="sudo -n"'
_IPT = "$S iptables -w 5 -t mangle"


@dataclass(frozen=True, slots=True)
class Degradation:
    """``loss`` a fraction; ``delay_s`` and ``jitter_s`` seconds (each packet waits
    ``delay ± jitter``, uniformly); ``traffic`` which packets; ``port`` the service's
    published port (``service`` traffic)."""

    loss: float = 0.0
    delay_s: float = 0.0
    jitter_s: float = 0.0
    traffic: Literal["swarm", "service"] = "swarm"
    port: int = 80

    def as_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Degradation:
        return cls(**data)

    def describe(self) -> str:
        parts = []
        if self.loss:
            parts.append(f"{self.loss:.0%} loss")
        if self.delay_s:
            jitter = f" ± {self.jitter_s * 1000:.0f}ms" if self.jitter_s else ""
            parts.append(f"{self.delay_s * 1000:.0f}ms{jitter} delay")
        what = "swarm traffic (2377, 7946, 4789)" if self.traffic == "swarm" else (
            f"service traffic (port {self.port})"
        )  # fmt: skip
        return f"{' and '.join(parts)} on its {what}, both ways"


def _matches(d: Degradation) -> list[str]:
    if d.traffic == "service":
        return [f"-p tcp -m conntrack --ctorigdstport {d.port}"]
    return [
        f"-p {proto} -m multiport --ports {','.join(str(p) for p in ports)}"
        for proto, ports in SWARM_PORTS.items()
    ]


def _chain(name: str, rules: list[str]) -> list[str]:
    lines = [f"{_IPT} -N {name} 2>/dev/null", f"{_IPT} -F {name} || exit 1"]
    lines += [f"{_IPT} -A {name} {rule} || exit 1" for rule in rules]
    for hook in HOOKS:
        lines.append(f"{_IPT} -C {hook} -j {name} 2>/dev/null || {_IPT} -I {hook} 1 -j {name}")
    return lines


def _u32(d: Degradation, outbound: bool) -> list[str]:
    """``tc`` u32 matches for the packets ``d`` delays, leaving (``outbound``) or arriving."""
    if d.traffic == "service":
        side = "sport" if outbound else "dport"
        return [f"match ip protocol 6 0xff match ip {side} {d.port} 0xffff"]
    number = {"tcp": 6, "udp": 17}
    return [
        f"match ip protocol {number[proto]} 0xff match ip {side} {port} 0xffff"
        for proto, ports in SWARM_PORTS.items()
        for port in ports
        for side in ("sport", "dport")
    ]


def _netem_lines(d: Degradation, addr: str) -> list[str]:
    netem = f"netem delay {d.delay_s * 1000:.0f}ms"
    if d.jitter_s:
        netem += f" {d.jitter_s * 1000:.0f}ms"
    find = (
        f"DEV=$(ip -o -4 addr show | awk -v a={addr} "
        "'{split($4, p, \"/\"); if (p[1] == a) {print $2; exit}}')"
    )
    lines = [
        find,
        f'[ -n "$DEV" ] || {{ echo "no interface holds {addr}" >&2; exit 1; }}',
        "$S modprobe ifb numifbs=0 2>/dev/null; $S modprobe sch_netem 2>/dev/null",
        f'echo "$DEV" | $S tee {STATE} >/dev/null || exit 1',
        # out: a fourth prio band (the priomap never picks it) is the netem
        f"{_TC} qdisc replace dev $DEV root handle 1: prio bands 4 "
        "priomap 1 2 2 2 1 2 0 0 1 1 1 1 1 1 1 1 || exit 1",
        f"{_TC} qdisc replace dev $DEV parent 1:4 handle 40: {netem} || exit 1",
        # in: redirected to an IFB whose root is the netem
        f"$S ip link add {IFB} type ifb 2>/dev/null; $S ip link set {IFB} up || exit 1",
        f"{_TC} qdisc replace dev {IFB} root handle 1: {netem} || exit 1",
        f"{_TC} qdisc replace dev $DEV handle ffff: ingress || exit 1",
    ]
    lines += [
        f"{_TC} filter add dev $DEV parent 1: protocol ip prio 1 u32 {m} flowid 1:4 || exit 1"
        for m in _u32(d, outbound=True)
    ]
    lines += [
        f"{_TC} filter add dev $DEV parent ffff: protocol ip prio 1 u32 {m} "
        f"action mirred egress redirect dev {IFB} || exit 1"
        for m in _u32(d, outbound=False)
    ]
    return lines


def _netem_undo() -> list[str]:
    return [
        f"if [ -f {STATE} ]; then DEV=$($S cat {STATE}); "
        f'{_TC} qdisc del dev "$DEV" root 2>/dev/null; '
        f'{_TC} qdisc del dev "$DEV" ingress 2>/dev/null; $S rm -f {STATE}; fi',
        f"$S ip link del {IFB} 2>/dev/null",
    ]


def degrade_script(d: Degradation, delay_by: DelayBy = "nfqueue", addr: str = "") -> str:
    """Drop ``loss`` of the packets; delay the rest when there is a delay: to the lab's queue
    (``nfqueue``), or through netem on the interface holding ``addr`` (``netem``)."""
    lines = [_SUDO, *_undo_lines()]
    loss = [
        f"{m} -m statistic --mode random --probability {d.loss:.6f} -j DROP" for m in _matches(d)
    ]
    lines += _chain(CHAIN, loss if d.loss else [])
    if d.delay_s and delay_by == "netem":
        lines += _netem_lines(d, addr)
    elif d.delay_s:
        queue = [f"{m} -j NFQUEUE --queue-num {QUEUE} --queue-bypass" for m in _matches(d)]
        lines += _chain(DELAY_CHAIN, queue)
    return "\n".join(lines) + "\n"


def _undo_lines() -> list[str]:
    lines = []
    for name in (CHAIN, DELAY_CHAIN):
        for hook in HOOKS:
            lines.append(f"while {_IPT} -D {hook} -j {name} 2>/dev/null; do :; done")
        lines += [f"{_IPT} -F {name} 2>/dev/null", f"{_IPT} -X {name} 2>/dev/null"]
    return lines + _netem_undo()


def undegrade_script() -> str:
    """Unhook and remove both chains and the netem qdiscs; harmless on a node that was never
    degraded."""
    return "\n".join([_SUDO, *_undo_lines(), "true"]) + "\n"


def status_script() -> str:
    """Prints ``degraded`` when the loss chain is hooked or a netem delay is in place, else
    ``clear``."""
    hooked = f"{_IPT} -C {HOOKS[0]} -j {CHAIN} 2>/dev/null"
    return f"{_SUDO}\nif {hooked} || [ -f {STATE} ]; then echo degraded; else echo clear; fi\n"
