"""libvirtd for the guests, their power state, and removing what they left on the host.

Where the guests' networks live. libvirtd makes the guests' bridges, taps and dnsmasq in its
*own* network namespace. On a machine where no service manager runs libvirtd (no systemd as
PID 1, as on the build machine), the tool starts ``virtlogd`` and ``libvirtd`` itself under
``nsenter --net=/run/netns/chaosvm``, a namespace it made, with no default route: the guests'
networks exist only there, and every process that talks to a guest over IP (vagrant and its
ssh, the docker clients' ssh forwards, the load generator, probes) runs there too. libvirtd's
unix sockets are files, so ``virsh`` and vagrant-libvirt reach it from anywhere. Where a
service manager runs libvirtd, the tool uses that one, and the guests are reached directly
(a user's workstation).

Both daemons run at nice 19, and so does every QEMU guest and dnsmasq they start: the guests
are emulated (TCG) where the CPU cannot run them in hardware, and must not starve the host.
Nice alone does not do it: libvirtd puts each guest in a cgroup of its own under
``machine``, and the CPU controller weighs cgroups, not the nice values of tasks in other
groups; three emulated guests then delayed a nice -10 process by up to 100 ms (a load
generator's send lag p99 went from under 1 ms to 150 ms). So where the tool runs libvirtd and
the guests are emulated, the ``machine`` group is made an *idle* group (``cpu.idle``, the
group form of SCHED_IDLE) before the guests start: they get every cycle nothing else wants,
and any other task that wakes preempts them at once. ``down`` removes the ``machine`` groups
it made (:func:`idle_guests`, :func:`remove_guest_groups`).

Names. Everything the Vagrantfile makes is named ``chaosvm-…`` (domains via
``default_prefix``, the management and private networks, the domains' volumes); the uploaded
box is a volume named after the box. :func:`remove_objects` deletes exactly those, by name.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from chaos import netns as ns
from chaos.errors import MissingBinaryError, PlatformError

URI = "qemu:///system"
PREFIX = "chaosvm-"
DEFAULT_NETNS = "chaosvm"
POOL = "default"  # vagrant-libvirt's storage pool; it defines it when missing
BOX_VOLUME = "swarm-chaos-VAGRANTSLASH-bookworm_vagrant_box_image_"
POOL_PATH = "/var/lib/libvirt/images"  # where vagrant-libvirt defines the system pool
# vagrant-libvirt's templates/default_storage_pool.xml.erb, as root owns it on qemu:///system
_POOL_XML = """<pool type='dir'><name>default</name><source/><target><path>{path}</path>
<permissions><mode>0755</mode><owner>0</owner><group>0</group></permissions></target></pool>
"""
LOG_DIR = Path("/var/log/libvirt/qemu")
RUN_DIR = Path("/run/libvirt")  # libvirtd's runtime state; made anew by each start
DNSMASQ_DIR = Path("/var/lib/libvirt/dnsmasq")
# binary -> Debian package (scripts/setup.sh --vm installs them)
BINARIES = {
    "virsh": "libvirt-clients",
    "libvirtd": "libvirt-daemon-system",
    "virtlogd": "libvirt-daemon-system",
    "qemu-system-x86_64": "qemu-system-x86",
    "qemu-img": "qemu-utils",
    "dnsmasq": "dnsmasq-base",
    "nsenter": "util-linux",
    "ip": "iproute2",
}
_SBIN = "/usr/local/sbin:/usr/sbin:/sbin"
Say = Callable[[str], None]


def which(binary: str) -> str:
    path = shutil.which(binary) or shutil.which(binary, path=_SBIN)
    if path is None:
        raise MissingBinaryError(
            f"{binary} not found: the libvirt provider needs it; run `bash scripts/setup.sh "
            f"--vm` (or `apt-get install {BINARIES.get(binary, binary)}`)"
        )
    return path


def require() -> None:
    for binary in BINARIES:
        which(binary)


def virsh(*args: str, timeout: float = 60.0, check: bool = True) -> str:
    """``virsh -c qemu:///system ARGS``; its stdout, or PlatformError with its last line."""
    argv = [which("virsh"), "-q", "-c", URI, *args]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired as exc:
        raise PlatformError(f"virsh {' '.join(args)} timed out after {timeout:g}s") from exc
    if check and done.returncode != 0:
        err = (done.stderr.strip().splitlines() or [f"exit {done.returncode}"])[-1]
        raise PlatformError(f"virsh {' '.join(args)} failed: {err}")
    return done.stdout


