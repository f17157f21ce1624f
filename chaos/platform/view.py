"""The live cluster as plain data: the platform's power facts joined with a manager's view."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

from chaos.errors import ChaosError, PlatformError
from chaos.platform.base import NodeInfo, Platform
from chaos.swarm.client import EngineClient
from chaos.swarm.model import NodeView

T = TypeVar("T")
CALL_TIMEOUT = 3.0  # seconds a manager has to answer one call (the lab's pace)


class CutOff:
    """The nodes a run has cut off (isolated): shared by the steps, which change it, and the
    observer, which reads it from its own thread. Readers get an immutable snapshot."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._nodes: frozenset[str] = frozenset()

    def set(self, node: str, cut: bool) -> None:
        with self._lock:
            self._nodes = self._nodes | {node} if cut else self._nodes - {node}

    def nodes(self) -> frozenset[str]:
        return self._nodes


class Managers:
    """Calls a manager-only API on the first powered node that answers, the last good first.

    Nodes in ``cut_off`` (isolated by the run: their store is stale and an isolated leader
    still calls itself leader until it steps down) are asked last, so what is read is the
    majority's view. It is shared: the runner updates it as it isolates and reconnects.
    """

    def __init__(
        self, platform: Platform, timeout: float = CALL_TIMEOUT, cut_off: CutOff | None = None
    ) -> None:
        self.platform = platform
        self.timeout = timeout
        self.preferred: str | None = None
        self.cut_off = cut_off if cut_off is not None else CutOff()

    def set_cut_off(self, node: str, cut: bool) -> None:
        self.cut_off.set(node, cut)

    def candidates(self) -> list[str]:
        names = [n for n in self.platform.node_names() if self.platform.power(n) == "running"]
        if self.preferred in names:
            names.remove(self.preferred)
            names.insert(0, self.preferred)
        cut = self.cut_off.nodes()
        return sorted(names, key=lambda n: n in cut)  # stable: order kept otherwise

    def call(self, fn: Callable[[EngineClient], T]) -> T:
        errors: list[str] = []
        for name in self.candidates():
            if not self.platform.engine_up(name):
                continue
            engine = self.platform.engine(name, timeout=self.timeout)
            try:
                result = fn(engine)
            except ChaosError as exc:
                errors.append(str(exc))
                continue
            finally:
                engine.close()
            self.preferred = name
            return result
        raise PlatformError(errors[-1] if errors else "no manager is powered and running")


def cluster_view(platform: Platform, managers: Managers | None = None) -> list[NodeInfo]:
    """Every node with its power, engine and (when a manager answers) swarm facts."""
    mgr = managers or Managers(platform)
    try:
        views: dict[str, NodeView] = {v.hostname: v for v in mgr.call(lambda e: e.nodes())}
    except ChaosError:
        views = {}
    out: list[NodeInfo] = []
    for name in platform.node_names():
        v = views.get(name)
        out.append(
            NodeInfo(
                name=name,
                ip=platform.node_ip(name),
                power=platform.power(name),
                engine_up=platform.engine_up(name),
                role=v.role if v else "",
                leader=v.leader if v else False,
                reachability=v.reachability if v else "",
                status=v.state if v else "",
                availability=v.availability if v else "",
                labels=dict(v.labels) if v else {},
            )
        )
    return out
