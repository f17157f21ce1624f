"""The ``vagrant`` platform: the tutorial's VMs (top-level ``Vagrantfile``) via python-vagrant.

The one module that imports ``vagrant``. Every python-vagrant failure (a non-zero ``vagrant``
exit, a missing executable, output that does not parse) becomes a PlatformError here.

Power, as a VM feels it:

    halt         vagrant halt --force   (power cut: no goodbye to the swarm)
    shutdown     vagrant halt           (graceful: the guest's systemd stops dockerd first)
    start        vagrant up --no-provision, or ``systemctl start docker`` on a running VM
    suspend      vagrant suspend        (RAM saved: no FIN or RST)
    resume       vagrant resume
    stop_engine  vagrant ssh NODE -c 'sudo systemctl stop docker'
    isolate      vagrant ssh NODE -c '<iptables: swarm ports dropped silently both ways>', the
                 same on every other guest (:mod:`chaos.platform.isolation`)
    reconnect    the same rules removed (a halted VM lost them with its power)

Node addresses are the host-only ones the Vagrantfile assigns: ``CHAOS_VAGRANT_IP_PREFIX``
(default ``192.168.0.``) plus ``CHAOS_VAGRANT_IP_START`` (default 201) for node-001, …; the
same two variables configure the Vagrantfile. Engines are reached over ``vagrant ssh-config``
with one SSH forward per node (:mod:`chaos.platform.sshlink`).
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import IO

from chaos import faults
from chaos import netns as ns
from chaos.errors import MissingBinaryError, NodeHaltedError, NodeNotFoundError, PlatformError
from chaos.lab.mesh import publish_ports
from chaos.platform.base import Power
from chaos.platform.remote import ShellFaults
from chaos.platform.sshlink import Forwards, SshTarget, remote_socket
from chaos.swarm.engine import DockerEngine
from chaos.swarm.model import PortRequest

# python-vagrant logs a warning at import when vagrant is not on PATH; we say it once, better.
logging.getLogger("vagrant").setLevel(logging.ERROR)
import vagrant  # noqa: E402

STATE_DIR = Path("/var/lib/swarm-chaos/vagrant")
_STATUS_TTL = 1.0  # `vagrant status` costs a second or two on real VirtualBox: cache briefly
_POWER: dict[str, Power] = {"running": "running", "saved": "suspended"}
# Prints whether the kernel has IPVS: `ip_vs` shows in /proc once loaded, and loading it is
# what swarm's ingress would do anyway. A failure to run it says nothing about the kernel.
_IPVS_PROBE = (
    "if test -e /proc/net/ip_vs || { sudo -n modprobe ip_vs 2>/dev/null;"
    " test -e /proc/net/ip_vs; }; then echo ipvs; else echo none; fi"
)


def provider() -> str:
    """``CHAOS_VAGRANT_PROVIDER`` (or Vagrant's own ``VAGRANT_DEFAULT_PROVIDER``), else
    ``libvirt`` where vagrant-libvirt and libvirtd are installed and VirtualBox is not."""
    chosen = os.environ.get("CHAOS_VAGRANT_PROVIDER") or os.environ.get("VAGRANT_DEFAULT_PROVIDER")
    if chosen:
        return chosen
    sbin = "/usr/local/sbin:/usr/sbin:/sbin"
    if shutil.which("VBoxManage") is None and shutil.which("libvirtd", path=sbin):
        return "libvirt"
    return "virtualbox"


def settings() -> tuple[Path, Path, str, int]:
    """Vagrantfile directory, state directory, IP prefix and first host number (environment)."""
    root = Path(os.environ.get("CHAOS_VAGRANT_ROOT", ".")).resolve()
    state = Path(os.environ.get("CHAOS_VAGRANT_STATE", str(STATE_DIR)))
    prefix = os.environ.get("CHAOS_VAGRANT_IP_PREFIX", "192.168.0.")
    try:
        start = int(os.environ.get("CHAOS_VAGRANT_IP_START", "201"))
    except ValueError as exc:
        raise PlatformError("CHAOS_VAGRANT_IP_START must be an integer") from exc
    return root, state, prefix, start


class VagrantPlatform(ShellFaults):
    name = "vagrant"

    def __init__(
        self,
        root: Path,
        state_dir: Path,
        ip_prefix: str,
        ip_start: int,
        *,
        exe: str | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        if not (root / "Vagrantfile").is_file():
            raise PlatformError(f"no Vagrantfile in {root}: run from the repository root")
        self.root = root
        self.state_dir = state_dir
        self.ip_prefix = ip_prefix
        self.ip_start = ip_start
        self.forwards = Forwards(state_dir / "forwards")
        # vagrant's own output goes to a log in the state directory: its last line is what a
        # failure says (a guest that never booted, a missing box)
        self.log = state_dir / "vagrant.log"
        self._v = vagrant.Vagrant(  # type: ignore[no-untyped-call]
            root=str(root), env=dict(env) if env is not None else None,
            out_cm=self._log_cm, err_cm=self._log_cm,
        )  # fmt: skip
        if exe is not None:  # e.g. a wrapper that runs vagrant inside a network namespace
            self._v._vagrant_exe = exe
        self._status: dict[str, str] = {}
        self._status_at = 0.0
        self._mesh: str | None = None
        # where the VMs' networks live (chaos.netns); None: reached from this namespace
        self.netns: str | None = os.environ.get("CHAOS_VAGRANT_NETNS") or None

    @classmethod
    def connect(cls) -> VagrantPlatform:
        root, state, prefix, start = settings()
        return cls(root, state, prefix, start)

    # -- vagrant ------------------------------------------------------------------------
    @contextlib.contextmanager
    def _log_cm(self) -> Iterator[IO[bytes]]:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as f:
            yield f

    def _last_log_line(self) -> str:
        try:
            with self.log.open("rb") as f:
                f.seek(max(0, f.seek(0, os.SEEK_END) - 8192))
                tail = f.read().decode(errors="replace")
        except OSError:
            return ""
        # progress bars rewrite one line with \r; the last real line is what failed
        lines = [x.strip() for x in tail.replace("\r", "\n").splitlines()]
        return next((x for x in reversed(lines) if x and "Progress:" not in x), "")

    def _vagrant(self, what: str, fn: object, *args: object, **kwargs: object) -> object:
        try:
            return fn(*args, **kwargs)  # type: ignore[operator]
        except RuntimeError as exc:  # python-vagrant: executable not found
            raise MissingBinaryError(
                "vagrant not found on PATH: run `bash scripts/setup.sh --vm` (vagrant with "
                "vagrant-libvirt), install Vagrant and VirtualBox, or use --platform lab"
            ) from exc
        except subprocess.CalledProcessError as exc:
            last = self._last_log_line()
            why = f": {last} (log: {self.log})" if last else f" (exit {exc.returncode})"
            raise PlatformError(f"vagrant {what} failed{why}") from exc
        except OSError as exc:
            raise PlatformError(f"vagrant {what} failed: {exc}") from exc

    def _statuses(self, fresh: bool = False) -> dict[str, str]:
        if fresh or time.monotonic() - self._status_at > _STATUS_TTL:
            out = self._vagrant("status", self._v.status)
            states = {s.name: s.state for s in out} if isinstance(out, list) else {}
            # status() swallows nothing but parses anything: validate the shape.
            if not states or any(not n or s is None for n, s in states.items()):
                raise PlatformError(f"vagrant status in {self.root} gave no machines")
            self._status = {str(n): str(s) for n, s in states.items()}
            self._status_at = time.monotonic()
        return self._status

    def _known(self, node: str) -> None:
        if node not in self._statuses():
            known = ", ".join(self.node_names())
            raise NodeNotFoundError(f"unknown node {node!r}: the Vagrantfile defines {known}")

    def _target(self, node: str) -> SshTarget:
        cfg = self.state_dir / "ssh" / f"{node}.config"
        if not cfg.is_file():
            text = self._vagrant("ssh-config", self._v.ssh_config, vm_name=node)
            if not isinstance(text, str) or "HostName" not in text or "Host " not in text:
                raise PlatformError(f"vagrant ssh-config {node} gave no HostName")
            cfg.parent.mkdir(parents=True, exist_ok=True)
            # Vagrant names the section after the machine; use it as the ssh alias.
            cfg.write_text(text)
        return SshTarget(host=node, config=cfg, netns=self.netns)

    def ssh(self, node: str, command: str) -> str:
        """Run a command on the VM: ``vagrant ssh NODE --command CMD``; its stdout."""
        out = self._vagrant(f"ssh {node} --command {command!r}", self._v.ssh, node, command)
        return out if isinstance(out, str) else ""

    def run_on_node(self, node: str, command: str) -> str:
        """A command on the VM (``chaos doctor``'s probes)."""
        self._known(node)
        return self.ssh(node, command)

    def _forget(self, node: str) -> None:
        self._status_at = 0.0
        self.forwards.close(node)
        (self.state_dir / "ssh" / f"{node}.config").unlink(missing_ok=True)

    # -- facts --------------------------------------------------------------------------
    @property
    def client_netns(self) -> str | None:
        return self.netns

    @property
    def pulls_images(self) -> bool:
        # VMs in a namespace of the tool's own reach no registry; a workstation's VMs may
        return self.netns is None

    def present(self) -> bool:
        return self.netns is None or ns.exists(self.netns)

    @property
    def mesh(self) -> str:
        """``ingress`` when every node's kernel has IPVS (asked over ssh; swarm's ingress
        needs it on each), else ``emulated``. Kept once every node has answered; a node that
        cannot be asked (still booting) raises PlatformError and nothing is kept, or a status
        read during ``up`` would fix the mesh of the whole cluster's life."""
        if self._mesh is None:
            cache = self.state_dir / "mesh"
            if cache.is_file():
                self._mesh = cache.read_text().strip()
            else:
                kernels = [self.ssh(node, _IPVS_PROBE).strip() for node in self.node_names()]
                self._mesh = "ingress" if all(k == "ipvs" for k in kernels) else "emulated"
                cache.parent.mkdir(parents=True, exist_ok=True)
                cache.write_text(self._mesh)
        return self._mesh

    def node_names(self) -> list[str]:
        return sorted(self._statuses())

    def node_ip(self, node: str) -> str:
        self._known(node)
        index = self.node_names().index(node)
        return f"{self.ip_prefix}{self.ip_start + index}"

    def power(self, node: str) -> Power:
        self._known(node)
        return _POWER.get(self._statuses()[node], "halted")

    def engine_up(self, node: str) -> bool:
        if self.power(node) != "running":
            return False
        try:
            url = self._forward(node)
        except PlatformError:
            return False
        return DockerEngine(url, name=node).ping(timeout=2.0)

    def supports(self, action: str) -> bool:
        return action in faults.capabilities()

    # -- power --------------------------------------------------------------------------
    def halt(self, node: str) -> str:
        self._known(node)
        self._vagrant("halt --force", self._v.halt, vm_name=node, force=True)
        self._forget(node)
        return f"{node} halted: vagrant halt --force (power cut, no goodbye to the swarm)"

    def shutdown(self, node: str) -> str:
        """Graceful power-off: the guest stops dockerd, then the VM powers down."""
        self._known(node)
        self._vagrant("halt", self._v.halt, vm_name=node, force=False)
        self._forget(node)
        return f"{node} shut down: vagrant halt (graceful)"

    def start(self, node: str) -> str:
        self._known(node)
        power = self.power(node)
        if power == "running":
            self.ssh(node, "sudo systemctl start docker")
            self._forget(node)
            return f"{node}: engine started (systemctl start docker)"
        if power == "suspended":
            return self.resume(node)
        self._vagrant("up", self._v.up, vm_name=node, no_provision=True)
        self._forget(node)
        return f"{node} booted: vagrant up --no-provision"

    def suspend(self, node: str) -> str:
        self._known(node)
        self._vagrant("suspend", self._v.suspend, vm_name=node)
        self._forget(node)
        return f"{node} suspended: vagrant suspend (RAM saved, no FIN or RST)"

    def resume(self, node: str) -> str:
        self._known(node)
        self._vagrant("resume", self._v.resume, vm_name=node)
        self._forget(node)
        return f"{node} resumed: vagrant resume"

    def stop_engine(self, node: str) -> str:
        self._known(node)
        self.ssh(node, "sudo systemctl stop docker")
        self.forwards.close(node)
        return f"{node}: engine stopped gracefully (systemctl stop docker)"

    def _sh(self, node: str) -> Callable[[str], str]:
        return lambda script: self.ssh(node, script)

    # -- engines ------------------------------------------------------------------------
    def _forward(self, node: str) -> str:
        target = self._target(node)
        if self.forwards.alive(node):
            return self.forwards.url(node)
        return self.forwards.ensure(node, target, remote_socket(target))

    def engine(self, node: str, *, timeout: float = 10.0) -> DockerEngine:
        if self.power(node) != "running":
            raise NodeHaltedError(f"{node} is {self.power(node)}: start it first")
        return DockerEngine(self._forward(node), name=node, timeout=timeout)

    def docker_host(self, node: str) -> str:
        """A local ``unix://`` socket forwarded over ssh to the VM's engine."""
        return self._forward(node)

    def publish(
        self, published: int, target: int
    ) -> tuple[tuple[PortRequest, ...], dict[str, str]]:
        return publish_ports(self.mesh, published, target)

    def environment(self) -> dict[str, str]:
        return {
            "platform": self.name,
            "mesh": self.mesh,
            "vagrantfile": str(self.root / "Vagrantfile"),
            "nodes": ",".join(f"{n}={self.node_ip(n)}" for n in self.node_names()),
        }

    # -- cluster ------------------------------------------------------------------------
    def up(self, log: object = print) -> str:
        """``vagrant up`` every VM, then a swarm of managers (idempotent)."""
        say = log if callable(log) else print
        self._boot(say)
        self._swarm(say)
        self._load_images(say)
        return f"vagrant swarm up: {len(self.node_names())} managers, mesh {self.mesh}"

    def _boot(self, say: Callable[[str], None]) -> None:
        self._vagrant("up", self._v.up)
        self._status_at = 0.0
        names = self.node_names()
        for n in names:
            self._forget(n)
        say(f"vms up: {', '.join(names)}")

    def _load_images(self, say: Callable[[str], None]) -> None:
        """The lab's images on every VM, imported over the engine API (no registry)."""
        from chaos.lab import images

        rootfs = images.rootfs_tar()
        imported = 0
        for n in self.node_names():
            with self.engine(n, timeout=120.0) as eng:
                imported += len(images.load(eng, rootfs))
        total = len(images.IMAGES) * len(self.node_names())
        say(
            f"images loaded on every node: {', '.join(i.ref for i in images.IMAGES)} "
            f"({imported} of {total} imported, {total - imported} already there)"
        )

    def _swarm(self, say: Callable[[str], None]) -> None:
        """A swarm of managers: init on the first VM, the others joined (idempotent)."""
        names = self.node_names()
        first = names[0]
        with self.engine(first, timeout=30.0) as eng:
            if eng.local_node_state() == "active":
                say(f"swarm: already active on {first}")
            else:
                eng.swarm_init(self.node_ip(first))
                say(f"swarm: initialised on {first} advertising {self.node_ip(first)}")
            token = eng.join_tokens()[1]
        for n in names[1:]:
            with self.engine(n, timeout=30.0) as eng:
                if eng.local_node_state() == "active":
                    continue
                eng.swarm_join(f"{self.node_ip(first)}:2377", token, self.node_ip(n))
                say(f"swarm: {n} joined as manager advertising {self.node_ip(n)}")

    def down(self) -> str:
        """Close the ssh forwards and ``vagrant halt`` every VM (the VMs are kept)."""
        closed = self.forwards.close_all()
        self._vagrant("halt", self._v.halt)
        for cache in (self.state_dir / "ssh", self.state_dir / "mesh"):
            if cache.is_dir():
                for f in cache.iterdir():
                    f.unlink()
            else:
                cache.unlink(missing_ok=True)
        return f"vagrant down: VMs halted, {len(closed)} ssh forwards closed"


def status_lines(platform: VagrantPlatform) -> list[str]:
    """``chaos lab status --platform vagrant``: one line per VM, as ``chaos lab status``."""
    from chaos.platform.view import cluster_view

    lines = [f"{'NODE':<10}{'IP':<16}{'POWER':<11}{'ENGINE':<9}{'ROLE':<9}{'STATUS':<9}LEADER"]
    for n in cluster_view(platform):
        lines.append(
            f"{n.name:<10}{n.ip:<16}{n.power:<11}{'running' if n.engine_up else 'down':<9}"
            f"{n.role or '-':<9}{n.status or '-':<9}{'yes' if n.leader else ''}"
        )
    lines.append(f"mesh: {mesh_said(platform)}   vagrantfile: {platform.root / 'Vagrantfile'}")
    return lines


def mesh_said(platform: VagrantPlatform) -> str:
    """The mesh, or why it is not known yet (a status read while the guests boot)."""
    try:
        return platform.mesh
    except PlatformError:
        return "unknown (a guest does not answer ssh yet)"