def answering() -> bool:
    """Whether a libvirtd answers on ``qemu:///system`` (its unix socket)."""
    try:
        virsh("version", timeout=10.0)
    except (PlatformError, MissingBinaryError):
        return False
    return True


def service_manager() -> bool:
    """Whether systemd runs this machine (then it, not the tool, runs libvirtd)."""
    return Path("/run/systemd/system").is_dir()


def _pids(name: str) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if (entry / "comm").read_text().strip() == name and _alive(int(entry.name)):
                    pids.append(int(entry.name))
    return pids


def _in_netns(pid: int, name: str) -> bool:
    try:
        mine, theirs = os.stat(ns.path(name)), os.stat(f"/proc/{pid}/ns/net")
    except OSError:
        return False
    return (mine.st_dev, mine.st_ino) == (theirs.st_dev, theirs.st_ino)


def _alive(pid: int) -> bool:
    """Running, not a zombie: a daemon's parent here may be a PID 1 that never reaps."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


# A libvirtd at nice 19 probes QEMU's capabilities and its defined objects before it answers:
# 4-16 s on a quiet 2-core host, over 30 s while the lab's tests keep both cores busy.
LIBVIRTD_START_TIMEOUT = 180.0


class Daemons:
    """The libvirtd the guests use: the service manager's, or the tool's own in ``netns``.

    The tool's own daemons write their pid files into ``state_dir``; :meth:`stop` ends only
    those, by pid.
    """

    def __init__(self, state_dir: Path, netns: str | None) -> None:
        self.dir = state_dir
        self.netns = netns

    def _pidfile(self, daemon: str) -> Path:
        return self.dir / f"{daemon}.pid"

    def _pid(self, daemon: str) -> int | None:
        try:
            pid = int(self._pidfile(daemon).read_text())
        except (OSError, ValueError):
            return None
        return pid if _alive(pid) else None

    def ours(self) -> bool:
        return self._pid("libvirtd") is not None

    def ensure(self, say: Say) -> None:
        """A libvirtd answering, with the guests' networks where they belong."""
        require()
        if answering():
            running = _pids("libvirtd")
            if self.netns is not None and running and not _in_netns(running[0], self.netns):
                raise PlatformError(
                    f"a libvirtd (pid {running[0]}) already runs outside network namespace "
                    f"{self.netns}: the guests' networks would land there; stop it, or set "
                    "CHAOS_VAGRANT_NETNS=none to use it as it is"
                )
            say(f"libvirtd: running (pid {running[0] if running else '?'})")
            return
        if self.netns is None:
            if not service_manager():
                raise PlatformError(
                    "no libvirtd answers on qemu:///system and no service manager runs one: "
                    "unset CHAOS_VAGRANT_NETNS=none so the tool starts its own"
                )
            subprocess.run(["systemctl", "start", "libvirtd"], check=False, timeout=60)
        else:
            self._start_own()
        deadline = time.monotonic() + LIBVIRTD_START_TIMEOUT
        while not answering():
            if time.monotonic() > deadline:
                raise PlatformError(
                    f"libvirtd started but did not answer on qemu:///system within "
                    f"{LIBVIRTD_START_TIMEOUT:g} s; see `chaos lab down --platform vagrant`, "
                    "then try again"
                )
            time.sleep(0.3)
        where = f" in network namespace {self.netns}" if self.netns else ""
        say(f"libvirtd: started{where} (pid {self._pid('libvirtd') or '?'}, nice 19)")

    def _start_own(self) -> None:
        assert self.netns is not None
        self.dir.mkdir(parents=True, exist_ok=True)
        for daemon in ("virtlogd", "libvirtd"):
            if self._pid(daemon) is not None:
                continue
            argv = ns.command(
                self.netns,
                ["nice", "-n", "19", which(daemon), "-d", "-p", str(self._pidfile(daemon))],
            )
            # -d: the daemon forks and detaches; it outlives this command, stopped by pid
            done = subprocess.run(
                argv, cwd="/", capture_output=True, text=True, timeout=30, check=False
            )
            if done.returncode != 0:
                err = (done.stderr.strip().splitlines() or [f"exit {done.returncode}"])[-1]
                raise PlatformError(f"{daemon} did not start: {err}")
            deadline = time.monotonic() + 10.0
            while self._pid(daemon) is None:
                if time.monotonic() > deadline:
                    raise PlatformError(f"{daemon} started but wrote no pid file")
                time.sleep(0.1)

    def stop(self) -> list[str]:
        """End the tool's own libvirtd and virtlogd (SIGTERM, then SIGKILL); the ones ended."""
        stopped = []
        for daemon in ("libvirtd", "virtlogd"):
            pid = self._pid(daemon)
            if pid is not None:
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGTERM)
                deadline = time.monotonic() + 10.0
                while _alive(pid) and time.monotonic() < deadline:
                    time.sleep(0.1)
                if _alive(pid):
                    with contextlib.suppress(OSError):
                        os.kill(pid, signal.SIGKILL)
                stopped.append(f"{daemon} (pid {pid})")
            self._pidfile(daemon).unlink(missing_ok=True)
        if stopped and not _pids("libvirtd") and not _pids("virtlogd"):
            # the runtime directory the tool's daemons made; no daemon is left to use it
            shutil.rmtree(RUN_DIR, ignore_errors=True)
        return stopped


