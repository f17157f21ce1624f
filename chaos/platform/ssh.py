"""The ``ssh`` platform: an existing swarm, described by an inventory file, reached over SSH.

Nothing is installed on the nodes. Faults are what such a cluster allows:

    stop_engine  ``commands.engine_stop`` on the node over ssh (default sudo systemctl stop docker)
    start        ``commands.engine_start`` on the node, or ``commands.power_on`` here if the
                 node is powered off
    halt         ``commands.power_off`` run on this host (IPMI, a cloud CLI, virsh…); without
                 it, ``halt`` is refused by ``chaos plan``
    suspend/resume  only with ``commands.suspend``/``commands.resume`` (run here)
    isolate      the node's swarm ports dropped silently both ways with iptables, on it and
                 on every other node (by its ``ip``), over ssh (root or ``sudo -n``);
                 ``reconnect`` removes the rules (:mod:`chaos.platform.isolation`)

Commands are templates: ``{node}``, ``{ip}`` and ``{ssh}`` are filled in per node. Power is
read from ``commands.power_status`` (prints running/halted/suspended) when given, else from
whether the node's SSH port accepts a connection. The inventory is validated up front (one
line, exit 2).
"""

from __future__ import annotations

import atexit
import contextlib
import platform as host_platform
import shlex
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import cast

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from chaos import netns as ns
from chaos.errors import NodeHaltedError, NodeNotFoundError, PlatformError, UsageError
from chaos.lab.mesh import publish_ports
from chaos.platform.base import Power
from chaos.platform.remote import ShellFaults
from chaos.platform.sshlink import Forwards, SshTarget, port_open, remote_socket
from chaos.swarm.engine import DockerEngine
from chaos.swarm.model import PortRequest
from chaos.units import Rate
from chaos.yamlfile import read_yaml

STATE_DIR = Path("/run/swarm-chaos/ssh")
POWER_TTL = 0.5  # seconds a node's power reading is kept (see SshPlatform.power)


