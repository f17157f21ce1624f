"""Running host commands for the lab, with one-line errors that say what to do."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

from chaos.errors import MissingBinaryError, NotRootError, PlatformError

# binary -> Debian package that provides it
REQUIRED = {
    "dockerd": "docker.io",
    "containerd": "containerd",
    "runc": "runc",
    "iptables": "iptables",
    "iptables-restore": "iptables",
    "ip": "iproute2",
    "nsenter": "util-linux",
    "unshare": "util-linux",
    "busybox": "busybox-static",
    "conntrack": "conntrack",
}
SBIN = ("/usr/local/sbin", "/usr/sbin", "/sbin")


def require_root() -> None:
    if os.geteuid() != 0:
        raise NotRootError(
            "the lab needs root (network namespaces, engines, cgroups): run as root or with sudo"
        )


def which(binary: str) -> str:
    """Absolute path of a required binary, also looking in sbin dirs not on PATH."""
    path = shutil.which(binary) or shutil.which(binary, path=os.pathsep.join(SBIN))
    if path is None:
        pkg = REQUIRED.get(binary, binary)
        raise MissingBinaryError(
            f"{binary} not found: run `bash scripts/setup.sh` (or `apt-get install {pkg}`)"
        )
    return path


def require_binaries() -> None:
    for binary in REQUIRED:
        which(binary)


def run(
    args: Sequence[str],
    *,
    check: bool = True,
    input_text: str | None = None,
    netns: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run a command (inside a lab network namespace when ``netns`` is given)."""
    argv = [which(args[0]), *args[1:]]
    if netns is not None:
        argv = [which("nsenter"), f"--net=/run/netns/{netns}", "--", *argv]
    proc = subprocess.run(argv, input=input_text, capture_output=True, text=True, check=False)
    if check and proc.returncode != 0:
        detail = (proc.stderr or proc.stdout).strip().splitlines()
        last = detail[-1] if detail else f"exit {proc.returncode}"
        raise PlatformError(f"`{' '.join(args)}` failed: {last}")
    return proc


def spawn_daemon(argv: Sequence[str], *, log: Path, env: Mapping[str, str] | None = None) -> int:
    """Start ``argv`` detached from this process (own session, reparented to init).

    Its output is appended to ``log``. Returns its pid. The caller never waits on it, so no
    child of ours lingers un-reaped, and killing this process leaves the daemon running.
    """
    log.parent.mkdir(parents=True, exist_ok=True)
    script = 'log="$1"; shift; setsid "$@" >>"$log" 2>&1 </dev/null & echo $!'
    proc = subprocess.run(
        [which("sh"), "-c", script, "sh", str(log), *argv],
        capture_output=True,
        text=True,
        env=dict(env) if env is not None else None,
        check=False,
    )
    if proc.returncode != 0 or not proc.stdout.strip().isdigit():
        raise PlatformError(f"could not start {argv[0]}: {proc.stderr.strip() or 'no pid'}")
    return int(proc.stdout.strip())
