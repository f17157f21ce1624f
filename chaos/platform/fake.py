"""The ``fake`` platform: a swarm in memory, beside the real drivers (as httpx keeps a mock
transport beside its real ones), for fast tests of everything above the platform interface
without root, engines or VMs.

What it keeps of swarm is what the runner, the observer, the steps and the restore look at,
on a compressed clock: a raft leader among the managers, elected ``election_s`` after the
leader is lost while a majority of managers is up; a node silent for ``down_s`` marked
``down`` and its tasks replaced on the Ready, active nodes that match the service's
constraints; rolling updates that finish after ``update_s`` (a ``chaoslab/web:bad`` image
fails them: paused, or rolled back); drain, roles, labels, leave and join. Each node's IP is a
loopback address (``127.X.Y.11``..., a /24 of its own per instance) with a real HTTP server
per published port, answering like the lab's images (``version=N host=TASK``) from any
running task, as a routing mesh would: a halted node refuses, a suspended one accepts and
never answers, a node cut off serves only its own tasks. The manager API fails without
quorum, as swarm's does.

One instance lives in one process: tests make one, ``install()`` it, and ``chaos.platform.
get_platform("fake")`` returns it.
"""

from __future__ import annotations

import itertools
import random
import re
import socket
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from chaos.errors import EngineError, NodeHaltedError, NodeNotFoundError, NotFoundError, UsageError
from chaos.platform.base import Power
from chaos.platform.degrade import Degradation
from chaos.swarm.model import (
    ContainerView,
    NodeView,
    PortRequest,
    PortView,
    ServiceChange,
    ServiceRequest,
    ServiceView,
    TaskView,
)

NO_LEADER = (
    "rpc error: code = Unknown desc = The swarm does not have a leader. It's possible that too "
    "few managers are online. Make sure more than half of the managers are online."
)
IMAGES = frozenset({"chaoslab/web:1", "chaoslab/web:2", "chaoslab/web:bad"})
BAD_IMAGE = "chaoslab/web:bad"
TICK_S = 0.05
_INSTALLED: list[FakePlatform] = []


@dataclass
class _Node:
    name: str
    ip: str
    id: str
    role: str = "manager"
    power: Power = "running"
    engine: bool = True
    isolated: bool = False
    in_swarm: bool = True
    availability: str = "active"
    labels: dict[str, str] = field(default_factory=dict)
    state: str = "ready"
    silent_since: float | None = None

    @property
    def heard(self) -> bool:
        """The managers hear from it (its engine runs, it is on and not cut off)."""
        return self.power == "running" and self.engine and not self.isolated and self.in_swarm


@dataclass
class _Task:
    id: str
    service_id: str
    node: str
    slot: int
    image: str
    state: str = "running"
    desired: str = "running"


@dataclass
class _Service:
    id: str
    req: ServiceRequest
    image: str
    previous_image: str
    update_state: str = ""
    update_message: str = ""
    update_due: float = 0.0
    version: int = 1
    servers: list[_Server] = field(default_factory=list)


