"""Losing and delaying packets in user space: the lab's stand-in for ``tc netem`` (this
kernel has none).

``python -m chaos.lab.delayer --delay 0.3 --jitter 0.1 --loss 0.1`` runs in a node's network
namespace and cgroup (started by :meth:`chaos.platform.lab.LabPlatform.degrade`; killed with
the node, by ``undegrade`` and by ``lab down``). It serves the NFQUEUE that
:func:`chaos.platform.degrade.degrade_script` sends the node's degraded traffic to: ``loss``
of the packets are dropped (a verdict given after the sender's send returned, so the loss is
silent, as netem's, where an iptables DROP in OUTPUT fails the send with EPERM); every other
packet is held for ``delay ± jitter`` (uniform) and then accepted, in one thread: a ``select``
on the queue's netlink socket with the next release as its timeout. Packets may leave out of
order when the jitter is larger than their spacing, as with netem.

If it dies, the queue's ``--queue-bypass`` lets packets through unharmed: a broken delayer
never becomes a partition.
"""

from __future__ import annotations

import argparse
import heapq
import itertools
import os
import random
import select
import signal
import socket
import sys
import time
from pathlib import Path
from types import FrameType
from typing import Any

from chaos.platform.degrade import QUEUE

MAX_HELD = 50_000  # packets held at once; beyond it, a packet is let through at once


class Delayer:
    def __init__(
        self, delay: float, jitter: float, seed: int | None = None, loss: float = 0.0
    ) -> None:
        self.delay, self.jitter, self.loss = delay, jitter, loss
        self.rng = random.Random(seed)
        self.held: list[tuple[float, int, Any]] = []
        self.order = itertools.count()
        self.stopping = False

    def hold(self, packet: Any) -> None:
        if self.loss and self.rng.random() < self.loss:
            packet.drop()
            return
        if len(self.held) >= MAX_HELD:
            packet.accept()
            return
        wait = max(0.0, self.delay + self.rng.uniform(-self.jitter, self.jitter))
        heapq.heappush(self.held, (time.monotonic() + wait, next(self.order), packet))

    def release_due(self) -> float | None:
        """Accept every packet whose time has come; seconds until the next one (None)."""
        now = time.monotonic()
        while self.held and self.held[0][0] <= now:
            _, _, packet = heapq.heappop(self.held)
            packet.accept()
        return max(0.0, self.held[0][0] - now) if self.held else None

    def serve(self, ready: Path | None = None) -> None:
        from netfilterqueue import NetfilterQueue

        nfq = NetfilterQueue()
        nfq.bind(QUEUE, self.hold, max_len=MAX_HELD)
        if ready is not None:  # bound: from now on queued packets are delayed, not bypassed
            ready.write_text(str(os.getpid()))
        sock = socket.fromfd(nfq.get_fd(), socket.AF_NETLINK, socket.SOCK_RAW)
        try:
            while not self.stopping:
                wait = self.release_due()
                readable, _, _ = select.select([sock], [], [], 0.5 if wait is None else wait)
                if readable:
                    nfq.run(block=False)
        finally:
            for _, _, packet in self.held:
                packet.accept()  # nothing is lost on the way out
            nfq.unbind()
            sock.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--delay", type=float, required=True, help="seconds")
    parser.add_argument("--jitter", type=float, default=0.0, help="seconds")
    parser.add_argument("--loss", type=float, default=0.0, help="the share dropped, 0-1")
    parser.add_argument("--ready", type=Path, default=None, help="a file written once bound")
    args = parser.parse_args(argv)
    delayer = Delayer(args.delay, args.jitter, loss=args.loss)

    def _stop(_sig: int, _frame: FrameType | None) -> None:
        delayer.stopping = True

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    delayer.serve(args.ready)
    return 0


if __name__ == "__main__":
    sys.exit(main())
