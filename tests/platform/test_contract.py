"""One contract for every platform driver (the fake in memory; the lab, vagrant with the
stand-in and ssh to the lab nodes): node facts, node power, leader lookup, service deploy
through ``publish``, events."""

from __future__ import annotations

import time
import urllib.request
from collections.abc import Callable

import pytest

from chaos import netns as ns
from chaos.errors import ChaosError, NodeHaltedError
from chaos.experiment.observer import Observer
from chaos.platform.base import NodeInfo, Platform
from chaos.platform.probe import wait_http
from chaos.platform.view import Managers, cluster_view
from chaos.swarm.model import ServiceRequest
from chaos.timeline import Clock, EventLog

pytestmark = pytest.mark.timeout(120)

NODES = ["node-001", "node-002", "node-003"]
PORT = 18080  # a published port any driver can serve (the fake runs without root)
# What the nodes under test are: the lab's here; tests/vm sets the guests' while its tests run
# (their addresses, swarm's own mesh, and minutes where the lab takes seconds).
NODE_IPS = ["10.213.77.11", "10.213.77.12", "10.213.77.13"]
# this kernel has no IPVS: the lab's nodes run the emulated mesh, whatever the driver
MESH = {"fake": "ingress"}
TIME_SCALE = 1.0


def until(what: str, ok: Callable[[], bool], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout * TIME_SCALE
    while time.monotonic() < deadline:
        try:
            if ok():
                return
        except ChaosError:
            pass
        time.sleep(0.3)
    raise AssertionError(f"not within {timeout:g}s: {what}")


def follower(platform: Platform) -> NodeInfo:
    return next(n for n in cluster_view(platform) if n.role == "manager" and not n.leader)


def test_nodes_and_addresses(platform: Platform) -> None:
    assert platform.node_names() == NODES
    ips = [platform.node_ip(n) for n in NODES]
    if platform.name == "fake":  # loopback addresses of its own, .11 to .13
        assert all(ip.startswith("127.") for ip in ips) and len(set(ips)) == 3
        assert [ip.rsplit(".", 1)[1] for ip in ips] == ["11", "12", "13"]
    else:
        assert ips == NODE_IPS
    assert all(platform.power(n) == "running" and platform.engine_up(n) for n in NODES)
    assert platform.mesh == MESH.get(platform.name, "emulated")
    assert platform.environment()["platform"] == platform.name
    assert all(platform.supports(a) for a in ("halt", "start", "stop_engine"))


def test_leader_lookup(platform: Platform) -> None:
    view = cluster_view(platform)
    assert [n.name for n in view] == NODES
    assert sum(n.leader for n in view) == 1
    assert all(n.role == "manager" and n.status == "ready" for n in view)


def test_halt_then_start(platform: Platform) -> None:
    victim = follower(platform).name
    platform.halt(victim)
    until(f"{victim} reads halted", lambda: platform.power(victim) == "halted", 10)
    assert not platform.engine_up(victim)
    with pytest.raises(NodeHaltedError):
        platform.engine(victim)
    platform.start(victim)
    until(f"{victim} engine answers", lambda: platform.engine_up(victim))
    with platform.engine(victim, timeout=5) as engine:
        assert engine.ping()
    until(
        f"{victim} Ready",
        lambda: any(n.name == victim and n.status == "ready" for n in cluster_view(platform)),
    )


def test_stop_engine_then_start(platform: Platform) -> None:
    victim = follower(platform).name
    platform.stop_engine(victim)
    until(f"{victim} engine down", lambda: not platform.engine_up(victim), 20)
    assert platform.power(victim) == "running"
    platform.start(victim)
    until(f"{victim} engine answers", lambda: platform.engine_up(victim))


def test_deploy_answers_on_every_node_ip(platform: Platform) -> None:
    ports, labels = platform.publish(PORT, 80)
    req = ServiceRequest(
        name="contract", image="chaoslab/web:1", replicas=2, ports=ports, labels=labels
    )
    service_id = Managers(platform).call(lambda e: e.create_service(req))
    urls = [f"http://{platform.node_ip(n)}:{PORT}/" for n in NODES]
    wait_http(urls, timeout=60 * TIME_SCALE, expect="version=1", netns=platform.client_netns)

    def task_hosts() -> set[str]:
        """The service's containers as their own engines list them (a container's hostname
        is its short id): what may answer behind any node IP."""
        hosts = set()
        for node in NODES:
            with platform.engine(node) as engine:
                hosts |= {c.id[:12] for c in engine.task_containers() if c.service_id == service_id}
        return hosts

    until("both tasks running", lambda: len(task_hosts()) == 2)
    hosts = task_hosts()

    def answers(url: str, n: int) -> list[str]:
        def get() -> list[str]:
            out = []
            for _ in range(n):
                with urllib.request.urlopen(url, timeout=2) as resp:
                    out.append(resp.read().decode().strip())
            return out

        return ns.call_in(platform.client_netns, get)

    # A task's container runs before its manager reports it running and the mesh (IPVS on a
    # swarm, meshd in the lab) adds it as a backend, so balancing onto both is awaited; an
    # answer from anything but the service's own tasks fails at once.
    for url in urls:

        def balanced(url: str = url) -> bool:
            seen = {body.removeprefix("version=1 host=") for body in answers(url, 24)}
            assert seen <= hosts, (url, seen, hosts)
            return seen == hosts

        until(f"{url} balanced onto both tasks {sorted(hosts)}", balanced, 30)


def test_observer_events(platform: Platform) -> None:
    log = EventLog(None, Clock())
    observer = Observer(platform, log, "absent")
    observer.start()
    time.sleep(1.5)
    observer.stop()
    kinds = {e.kind for e in log.events}
    assert "leader" in kinds and "tasks" in kinds
    assert not any(e.kind == "api_error" for e in log.events)


def test_suspend_then_resume(platform: Platform) -> None:
    if not platform.supports("suspend"):
        pytest.skip(f"{platform.name}: this inventory has no suspend/resume commands")
    victim = follower(platform).name
    platform.suspend(victim)
    until(f"{victim} reads suspended", lambda: platform.power(victim) == "suspended", 10)
    platform.resume(victim)
    until(f"{victim} engine answers", lambda: platform.engine_up(victim))


def test_isolate_then_reconnect(platform: Platform) -> None:
    assert platform.supports("isolate") and platform.supports("reconnect")
    victim = follower(platform).name
    assert "isolated" in platform.isolate(victim)
    try:
        assert platform.isolated(victim)
        assert "already isolated" in platform.isolate(victim)
        assert platform.power(victim) == "running" and platform.engine_up(victim)

        others = Managers(platform)
        others.preferred = next(n for n in NODES if n != victim)  # the majority's view

        def unreachable() -> bool:
            view = cluster_view(platform, others)
            return any(n.name == victim and n.reachability == "unreachable" for n in view)

        until(f"{victim} Unreachable for the others", unreachable)
    finally:
        platform.reconnect(victim)
    assert not platform.isolated(victim)
    assert "already connected" in platform.reconnect(victim)
    until(
        f"{victim} Reachable again",
        lambda: any(
            n.name == victim and n.reachability == "reachable" for n in cluster_view(platform)
        ),
    )