class _Server(ThreadingHTTPServer):
    """One node's published port: answers from a running task of the service, as the mesh
    routes a new connection."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, swarm: FakeSwarm, node: str, service: str, addr: tuple[str, int]) -> None:
        self.swarm, self.node, self.service = swarm, node, service
        super().__init__(addr, _Handler)
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.shutdown()
        self.server_close()


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.0"

    def do_GET(self) -> None:
        body = self.server.swarm.answer(self.server.node, self.server.service)
        if body is None:
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)  # nothing serves: a reset
            return
        data = body.encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class FakeSwarm:
    """The cluster's state and its clock; every change happens under one lock."""

    def __init__(
        self, nodes: int, *, election_s: float, down_s: float, update_s: float, restart_s: float
    ) -> None:
        self.lock = threading.RLock()
        self.election_s, self.down_s, self.update_s = election_s, down_s, update_s
        self.restart_s = restart_s  # a failed task's slot is filled again after this delay
        self.failed_at: dict[tuple[str, int], float] = {}
        # a loopback /24 of its own: fakes in other processes (parallel test runs) never
        # collide on an address and port
        net = f"127.{random.randrange(60, 250)}.{random.randrange(1, 250)}"
        self.nodes = {
            f"node-{i:03d}": _Node(f"node-{i:03d}", f"{net}.{10 + i}", f"fakenode{i:04d}")
            for i in range(1, nodes + 1)
        }
        self.leader: str | None = "node-001"
        self.lost_at: float | None = None
        self.services: dict[str, _Service] = {}
        self.tasks: list[_Task] = []
        self.calls: list[str] = []  # every platform action, in order (tests read it)
        self.killed: list[str] = []  # task containers killed
        self.stressed: dict[str, tuple[int, int]] = {}  # node -> (cpu, memory)
        self.degraded: dict[str, Degradation] = {}
        self._ids = itertools.count(1)
        self._rr = itertools.count()
        self._stop = threading.Event()
        self._ticker = threading.Thread(target=self._tick_loop, name="fake-swarm", daemon=True)
        self._ticker.start()

    def new_id(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids):06d}"

    # -- raft, membership, scheduling -----------------------------------------------------
    def managers(self) -> list[_Node]:
        return [n for n in self.nodes.values() if n.role == "manager"]

    def proxy_delay(self, node: str) -> float:
        """Seconds a control call on ``node`` waits on the network: a follower forwards it to
        the leader and back, and each delayed end (its swarm traffic degraded) delays the
        packet each way, as the lab's delayer does (a round trip pays its delay twice)."""
        if self.leader is None or node == self.leader:
            return 0.0
        ends = (self.degraded.get(node), self.degraded.get(self.leader))
        return sum(2 * d.delay_s for d in ends if d is not None and d.traffic == "swarm")

    def quorum(self) -> bool:
        managers = self.managers()
        return sum(n.heard for n in managers) > len(managers) / 2

    def lose_leader(self, name: str) -> None:
        if self.leader == name:
            self.leader = None
            self.lost_at = time.monotonic()

    def _tick_loop(self) -> None:
        while not self._stop.wait(TICK_S):
            with self.lock:
                self.tick(time.monotonic())

    def tick(self, now: float) -> None:
        for node in self.nodes.values():
            if node.heard:
                node.silent_since = None
                if node.state != "ready" and self.leader is not None:
                    node.state = "ready"
            elif node.silent_since is None:
                node.silent_since = now
            elif (
                now - node.silent_since >= self.down_s
                and self.leader is not None
                and node.state != "down"
            ):
                node.state = "down"
                self._reschedule(node.name)
        if self.leader is None and self.quorum():
            lost = self.lost_at if self.lost_at is not None else now
            if now - lost >= self.election_s:
                self.leader = next(n.name for n in self.managers() if n.heard)
                self.lost_at = None
        elif self.leader is None:
            self.lost_at = self.lost_at or now
        for svc in self.services.values():
            if svc.update_state == "updating" and now >= svc.update_due:
                self._finish_update(svc)
        self._converge()

    def _eligible(self, req: ServiceRequest) -> list[_Node]:
        out = []
        for n in sorted(self.nodes.values(), key=lambda n: n.name):
            if n.state != "ready" or n.availability != "active" or not n.in_swarm:
                continue
            if all(_matches(c, n) for c in req.constraints):
                out.append(n)
        return out

    def _running(self, svc: _Service) -> list[_Task]:
        return [t for t in self.tasks if t.service_id == svc.id and t.desired == "running"]

    def _place(self, svc: _Service, slot: int, exclude: str | None = None) -> None:
        nodes = [n for n in self._eligible(svc.req) if n.name != exclude]
        if not nodes:
            return  # pending: no node to run it on
        counts = {n.name: sum(t.node == n.name for t in self._running(svc)) for n in nodes}
        node = min(nodes, key=lambda n: (counts[n.name], n.name))
        state = "failed" if svc.image == BAD_IMAGE else "running"
        self.tasks.append(_Task(self.new_id("task"), svc.id, node.name, slot, svc.image, state))

    def _converge(self) -> None:
        if self.leader is None:
            return  # no scheduling without a leader
        for svc in self.services.values():
            running = self._running(svc)
            if svc.req.replicas is None:  # global: one per eligible node
                have = {t.node for t in running}
                for n in self._eligible(svc.req):
                    if n.name not in have:
                        self.tasks.append(_Task(self.new_id("task"), svc.id, n.name, 0, svc.image))
                continue
            slots = {t.slot for t in running}
            now = time.monotonic()
            for slot in range(1, svc.req.replicas + 1):
                failed = self.failed_at.get((svc.id, slot))
                if slot not in slots and (failed is None or now - failed >= self.restart_s):
                    self._place(svc, slot)
            for t in running:
                if t.slot > svc.req.replicas:
                    t.desired, t.state = "shutdown", "shutdown"

    def _reschedule(self, node: str) -> None:
        for t in self.tasks:
            if t.node == node and t.desired == "running":
                t.desired, t.state = "shutdown", "orphaned"

    def _finish_update(self, svc: _Service) -> None:
        if svc.image == BAD_IMAGE:
            if svc.req.update.failure_action == "rollback":
                svc.image = svc.previous_image
                svc.update_state = "rollback_completed"
            else:
                svc.update_state = "paused"
                svc.update_message = "update paused due to failure or early termination of task"
                return
        else:
            svc.update_state = "completed"
        for t in self._running(svc):
            if t.image != svc.image:
                t.desired, t.state = "shutdown", "shutdown"
        self._converge()

    # -- what a node's published port answers ---------------------------------------------
    def answer(self, node: str, service: str) -> str | None:
        with self.lock:
            here = self.nodes[node]
            svc = self.services.get(service)
            if svc is None:
                return None
            serving = [
                t
                for t in self.tasks
                if t.service_id == svc.id
                and t.state == "running"
                and self.nodes[t.node].power == "running"
                and self.nodes[t.node].engine
                and (not here.isolated or t.node == node)
                and (not self.nodes[t.node].isolated or t.node == node)
            ]
            if not serving:
                return None
            task = serving[next(self._rr) % len(serving)]
            return f"version={task.image.rsplit(':', 1)[-1]} host={task.id[:12]}\n"

    def open_ports(self, svc: _Service) -> None:
        for node in self.nodes.values():
            if node.power == "running" and node.engine:
                for port in svc.req.ports:
                    svc.servers.append(
                        _Server(self, node.name, svc.req.name, (node.ip, _published(port)))
                    )

    def close_ports(self, svc: _Service, node: str | None = None) -> None:
        keep = []
        for server in svc.servers:
            if node is None or server.node == node:
                server.stop()
            else:
                keep.append(server)
        svc.servers = keep

    def node_down(self, name: str) -> None:
        """The node's published ports are gone (power off, engine stopped)."""
        for svc in self.services.values():
            self.close_ports(svc, name)

    def node_up(self, name: str) -> None:
        node = self.nodes[name]
        for svc in self.services.values():
            if not any(s.node == name for s in svc.servers):
                for port in svc.req.ports:
                    svc.servers.append(
                        _Server(self, name, svc.req.name, (node.ip, _published(port)))
                    )

    def close(self) -> None:
        self._stop.set()
        self._ticker.join(timeout=2)
        for svc in self.services.values():
            self.close_ports(svc)