CGROUP_ROOT = Path("/sys/fs/cgroup")
GUEST_GROUP = "machine"  # libvirtd's default resource partition, one per controller


def guest_groups() -> list[Path]:
    """The guests' partition in every cgroup v1 controller and the v2 tree, where present."""
    return sorted(CGROUP_ROOT.glob(f"*/{GUEST_GROUP}"))


def idle_guests() -> None:
    """Make the guests' cgroup an idle group before they start (module docstring). A kernel
    without ``cpu.idle`` gets the lowest weight instead."""
    cpu = CGROUP_ROOT / "cpu"
    if not cpu.is_dir():
        return  # no cgroup v1 CPU controller: nothing to set here
    group = cpu / GUEST_GROUP
    group.mkdir(exist_ok=True)
    knob, value = (group / "cpu.idle", "1") if (group / "cpu.idle").exists() else (
        group / "cpu.shares", "2"
    )  # fmt: skip
    try:
        knob.write_text(value)
    except OSError as exc:
        raise PlatformError(f"could not make the guests' cgroup idle ({knob}): {exc}") from exc


def remove_guest_groups() -> list[str]:
    """The ``machine`` groups, once no guest is left in them (rmdir fails on a busy one);
    children first. The paths removed."""
    removed = []
    for group in guest_groups():
        for child in sorted((p for p in group.rglob("*") if p.is_dir()), reverse=True):
            with contextlib.suppress(OSError):
                child.rmdir()
        try:
            group.rmdir()
        except OSError:
            continue
        removed.append(str(group))
    return removed


def domain_states() -> dict[str, str]:
    """``virsh list --all``: domain name -> state (``running``, ``paused``, ``shut off``…)."""
    states = {}
    for line in virsh("list", "--all", timeout=10.0).splitlines():
        m = re.match(r"^\s*(\S+)\s+(\S+)\s+(.+?)\s*$", line)
        if m:
            states[m.group(2)] = m.group(3)
    return states


