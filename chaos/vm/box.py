"""The guests' Vagrant box, built from Debian packages on this machine: no box registry.

``chaos lab box`` (and ``chaos lab up --platform vagrant`` when the box is missing) runs
``assets/build-box.sh``: debootstrap minbase of Debian 12 with the guest's kernel, systemd,
ifupdown and a DHCP client, OpenSSH, sudo, Docker and iptables; a ``vagrant`` user with
Vagrant's insecure key (Vagrant swaps it for a fresh one at first boot); one unpartitioned
ext4 image (no bootloader: libvirt boots the guest's own kernel directly, with
``apparmor=0``, since the box has no AppArmor profiles and Docker refuses to start
containers without the one it expects).

Cached under ``/var/cache/swarm-chaos/box/KEY/`` where KEY hashes the build script, the
suite and the public key: the same recipe is built once per machine (a fresh clone reuses
it), a changed recipe builds anew. The downloaded ``.deb`` files are kept in ``debs/`` for
the next build. ``vagrant box add`` is skipped when the installed box carries the same key.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import tarfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from chaos.errors import MissingBinaryError, NotRootError, PlatformError

NAME = "swarm-chaos/bookworm"
SUITE = "bookworm"
CACHE = Path(os.environ.get("CHAOS_BOX_CACHE", "/var/cache/swarm-chaos/box"))
SCRIPT = Path(__file__).parent / "assets" / "build-box.sh"
DEFAULT_MIRROR = "http://deb.debian.org/debian"
# Debian ships Vagrant's insecure key inside the vagrant gem
_GEMS = Path("/usr/share/rubygems-integration/all/gems")
KEY_FILE = "chaos-box-key"
CMD_LINE = "root=/dev/vda rw console=ttyS0 net.ifnames=0 apparmor=0 quiet"
Say = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class Box:
    """A built box in the cache."""

    key: str
    dir: Path

    @property
    def image(self) -> Path:
        return self.dir / "box.img"

    def complete(self) -> bool:
        return all((self.dir / f).is_file() for f in ("box.img", "vmlinuz", "initrd.img"))


def public_key() -> Path:
    found = sorted(_GEMS.glob("vagrant-*/keys/vagrant.pub"))
    if not found:
        raise MissingBinaryError(
            "Vagrant's insecure public key not found: install Debian's vagrant "
            "(`bash scripts/setup.sh --vm`)"
        )
    return found[-1]


def mirror() -> str:
    """The Debian mirror: ``CHAOS_BOX_MIRROR``, else the one apt uses here."""
    if os.environ.get("CHAOS_BOX_MIRROR"):
        return os.environ["CHAOS_BOX_MIRROR"]
    sources = [Path("/etc/apt/sources.list"), *sorted(Path("/etc/apt/sources.list.d").glob("*"))]
    for src in sources:
        with contextlib.suppress(OSError):
            text = src.read_text()
            # deb822 (URIs: …) or one-line (deb URI suite …) for Debian's main archive
            for m in re.finditer(r"^(?:URIs:\s*|deb\s+)(\S+/debian)/?(?:\s|$)", text, re.M):
                return m.group(1)
    return DEFAULT_MIRROR


def cache_key() -> str:
    h = hashlib.sha256()
    h.update(SCRIPT.read_bytes())
    h.update(SUITE.encode())
    h.update(CMD_LINE.encode())
    h.update(public_key().read_bytes())
    return h.hexdigest()[:12]


def cached() -> Box:
    key = cache_key()
    return Box(key, CACHE / key)


def vagrant_home() -> Path:
    return Path(os.environ.get("VAGRANT_HOME", str(Path.home() / ".vagrant.d")))


def installed_dir() -> Path:
    """Where ``vagrant box add`` puts the box (unversioned boxes are version 0)."""
    return vagrant_home() / "boxes" / NAME.replace("/", "-VAGRANTSLASH-") / "0" / "libvirt"


def installed_key() -> str | None:
    try:
        return (installed_dir() / KEY_FILE).read_text().strip()
    except OSError:
        return None


@contextlib.contextmanager
def _locked() -> Iterator[None]:
    CACHE.mkdir(parents=True, exist_ok=True)
    with (CACHE / ".lock").open("w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)  # a second `chaos lab box` waits for the first
        yield


def _need(binary: str, package: str) -> None:
    if shutil.which(binary) is None and shutil.which(binary, path="/usr/sbin:/sbin") is None:
        raise MissingBinaryError(
            f"{binary} not found: run `bash scripts/setup.sh --vm` (or `apt-get install {package}`)"
        )


def _build(box: Box, say: Say) -> float:
    if os.geteuid() != 0:
        raise NotRootError("building the box needs root (debootstrap, chroot): run as root")
    for binary, package in (("debootstrap", "debootstrap"), ("qemu-img", "qemu-utils"),
                            ("mkfs.ext4", "e2fsprogs")):  # fmt: skip
        _need(binary, package)
    started = time.monotonic()
    work = CACHE / "work"
    debs = CACHE / "debs"
    debs.mkdir(parents=True, exist_ok=True)
    say(f"box {NAME}: building from Debian packages ({mirror()}); takes minutes")
    argv = ["nice", "-n", "19", "sh", str(SCRIPT), str(box.dir), str(work), str(debs),
            mirror(), SUITE, str(public_key())]  # fmt: skip
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert proc.stdout is not None
    tail: list[str] = []
    for raw in proc.stdout:
        line = raw.rstrip()
        tail = [*tail[-19:], line]
        if line.startswith("build-box:"):
            say(f"  {line}")
    if proc.wait() != 0:
        shutil.rmtree(box.dir, ignore_errors=True)
        last = next((t for t in reversed(tail) if t.strip()), f"exit {proc.returncode}")
        raise PlatformError(f"box build failed: {last}")
    (box.dir / "metadata.json").write_text(
        json.dumps({"provider": "libvirt", "format": "qcow2", "virtual_size": 8})
    )
    # The box's own Vagrantfile: boot the guest's kernel directly. Absolute paths into the
    # cache, readable by libvirt's QEMU user (the box directory under ~root is not).
    (box.dir / "Vagrantfile").write_text(
        'Vagrant.configure("2") do |config|\n'
        '  config.vm.provider "libvirt" do |lv|\n'
        f'    lv.kernel = "{box.dir / "vmlinuz"}"\n'
        f'    lv.initrd = "{box.dir / "initrd.img"}"\n'
        f'    lv.cmd_line = "{CMD_LINE}"\n'
        "  end\nend\n"
    )
    (box.dir / KEY_FILE).write_text(box.key + "\n")
    return time.monotonic() - started


def _add(box: Box, vagrant: str, say: Say) -> float:
    started = time.monotonic()
    tar_path = CACHE / f"{box.key}.box"
    with tarfile.open(tar_path, "w") as tar:
        for f in ("metadata.json", "Vagrantfile", KEY_FILE, "box.img"):
            tar.add(box.dir / f, arcname=f)
    try:
        done = subprocess.run(
            [vagrant, "box", "add", "--force", "--name", NAME, str(tar_path)],
            capture_output=True, text=True, timeout=600, check=False,
            cwd=CACHE,  # vagrant makes .vagrant/ wherever it runs: not in the user's folder
        )  # fmt: skip
    finally:
        tar_path.unlink(missing_ok=True)
    if done.returncode != 0:
        err = (done.stderr.strip().splitlines() or [f"exit {done.returncode}"])[-1]
        raise PlatformError(f"vagrant box add {NAME} failed: {err}")
    return time.monotonic() - started


def ensure(say: Say = print, *, rebuild: bool = False) -> str:
    """The box built (or taken from the cache) and added to Vagrant; one line saying which
    and how long it took."""
    vagrant = shutil.which("vagrant")
    if vagrant is None:
        raise MissingBinaryError(
            "vagrant not found: run `bash scripts/setup.sh --vm` (Debian's vagrant and "
            "vagrant-libvirt)"
        )
    started = time.monotonic()
    with _locked():
        box = cached()
        built = 0.0
        if rebuild or not box.complete():
            shutil.rmtree(box.dir, ignore_errors=True)
            built = _build(box, say)
        added = 0.0
        if rebuild or installed_key() != box.key:
            added = _add(box, vagrant, say)
        # boxes of older recipes: their cache is no use any more
        for old in CACHE.iterdir():
            if old.is_dir() and old.name not in (box.key, "debs") and len(old.name) == 12:
                shutil.rmtree(old, ignore_errors=True)
    total = time.monotonic() - started
    what = f"built in {built:.0f}s" if built else "cached"
    add = f", added to vagrant in {added:.0f}s" if added else ", already in vagrant"
    return f"box {NAME}: {what}{add} ({box.dir}; {total:.0f}s in all)"


def present() -> bool:
    """Whether Vagrant has the box of the current recipe (cheap: no vagrant call)."""
    try:
        return installed_key() == cache_key() and cached().complete()
    except MissingBinaryError:
        return False
