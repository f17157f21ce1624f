"""One lock per cluster: a run, a recover, a lab up/down or a manual fault acts alone.

Two actors on one cluster corrupt each other: a second run's start-up recover removes the
first run's service, a ``lab down`` pulls the network from under a run's load. So every
command that changes a cluster holds its lock for as long as it acts; a second one is
refused with one line naming the holder (its run, pid and command).

The lock is ``flock(2)`` on ``/run/swarm-chaos/locks/<cluster>.lock``: the kernel drops it when its
holder dies, however it dies (SIGKILL included), so a dead holder never blocks anyone. The
file also records who holds it; a command that finds a record but gets the lock knows its
previous holder died without releasing it, and says so (its faults are then recovered from
the journal by whoever takes over). Re-entrant within one process: ``chaos run`` holds the
lab's lock and may bring the lab up under it.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from chaos.errors import ClusterBusyError

DEFAULT_LOCK_DIR = "/run/swarm-chaos/locks"


@dataclass(frozen=True, slots=True)
class Holder:
    """Who holds (or held) a cluster's lock: ``since`` is a Unix time."""

    pid: int
    command: str
    run: str = ""
    since: float = 0.0

    def describe(self) -> str:
        what = f"run {self.run}" if self.run else f"`{self.command}`"
        started = time.strftime("%H:%M:%S", time.localtime(self.since))
        return f"{what} (pid {self.pid}, since {started})"


@dataclass
class _Held:
    fd: int
    count: int
    holder: Holder


_HELD: dict[str, _Held] = {}


def lock_path(cluster: str) -> Path:
    """``$CHAOS_LOCK_DIR/<cluster>.lock`` (read at each use: tests keep their own)."""
    return Path(os.environ.get("CHAOS_LOCK_DIR", DEFAULT_LOCK_DIR)) / f"{cluster}.lock"


def _command() -> str:
    args = [Path(sys.argv[0]).name, *sys.argv[1:]] if sys.argv else ["chaos"]
    return " ".join(args)[:200]


def _read(fd: int) -> Holder | None:
    os.lseek(fd, 0, os.SEEK_SET)
    raw = os.read(fd, 4096)
    try:
        data = json.loads(raw)
        return Holder(int(data["pid"]), str(data["command"]), str(data.get("run", "")),
                      float(data.get("since", 0.0)))  # fmt: skip
    except (ValueError, KeyError, TypeError):
        return None


def _write(fd: int, holder: Holder) -> None:
    os.ftruncate(fd, 0)
    os.lseek(fd, 0, os.SEEK_SET)
    os.write(fd, (json.dumps(asdict(holder)) + "\n").encode())


def _open_locked(cluster: str) -> tuple[int, Holder | None]:
    """The lock file's fd with the lock held, and the record found in it (or raise busy)."""
    path = lock_path(cluster)
    path.parent.mkdir(parents=True, exist_ok=True)
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read(fd)
            os.close(fd)
            who = holder.describe() if holder else "another chaos command"
            raise ClusterBusyError(
                f"the {cluster} cluster is in use by {who}: wait for it to end, or stop it "
                "with `chaos stop` (it restores before it exits)"
            ) from None
        # the file may have been removed (a `lab down` ending) between open and flock
        try:
            same = os.fstat(fd).st_ino == os.stat(path).st_ino
        except FileNotFoundError:
            same = False
        if same:
            return fd, _read(fd)
        os.close(fd)


def acquire(cluster: str, run: str = "") -> Holder | None:
    """Take the cluster's lock (again, if this process holds it). Returns the record of a
    previous holder that died holding it (``None`` when it was free). Raises
    ClusterBusyError when a live process holds it."""
    held = _HELD.get(cluster)
    if held is not None:
        held.count += 1
        if run:  # a sweep's or suite's next run: `chaos stop` names it
            name_run(cluster, run)
        return None
    fd, previous = _open_locked(cluster)
    holder = Holder(os.getpid(), _command(), run, time.time())
    _write(fd, holder)
    _HELD[cluster] = _Held(fd, 1, holder)
    return previous if previous is not None and previous.pid != os.getpid() else None


def name_run(cluster: str, run: str) -> None:
    """Record the run id in the lock this process holds (it is known after the lock)."""
    held = _HELD.get(cluster)
    if held is not None:
        held.holder = Holder(held.holder.pid, held.holder.command, run, held.holder.since)
        _write(held.fd, held.holder)


def release(cluster: str, *, remove: bool = False) -> None:
    """Drop one hold; the last one unlocks, and with ``remove`` deletes the file too (the
    cluster is gone: ``lab down`` leaves nothing behind)."""
    held = _HELD.get(cluster)
    if held is None:
        return
    held.count -= 1
    if held.count > 0:
        return
    del _HELD[cluster]
    if remove:
        lock_path(cluster).unlink(missing_ok=True)
    else:
        os.ftruncate(held.fd, 0)  # no record: nobody died holding it
    os.close(held.fd)


@contextlib.contextmanager
def holding(cluster: str, run: str = "", *, remove: bool = False) -> Iterator[Holder | None]:
    """``with holding("lab"):`` the cluster is this process's; yields a dead previous
    holder's record (or ``None``)."""
    previous = acquire(cluster, run)
    try:
        yield previous
    finally:
        release(cluster, remove=remove)


def holder(cluster: str) -> Holder | None:
    """The live holder of the cluster's lock, if any (read only)."""
    path = lock_path(cluster)
    try:
        fd = os.open(path, os.O_RDWR | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return _read(fd)
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)