def domain_state(name: str) -> str:
    """A domain's state from libvirtd's own status file (``running``, ``paused``…; ``shut
    off`` when there is none or its QEMU is gone): no call to libvirtd, which shares the
    niced CPU with the guests and can take seconds to answer while they boot."""
    qemu = RUN_DIR / "qemu"
    if not qemu.is_dir():  # not this host's libvirtd layout: ask it
        return domain_states().get(name, "shut off")
    try:
        with (qemu / f"{name}.xml").open() as f:
            head = f.read(2048)
    except OSError:
        return "shut off"
    m = re.search(r"<domstatus state='([^']+)'[^>]*?pid='(\d+)'", head)
    if m is None or not _alive(int(m.group(2))):
        return "shut off"
    return m.group(1)


def _names(*args: str) -> list[str]:
    return [n.strip() for n in virsh(*args, check=False).splitlines() if n.strip()]


def remove_objects(say: Say, *, pool_made: bool) -> list[str]:
    """Destroy and undefine every ``chaosvm-`` domain and network, delete their volumes and
    the uploaded box, the pool when the tool's run defined it, and the guests' QEMU logs.
    Harmless when nothing is left; the names of what it removed."""
    if not answering():
        return []
    removed = [*_remove_domains_and_networks(), *_remove_pool(pool_made=pool_made)]
    # the guests' QEMU logs, the dnsmasq pid files and logs of their networks
    for leftover in (*LOG_DIR.glob(f"{PREFIX}*"), *RUN_DIR.glob(f"network/{PREFIX}*"),
                     *DNSMASQ_DIR.glob(f"{PREFIX}*")):  # fmt: skip
        if leftover.is_dir():
            shutil.rmtree(leftover, ignore_errors=True)
        else:
            leftover.unlink(missing_ok=True)
    for line in removed:
        say(f"removed {line}")
    return removed


def _remove_domains_and_networks() -> list[str]:
    removed = []
    for dom in _names("list", "--all", "--name"):
        if dom.startswith(PREFIX):
            virsh("destroy", dom, check=False)
            virsh("undefine", dom, "--remove-all-storage", check=False)
            removed.append(f"domain {dom}")
    for net in _names("net-list", "--all", "--name"):
        if net.startswith(PREFIX):
            virsh("net-destroy", net, check=False)
            virsh("net-undefine", net, check=False)
            removed.append(f"network {net}")
    return removed


def _remove_pool(*, pool_made: bool) -> list[str]:
    """The tool's volumes in the pool, and the pool itself when the tool defined it."""
    if POOL not in _names("pool-list", "--all", "--name"):
        return []
    removed = []
    for vol in volumes():
        if vol.startswith((PREFIX, BOX_VOLUME)):
            virsh("vol-delete", vol, "--pool", POOL, check=False)
            removed.append(f"volume {vol}")
    if pool_made:
        virsh("pool-destroy", POOL, check=False)
        virsh("pool-undefine", POOL, check=False)
        removed.append(f"pool {POOL}")
    return removed


def pool_defined() -> bool:
    return POOL in _names("pool-list", "--all", "--name")


def volumes() -> list[str]:
    """The names of the pool's volumes (``vol-list`` has no ``--name`` in libvirt 9: the
    first column of its rows)."""
    rows = virsh("vol-list", POOL, check=False).splitlines()
    return [row.split()[0] for row in rows if row.split()]


def box_volume_name(image: Path) -> str:
    """The name vagrant-libvirt gives an unversioned box's image in the pool
    (``HandleBoxImage.get_volume_name``: version 0 becomes ``0_<the image's mtime>``)."""
    return f"{BOX_VOLUME}0_{int(image.stat().st_mtime)}_box.img"


