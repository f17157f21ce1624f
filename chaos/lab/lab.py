"""The local lab: a real multi-manager swarm of dockerd engines in network namespaces.

``Lab.up()`` builds it, ``Lab.attach()`` finds the running one, ``down()`` removes all of it
(also after a SIGKILL of any earlier process: it works from naming conventions, not only
from the state file). Node power is emulated as a VM would feel it:

- halt: cable pulled (host veth down), then every process of the node SIGKILLed through its
  freezer cgroup; its mounts vanish with its mount namespace. No goodbye to the cluster.
- start: cable plugged, engine booted from its persisted data root; it rejoins the swarm.
- suspend / resume: the node's freezer cgroup FROZEN / THAWED (RAM kept, no FIN, no RST).
- stop-engine: SIGTERM to dockerd, the graceful daemon stop of ``systemctl stop docker``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

from chaos.errors import ChaosError, NodeHaltedError, NodeNotFoundError, PlatformError, UsageError
from chaos.journal import Journal
from chaos.lab import cgroups, engines, images, network, system
from chaos.lab import state as lab_state
from chaos.lab.config import (
    CGROUP,
    CGROUP_ROOT,
    CLIENT_NETNS,
    RUN_DIR,
    STATE_DIR,
    WEB_PORT,
    LabConfig,
    LabNode,
)
from chaos.lab.mesh import publish_ports
from chaos.lab.state import LabState, MeshKind
from chaos.platform import isolation
from chaos.platform.probe import wait_http
from chaos.swarm.engine import DockerEngine
from chaos.swarm.model import NodeView, PortRequest, ServiceRequest
from chaos.swarm.steady import Readiness, SteadyLeader

Power = Literal["running", "halted", "suspended"]
Log = Callable[[str], None]
SWARM_READY_TIMEOUT = 60.0
MESHD_CGROUP = f"{CGROUP}/meshd"


def _quiet(_msg: str) -> None:
    pass


@dataclass(frozen=True, slots=True)
class NodeStatus:
    """One row of ``chaos lab status``; the JSON form is a stable interface."""

    name: str
    ip: str
    docker_host: str
    power: Power
    engine: Literal["running", "stopped"]
    role: str
    manager_status: str
    status: str
    availability: str
    network: Literal["connected", "isolated"] = "connected"


@dataclass(frozen=True, slots=True)
class LabStatus:
    nodes: tuple[NodeStatus, ...]
    mesh: str
    subnet: str
    leader: str | None
    mesh_detail: Mapping[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {
            "nodes": [asdict(n) for n in self.nodes],
            "mesh": self.mesh,
            "subnet": self.subnet,
            "leader": self.leader,
            "mesh_detail": dict(self.mesh_detail),
        }


def ipvs_available() -> bool:
    """True when the kernel has IPVS, which swarm's own ingress mesh needs."""
    return Path("/proc/net/ip_vs").exists()


def _mounts_under(*roots: Path) -> list[str]:
    found: list[str] = []
    try:
        lines = Path("/proc/self/mountinfo").read_text().splitlines()
    except OSError:
        return found
    for line in lines:
        fields = line.split()
        if len(fields) > 4 and any(fields[4].startswith(str(r) + "/") for r in roots):
            found.append(fields[4])
    return sorted(found, key=len, reverse=True)


def leftovers() -> list[str]:
    """What of a lab exists on this host now (empty: nothing)."""
    found = [f"netns {ns}" for ns in network.lab_netns()]
    if network.link_exists("chaoslab0"):
        found.append("bridge chaoslab0")
    pids = cgroups.pids(CGROUP)
    if pids:
        found.append(f"{len(pids)} processes in cgroup {CGROUP}")
    found += [f"cgroup {p}" for p in _cgroup_dirs()]
    found += [f"mount {m}" for m in _mounts_under(STATE_DIR, RUN_DIR)]
    found += [f"dir {d}" for d in (STATE_DIR, RUN_DIR) if d.exists()]
    return found


def _cgroup_dirs() -> list[str]:
    root = CGROUP_ROOT
    if not root.is_dir():
        return []
    return [str(c / CGROUP) for c in sorted(root.iterdir()) if (c / CGROUP).is_dir()]


