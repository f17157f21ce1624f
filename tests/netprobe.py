"""TCP connect times from a network namespace: what a degraded or paused node's port costs."""

from __future__ import annotations

import socket
import time

from chaos import netns as ns


def connect_times(netns: str | None, ip: str, port: int, n: int, timeout: float) -> list[float]:
    """``n`` TCP connects from ``netns`` to ``ip:port``, each one's seconds (inf: none)."""

    def probe() -> list[float]:
        out = []
        for _ in range(n):
            started = time.monotonic()
            try:
                with socket.create_connection((ip, port), timeout=timeout):
                    out.append(time.monotonic() - started)
            except OSError:
                out.append(float("inf"))
        return out

    return ns.call_in(netns, probe)
