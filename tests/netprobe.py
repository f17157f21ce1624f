"""Probes from a network namespace: TCP connect times (what a degraded or paused node's port
costs) and whether a node's own UDP sends leave it."""

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


def udp_sends(netns: str | None, ip: str, port: int, n: int) -> list[str]:
    """``n`` UDP datagrams from ``netns`` to ``ip:port``: each ``sent``, or ``eperm`` when the
    sender's own firewall refused it (a lossy or cut link never does that: the sender's
    ``sendto()`` succeeds and the datagram is lost on the way)."""

    def send() -> list[str]:
        out = []
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            for _ in range(n):
                try:
                    sock.sendto(b"ping", (ip, port))
                    out.append("sent")
                except PermissionError:
                    out.append("eperm")
        return out

    return ns.call_in(netns, send)