def down(log: Log = _quiet) -> list[str]:
    """Remove everything a lab made: processes, namespaces, veths, bridge, cgroups, mounts, dirs.

    Idempotent and independent of the state file. Returns what was removed.
    """
    system.require_root()
    removed: list[str] = []
    killed = cgroups.kill_all(CGROUP)
    if killed:
        removed.append(f"{killed} processes (engines, containers, mesh supervisor)")
    removed += network.delete_all()
    for mount in _mounts_under(STATE_DIR, RUN_DIR):
        system.run(["umount", "-l", mount], check=False)
        removed.append(f"mount {mount}")
    removed += [f"cgroup {p}" for p in cgroups.remove_tree(CGROUP)]
    for directory in (STATE_DIR, RUN_DIR):
        if directory.exists():
            shutil.rmtree(directory, ignore_errors=True)
            removed.append(f"dir {directory}")
    forgotten = Journal().forget("lab")
    if forgotten:
        removed.append(f"{forgotten} journaled faults of the removed lab (nothing left to undo)")
    for item in removed:
        log(f"removed {item}")
    still = leftovers()
    if still:
        raise PlatformError(f"lab down left {', '.join(still[:4])}; run `chaos lab down` again")
    return removed


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
        log: Log = _quiet,
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

            def load_images(node: LabNode) -> None:
                engine = self.engine(node.name)
                for image in images.IMAGES:
                    engine.import_image(rootfs, images.REPOSITORY, image.tag, image.changes)

            list(pool.map(load_images, self.nodes))
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

    def power(self, name: str) -> Power:
        node = self.node(name)
        if cgroups.freeze_state(node.cgroup) in ("FROZEN", "FREEZING"):
            return "suspended"
        if not network.cable_plugged(node):
            return "halted"
        return "running"

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

    # -- power ----------------------------------------------------------------------------
    def halt(self, name: str) -> str:
        node = self.node(name)
        if self.power(name) == "halted":
            return f"{name} is already halted; nothing done"
        network.set_cable(node, plugged=False)
        killed = cgroups.kill_all(node.cgroup)
        cgroups.remove_children(node.cgroup)
        node.socket.unlink(missing_ok=True)
        return f"{name} halted: cable pulled, {killed} processes killed (no goodbye to the swarm)"

    def start(self, name: str) -> str:
        node = self.node(name)
        power = self.power(name)
        if power == "suspended":
            raise UsageError(f"{name} is suspended: resume it with `chaos lab resume {name}`")
        if power == "running" and engines.alive(node):
            return f"{name} is already running; nothing done"
        if power == "halted":
            network.flush_conntrack(node.netns)  # a machine boots with an empty table
        network.set_cable(node, plugged=True)
        engines.start(node)
        engines.wait_ready(node)
        return f"{name} started: cable plugged, engine up ({node.docker_host})"

    def suspend(self, name: str) -> str:
        node = self.node(name)
        power = self.power(name)
        if power == "suspended":
            return f"{name} is already suspended; nothing done"
        if power == "halted":
            raise NodeHaltedError(f"{name} is halted: start it with `chaos lab start {name}`")
        cgroups.set_frozen(node.cgroup, True)
        return f"{name} suspended: every process of the node frozen"

    def resume(self, name: str) -> str:
        node = self.node(name)
        if self.power(name) != "suspended":
            return f"{name} is not suspended; nothing done"
        cgroups.set_frozen(node.cgroup, False)
        return f"{name} resumed"

    def stop_engine(self, name: str) -> str:
        node = self.node(name)
        power = self.power(name)
        if power != "running":
            raise NodeHaltedError(f"{name} is {power}: its engine cannot be stopped")
        if not engines.stop(node):
            return f"the engine of {name} is already stopped; nothing done"
        return f"the engine of {name} stopped gracefully (SIGTERM)"

    def isolate(self, name: str) -> str:
        """Cut the node off the swarm (its swarm ports blocked both ways); it keeps running."""
        node = self.node(name)
        power = self.power(name)
        if power != "running":
            raise NodeHaltedError(f"{name} is {power}: only a running node can be isolated")
        if network.is_isolated(node):
            return f"{name} is already isolated; nothing done"
        network.set_isolated(node, True)
        return isolation.describe(name, isolated=True)

    def reconnect(self, name: str) -> str:
        """Undo :meth:`isolate` (whatever the node's power: the rules live in its namespace)."""
        node = self.node(name)
        if not network.is_isolated(node):
            return f"{name} is already connected; nothing done"
        network.set_isolated(node, False)
        return isolation.describe(name, isolated=False)

    def isolated(self, name: str) -> bool:
        return network.is_isolated(self.node(name))

    # -- status ---------------------------------------------------------------------------
    def status(self) -> LabStatus:
        try:
            views = {v.hostname: v for v in self.swarm_nodes()}
        except ChaosError:
            views = {}
        rows = []
        for node in self.nodes:
            power = self.power(node.name)
            view = views.get(node.name)
            rows.append(
                NodeStatus(
                    name=node.name,
                    ip=node.ip,
                    docker_host=node.docker_host,
                    power=power,
                    engine="running" if engines.alive(node) else "stopped",
                    role=view.role if view else "",
                    manager_status=view.manager_status if view else "",
                    status=view.state if view else "",
                    availability=view.availability if view else "",
                    network="isolated" if network.is_isolated(node) else "connected",
                )
            )
        leader = next((v.hostname for v in views.values() if v.leader), None)
        detail: Mapping[str, Any] = {}
        if self.state.mesh == "emulated":
            try:
                detail = json.loads(lab_state.MESH_STATUS_FILE.read_text())
            except (OSError, ValueError):
                detail = {"error": "mesh supervisor has written no status"}
            detail = {**detail, "supervisor": "running" if self.meshd_alive() else "stopped"}
        return LabStatus(tuple(rows), self.state.mesh, self.config.subnet, leader, detail)

    # -- services -------------------------------------------------------------------------
    def publish(
        self, published: int = WEB_PORT, target: int = WEB_PORT
    ) -> tuple[tuple[PortRequest, ...], dict[str, str]]:
        """Ports and labels that publish ``target`` as ``published`` on every node IP."""
        return publish_ports(self.state.mesh, published, target)

    def deploy_web(
        self,
        *,
        name: str = "web",
        image: str = "chaoslab/web:1",
        replicas: int = 2,
        published: int = WEB_PORT,
        timeout: float = 60.0,
    ) -> list[str]:
        """Replace service ``name`` with a fresh one and wait until every node IP answers."""
        if not image.startswith(images.REPOSITORY + ":"):
            known = ", ".join(i.ref for i in images.IMAGES)
            raise UsageError(
                f"image {image!r} is not in the lab (no registry here); use one of {known}"
            )
        if replicas < 1:
            raise UsageError("--replicas must be at least 1")
        engine = self.manager_engines()[0]
        removed = engine.remove_service(name)
        ports, labels = self.publish(published, WEB_PORT)
        started = time.monotonic()
        engine.create_service(
            ServiceRequest(name=name, image=image, replicas=replicas, ports=ports, labels=labels)
        )
        urls = [f"http://{n.ip}:{published}/" for n in self.nodes]
        bodies = wait_http(urls, timeout=timeout, netns=CLIENT_NETNS)
        took = time.monotonic() - started
        lines = [f"removed the old service {name}"] if removed else []
        lines.append(
            f"service {name}: {replicas} x {image}, answering on every node IP in {took:.1f}s"
        )
        lines += [f"  {url} -> {body.strip()}" for url, body in bodies.items()]
        return lines

    def docker_cli(self, name: str, args: Sequence[str]) -> int:
        """Run the docker CLI against one node, like ``vagrant ssh node -c 'docker …'``."""
        node = self.node(name)
        self.engine(name)  # refuses halted / suspended nodes with a clear message
        docker = shutil.which(
            "docker", path="/usr/bin:/usr/local/bin:" + os.environ.get("PATH", "")
        )
        if docker is None:
            raise PlatformError("the docker CLI is not installed: apt-get install docker.io")
        env = {**os.environ, "DOCKER_HOST": node.docker_host}
        env.pop("DOCKER_CONTEXT", None)
        return subprocess.run([docker, *args], env=env, check=False).returncode
