"""Degrading a node's network instead of cutting it: packet loss (every platform) and delay
with jitter (where the platform can delay packets).

One POSIX shell script per platform kind serves every platform, as
:mod:`chaos.platform.isolation` does: the lab runs it in the node's network namespace, vagrant
and ssh over ssh. What is degraded:

- ``swarm`` traffic (raft 2377/tcp, gossip 7946/tcp+udp, VXLAN 4789/udp) by port, what the node
  receives and what it sends;
- ``service`` traffic: every packet of a connection first addressed to the service's
  published port (``conntrack --ctorigdstport``). Both the clients' packets and the replies of
  the tasks the node forwards to enter the node, so loss where packets arrive covers both ways.

Loss is silent, as on a lossy link: a packet is dropped where it arrives (chain
``CHAOS-DEGRADE`` in the mangle table's PREROUTING, iptables' ``statistic`` match), and what
the node itself sends is lost after the send returned, never by an iptables DROP in OUTPUT:
that would fail the sender's ``sendto()`` with EPERM, and memberlist skips a probe it could not
send instead of suspecting the peer (the artefact the isolation had, see
:mod:`chaos.platform.isolation`). The node's own swarm packets are lost:

- **netem** (a real host, a VM: ``delay_by="netem"``): on the interface that holds the node's
  swarm address, the matched packets it sends go to a ``prio`` qdisc's fourth band, a
  ``netem [delay D J] [loss P%]`` (jitter uniform; netem's loss is silent to the sender). A
  delay is also put on what the node receives: the matched packets are redirected from an
  ``ingress`` qdisc to an IFB device (``chaos-ifb``) whose root is a ``netem delay D J``.
  Matching is by port with ``u32`` (tc sees packets before netfilter): swarm ports as source
  or destination, or the service's published port (destination in, source out: the node's
  clients). The interface's name is kept in ``STATE`` for the undo. Needs ``tc`` (iproute2)
  and the ``ifb`` and ``sch_netem`` modules (Debian's kernel has both).
- **NFQUEUE** (the lab, whose kernel has no netem: ``delay_by="nfqueue"``): the matched packets
  go to a queue (chain ``CHAOS-DELAY``; ``--queue-bypass``: with no consumer, packets pass)
  that :mod:`chaos.lab.delayer` serves in the node's namespace: it drops ``loss`` of them (a
  verdict given after the send returned: silent) and holds the rest ``delay ± jitter``.
  Without a delay only the node's own sends are queued (what it receives is dropped by the
  chain); with one, everything matched is, and the delayer alone loses packets: one it
  accepts leaves the mangle table, so a drop rule after the queue would never see it. Packets
  queued when no delayer serves the queue pass (a node restarted by a halt has lost its
  delayer with its cgroup: ``chaos recover`` or the step's undo takes the rules off).

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
HOOKS = ("PREROUTING", "OUTPUT")  # every hook a chain of ours may be on, for the undo
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


def _chain(name: str, rules: list[str], hooks: tuple[str, ...]) -> list[str]:
    lines = [f"{_IPT} -N {name} 2>/dev/null", f"{_IPT} -F {name} || exit 1"]
    lines += [f"{_IPT} -A {name} {rule} || exit 1" for rule in rules]
    for hook in hooks:
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


def sent_loss(d: Degradation) -> float:
    """The share of the node's own sends to lose. Service traffic is lost where it arrives,
    both ways (the replies enter the node too); swarm traffic the node sends leaves it."""
    return d.loss if d.traffic == "swarm" else 0.0


def _delay(d: Degradation) -> str:
    if not d.delay_s:
        return ""
    jitter = f" {d.jitter_s * 1000:.0f}ms" if d.jitter_s else ""
    return f" delay {d.delay_s * 1000:.0f}ms{jitter}"


def _netem_lines(d: Degradation, addr: str) -> list[str]:
    loss = sent_loss(d)
    out = "netem" + _delay(d) + (f" loss {loss * 100:.4f}%" if loss else "")
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
        f"{_TC} qdisc replace dev $DEV parent 1:4 handle 40: {out} || exit 1",
    ]
    lines += [
        f"{_TC} filter add dev $DEV parent 1: protocol ip prio 1 u32 {m} flowid 1:4 || exit 1"
        for m in _u32(d, outbound=True)
    ]
    if not d.delay_s:
        return lines
    # in: redirected to an IFB whose root delays (loss in is the iptables chain's)
    lines += [
        f"$S ip link add {IFB} type ifb 2>/dev/null; $S ip link set {IFB} up || exit 1",
        f"{_TC} qdisc replace dev {IFB} root handle 1: netem{_delay(d)} || exit 1",
        f"{_TC} qdisc replace dev $DEV handle ffff: ingress || exit 1",
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


def needs_shaping(d: Degradation) -> bool:
    """Whether packets go through netem or the lab's delayer: a delay, or a loss on what the
    node sends (the lab's delayer must then serve the queue)."""
    return bool(d.delay_s or sent_loss(d))


def degrade_script(d: Degradation, delay_by: DelayBy = "nfqueue", addr: str = "") -> str:
    """Drop ``loss`` of the packets the node receives; lose ``loss`` of the swarm packets it
    sends and delay the rest when there is a delay: through the lab's queue (``nfqueue``), or
    through netem on the interface holding ``addr`` (``netem``)."""
    lines = [_SUDO, *_undo_lines()]
    # a packet the delayer accepts leaves the mangle table's hook: with a delay, the delayer
    # is the only place it can be lost
    drop_on_arrival = bool(d.loss) and (delay_by == "netem" or not d.delay_s)
    loss = [
        f"{m} -m statistic --mode random --probability {d.loss:.6f} -j DROP" for m in _matches(d)
    ]
    lines += _chain(CHAIN, loss if drop_on_arrival else [], ("PREROUTING",))
    if needs_shaping(d) and delay_by == "netem":
        lines += _netem_lines(d, addr)
    elif needs_shaping(d):
        queue = [f"{m} -j NFQUEUE --queue-num {QUEUE} --queue-bypass" for m in _matches(d)]
        lines += _chain(DELAY_CHAIN, queue, HOOKS if d.delay_s else ("OUTPUT",))
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
