"""The ``vagrant`` platform on libvirt: real QEMU guests (KVM where the CPU can, else TCG).

What differs from VirtualBox, and why:

- **Where the guests live.** Where no service manager runs libvirtd, ``up`` creates network
  namespace ``chaosvm`` and starts libvirtd inside it (:mod:`chaos.vm.libvirt`): the guests'
  bridges, taps and dnsmasq exist only there. ``vagrant`` itself then runs inside it (a
  wrapper in the state directory: ``nsenter --net=… vagrant``), and so do its ssh, the
  driver's ssh forwards, the load generator and the probes (``client_netns``). Nothing is
  sent to a guest from the host's own namespace, and while the guests are up the host's
  namespace has an ``unreachable`` route to their subnets (:mod:`chaos.vm.guard`), so a
  process that forgets the namespace gets an error instead of a default route.
  ``CHAOS_VAGRANT_NETNS=none`` uses a libvirtd that already runs (a workstation's) and
  reaches the guests directly; another name uses that existing namespace for the driver's
  traffic (and leaves vagrant where it is).
- **The box** is built locally from Debian packages when missing (:mod:`chaos.vm.box`).
- **Power is read from libvirt** (``virsh list``), not ``vagrant status``: the observer asks
  four times a second and a ``vagrant`` start costs seconds of CPU on a 2-core host. Node
  names come from the same ``CHAOS_VAGRANT_NODES`` rule the Vagrantfile uses.
- **Power cut and pause go to libvirt directly** (``virsh destroy``/``suspend``/``resume``:
  what ``vagrant halt --force``/``suspend``/``resume`` do on this provider), so a fault lands
  when the timeline says, not after vagrant's start-up. Boot and graceful halt stay
  ``vagrant up``/``vagrant halt``. Commands on a guest use ssh with its ``vagrant
  ssh-config`` (not ``vagrant ssh``, for the same reason).
- **Emulated guests get only idle CPU** where the tool runs libvirtd (:func:`chaos.vm.
  libvirt.idle_guests`): the host's own measuring (the load generator) comes first.
- **``down`` leaves nothing**: ``vagrant destroy -f``, then every ``chaosvm-`` domain,
  network and volume, the uploaded box volume and the storage pool it defined, the guests'
  QEMU logs, the tool's own libvirtd and virtlogd (by pid), the guests' ``machine`` cgroups
  it made, the namespace, the host guard, the ``.vagrant`` folder the tool's ``up`` created,
  and the state directory. The box stays in Vagrant and its cache (``chaos lab box``), as a
  package would.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from chaos import netns as ns
from chaos.errors import MissingBinaryError, NodeHaltedError, PlatformError
from chaos.platform.sshlink import SshTarget
from chaos.platform.vagrant import VagrantPlatform, settings
from chaos.vm import box, guard
from chaos.vm import libvirt as lv

Say = Callable[[str], None]
# the guests' states, in the words of `vagrant status` that the base driver reads
_VAGRANT_STATE = {"running": "running", "paused": "saved", "in shutdown": "running"}
_STATE_TTL = 0.5
# the guests under TCG serve tens of requests a second per service (../notes on this host)
MAX_RATE_TCG = 30.0
TIME_SCALE_TCG = 4.0


def node_count() -> int:
    try:
        return int(os.environ.get("CHAOS_VAGRANT_NODES", "3"))
    except ValueError as exc:
        raise PlatformError("CHAOS_VAGRANT_NODES must be an integer") from exc


def netns_setting() -> tuple[str | None, bool]:
    """The guests' namespace and whether the tool owns it (creates and deletes it)."""
    value = os.environ.get("CHAOS_VAGRANT_NETNS")
    if value is None:
        # a service manager's libvirtd puts the guests where it lives: reach them directly
        return (None, False) if lv.service_manager() else (lv.DEFAULT_NETNS, True)
    if value in ("", "none", "-"):
        return None, False
    return value, value == lv.DEFAULT_NETNS