def stage_box(image: Path) -> str | None:
    """The box's image put into the pool as the volume vagrant-libvirt looks for, by a local
    copy; what was done, or None when it was there already.

    vagrant-libvirt skips its upload when a volume of that name exists, and its upload is
    slow: the 0.9 GB image goes through libvirtd's RPC stream in 250 KB chunks from Ruby,
    minutes on two cores beside a niced libvirtd. The pool is defined and started as
    vagrant-libvirt would when missing (a ``dir`` pool in /var/lib/libvirt/images, root's);
    the caller records whether it made it, so ``down`` removes it. The copy is renamed into
    place only when whole: an interrupted one is never taken for the box."""
    name = box_volume_name(image)
    if not pool_defined():
        path = Path(POOL_PATH)
        path.mkdir(mode=0o755, parents=True, exist_ok=True)
        xml = path.parent / f".{PREFIX}pool.xml"
        xml.write_text(_POOL_XML.format(path=path))
        try:
            virsh("pool-define", str(xml))
        finally:
            xml.unlink(missing_ok=True)
    if virsh("pool-info", POOL).split("State:")[-1].split()[0] != "running":
        virsh("pool-start", POOL)
    if name in volumes():
        return None
    target = Path(_pool_target())
    part = target / f".{name}.part"
    try:
        shutil.copyfile(image, part)
        part.chmod(0o644)
        part.rename(target / name)
    finally:
        part.unlink(missing_ok=True)
    virsh("pool-refresh", POOL)
    return f"box image copied into pool {POOL} as {name}"


def _pool_target() -> str:
    found = re.search(r"<target>\s*<path>([^<]+)</path>", virsh("pool-dumpxml", POOL))
    if found is None:
        raise PlatformError(f"libvirt pool {POOL} has no target path (virsh pool-dumpxml {POOL})")
    return found.group(1)


def make_netns(name: str) -> bool:
    """Create the guests' namespace (loopback up, no other link, no route); False if it was
    already there."""
    if ns.exists(name):
        return False
    ip = which("ip")
    subprocess.run([ip, "netns", "add", name], check=True, capture_output=True, timeout=10)
    subprocess.run(
        [ip, "-n", name, "link", "set", "lo", "up"], check=True, capture_output=True, timeout=10
    )
    return True


def netns_pids(name: str) -> list[int]:
    """Processes whose network namespace is ``name`` (all started by the tool: nothing else
    enters a namespace it made)."""
    return [pid for pid in (int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit())
            if _in_netns(pid, name)]  # fmt: skip


def delete_netns(name: str) -> list[int]:
    """End what still runs in the namespace (SIGTERM, then SIGKILL), then delete it; the pids
    that had to be ended."""
    if not ns.exists(name):
        return []
    left = netns_pids(name)
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in netns_pids(name):
            with contextlib.suppress(OSError):
                os.kill(pid, sig)
        deadline = time.monotonic() + 5.0
        while netns_pids(name) and time.monotonic() < deadline:
            time.sleep(0.1)
    subprocess.run([which("ip"), "netns", "delete", name], check=False, capture_output=True)
    return left


def domain_type() -> str:
    """``kvm`` where the CPU runs guests in hardware, else ``qemu`` (TCG emulation);
    ``CHAOS_VAGRANT_DOMAIN_TYPE`` decides when set. ``/dev/kvm`` alone is no proof: a
    paravirtual KVM without ``vmx``/``svm`` in the CPU flags cannot run a stock guest kernel,
    though libvirt still offers type ``kvm`` there."""
    chosen = os.environ.get("CHAOS_VAGRANT_DOMAIN_TYPE")
    if chosen in ("kvm", "qemu"):
        return chosen
    if chosen:
        raise PlatformError(f"CHAOS_VAGRANT_DOMAIN_TYPE={chosen}: use kvm or qemu")
    try:
        flags = re.search(r"^flags\s*:(.*)$", Path("/proc/cpuinfo").read_text(), re.M)
    except OSError:
        return "qemu"
    hardware = flags is not None and bool(re.search(r"\b(vmx|svm)\b", flags.group(1)))
    return "kvm" if hardware and Path("/dev/kvm").exists() else "qemu"