def _published(port: PortRequest) -> int:
    return port.published if port.published is not None else port.target


def _matches(constraint: str, node: _Node) -> bool:
    m = re.match(r"^\s*(node|engine)\.([\w.-]+)\s*(==|!=)\s*(\S+)\s*$", constraint)
    if m is None:
        return True
    _, key, op, value = m.groups()
    if key == "hostname":
        have: str | None = node.name
    elif key == "role":
        have = node.role
    elif key.startswith("labels."):
        have = node.labels.get(key.removeprefix("labels."))
    else:
        return True
    return (have == value) == (op == "==")


class FakeEngine:
    """One node's engine client (the methods of :class:`chaos.swarm.engine.DockerEngine`
    that the tool uses)."""

    def __init__(self, swarm: FakeSwarm, node: str, name: str = "") -> None:
        self.swarm, self.node, self.name = swarm, node, name or node

    def __enter__(self) -> FakeEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def close(self) -> None:
        return None

    def _alive(self) -> _Node:
        node = self.swarm.nodes[self.node]
        if node.power != "running" or not node.engine:
            raise EngineError(f"{self.node}: engine unreachable (connection refused)")
        return node

    def _manager(self) -> _Node:
        node = self._alive()
        if node.role != "manager" or not node.in_swarm:
            raise EngineError(f"{self.node}: This node is not a swarm manager.")
        if node.isolated or self.swarm.leader is None or not self.swarm.quorum():
            raise EngineError(f"{self.node}: {NO_LEADER}")
        return node

    # -- engine ---------------------------------------------------------------------------
    def ping(self, timeout: float = 2.0) -> bool:
        try:
            self._alive()
        except EngineError:
            return False
        return True

    def info(self) -> Mapping[str, Any]:
        node = self._alive()
        return {"Swarm": {"LocalNodeState": "active" if node.in_swarm else "inactive"}}

    def server_version(self) -> str:
        self._alive()
        return "20.10.24-fake"

    def has_image(self, ref: str) -> bool:
        self._alive()
        return ref in IMAGES

    def swarm_member(self) -> bool:
        return bool(self.info()["Swarm"]["LocalNodeState"] == "active")

    def swarm_leave(self, force: bool = True) -> None:
        with self.swarm.lock:
            node = self._alive()
            node.in_swarm = False
            self.swarm.lose_leader(node.name)

    def swarm_join(self, remote: str, token: str, advertise_addr: str) -> None:
        with self.swarm.lock:
            node = self._alive()
            node.in_swarm, node.state = True, "ready"
            node.role = "manager" if token == "manager-token" else "worker"
            node.id = self.swarm.new_id("fakenode")

    def join_tokens(self) -> tuple[str, str]:
        self._manager()
        return "worker-token", "manager-token"

    # -- reads ----------------------------------------------------------------------------
    def nodes(self) -> list[NodeView]:
        with self.swarm.lock:
            self._manager()
            wait = self.swarm.proxy_delay(self.node)
        time.sleep(wait)
        with self.swarm.lock:
            self._manager()
            return [self._view(n) for n in self.swarm.nodes.values()]

    def _view(self, n: _Node) -> NodeView:
        reach = ("reachable" if n.heard else "unreachable") if n.role == "manager" else ""
        return NodeView(
            id=n.id, hostname=n.name, addr=n.ip, role=n.role, state=n.state,
            availability=n.availability, leader=self.swarm.leader == n.name,
            reachability=reach, engine_version="20.10.24-fake", labels=dict(n.labels),
        )  # fmt: skip

    def services(self) -> list[ServiceView]:
        with self.swarm.lock:
            self._manager()
            return [self._service_view(s) for s in self.swarm.services.values()]

    def service(self, name: str) -> ServiceView:
        with self.swarm.lock:
            self._manager()
            return self._service_view(self._get(name))

    def _get(self, name: str) -> _Service:
        svc = self.swarm.services.get(name)
        if svc is None:
            raise NotFoundError(f"service inspect {name} on {self.node}: not found")
        return svc

    def _service_view(self, s: _Service) -> ServiceView:
        mode = "global" if s.req.replicas is None else "replicated"
        return ServiceView(
            id=s.id, name=s.req.name, image=s.image, mode=mode, replicas=s.req.replicas,
            labels=dict(s.req.labels), update_state=s.update_state,
            update_message=s.update_message, version=s.version,
        )  # fmt: skip

    def tasks(self, service: str | None = None) -> list[TaskView]:
        with self.swarm.lock:
            self._manager()
            ids = {s.id: s for s in self.swarm.services.values()}
            if service is not None:
                ids = {self._get(service).id: self._get(service)}
            by_name = self.swarm.nodes
            return [self._task_view(t, by_name[t.node].id) for t in self.swarm.tasks
                    if t.service_id in ids]  # fmt: skip

    def _task_view(self, t: _Task, node_id: str) -> TaskView:
        failed = "task: non-zero exit (1)" if t.state == "failed" else ""
        return TaskView(
            id=t.id, service_id=t.service_id, node_id=node_id, slot=t.slot, state=t.state,
            desired_state=t.desired, image=t.image, ports=(), message="", error=failed,
            timestamp="",
        )  # fmt: skip

    def task_containers(self) -> list[ContainerView]:
        with self.swarm.lock:
            self._alive()
            out = []
            for t in self.swarm.tasks:
                if t.node != self.node or t.state != "running":
                    continue
                svc = next(s for s in self.swarm.services.values() if s.id == t.service_id)
                ports = tuple(PortView(p.target, _published(p), "host") for p in svc.req.ports)
                out.append(ContainerView(t.id, t.service_id, t.id, "running", "", ports))
            return out

    def _kill(self, container_id: str) -> None:
        with self.swarm.lock:
            self._alive()
            task = next((t for t in self.swarm.tasks if t.id == container_id), None)
            if task is None or task.node != self.node:
                raise NotFoundError(f"kill {container_id[:12]} on {self.node}: not found")
            task.state, task.desired = "failed", "shutdown"
            self.swarm.killed.append(container_id)
            self.swarm.failed_at[(task.service_id, task.slot)] = time.monotonic()

    def kill_container(self, container_id: str) -> int:
        self._kill(container_id)
        return 137  # 128 + SIGKILL

    def stop_container(self, container_id: str, grace: float) -> int:
        self._kill(container_id)
        return 0  # the fake's servers stop on SIGTERM at once, as the lab's web image does

    # -- changes --------------------------------------------------------------------------
    def create_service(self, req: ServiceRequest) -> str:
        with self.swarm.lock:
            self._manager()
            if req.name in self.swarm.services:
                raise EngineError(
                    f"service create {req.name}: name conflicts with an existing object"
                )
            if req.image not in IMAGES:
                raise EngineError(f"service create {req.name}: no such image {req.image}")
            svc = _Service(self.swarm.new_id("svc"), req, req.image, req.image)
            self.swarm.services[req.name] = svc
            self.swarm.open_ports(svc)
            self.swarm._converge()
            return svc.id

    def remove_service(self, name: str) -> bool:
        with self.swarm.lock:
            self._manager()
            svc = self.swarm.services.pop(name, None)
            if svc is None:
                return False
            self.swarm.close_ports(svc)
            self.swarm.tasks = [t for t in self.swarm.tasks if t.service_id != svc.id]
            return True

    def update_service(self, name: str, change: ServiceChange) -> None:
        with self.swarm.lock:
            self._manager()
            svc = self._get(name)
            if change.image is not None and change.image != svc.image:
                svc.previous_image, svc.image = svc.image, change.image
            svc.update_state, svc.update_message = "updating", ""
            svc.update_due = time.monotonic() + self.swarm.update_s
            svc.version += 1

    def scale_service(self, name: str, replicas: int) -> None:
        with self.swarm.lock:
            self._manager()
            svc = self._get(name)
            if svc.req.replicas is None:
                raise UsageError(f"scale needs a replicated service ({name} is global)")
            svc.req = _replace(svc.req, replicas=replicas)
            self.swarm._converge()

    def rollback_service(self, name: str) -> None:
        with self.swarm.lock:
            self._manager()
            svc = self._get(name)
            svc.image, svc.update_state = svc.previous_image, "rollback_completed"
            self.swarm._finish_update(svc)

    def _node_by_id(self, node_id: str) -> _Node:
        for n in self.swarm.nodes.values():
            if n.id == node_id:
                return n
        raise NotFoundError(f"node {node_id}: not found")

    def set_availability(self, node_id: str, availability: str) -> None:
        with self.swarm.lock:
            self._manager()
            node = self._node_by_id(node_id)
            node.availability = availability
            if availability == "drain":
                self.swarm._reschedule(node.name)
            self.swarm._converge()

    def set_role(self, node_id: str, role: str) -> None:
        with self.swarm.lock:
            self._manager()
            node = self._node_by_id(node_id)
            node.role = role
            if role == "worker" and self.swarm.leader == node.name:
                # demotion hands leadership over at once (raft TransferLeadership)
                others = [n for n in self.swarm.managers() if n.heard]
                self.swarm.leader = others[0].name if others else None

    def set_label(self, node_id: str, key: str, value: str | None) -> None:
        with self.swarm.lock:
            self._manager()
            labels = self._node_by_id(node_id).labels
            if value is None:
                labels.pop(key, None)
            else:
                labels[key] = value

    def remove_node(self, node_id: str) -> None:
        with self.swarm.lock:
            self._manager()
            node = self._node_by_id(node_id)
            node.id = self.swarm.new_id("gone")


