"""What a lab node booted into a quorum loss does: every node halted, the first started
alone (no leader can take it in), then the others. Sampled every 0.5 s: its engine's
``LocalNodeState``, whether the emulated mesh has written its rules (its ``nat`` table),
whether the supervisor holds it back (``joining_nodes`` in ``mesh.json``) and a TCP connect
to its IP's port 80 from the lab's client namespace. Needs root and a lab up (`chaos lab up`);
it deploys a three-task ``web`` service published on port 80 and removes it at the end.

    .venv/bin/python scripts/probe_lone_boot.py [SECONDS_ALONE]

A booted dockerd answers its API only once its node is ready, or after 20 s without
(``swarmConnectTimeout``): the first lines show that wait, then ``pending`` with no rules,
then ``active`` with its rules and its IP served.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time

from chaos import netns as ns
from chaos.errors import ChaosError
from chaos.lab import Lab
from chaos.lab import state as lab_state
from chaos.lab.config import CLIENT_NETNS, LabNode
from chaos.swarm.engine import DockerEngine
from chaos.swarm.model import ServiceRequest

SAMPLE_S = 0.5
SERVICE = "web"


def connect(ip: str) -> str:
    def once() -> str:
        try:
            with socket.create_connection((ip, 80), timeout=0.5):
                return "connected"
        except ConnectionRefusedError:
            return "refused"
        except OSError as exc:
            return type(exc).__name__

    return ns.call_in(CLIENT_NETNS, once)


def look(node: LabNode, engine: DockerEngine) -> tuple[str, bool, bool, str]:
    try:
        state = engine.local_node_state()
    except ChaosError:
        state = "no answer"
    nat = subprocess.run(
        ["ip", "netns", "exec", node.netns, "iptables", "-w", "5", "-t", "nat", "-S"],
        capture_output=True, text=True, check=False,
    ).stdout  # fmt: skip
    joining = node.name in lab_state.mesh_status().get("joining_nodes", [])
    return state, "CHAOS-MESH" in nat, joining, connect(node.ip)


def main() -> None:
    alone_s = float(sys.argv[1]) if len(sys.argv) > 1 else 35.0
    lab = Lab.attach()
    ports, labels = lab.publish(80, 80)
    lab.manager_engines()[0].create_service(
        ServiceRequest(name=SERVICE, image="chaoslab/web:1", replicas=3, ports=ports,
                       labels=labels)
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while not all(connect(n.ip) == "connected" for n in lab.nodes):
        if time.monotonic() > deadline:
            raise SystemExit("the web service did not answer on every node IP in 60 s")
        time.sleep(0.5)
    for node in lab.nodes:
        lab.halt(node.name)
    first, rest = lab.nodes[0], lab.nodes[1:]
    engine = DockerEngine(first.docker_host, name=first.name, timeout=1.0)
    started = time.monotonic()
    last: tuple[str, bool, bool, str] | None = None

    def sample(until: float) -> None:
        nonlocal last
        while time.monotonic() < until:
            now = look(first, engine)
            if now != last:
                state, rules, joining, ip = now
                print(f"{time.monotonic() - started:6.1f} s  {first.name}: state={state} "
                      f"mesh_rules={rules} held_back={joining} ip={ip}", flush=True)  # fmt: skip
                last = now
            if now[0] == "active" and now[3] == "connected":
                return
            time.sleep(SAMPLE_S)

    threading.Thread(target=lab.start, args=(first.name,), daemon=True).start()
    sample(time.monotonic() + alone_s)
    print(f"{time.monotonic() - started:6.1f} s  starting {', '.join(n.name for n in rest)}")
    for node in rest:
        threading.Thread(target=lab.start, args=(node.name,), daemon=True).start()
    sample(time.monotonic() + 180)
    lab.wait_swarm_ready()
    lab.manager_engines()[0].remove_service(SERVICE)


if __name__ == "__main__":
    main()
