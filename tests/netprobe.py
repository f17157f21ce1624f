"""TCP connect times from a network namespace: what a degraded or paused node's port costs."""

from __future__ import annotations

import socket
import time

from chaos import netns as ns


def connect_times(
    netns: str | None, ip: str, port: int, n: int, timeout: float, *, refused_answers: bool = False
) -> list[float]:
    """``n`` TCP connects from ``netns`` to ``ip:port``, each one's seconds (inf: none).
    ``refused_answers``: a refused connect counts as answered (the RST's round trip: a closed
    port measures the path and the peer's kernel, without a process behind the port)."""

    def probe() -> list[float]:
        out = []
        for _ in range(n):
            started = time.monotonic()
            try:
                with socket.create_connection((ip, port), timeout=timeout):
                    out.append(time.monotonic() - started)
            except ConnectionRefusedError:
                out.append(time.monotonic() - started if refused_answers else float("inf"))
            except OSError:
                out.append(float("inf"))
        return out

    return ns.call_in(netns, probe)