class Commands(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    engine_stop: str = "sudo systemctl stop docker"
    engine_start: str = "sudo systemctl start docker"
    power_off: str | None = None
    shutdown: str | None = None  # a clean power-off (e.g. `virsh shutdown`), run here
    power_on: str | None = None
    power_status: str | None = None
    suspend: str | None = None
    resume: str | None = None


class NodeEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    ssh: str  # [user@]host[:port] or a Host alias of ssh_config
    docker_host: str = ""  # ssh://… (forwarded), unix://… or tcp://… (used as is)
    ip: str = ""  # the address load is sent to; default: the ssh host

    @field_validator("docker_host")
    @classmethod
    def _scheme(cls, v: str) -> str:
        if v and not v.startswith(("ssh://", "unix://", "tcp://")):
            raise ValueError("must start with ssh://, unix:// or tcp://")
        return v


class Inventory(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    ssh_config: Path | None = None
    # a network namespace to reach the nodes from (chaos.netns): e.g. the lab's client
    # namespace for sshds inside the lab, or the VMs' namespace; default: this host's own
    netns: str | None = None
    # whether the nodes can pull images from a registry; false: a run first checks that
    # every image it needs is on every node
    registry: bool = True
    mesh: str = "ingress"
    # what the nodes hold, for slow machines (emulated VMs, small boards): a run caps its
    # load rate there, and waits ``time_scale`` times longer than on the lab for set-up,
    # restore and wait_for steps (chaos.experiment.rate)
    max_rate: Rate | None = None
    time_scale: float = Field(default=1.0, ge=1.0, le=20.0)
    commands: Commands = Commands()
    nodes: list[NodeEntry]

    @field_validator("mesh")
    @classmethod
    def _mesh(cls, v: str) -> str:
        if v not in ("ingress", "emulated"):
            raise ValueError("must be ingress or emulated")
        return v

    @model_validator(mode="after")
    def _unique(self) -> Inventory:
        if not self.nodes:
            raise ValueError("nodes: at least one node")
        names = [n.name for n in self.nodes]
        if len(set(names)) != len(names):
            raise ValueError("nodes: names must be unique")
        return self


def _split_ssh(spec: str) -> tuple[str, str, int | None]:
    user, _, hostport = spec.rpartition("@")
    host, sep, port = hostport.partition(":")
    if not host or (sep and not port.isdigit()):
        raise UsageError(f"inventory: bad ssh target {spec!r}: use [user@]host[:port]")
    return user, host, int(port) if sep else None


def load_inventory(path: Path) -> Inventory:
    """Parse and validate an inventory file; UsageError (one line) on anything wrong."""
    try:
        raw = read_yaml(path)
    except UsageError as exc:
        raise UsageError(f"inventory: {exc}") from None
    try:
        inv = Inventory.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "(top)"
        raise UsageError(f"inventory {path}: {where}: {err['msg']}") from exc
    for node in inv.nodes:
        _split_ssh(node.ssh)
        if node.docker_host.startswith("ssh://"):
            _split_ssh(node.docker_host.removeprefix("ssh://"))
    if inv.ssh_config is not None and not inv.ssh_config.expanduser().is_file():
        raise UsageError(f"inventory {path}: ssh_config {inv.ssh_config} does not exist")
    return inv


class SshPlatform(ShellFaults):
    name = "ssh"

    def __init__(self, inventory: Inventory, source: Path, state_dir: Path = STATE_DIR) -> None:
        self.inventory = inventory
        self.source = source
        self.forwards = Forwards(state_dir / "forwards")
        self._nodes = {n.name: n for n in inventory.nodes}
        self._power: dict[str, tuple[float, Power]] = {}
        # Unlike the vagrant platform (whose forwards live from `lab up` to `lab down`), an
        # existing cluster has no "down": forwards end with the command that started them.
        atexit.register(self.close)

    @classmethod
    def connect(cls, inventory: Path | None, state_dir: Path = STATE_DIR) -> SshPlatform:
        if inventory is None:
            raise UsageError("--platform ssh needs --inventory FILE (see inventory.example.yaml)")
        return cls(load_inventory(inventory), inventory, state_dir)

    # -- plumbing -----------------------------------------------------------------------
    def _node(self, node: str) -> NodeEntry:
        try:
            return self._nodes[node]
        except KeyError:
            known = ", ".join(self._nodes)
            raise NodeNotFoundError(f"unknown node {node!r}: the inventory has {known}") from None

    def _config(self) -> Path | None:
        cfg = self.inventory.ssh_config
        return cfg.expanduser() if cfg is not None else None

    def _target(self, spec: str) -> SshTarget:
        user, host, port = _split_ssh(spec)
        return SshTarget(
            host=host, user=user, port=port, config=self._config(), netns=self.inventory.netns
        )

    def _fill(self, template: str, node: str) -> str:
        entry = self._node(node)
        return template.format(
            node=shlex.quote(node), ip=shlex.quote(self.node_ip(node)), ssh=shlex.quote(entry.ssh)
        )

    def _local(self, what: str, node: str, *, timeout: float = 120.0) -> str:
        template = cast(str | None, getattr(self.inventory.commands, what))
        if template is None:
            raise PlatformError(f"the inventory has no commands.{what}: cannot {what} {node}")
        command = self._fill(template, node)
        try:
            done = subprocess.run(
                command, check=False, shell=True, capture_output=True, text=True, timeout=timeout
            )
        except subprocess.TimeoutExpired as exc:
            raise PlatformError(f"commands.{what} for {node} timed out") from exc
        if done.returncode != 0:
            err = (done.stderr.strip().splitlines() or [f"exit {done.returncode}"])[-1]
            raise PlatformError(f"commands.{what} for {node} failed: {err}")
        return done.stdout

    def _remote(self, node: str, template: str, *, timeout: float = 60.0) -> str:
        return self._target(self._node(node).ssh).run(self._fill(template, node), timeout=timeout)

    def run_on_node(self, node: str, command: str) -> str:
        """A command on the node over ssh (``chaos doctor``'s probes)."""
        return self._target(self._node(node).ssh).run(command, timeout=15.0)

    # -- facts --------------------------------------------------------------------------
    @property
    def max_rate(self) -> float | None:
        """The inventory's ``max_rate``: what its nodes hold (None: no known limit)."""
        return self.inventory.max_rate

    @property
    def time_scale(self) -> float:
        """The inventory's ``time_scale``: how much longer than the lab its nodes take."""
        return self.inventory.time_scale

    @property
    def mesh(self) -> str:
        return self.inventory.mesh

    @property
    def client_netns(self) -> str | None:
        return self.inventory.netns

    @property
    def pulls_images(self) -> bool:
        return self.inventory.registry

    def present(self) -> bool:
        return self.inventory.netns is None or ns.exists(self.inventory.netns)

    def node_names(self) -> list[str]:
        return list(self._nodes)

    def node_ip(self, node: str) -> str:
        entry = self._node(node)
        return entry.ip or _split_ssh(entry.ssh)[1]

    def power(self, node: str) -> Power:
        """The inventory's ``power_status``, else whether the node's ssh port answers; kept
        for ``POWER_TTL`` seconds (a run's observer asks every node ten times a second, and
        each answer costs a command or a connect here)."""
        now = time.monotonic()
        cached = self._power.get(node)
        if cached is not None and now - cached[0] < POWER_TTL:
            return cached[1]
        power = self._read_power(node)
        self._power[node] = (time.monotonic(), power)
        return power

    def _read_power(self, node: str) -> Power:
        if self.inventory.commands.power_status is not None:
            out = self._local("power_status", node, timeout=15.0).strip()
            if out not in ("running", "halted", "suspended"):
                raise PlatformError(
                    f"commands.power_status for {node} printed {out!r}: "
                    "expected running, halted or suspended"
                )
            return cast(Power, out)
        _, host, port = _split_ssh(self._node(node).ssh)
        return "running" if port_open(host, port or 22, netns=self.inventory.netns) else "halted"

    def engine_up(self, node: str) -> bool:
        if self.power(node) != "running":
            return False
        try:
            url = self.docker_host(node)
        except PlatformError:
            return False
        return DockerEngine(url, name=node).ping(timeout=2.0)

    def supports(self, action: str) -> bool:
        c = self.inventory.commands
        return {
            "stop_engine": True,
            "isolate": True,  # iptables on the node (root or passwordless sudo)
            "reconnect": True,
            "start": True,
            "halt": c.power_off is not None and c.power_on is not None,
            "shutdown": c.shutdown is not None and c.power_on is not None,
            "suspend": c.suspend is not None and c.resume is not None,
            "resume": c.resume is not None,
            "stress": True,  # shell loops over ssh
            "unstress": True,
            "degrade": True,  # iptables loss over ssh (root or passwordless sudo)
            "undegrade": True,
            "delay": True,  # netem (tc, ifb) on the node's swarm interface
        }.get(action, False)

    # -- faults -------------------------------------------------------------------------
    def halt(self, node: str) -> str:
        self._local("power_off", node)
        self._power.pop(node, None)  # changed by us: read it anew
        self.forwards.close(node)
        return f"{node} powered off: commands.power_off"

    def shutdown(self, node: str) -> str:
        self._local("shutdown", node, timeout=600.0)
        self._power.pop(node, None)  # changed by us: read it anew
        self.forwards.close(node)
        return f"{node} shut down: commands.shutdown"

    def start(self, node: str) -> str:
        self._power.pop(node, None)  # the tool changes it: read it anew
        if self.power(node) == "halted":
            if self.inventory.commands.power_on is None:
                raise PlatformError(f"{node} is unreachable and the inventory has no power_on")
            self._local("power_on", node)
            self._power.pop(node, None)
            return f"{node} powered on: commands.power_on"
        self._remote(node, self.inventory.commands.engine_start)
        self.forwards.close(node)
        return f"{node}: engine started (commands.engine_start)"

    def suspend(self, node: str) -> str:
        self._local("suspend", node)
        self._power.pop(node, None)  # changed by us: read it anew
        return f"{node} suspended: commands.suspend"

    def resume(self, node: str) -> str:
        self._local("resume", node)
        self._power.pop(node, None)  # changed by us: read it anew
        return f"{node} resumed: commands.resume"

    def stop_engine(self, node: str) -> str:
        self._remote(node, self.inventory.commands.engine_stop)
        self.forwards.close(node)
        return f"{node}: engine stopped (commands.engine_stop)"

    def _sh(self, node: str) -> Callable[[str], str]:
        target = self._target(self._node(node).ssh)
        return lambda script: target.run(script, timeout=60.0)

    # -- engines ------------------------------------------------------------------------
    def docker_host(self, node: str) -> str:
        """The inventory's docker host; ``ssh://`` ones as a local socket forwarded over ssh."""
        entry = self._node(node)
        url = entry.docker_host or f"ssh://{entry.ssh}"
        if not url.startswith("ssh://"):
            return url
        if self.forwards.alive(node):
            return self.forwards.url(node)
        target = self._target(url.removeprefix("ssh://"))
        return self.forwards.ensure(node, target, remote_socket(target))

    def engine(self, node: str, *, timeout: float = 10.0) -> DockerEngine:
        if self.power(node) != "running":
            raise NodeHaltedError(f"{node} is {self.power(node)}: start it first")
        return DockerEngine(self.docker_host(node), name=node, timeout=timeout)

    def publish(
        self, published: int, target: int
    ) -> tuple[tuple[PortRequest, ...], dict[str, str]]:
        return publish_ports(self.mesh, published, target)

    def environment(self) -> dict[str, str]:
        return {
            "platform": self.name,
            "mesh": self.mesh,
            "inventory": str(self.source),
            "kernel": host_platform.release(),
        }

    def close(self) -> None:
        """Stop the ssh forwards this platform started (and remove their empty directory)."""
        self.forwards.close_all()
        with contextlib.suppress(OSError):
            self.forwards.dir.parent.rmdir()
