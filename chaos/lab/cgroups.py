"""The lab's cgroups (v1): a freezer cgroup per node that holds every process of the node.

Each node's dockerd is started inside ``freezer/chaoslab/<node>`` and uses
``--cgroup-parent /chaoslab/<node>``, so the engine, containerd, the shims and every task
container live in that subtree: freezing it suspends the node, killing it halts the node.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path

from chaos.errors import PlatformError
from chaos.lab.config import CGROUP_ROOT

FREEZER = CGROUP_ROOT / "freezer"


def freezer_dir(rel: str) -> Path:
    return FREEZER / rel


def require_freezer() -> None:
    if not (FREEZER / "cgroup.procs").exists():
        raise PlatformError(
            "the cgroup v1 freezer is not mounted at /sys/fs/cgroup/freezer; "
            "the lab needs it to halt and suspend nodes"
        )


def ensure(rel: str) -> Path:
    path = freezer_dir(rel)
    path.mkdir(parents=True, exist_ok=True)
    return path


CPU = CGROUP_ROOT / "cpu"


def ensure_cpu(rel: str) -> Path | None:
    """The node's group in the cpu controller, where it has one: the node's processes share
    the host's cores as one group, so a stressed node starves itself, not its neighbours."""
    if not (CPU / "cgroup.procs").exists():
        return None
    path = CPU / rel
    path.mkdir(parents=True, exist_ok=True)
    return path


def join_script(*procs: Path | None) -> str:
    """Shell that moves the shell itself into each cgroup (its exec'd program stays there)."""
    return " && ".join(f'echo $$ > "{p / "cgroup.procs"}"' for p in procs if p is not None)


def pids(rel: str) -> list[int]:
    """Every process in the subtree ``rel`` of the freezer hierarchy."""
    root = freezer_dir(rel)
    found: list[int] = []
    if not root.is_dir():
        return found
    for dirpath, _dirs, files in os.walk(root):
        if "cgroup.procs" in files:
            try:
                text = (Path(dirpath) / "cgroup.procs").read_text()
            except OSError:
                continue
            found.extend(int(line) for line in text.split())
    return found


def freeze_state(rel: str) -> str:
    """``THAWED``, ``FREEZING`` or ``FROZEN`` ('' when the cgroup does not exist)."""
    try:
        return (freezer_dir(rel) / "freezer.state").read_text().strip()
    except OSError:
        return ""


def set_frozen(rel: str, frozen: bool, *, timeout: float = 10.0) -> None:
    path = freezer_dir(rel) / "freezer.state"
    want = "FROZEN" if frozen else "THAWED"
    path.write_text(want)
    deadline = time.monotonic() + timeout
    while freeze_state(rel) != want:
        if time.monotonic() > deadline:
            raise PlatformError(f"cgroup {rel} did not reach {want} within {timeout:.0f}s")
        time.sleep(0.02)


def _try_frozen(rel: str, frozen: bool, timeout: float) -> bool:
    try:
        set_frozen(rel, frozen, timeout=timeout)
    except (PlatformError, OSError):
        return False
    return True


def kill_all(rel: str, *, timeout: float = 15.0) -> int:
    """SIGKILL every process of the subtree: freeze (no escape by fork), kill, thaw, wait.

    A process in uninterruptible sleep can hold the cgroup in FREEZING; then it is killed
    unfrozen (and again next round), and the cgroup is always thawed: a frozen task never
    receives its SIGKILL, and a cgroup left frozen would stall the next lab. Returns how
    many processes were killed.
    """
    if not freezer_dir(rel).is_dir():
        return 0
    killed: set[int] = set()
    deadline = time.monotonic() + timeout
    while True:
        current = pids(rel)
        if not current:
            return len(killed)
        if time.monotonic() > deadline:
            raise PlatformError(f"processes {current[:5]} of cgroup {rel} survived SIGKILL")
        _try_frozen(rel, True, 3.0)
        for pid in current:
            try:
                os.kill(pid, signal.SIGKILL)
                killed.add(pid)
            except ProcessLookupError:
                pass
        _thaw_children(rel)  # a suspended node's cgroup stays FROZEN under a thawed parent
        if not _try_frozen(rel, False, 5.0) and time.monotonic() > deadline:
            raise PlatformError(f"cgroup {rel} stays {freeze_state(rel)}: cannot thaw it")
        time.sleep(0.05)


def _thaw_children(rel: str) -> None:
    top = freezer_dir(rel)
    for dirpath, _dirs, _files in os.walk(top):
        if Path(dirpath) != top:
            with contextlib.suppress(OSError):
                (Path(dirpath) / "freezer.state").write_text("THAWED")


def remove_tree(rel: str) -> list[str]:
    """Remove the (empty) cgroup directories ``rel`` in every controller, deepest first."""
    removed: list[str] = []
    if not CGROUP_ROOT.is_dir():
        return removed
    for controller in sorted(CGROUP_ROOT.iterdir()):
        top = controller / rel
        if not top.is_dir() or top.is_symlink():
            continue
        for dirpath, _dirs, _files in sorted(os.walk(top), key=lambda t: -len(t[0])):
            try:
                os.rmdir(dirpath)
            except OSError:
                continue
        if not top.exists():
            removed.append(str(top))
    return removed


def remove_children(rel: str) -> None:
    """Remove empty per-container cgroups below ``rel`` (left behind by killed containers)."""
    for controller in sorted(CGROUP_ROOT.iterdir()) if CGROUP_ROOT.is_dir() else []:
        top = controller / rel
        if not top.is_dir():
            continue
        for dirpath, _dirs, _files in sorted(os.walk(top), key=lambda t: -len(t[0])):
            if Path(dirpath) != top:
                try:
                    os.rmdir(dirpath)
                except OSError:
                    continue
