"""Telling a settled swarm from one that looks settled for a moment.

Right after a failover the swarm can look healthy (every node Ready, one leader) and still be
about to change: a node back from a partition deposes the leader it finds with its raised raft
term. Waiting for the same leader over a short window is the start line both the lab and the
runner use.
"""

from __future__ import annotations

import time


class SteadyLeader:
    """Call :meth:`healthy` with the leader each time the swarm looks healthy and
    :meth:`unhealthy` each time it does not; ``healthy`` is True once the swarm has looked
    healthy under the same leader for ``seconds``."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._since: tuple[str, float] | None = None

    def healthy(self, leader: str) -> bool:
        now = time.monotonic()
        if self._since is None or self._since[0] != leader:
            self._since = (leader, now)
        return now - self._since[1] >= self.seconds

    def unhealthy(self) -> None:
        self._since = None
