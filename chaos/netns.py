"""Network namespaces the tool made, and running code inside them.

Traffic to a cluster under test must start where it cannot go anywhere else: on this host
the lab's nodes (and the VMs' networks) live behind a bridge, and a socket opened in the
host's own namespace would follow the host's default route the moment that bridge is gone
(a lab torn down under a run). So every process or thread that talks to the cluster's
addresses over IP (the load generator, the readiness probes, ssh to the VMs) runs inside a
*client namespace* of the tool's own: attached to the cluster's network, with no default
route. If the cluster's network disappears, its sockets fail with "network unreachable";
nothing reaches the host's uplink.

A platform names its client namespace (:attr:`chaos.platform.base.Platform.client_netns`);
``None`` means the cluster is reached from the host's own namespace (an existing cluster
over SSH, a user's VirtualBox VMs).

Three ways in, one per kind of caller:

- :func:`enter`: the calling thread moves in (``setns(2)``; a process whose main thread
  enters before it starts threads has all of them inside), used by the load generator's
  own process;
- :func:`call_in`: one function run in a fresh thread that entered first (the sockets it
  opens stay in the namespace for their whole life), used by readiness probes;
- :func:`command`: an argv prefix (``nsenter --net=…``) for subprocesses (ssh, vagrant).
"""

from __future__ import annotations

import ctypes
import os
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

from chaos.errors import PlatformError

NETNS_DIR = Path("/run/netns")
CLONE_NEWNET = 0x40000000

T = TypeVar("T")


def path(name: str) -> Path:
    return NETNS_DIR / name


def exists(name: str) -> bool:
    return path(name).exists()


def enter(name: str) -> None:
    """Move the calling thread into network namespace ``name`` (threads it starts later
    inherit it). Raises PlatformError when the namespace is gone: never fall back to the
    host's namespace."""
    try:
        fd = os.open(path(name), os.O_RDONLY | os.O_CLOEXEC)
    except OSError as exc:
        raise PlatformError(
            f"network namespace {name} is gone ({exc.strerror}): is the cluster up?"
        ) from None
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.setns(fd, CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            raise PlatformError(f"cannot enter network namespace {name}: {os.strerror(err)}")
    finally:
        os.close(fd)


def call_in(name: str | None, fn: Callable[[], T]) -> T:
    """``fn()`` run inside namespace ``name`` (in the caller's when ``None``): in a thread of
    its own that entered first, so the caller's namespace never changes."""
    if name is None:
        return fn()
    box: dict[str, T] = {}
    failure: list[BaseException] = []

    def target() -> None:
        try:
            enter(name)
            box["value"] = fn()
        except BaseException as exc:  # re-raised in the caller's thread
            failure.append(exc)

    thread = threading.Thread(target=target, name=f"netns-{name}", daemon=True)
    thread.start()
    thread.join()
    if failure:
        raise failure[0]
    return box["value"]


def command(name: str | None, argv: Sequence[str]) -> list[str]:
    """``argv`` run inside namespace ``name`` (unchanged when ``None``). ``nsenter`` rather
    than ``ip netns exec``: the latter remounts /sys, which hides the cgroup mounts."""
    if name is None:
        return list(argv)
    return ["nsenter", f"--net={path(name)}", "--", *argv]
