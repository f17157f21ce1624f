"""Faults that weigh on a lab node without stopping it: CPU and memory pressure, and a
degraded network (loss, delay, jitter).

Both start processes of the node's own (in its freezer cgroup, so a halt or a suspend takes
them too, and ``lab down`` kills them; and in its cpu group, so a stressed node starves its own
engine as a VM's busy vCPU would, not its neighbours):

- **stress**: ``cpu`` busy loops (``busybox sh``) and one process holding ``memory`` bytes,
  in ``chaoslab/<node>/stress``; undone by killing that cgroup.
- **degrade**: the iptables chains of :mod:`chaos.platform.degrade` in the node's
  namespace, and for a delay or a loss on what the node sends the user-space delayer
  (:mod:`chaos.lab.delayer`, this kernel has no netem) in ``chaos/<node>/delayer``; undone by
  removing the chains and killing it.
"""

from __future__ import annotations

import shlex
import sys
import time
from collections.abc import Callable

from chaos.errors import NodeHaltedError, PlatformError
from chaos.lab import cgroups
from chaos.lab.config import STATE_DIR, LabNode
from chaos.lab.system import run, spawn_daemon, which
from chaos.platform.degrade import (
    Degradation,
    degrade_script,
    needs_shaping,
    status_script,
    undegrade_script,
)

HOLD_MEMORY = (
    "import sys, time\n"
    "b = bytearray(int(sys.argv[1]))\n"
    "for i in range(0, len(b), 4096): b[i] = 1\n"  # touch every page: resident, not promised
    "time.sleep(1e9)\n"
)


def _group(node: LabNode, part: str) -> str:
    return f"{node.cgroup}/{part}"


def _spawn(node: LabNode, part: str, argv: list[str], *, netns: bool = False) -> int:
    join = cgroups.join_script(cgroups.ensure(_group(node, part)), cgroups.ensure_cpu(node.cgroup))
    enter = f"{shlex.quote(which('nsenter'))} --net=/run/netns/{node.netns} -- " if netns else ""
    inner = f"{join} && exec {enter}" + " ".join(shlex.quote(a) for a in argv)
    log = STATE_DIR / node.name / f"{part}.log"
    return spawn_daemon(["sh", "-c", inner], log=log)


def _await(ok: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    """Wait for what was just spawned (in the background) to be in place."""
    deadline = time.monotonic() + timeout
    while not ok():
        if time.monotonic() > deadline:
            raise PlatformError(f"timed out waiting for {what}; see the node's logs")
        time.sleep(0.05)


def _running(node: LabNode, power: str) -> None:
    if power != "running":
        raise NodeHaltedError(f"{node.name} is {power}: only a running node can be put under it")


# -- stress ------------------------------------------------------------------------------------
def stress(node: LabNode, power: str, cpu: int, memory: int) -> str:
    _running(node, power)
    unstress(node)  # one stress at a time: the new one replaces the old
    busy = which("busybox")
    for _ in range(cpu):
        _spawn(node, "stress", [busy, "sh", "-c", "while :; do :; done"])
    if memory:
        _spawn(node, "stress", [sys.executable, "-c", HOLD_MEMORY, str(memory)])
    want = cpu + (1 if memory else 0)
    _await(lambda: len(cgroups.pids(_group(node, "stress"))) >= want, f"the stress of {node.name}")
    held = f", {memory / 2**20:.0f} MiB held" if memory else ""
    return f"{node.name} stressed: {cpu} busy CPU loop{'s' if cpu != 1 else ''}{held}"


def unstress(node: LabNode) -> str:
    killed = cgroups.kill_all(_group(node, "stress"))
    return f"{node.name}: stress stopped ({killed} processes)" if killed else (
        f"{node.name} is not stressed; nothing done"
    )  # fmt: skip


def stressed(node: LabNode) -> bool:
    return bool(cgroups.pids(_group(node, "stress")))


def weighed_on(node: LabNode) -> bool:
    """Stressed, or its traffic through the delayer: from the node's cgroups alone (no
    command run, cheap enough for the mesh supervisor's every poll)."""
    return stressed(node) or bool(cgroups.pids(_group(node, "delayer")))


# -- degraded network --------------------------------------------------------------------------
def degrade(node: LabNode, power: str, d: Degradation) -> str:
    _running(node, power)
    undegrade(node)
    run(["sh", "-c", degrade_script(d)], netns=node.netns)
    if needs_shaping(d):
        ready = node.run_dir / "delayer.ready"
        ready.unlink(missing_ok=True)
        argv = [sys.executable, "-m", "chaos.lab.delayer", "--delay", str(d.delay_s),
                "--jitter", str(d.jitter_s), "--loss", str(d.loss),
                "--ready", str(ready)]  # fmt: skip
        _spawn(node, "delayer", argv, netns=True)
        _await(ready.exists, f"the delayer of {node.name} to bind its queue")
    return f"{node.name} degraded: {d.describe()}"


def undegrade(node: LabNode) -> str:
    """Rules out, delayer killed (whatever the node's power: the rules live in its namespace)."""
    was = degraded(node)
    run(["sh", "-c", undegrade_script()], netns=node.netns, check=False)
    cgroups.kill_all(_group(node, "delayer"))
    return f"{node.name}: network no longer degraded" if was else (
        f"{node.name} is not degraded; nothing done"
    )  # fmt: skip


def degraded(node: LabNode) -> bool:
    out = run(["sh", "-c", status_script()], netns=node.netns, check=False).stdout
    return out.strip() == "degraded" or bool(cgroups.pids(_group(node, "delayer")))
