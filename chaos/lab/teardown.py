"""What a lab leaves on the host, and ``down``, which removes all of it (also after a SIGKILL
of any earlier process: it works from naming conventions, not only from the state file)."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

from chaos.errors import PlatformError
from chaos.journal import Journal
from chaos.lab import cgroups, network, system
from chaos.lab.config import CGROUP, CGROUP_ROOT, RUN_DIR, STATE_DIR

Log = Callable[[str], None]


def quiet(_msg: str) -> None:
    pass


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


def down(log: Log = quiet) -> list[str]:
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