def _wrapper(state_dir: Path, netns: str) -> str:
    """An executable ``vagrant`` that runs the real one inside ``netns``."""
    real = shutil.which("vagrant") or "/usr/bin/vagrant"
    exe = state_dir / "bin" / "vagrant"
    text = f'#!/bin/sh\nexec nsenter --net={ns.path(netns)} -- {real} "$@"\n'
    if not exe.is_file() or exe.read_text() != text:
        exe.parent.mkdir(parents=True, exist_ok=True)
        exe.write_text(text)
        exe.chmod(0o755)
    return str(exe)


class LibvirtVagrantPlatform(VagrantPlatform):
    def __init__(
        self,
        root: Path,
        state_dir: Path,
        ip_prefix: str,
        ip_start: int,
        *,
        netns: str | None,
        owns_netns: bool,
    ) -> None:
        env = {**os.environ, "VAGRANT_DEFAULT_PROVIDER": "libvirt"}
        # vagrant runs in the namespace only when it is the tool's: its networks are there
        exe = _wrapper(state_dir, netns) if netns is not None and owns_netns else None
        super().__init__(root, state_dir, ip_prefix, ip_start, exe=exe, env=env)
        self.netns = netns
        self.owns_netns = owns_netns
        self.daemons = lv.Daemons(state_dir, netns if owns_netns else None)
        self._names = [f"node-{i:03d}" for i in range(1, node_count() + 1)]

    @classmethod
    def connect(cls) -> LibvirtVagrantPlatform:
        root, state, prefix, start = settings()
        netns, owns = netns_setting()
        return cls(root, state, prefix, start, netns=netns, owns_netns=owns)

    # -- facts --------------------------------------------------------------------------
    def domain(self, node: str) -> str:
        return f"{lv.PREFIX}{node}"

    def _statuses(self, fresh: bool = False) -> dict[str, str]:
        if fresh or time.monotonic() - self._status_at > _STATE_TTL:
            self._status = {
                n: _VAGRANT_STATE.get(lv.domain_state(self.domain(n)), "poweroff")
                for n in self._names
            }
            self._status_at = time.monotonic()
        return self._status

    def node_names(self) -> list[str]:
        return list(self._names)

    @property
    def max_rate(self) -> float | None:
        """The load the guests hold: emulated CPUs serve tens of requests a second."""
        return None if self._domain_type() == "kvm" else MAX_RATE_TCG

    @property
    def time_scale(self) -> float:
        """Set-up and restore wait this much longer than on the lab: under TCG a task starts
        in tens of seconds and a guest boots in minutes."""
        return 1.0 if self._domain_type() == "kvm" else TIME_SCALE_TCG

    def _domain_type(self) -> str:
        cached = self.state_dir / "domain-type"
        if cached.is_file():
            return cached.read_text().strip()
        return lv.domain_type()

    def environment(self) -> dict[str, str]:
        env = super().environment()
        env["provider"] = "libvirt"
        env["domain_type"] = self._domain_type()
        env["netns"] = self.netns or ""
        return env

    # -- commands on a guest ------------------------------------------------------------
    def _target(self, node: str) -> SshTarget:
        """ssh to the guest's swarm address with the box's key, as Vagrant would log in; no
        ``vagrant ssh-config`` (seconds of Ruby per call, and it needs the guest up)."""
        cfg = self.state_dir / "ssh" / f"{node}.config"
        if not cfg.is_file():
            cfg.parent.mkdir(parents=True, exist_ok=True)
            cfg.write_text(
                f"Host {node}\n  HostName {self.node_ip(node)}\n  User vagrant\n"
                f"  IdentityFile {box.vagrant_home() / 'insecure_private_key'}\n"
                "  IdentitiesOnly yes\n  StrictHostKeyChecking no\n"
                "  UserKnownHostsFile /dev/null\n  PasswordAuthentication no\n  LogLevel ERROR\n"
            )
        return SshTarget(host=node, config=cfg, netns=self.netns)

    def ssh(self, node: str, command: str) -> str:
        """A command on the guest over ssh with its ``vagrant ssh-config``; its stdout."""
        if self.power(node) != "running":
            raise NodeHaltedError(f"{node} is {self.power(node)}: start it first")
        return self._target(node).run(command, timeout=60.0)

    # -- power --------------------------------------------------------------------------
    def halt(self, node: str) -> str:
        self._known(node)
        lv.virsh("destroy", self.domain(node))
        self._forget(node)
        return f"{node} halted: power cut (virsh destroy, as vagrant halt --force; no goodbye)"

    def start(self, node: str) -> str:
        """Power on a halted guest (``virsh start``, as ``vagrant up`` does on this provider,
        without vagrant's minutes of ssh polling: swarm's own view says when it is back), or
        the engine of a running one."""
        self._known(node)
        if self.power(node) != "halted":
            return super().start(node)
        lv.virsh("start", self.domain(node))
        self._forget(node)
        return f"{node} powered on: virsh start (the guest boots; swarm sees it when it joins)"

    def suspend(self, node: str) -> str:
        self._known(node)
        lv.virsh("suspend", self.domain(node))
        self._forget(node)
        return f"{node} suspended: guest paused (virsh suspend, as vagrant suspend; no FIN or RST)"

    def resume(self, node: str) -> str:
        self._known(node)
        lv.virsh("resume", self.domain(node))
        self._forget(node)
        return f"{node} resumed (virsh resume, as vagrant resume)"

    # -- cluster ------------------------------------------------------------------------
    def _marks(self) -> dict[str, bool]:
        try:
            data = json.loads((self.state_dir / "made.json").read_text())
        except (OSError, ValueError):
            return {}
        return {k: bool(v) for k, v in data.items()} if isinstance(data, dict) else {}

    def _mark(self, **made: bool) -> None:
        marks = {**self._marks(), **{k: v or self._marks().get(k, False) for k, v in made.items()}}
        self.state_dir.mkdir(parents=True, exist_ok=True)
        (self.state_dir / "made.json").write_text(json.dumps(marks))

    def _boot(self, say: Say) -> None:
        lv.require()
        if shutil.which("vagrant") is None:
            raise MissingBinaryError(
                "vagrant not found: run `bash scripts/setup.sh --vm` (Debian's vagrant and "
                "vagrant-libvirt), or use --platform lab"
            )
        if not box.present():
            say(box.ensure(say))
        self.state_dir.mkdir(parents=True, exist_ok=True)
        kind = lv.domain_type()
        (self.state_dir / "domain-type").write_text(kind)
        os.environ["CHAOS_VAGRANT_DOMAIN_TYPE"] = kind
        self._v.env = {**(self._v.env or os.environ), "CHAOS_VAGRANT_DOMAIN_TYPE": kind}
        made_netns = False
        if self.netns is not None and self.owns_netns:
            made_netns = lv.make_netns(self.netns)
            if made_netns:
                say(f"network namespace {self.netns}: created (the guests' networks live there)")
        elif self.netns is not None and not ns.exists(self.netns):
            raise PlatformError(f"network namespace {self.netns} (CHAOS_VAGRANT_NETNS) is gone")
        self.daemons.ensure(say)
        idle = self.daemons.ours() and kind == "qemu"
        if idle:
            lv.idle_guests()
            say("guests' cgroup: idle (they get only the CPU nothing else on this host wants)")
        self._mark(
            netns=made_netns,
            pool=not lv.pool_defined(),
            daemons=self.daemons.ours(),
        )
        started = time.monotonic()
        staged = lv.stage_box(box.installed_dir() / "box.img")
        if staged is not None:
            say(f"{staged} in {time.monotonic() - started:.0f}s")
        started = time.monotonic()
        # a guest that was running already keeps its address, ssh settings and forwards
        running = {n for n in self._names if lv.domain_state(self.domain(n)) == "running"}
        say(f"vagrant up: {len(self._names)} guests ({kind}); a TCG guest boots in minutes")
        # the box has everything the Vagrantfile's provisioning would install
        try:
            with self._watching(say):
                self._vagrant("up --no-provision", self._v.up, no_provision=True)
        finally:  # the guests' networks exist from here on, even when a guest failed to boot
            if self.netns is not None and self.owns_netns:
                guard.install(self.netns, say)
        self._status_at = 0.0
        for n in self._names:
            if n not in running:
                self._forget(n)
        self._check_addresses()
        say(f"vms up in {time.monotonic() - started:.0f}s: {', '.join(self._names)}")

    @contextlib.contextmanager
    def _watching(self, say: Say) -> Iterator[None]:
        """While vagrant works, tell a spinner (``say.doing``, when ``say`` has one) each
        guest's state and vagrant's last line: minutes of TCG boot are not a silent wait."""
        doing = getattr(say, "doing", None)
        stop = threading.Event()

        def watch() -> None:
            while not stop.wait(2.0):
                with contextlib.suppress(PlatformError, OSError):
                    states = lv.domain_states()
                    guests = ", ".join(
                        f"{n} {states.get(self.domain(n), 'not defined')}" for n in self._names
                    )
                    last = self._last_log_line().removeprefix("==> ")
                    if doing is not None:
                        doing(f"{guests}; {last[:80]}")

        thread = threading.Thread(target=watch, name="vagrant-up", daemon=True)
        if doing is not None:
            thread.start()
        try:
            yield
        finally:
            stop.set()
            if thread.is_alive():
                thread.join(timeout=5.0)

    def _check_addresses(self) -> None:
        """Every guest has the address swarm will advertise (a guest that lost it would join
        nothing and serve nothing)."""
        for n in self._names:
            addrs = self.ssh(n, "ip -4 -o addr show")
            if f" {self.node_ip(n)}/" not in addrs:
                raise PlatformError(
                    f"{n} has no address {self.node_ip(n)} (lost it?): "
                    f"`chaos lab down --platform vagrant` and up again"
                )

    def down(self) -> str:
        """Everything the VMs made on the host removed (see the module's docstring)."""
        started = time.monotonic()
        closed = self.forwards.close_all()
        guarded = guard.remove()
        marks = self._marks()
        if lv.answering() and (self.netns is None or ns.exists(self.netns)):
            # what vagrant could not destroy, virsh does next, by name
            with contextlib.suppress(PlatformError):
                self._vagrant("destroy -f", self._v.destroy)
        removed = lv.remove_objects(lambda _m: None, pool_made=marks.get("pool", False))
        stopped = self.daemons.stop()
        # the partition the tool's own libvirtd made its guests' cgroups in (an empty leftover
        # of any earlier up of the tool's included: no other libvirtd runs beside the tool's)
        groups = lv.remove_guest_groups() if stopped or marks.get("daemons", False) else []
        if self.netns is not None and self.owns_netns:
            lv.delete_netns(self.netns)
        _remove_vagrant_dir(self.root / ".vagrant", self._names)
        shutil.rmtree(self.state_dir, ignore_errors=True)
        self._mesh = None
        what = [f"{len(removed)} libvirt objects", f"{len(closed)} ssh forwards closed"]
        if groups:
            what.append(f"{len(groups)} cgroups")
        if guarded:
            what.append("host guard removed")
        if stopped:
            what.append(f"stopped {', '.join(stopped)}")
        took = time.monotonic() - started
        return f"vagrant down in {took:.0f}s: guests destroyed, " + ", ".join(what)


def _remove_vagrant_dir(folder: Path, names: list[str]) -> None:
    """The machines' folders, then ``.vagrant`` itself when nothing of anyone else is left
    in it (vagrant makes ``rgloader/`` on every run)."""
    machines = folder / "machines"
    for n in names:
        shutil.rmtree(machines / n, ignore_errors=True)
    with contextlib.suppress(OSError):
        machines.rmdir()
    left = {p.name for p in folder.iterdir()} if folder.is_dir() else set()
    if left <= {"rgloader"}:
        shutil.rmtree(folder, ignore_errors=True)
