"""Small polling helpers for lab tests (deadlines, never fixed sleeps)."""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import TypeVar

from chaos import netns as ns
from chaos.errors import ChaosError
from chaos.lab import Lab
from chaos.lab import state as lab_state
from chaos.lab.config import CLIENT_NETNS
from chaos.swarm.model import NodeView, ServiceRequest

T = TypeVar("T")


def poll(fn: Callable[[], T | None], timeout: float, what: str, interval: float = 0.25) -> T:
    """Call ``fn`` until it returns something truthy; fail the test after ``timeout``."""
    deadline = time.monotonic() + timeout
    last_error = ""
    while time.monotonic() < deadline:
        try:
            value = fn()
            if value:
                return value
        except ChaosError as exc:
            last_error = str(exc)
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what} {last_error}")


def leader(lab: Lab) -> str | None:
    views = lab.swarm_nodes()
    found = [v.hostname for v in views if v.leader]
    return found[0] if len(found) == 1 else None


def views_by_name(lab: Lab) -> dict[str, NodeView]:
    return {v.hostname: v for v in lab.swarm_nodes()}


def get(url: str, timeout: float = 2.0) -> tuple[int, str]:
    """One GET from the lab's client namespace (as the tool's own probes are sent)."""

    def once() -> tuple[int, str]:
        try:
            with urllib.request.urlopen(url, timeout=timeout) as resp:
                return resp.status, resp.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, ""
        except (urllib.error.URLError, OSError) as exc:
            return 0, str(exc)

    return ns.call_in(CLIENT_NETNS, once)


def deploy_web(
    lab: Lab, replicas: int = 2, image: str = "chaoslab/web:1", name: str = "web"
) -> None:
    ports, labels = lab.publish(80, 80)
    engine = lab.manager_engines()[0]
    engine.create_service(
        ServiceRequest(name=name, image=image, replicas=replicas, ports=ports, labels=labels)
    )


def swarm_snapshot(lab: Lab) -> str:
    """What the swarm and the emulated mesh looked like, for a failing test's message."""
    lines: list[str] = []
    for engine in lab.manager_engines():
        try:
            nodes = engine.nodes()
            services = {s.id: s.name for s in engine.services()}
            tasks = engine.tasks()
        except ChaosError as exc:
            lines.append(f"{engine.name}: {exc}")
            continue
        names = {n.id: n.hostname for n in nodes}
        lines.append(f"seen from {engine.name}:")
        lines += [
            f"  node {n.hostname} addr={n.addr} {n.state}/{n.availability} {n.manager_status}"
            for n in nodes
        ]
        lines += [
            f"  task {services.get(t.service_id, t.service_id[:8])}.{t.slot}"
            f" on {names.get(t.node_id, t.node_id[:8])}: {t.state}/{t.desired_state}"
            f" ports={[(p.published, p.mode) for p in t.ports]} at {t.timestamp}"
            f" {t.message} {t.error}".rstrip()
            for t in tasks
        ]
        break
    mesh = lab_state.MESH_STATUS_FILE
    lines.append(f"mesh: {mesh.read_text() if mesh.exists() else 'no mesh status'}")
    return "\n".join(lines)
