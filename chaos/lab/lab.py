"""The local lab: a real multi-manager swarm of dockerd engines in network namespaces.

``Lab.up()`` builds it and ``Lab.attach()`` finds the running one; a :class:`Lab` answers for
its nodes, engines and swarm and hands each other job to the module that holds it: node power
and isolation (:mod:`chaos.lab.power`), the status table (:mod:`chaos.lab.status`), removing
everything (:mod:`chaos.lab.teardown`: ``down``, ``leftovers``).
"""

from __future__ import annotations

import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Literal

from chaos.errors import ChaosError, NodeHaltedError, NodeNotFoundError, PlatformError, UsageError
from chaos.lab import cgroups, engines, images, network, power, system
from chaos.lab import state as lab_state
from chaos.lab.config import (
    MESHD_CGROUP,
    RUN_DIR,
    STATE_DIR,
    WEB_PORT,
    LabConfig,
    LabNode,
)
from chaos.lab.mesh import publish_ports
from chaos.lab.power import Power
from chaos.lab.state import LabState, MeshKind
from chaos.lab.status import LabStatus, status_of
from chaos.lab.teardown import Log, down, leftovers, quiet
from chaos.swarm.engine import DockerEngine
from chaos.swarm.model import NodeView, PortRequest
from chaos.swarm.steady import Readiness, SteadyLeader

SWARM_READY_TIMEOUT = 60.0


def ipvs_available() -> bool:
    """True when the kernel has IPVS, which swarm's own ingress mesh needs."""
    return Path("/proc/net/ip_vs").exists()


