"""Telling a settled swarm from one that looks settled for a moment: the one readiness rule
(the lab, the runner's start line and restore, and ``chaos doctor`` ask it).

A swarm is ready when every node is Ready, every manager is Reachable and there is one
leader. Reachable matters: a manager the leader does not hear yet (back from a partition)
deposes that leader once heard, with its raised raft term. And right after a failover the
swarm can look ready and still be about to change, so a start line also waits for the same
leader over a short window (:class:`SteadyLeader`).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Member:
    """A node as far as readiness goes (from a manager's ``NodeView`` or a ``NodeInfo``):
    ``status`` ready/down/unknown/disconnected, ``role`` manager/worker, ``reachability``
    reachable/unreachable for managers."""

    name: str
    status: str
    role: str
    reachability: str
    leader: bool

    @property
    def ready(self) -> bool:
        """Ready, and a manager also Reachable (the leader hears itself)."""
        heard = self.role != "manager" or self.leader or self.reachability == "reachable"
        return self.status == "ready" and heard


@dataclass(frozen=True, slots=True)
class Readiness:
    """``ready``/``waiting``: the members that are :attr:`Member.ready` and the others;
    ``leaders``: those that say they lead."""

    ready: tuple[str, ...]
    waiting: tuple[str, ...]
    leaders: tuple[str, ...]

    @classmethod
    def of(cls, members: Iterable[Member]) -> Readiness:
        ms = list(members)
        return cls(
            ready=tuple(m.name for m in ms if m.ready),
            waiting=tuple(m.name for m in ms if not m.ready),
            leaders=tuple(m.name for m in ms if m.leader),
        )

    def settled(self, nodes: int) -> bool:
        """``nodes`` members ready under one leader."""
        return len(self.ready) == nodes and len(self.leaders) == 1


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
