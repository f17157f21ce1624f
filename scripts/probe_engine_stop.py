"""What a lab node's graceful engine stop does, in time: when its task containers exit, when
its API stops answering, and when its last process is gone, sampled every 10 ms after the
SIGTERM. Needs root, a lab up (`chaos lab up`) with a task on the node (e.g. `docker service
create --name web --replicas 3 --publish 80:80 chaoslab/web:1` against a manager's socket).

    .venv/bin/python scripts/probe_engine_stop.py node-002
    .venv/bin/chaos lab start node-002   # afterwards: the engine is left stopped

It sends the signal itself (no goodbye to the mesh), so the timings are the engine's own.
"""

from __future__ import annotations

import os
import signal
import sys
import time

from chaos.lab import cgroups, engines
from chaos.lab import state as lab_state
from chaos.lab.config import LabNode
from chaos.swarm.engine import DockerEngine

SAMPLE_S = 0.01
LIMIT_S = 40.0
PING_TIMEOUT_S = 0.2


def container_pids(node: LabNode) -> int:
    """Processes in the node's task containers' cgroups (named by container id)."""
    top = cgroups.freezer_dir(node.cgroup)
    children = [c.name for c in top.iterdir() if c.is_dir()] if top.is_dir() else []
    return sum(len(cgroups.pids(f"{node.cgroup}/{c}")) for c in children if len(c) == 64)


def main() -> None:
    name = sys.argv[1] if len(sys.argv) > 1 else "node-002"
    st = lab_state.load()
    if st is None:
        raise SystemExit("no lab is up: `chaos lab up` first")
    node = next((n for n in st.config.lab_nodes() if n.name == name), None)
    pid = engines.dockerd_pid(node) if node is not None else None
    if node is None or pid is None:
        raise SystemExit(f"{name}: no such node, or its engine is not running")
    print(f"{name}: dockerd {pid}, {container_pids(node)} task processes", flush=True)
    engine = DockerEngine(node.docker_host)
    started = time.monotonic()
    os.kill(pid, signal.SIGTERM)
    last: tuple[bool, bool, bool] | None = None
    while time.monotonic() - started < LIMIT_S:
        answers = engine.ping(timeout=PING_TIMEOUT_S)
        now = (container_pids(node) > 0, answers, bool(cgroups.pids(node.cgroup)))
        if now != last:
            print(f"{time.monotonic() - started:6.3f}s  tasks running={now[0]}  "
                  f"API answers={now[1]}  any process={now[2]}", flush=True)  # fmt: skip
            last = now
        if not now[2]:
            return
        time.sleep(SAMPLE_S)


if __name__ == "__main__":
    main()