def _replace(req: ServiceRequest, **changes: Any) -> ServiceRequest:
    from dataclasses import replace

    return replace(req, **changes)


class FakePlatform:
    """The platform interface over a :class:`FakeSwarm` (see the module docstring)."""

    name = "fake"

    def __init__(
        self,
        nodes: int = 3,
        *,
        election_s: float = 1.0,
        down_s: float = 2.0,
        update_s: float = 1.0,
        restart_s: float = 0.5,
        action_s: float = 0.0,
    ) -> None:
        self.swarm = FakeSwarm(
            nodes, election_s=election_s, down_s=down_s, update_s=update_s, restart_s=restart_s
        )
        self.action_s = action_s  # how long each power action takes (a slow VM)
        self.gone = False  # the cluster's network vanished (present() is False)
        self.unsupported: set[str] = set()  # capabilities it says it lacks
        self.broken: set[str] = set()  # actions that fail when performed
        # called at the start of each power action (tests: a signal at a known moment)
        self.on_action: Callable[[str, str], None] | None = None

    # -- set-up for tests -----------------------------------------------------------------
    def install(self) -> FakePlatform:
        _INSTALLED[:] = [self]
        return self

    def close(self) -> None:
        self.swarm.close()
        if _INSTALLED and _INSTALLED[0] is self:
            _INSTALLED.clear()

    # -- the interface --------------------------------------------------------------------
    @property
    def speedup(self) -> float:
        """Its clock against a real swarm's: an election in ``election_s`` (1 s by default)
        where raft takes 10-19 s; counted as 4, so a calm window stays a few beats long."""
        return 4.0

    @property
    def mesh(self) -> str:
        return "ingress"

    @property
    def client_netns(self) -> str | None:
        return None  # loopback addresses: this namespace's own

    @property
    def pulls_images(self) -> bool:
        return False

    def present(self) -> bool:
        return not self.gone

    def node_names(self) -> list[str]:
        return sorted(self.swarm.nodes)

    def _node(self, node: str) -> _Node:
        try:
            return self.swarm.nodes[node]
        except KeyError:
            raise NodeNotFoundError(f"no node named {node!r}") from None

    def node_ip(self, node: str) -> str:
        return self._node(node).ip

    def power(self, node: str) -> Power:
        return self._node(node).power

    def engine_up(self, node: str) -> bool:
        n = self._node(node)
        return n.power == "running" and n.engine

    def supports(self, action: str) -> bool:
        return action not in self.unsupported

    def _act(self, what: str, node: str) -> _Node:
        n = self._node(node)
        if self.on_action is not None:
            self.on_action(what, node)
        if what in self.broken:
            raise EngineError(f"{what} {node} failed (the fake was told to fail it)")
        self.swarm.calls.append(f"{what} {node}")
        if self.action_s:
            time.sleep(self.action_s)
        return n

    def halt(self, node: str) -> str:
        n = self._act("halt", node)  # outside the lock: a slow action stalls nothing else
        with self.swarm.lock:
            n.power, n.engine = "halted", False
            self.swarm.lose_leader(node)
            self.swarm.node_down(node)
        return f"{node} halted"

    def shutdown(self, node: str) -> str:
        """As a halt: the fake's swarm tells no goodbye from a power cut either."""
        n = self._act("shutdown", node)
        with self.swarm.lock:
            n.power, n.engine = "halted", False
            self.swarm.lose_leader(node)
            self.swarm.node_down(node)
        return f"{node} shut down"

    def start(self, node: str) -> str:
        n = self._act("start", node)  # outside the lock: a slow action stalls nothing else
        with self.swarm.lock:
            if n.power == "suspended":
                raise UsageError(f"{node} is suspended: resume it")
            n.power, n.engine = "running", True
            self.swarm.node_up(node)
        return f"{node} started"

    def suspend(self, node: str) -> str:
        n = self._act("suspend", node)  # outside the lock: a slow action stalls nothing else
        with self.swarm.lock:
            n.power = "suspended"
            self.swarm.lose_leader(node)
        return f"{node} suspended"

    def resume(self, node: str) -> str:
        n = self._act("resume", node)  # outside the lock: a slow action stalls nothing else
        with self.swarm.lock:
            if n.power == "suspended":
                n.power = "running"
        return f"{node} resumed"

    def stop_engine(self, node: str) -> str:
        n = self._act("stop_engine", node)  # outside the lock: a slow action stalls nothing else
        with self.swarm.lock:
            n.engine = False
            self.swarm.lose_leader(node)
            self.swarm.node_down(node)
        return f"the engine of {node} stopped"

    def isolate(self, node: str) -> str:
        if self._node(node).isolated:
            return f"{node} is already isolated; nothing done"
        n = self._act("isolate", node)  # outside the lock: a slow action stalls nothing else
        with self.swarm.lock:
            n.isolated = True
            self.swarm.lose_leader(node)
        return f"{node} isolated"

    def reconnect(self, node: str) -> str:
        if not self._node(node).isolated:
            return f"{node} is already connected; nothing done"
        n = self._act("reconnect", node)  # outside the lock: a slow action stalls nothing else
        with self.swarm.lock:
            n.isolated = False
        return f"{node} reconnected"

    def isolated(self, node: str) -> bool:
        return self._node(node).isolated

    def stress(self, node: str, cpu: int, memory: int) -> str:
        self._act("stress", node)
        self.swarm.stressed[node] = (cpu, memory)
        return f"{node} stressed: {cpu} CPU loops, {memory} bytes"

    def unstress(self, node: str) -> str:
        self._act("unstress", node)
        return f"{node}: stress stopped" if self.swarm.stressed.pop(node, None) else (
            f"{node} is not stressed; nothing done"
        )  # fmt: skip

    def degrade(self, node: str, degradation: Degradation) -> str:
        self._act("degrade", node)
        self.swarm.degraded[node] = degradation
        return f"{node} degraded: {degradation.describe()}"

    def undegrade(self, node: str) -> str:
        self._act("undegrade", node)
        return f"{node}: network no longer degraded" if self.swarm.degraded.pop(node, None) else (
            f"{node} is not degraded; nothing done"
        )  # fmt: skip

    def engine(self, node: str, *, timeout: float = 10.0) -> FakeEngine:
        n = self._node(node)
        if n.power != "running":
            raise NodeHaltedError(f"{node} is {n.power}")
        return FakeEngine(self.swarm, node)

    def docker_host(self, node: str) -> str:
        return f"fake://{node}"

    def publish(
        self, published: int, target: int
    ) -> tuple[tuple[PortRequest, ...], dict[str, str]]:
        return (PortRequest(target, published, "ingress"),), {}

    def environment(self) -> dict[str, str]:
        return {"platform": self.name, "mesh": self.mesh, "kernel": "fake"}


def installed() -> FakePlatform:
    if not _INSTALLED:
        raise UsageError(
            "the fake platform lives inside one process: make one with "
            "chaos.platform.fake.FakePlatform().install() (tests), not from the command line"
        )
    return _INSTALLED[0]
