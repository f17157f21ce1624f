"""Starting and stopping one node's docker engine, as a VM's boot and shutdown would.

The engine runs in its own mount and UTS namespaces (hostname ``node-00N``; its mounts vanish
with its processes, as on a power cut) and in the node's network namespace, entered with
``nsenter --net`` (``ip netns exec`` would remount /sys and hide the cgroup mounts). It is
placed in the node's freezer cgroup before exec, so every child lands there too.
"""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import time
from pathlib import Path

from chaos.errors import PlatformError
from chaos.lab import cgroups
from chaos.lab import state as lab_state
from chaos.lab.config import MESHD_CGROUP, LabNode
from chaos.lab.system import spawn_daemon, which
from chaos.swarm.engine import DockerEngine

ENGINE_START_TIMEOUT = 30.0
ENGINE_STOP_TIMEOUT = 40.0
MESH_FORGETS_TIMEOUT = 5.0  # the mesh supervisor writes every node's rules twice a second


def dockerd_argv(node: LabNode) -> list[str]:
    return [
        which("dockerd"),
        "--data-root", str(node.data_root),
        "--exec-root", str(node.run_dir / "exec"),
        "--pidfile", str(node.run_dir / "docker.pid"),
        "--host", node.docker_host,
        "--cgroup-parent", f"/{node.cgroup}",
        "--storage-driver", "overlay2",
        "--log-level", "warn",
    ]  # fmt: skip


def start(node: LabNode) -> None:
    """Boot the node's engine in the background (``wait_ready`` waits for it)."""
    if alive(node):
        raise PlatformError(f"the engine of {node.name} is already running")
    # A boot starts with an empty /run, as on a VM: a killed engine leaves pid files of
    # dockerd and containerd whose pids may linger (or be reused) and block the start.
    shutil.rmtree(node.run_dir, ignore_errors=True)
    lab_state.mark_goodbye(node.name, said=False)  # it will join again
    for path in (node.run_dir, node.data_root, node.engine_log.parent):
        path.mkdir(parents=True, exist_ok=True)
    join = cgroups.join_script(cgroups.ensure(node.cgroup), cgroups.ensure_cpu(node.cgroup))
    inner = (
        f"{join} && hostname {shlex.quote(node.name)} && "
        f"exec {shlex.quote(which('nsenter'))} --net=/run/netns/{shlex.quote(node.netns)} -- "
        + " ".join(shlex.quote(a) for a in dockerd_argv(node))
    )
    boot = [which("unshare"), "--mount", "--uts", "--propagation", "slave", "sh", "-c", inner]
    env = dict(os.environ)
    # Tasks use the images the lab loaded; never try a registry (none is reachable).
    env["DOCKER_SERVICE_PREFER_OFFLINE_IMAGE"] = "1"
    env.pop("DOCKER_HOST", None)
    spawn_daemon(boot, log=node.engine_log, env=env)


def wait_ready(node: LabNode, timeout: float = ENGINE_START_TIMEOUT) -> None:
    engine = DockerEngine(node.docker_host, name=node.name)
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if engine.ping():
            return
        # give the boot wrapper a moment to exec dockerd before judging it dead
        if time.monotonic() - started > 2.0 and not alive(node):
            break
        time.sleep(0.1)
    raise PlatformError(
        f"the engine of {node.name} did not start: {last_log_line(node.engine_log)} "
        f"(full log: {node.engine_log})"
    )


def last_log_line(path: Path) -> str:
    try:
        lines = [ln for ln in path.read_text(errors="replace").splitlines() if "level=" in ln]
    except OSError:
        return "no engine log"
    errors = [ln for ln in lines if "level=error" in ln or "level=fatal" in ln]
    return (errors or lines or ["no engine log"])[-1][-300:]


def dockerd_pid(node: LabNode) -> int | None:
    """The pid of the node's dockerd, found in its cgroup (pid files can be stale)."""
    for pid in cgroups.pids(node.cgroup):
        try:
            comm = Path(f"/proc/{pid}/comm").read_text().strip()
        except OSError:
            continue
        if comm == "dockerd":
            return pid
    return None


def alive(node: LabNode) -> bool:
    return dockerd_pid(node) is not None


def _leave_gossip(node: LabNode) -> None:
    """What a real engine's graceful stop does before any container stops: swarm's node stop
    (``Cluster.Cleanup``) closes libnetwork's agent, whose networkdb leaves the gossip cluster
    (memberlist's Leave), and the other nodes delete its load-balancer entries at once. The
    emulated mesh learns it from the node's mark; this waits (a few of its cycles at most)
    until the mesh has dropped the node, so its tasks take no new connection from the others
    when they stop."""
    marked = time.time()
    lab_state.mark_goodbye(node.name, said=True)
    deadline = time.monotonic() + MESH_FORGETS_TIMEOUT
    while cgroups.pids(MESHD_CGROUP) and time.monotonic() < deadline:
        status = lab_state.mesh_status()
        if status.get("updated", 0.0) > marked and node.name in status.get("dead_nodes", []):
            return
        time.sleep(0.05)


def stop(node: LabNode, timeout: float = ENGINE_STOP_TIMEOUT) -> bool:
    """Graceful shutdown: SIGTERM to dockerd, wait for it and its children to exit.

    Returns False when the engine was not running. Stragglers left after ``timeout`` are
    killed so the node is in a clean stopped state.
    """
    pid = dockerd_pid(node)
    if pid is None:
        return False
    _leave_gossip(node)
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and cgroups.pids(node.cgroup):
        time.sleep(0.1)
    cgroups.kill_all(node.cgroup)
    cgroups.remove_children(node.cgroup)
    node.socket.unlink(missing_ok=True)
    return True