class Lab:
    """A running lab. Get one with :meth:`up` or :meth:`attach`."""

    def __init__(self, st: LabState) -> None:
        self.state = st
        self.config = st.config
        self.nodes: tuple[LabNode, ...] = tuple(self.config.lab_nodes())

    # -- lifecycle ------------------------------------------------------------------------
    @classmethod
    def attach(cls) -> Lab:
        system.require_root()
        st = lab_state.load()
        if st is None:
            raise PlatformError("no lab is up: start one with `chaos lab up`")
        return cls(st)

    @classmethod
    def up(
        cls,
        config: LabConfig | None = None,
        *,
        mesh: Literal["auto", "ingress", "emulated"] = "auto",
        log: Log = quiet,
    ) -> Lab:
        """Build the lab (or say it is already up). A stale lab is cleaned first."""
        config = config or LabConfig()
        system.require_root()
        system.require_binaries()
        cgroups.require_freezer()
        kind: MeshKind
        if mesh == "auto":
            kind = "ingress" if ipvs_available() else "emulated"
        elif mesh == "ingress" and not ipvs_available():
            raise UsageError("--mesh ingress needs IPVS, which this kernel lacks; use --mesh auto")
        else:
            kind = mesh
        network.check_subnet_free(config)
        existing = lab_state.load()
        if existing is not None and existing.config == config and existing.mesh == kind:
            lab = cls(existing)
            if lab.healthy():
                log(f"lab already up: {len(lab.nodes)} nodes on {config.subnet}, {kind} mesh")
                return lab
        if existing is not None or leftovers():
            log("cleaning a stale lab left by an earlier run")
            down()
        started = time.monotonic()
        lab = cls(lab_state.new_state(config, kind))
        try:
            lab._build(log)
        except BaseException:
            log("lab up failed; removing what it made")
            try:
                down()
            except ChaosError as exc:
                log(f"clean-up incomplete: {exc}")
            raise
        log(f"lab up in {time.monotonic() - started:.1f}s: {lab.summary()}")
        return lab

    def _build(self, log: Log) -> None:
        STATE_DIR.mkdir(parents=True, exist_ok=True)
        RUN_DIR.mkdir(parents=True, exist_ok=True)
        lab_state.save(self.state)
        network.create_bridge(self.config)
        for node in self.nodes:
            network.create_node_network(self.config, node)
        network.create_client_network(self.config)
        for node in self.nodes:
            engines.start(node)
        with ThreadPoolExecutor(max_workers=len(self.nodes)) as pool:
            list(pool.map(engines.wait_ready, self.nodes))
            log(f"engines up: {', '.join(n.name for n in self.nodes)}")
            rootfs = images.rootfs_tar()

            list(pool.map(lambda n: images.load(self.engine(n.name), rootfs), self.nodes))
        log(f"images loaded on every node: {', '.join(i.ref for i in images.IMAGES)}")
        first = self.nodes[0]
        self.engine(first.name).swarm_init(first.ip)
        worker_token, manager_token = self.engine(first.name).join_tokens()
        for node in self.nodes[1:]:
            token = manager_token if node.manager else worker_token
            self.engine(node.name).swarm_join(f"{first.ip}:2377", token, node.ip)
        self.wait_swarm_ready(steady=0.0)  # a new swarm: nothing to settle
        managers = sum(n.manager for n in self.nodes)
        log(
            f"swarm: {managers} managers, {len(self.nodes) - managers} workers, leader {first.name}"
        )
        if self.state.mesh == "emulated":
            pid = self._start_meshd()
            self.state = self.state.model_copy(update={"meshd_pid": pid})
            lab_state.save(self.state)
            log(f"emulated routing mesh supervisor started (pid {pid}); this kernel has no IPVS")

    def _start_meshd(self) -> int:
        procs = cgroups.ensure(MESHD_CGROUP) / "cgroup.procs"
        lab_state.MESH_STATUS_FILE.unlink(missing_ok=True)
        inner = f'echo $$ > "{procs}" && exec "$0" -m chaos.lab.meshd'
        pid = system.spawn_daemon(["sh", "-c", inner, sys.executable], log=lab_state.MESH_LOG)
        started = time.monotonic()
        while not lab_state.MESH_STATUS_FILE.exists():
            waited = time.monotonic() - started
            if waited > 15 or (waited > 2 and not self.meshd_alive()):
                raise PlatformError(f"the mesh supervisor did not start; see {lab_state.MESH_LOG}")
            time.sleep(0.05)
        return pid

    def meshd_alive(self) -> bool:
        return bool(cgroups.pids(MESHD_CGROUP))

    def healthy(self) -> bool:
        """Every engine answers, every node is Ready, one leader, mesh supervisor alive."""
        if self.state.mesh == "emulated" and not self.meshd_alive():
            return False
        if not network.client_present():
            return False
        if not all(DockerEngine(n.docker_host).ping() for n in self.nodes):
            return False
        try:
            views = self.swarm_nodes()
        except ChaosError:
            return False
        role = {n.name: "manager" if n.manager else "worker" for n in self.nodes}
        return (
            len(views) == len(self.nodes)
            and sum(v.leader for v in views) == 1
            and all(v.state == "ready" and role.get(v.hostname) == v.role for v in views)
        )

    def wait_swarm_ready(self, timeout: float = SWARM_READY_TIMEOUT, steady: float = 2.0) -> None:
        """Every node Ready under one leader, the same leader for ``steady`` seconds (a node
        back from a partition can still depose a leader that was just elected)."""
        deadline = time.monotonic() + timeout
        last = "no manager answered"
        settled = SteadyLeader(steady)
        while time.monotonic() < deadline:
            try:
                views = self.swarm_nodes()
                swarm = Readiness.of(v.member() for v in views)
                if swarm.settled(len(self.nodes)):
                    if settled.healthy(swarm.leaders[0]):
                        return
                    time.sleep(0.3)
                    continue
                settled.unhealthy()
                last = (
                    f"{len(swarm.ready)}/{len(self.nodes)} nodes ready, "
                    f"{len(swarm.leaders)} leader(s)"
                )
            except ChaosError as exc:
                settled.unhealthy()
                last = str(exc)
            time.sleep(0.3)
        raise PlatformError(f"the swarm did not become ready in {timeout:.0f}s: {last}")

    def summary(self) -> str:
        return (
            f"{len(self.nodes)} nodes ({', '.join(f'{n.name}={n.ip}' for n in self.nodes)}), "
            f"{self.state.mesh} mesh"
        )

    # -- nodes and engines ----------------------------------------------------------------
    def node(self, name: str) -> LabNode:
        for node in self.nodes:
            if node.name == name:
                return node
        known = ", ".join(n.name for n in self.nodes)
        raise NodeNotFoundError(f"no node named {name!r} in the lab; nodes are: {known}")

    def engine(self, name: str, *, timeout: float = 10.0) -> DockerEngine:
        """A docker client for the node's engine; refuses halted or suspended nodes."""
        node = self.node(name)
        power = self.power(name)
        if power == "halted":
            raise NodeHaltedError(f"{name} is halted: start it with `chaos lab start {name}`")
        if power == "suspended":
            raise NodeHaltedError(f"{name} is suspended: resume it with `chaos lab resume {name}`")
        return DockerEngine(node.docker_host, name=name, timeout=timeout)

    def engines(self) -> dict[str, DockerEngine]:
        """Clients of every node that is powered and not frozen (for the observer)."""
        return {
            n.name: DockerEngine(n.docker_host, name=n.name, timeout=3.0)
            for n in self.nodes
            if self.power(n.name) == "running"
        }

    def manager_engines(self) -> list[DockerEngine]:
        """Clients of the powered managers, the last known leader first."""
        return [e for name, e in self.engines().items() if self.node(name).manager]

    def swarm_nodes(self) -> list[NodeView]:
        """``docker node ls`` from the first manager that answers."""
        errors: list[str] = []
        for engine in self.manager_engines():
            try:
                return engine.nodes()
            except ChaosError as exc:
                errors.append(str(exc))
        raise PlatformError(errors[-1] if errors else "no manager of the lab is powered")

    # -- power (chaos.lab.power) ----------------------------------------------------------
    def power(self, name: str) -> Power:
        return power.power_of(self.node(name))

    def halt(self, name: str) -> str:
        return power.halt(self.node(name))

    def shutdown(self, name: str) -> str:
        return power.shutdown(self.node(name))

    def start(self, name: str) -> str:
        return power.start(self.node(name))

    def suspend(self, name: str) -> str:
        return power.suspend(self.node(name))

    def resume(self, name: str) -> str:
        return power.resume(self.node(name))

    def stop_engine(self, name: str) -> str:
        return power.stop_engine(self.node(name))

    def isolate(self, name: str) -> str:
        """Cut the node off the swarm (its swarm ports dropped silently both ways); it runs on."""
        return power.isolate(self.node(name), self._peers(name))

    def reconnect(self, name: str) -> str:
        """Undo :meth:`isolate` (whatever the node's power: the rules live in its namespace)."""
        return power.reconnect(self.node(name), self._peers(name))

    def _peers(self, name: str) -> list[LabNode]:
        return [n for n in self.nodes if n.name != self.node(name).name]

    def isolated(self, name: str) -> bool:
        return power.isolated(self.node(name))

    def status(self) -> LabStatus:
        try:
            views = {v.hostname: v for v in self.swarm_nodes()}
        except ChaosError:
            views = {}
        return status_of(self.nodes, views, mesh=self.state.mesh, subnet=self.config.subnet,
                         meshd_alive=self.meshd_alive())  # fmt: skip

    # -- services -------------------------------------------------------------------------
    def publish(
        self, published: int = WEB_PORT, target: int = WEB_PORT
    ) -> tuple[tuple[PortRequest, ...], dict[str, str]]:
        """Ports and labels that publish ``target`` as ``published`` on every node IP."""
        return publish_ports(self.state.mesh, published, target)
