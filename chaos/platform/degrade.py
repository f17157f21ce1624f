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

Delay goes to an NFQUEUE (``--queue-bypass``: with no consumer, packets pass) that the
platform serves: on the lab, :mod:`chaos.lab.delayer` in the node's namespace.

The scripts are idempotent and run as root or through ``sudo -n``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

from chaos.platform.isolation import SWARM_PORTS

CHAIN = "CHAOS-DEGRADE"
DELAY_CHAIN = "CHAOS-DELAY"
QUEUE = 4242  # the NFQUEUE number the delayer serves
HOOKS = ("PREROUTING", "OUTPUT")

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


def degrade_script(d: Degradation) -> str:
    """Drop ``loss`` of the packets; send the rest to the delay queue when there is a delay."""
    lines = [_SUDO]
    loss = [
        f"{m} -m statistic --mode random --probability {d.loss:.6f} -j DROP" for m in _matches(d)
    ]
    lines += _chain(CHAIN, loss if d.loss else [])
    if d.delay_s:
        queue = [f"{m} -j NFQUEUE --queue-num {QUEUE} --queue-bypass" for m in _matches(d)]
        lines += _chain(DELAY_CHAIN, queue)
    return "\n".join(lines) + "\n"


def undegrade_script() -> str:
    """Unhook and remove both chains; harmless on a node that was never degraded."""
    lines = [_SUDO]
    for name in (CHAIN, DELAY_CHAIN):
        for hook in HOOKS:
            lines.append(f"while {_IPT} -D {hook} -j {name} 2>/dev/null; do :; done")
        lines += [f"{_IPT} -F {name} 2>/dev/null", f"{_IPT} -X {name} 2>/dev/null"]
    return "\n".join([*lines, "true"]) + "\n"


def status_script() -> str:
    """Prints ``degraded`` when the loss chain is hooked, else ``clear``."""
    hooked = f"{_IPT} -C {HOOKS[0]} -j {CHAIN} 2>/dev/null"
    return f"{_SUDO}\nif {hooked}; then echo degraded; else echo clear; fi\n"
