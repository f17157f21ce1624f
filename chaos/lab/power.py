"""Node power on the lab, emulated as a VM would feel it, and a node's cut-off from the swarm.

- halt: cable pulled (host veth down), then every process of the node SIGKILLed through its
  freezer cgroup; its mounts vanish with its mount namespace. No goodbye to the cluster.
- start: cable plugged, engine booted from its persisted data root; it rejoins the swarm. A
  boot after a halt starts as a machine does: an empty connection table, no iptables rules
  (the engine's and the mesh's come back with the engine), none of the engine's links.
- suspend / resume: the node's freezer cgroup FROZEN / THAWED (RAM kept, no FIN, no RST),
  and its cable unplugged meanwhile: a paused machine's kernel answers nothing either (no
  SYN-ACK, no ARP), where the lab's shared kernel would still forward for a frozen node.
- stop-engine: SIGTERM to dockerd, the graceful daemon stop of ``systemctl stop docker``
  (it leaves the gossip cluster: the others' mesh drops it at once).
- shutdown: the tutorial's graceful ``vagrant halt``: the engine stopped as above, then the
  power goes as in a halt.
- isolate / reconnect: the node's swarm ports dropped silently both ways; it keeps running.
"""

from __future__ import annotations

from typing import Literal

from chaos.errors import NodeHaltedError, UsageError
from chaos.lab import cgroups, engines, network
from chaos.lab.config import LabNode
from chaos.platform import isolation

Power = Literal["running", "halted", "suspended"]


def power_of(node: LabNode) -> Power:
    if cgroups.freeze_state(node.cgroup) in ("FROZEN", "FREEZING"):
        return "suspended"
    if not network.cable_plugged(node):
        return "halted"
    return "running"


def halt(node: LabNode) -> str:
    if power_of(node) == "halted":
        return f"{node.name} is already halted; nothing done"
    network.set_cable(node, plugged=False)
    killed = cgroups.kill_all(node.cgroup)
    cgroups.remove_children(node.cgroup)
    node.socket.unlink(missing_ok=True)
    return f"{node.name} halted: cable pulled, {killed} processes killed (no goodbye to the swarm)"


def shutdown(node: LabNode) -> str:
    """A clean power-off: the OS stops the engine gracefully, then the machine is off."""
    power = power_of(node)
    if power == "halted":
        return f"{node.name} is already off; nothing done"
    if power == "suspended":
        raise NodeHaltedError(f"{node.name} is suspended: resume it before shutting it down")
    stopped = engines.stop(node)
    halt(node)
    how = "engine stopped gracefully (SIGTERM), " if stopped else ""
    return f"{node.name} shut down: {how}then powered off"


def start(node: LabNode) -> str:
    power = power_of(node)
    if power == "suspended":
        raise UsageError(f"{node.name} is suspended: resume it with `chaos lab resume {node.name}`")
    if power == "running" and engines.alive(node):
        return f"{node.name} is already running; nothing done"
    if power == "halted":  # a machine boots with empty tables and no engine links
        network.flush_conntrack(node.netns)
        network.flush_rules(node.netns)
        network.remove_engine_links(node.netns)
    network.set_cable(node, plugged=True)
    engines.start(node)
    engines.wait_ready(node)
    return f"{node.name} started: cable plugged, engine up ({node.docker_host})"


def suspend(node: LabNode) -> str:
    power = power_of(node)
    if power == "suspended":
        return f"{node.name} is already suspended; nothing done"
    if power == "halted":
        raise NodeHaltedError(f"{node.name} is halted: start it with `chaos lab start {node.name}`")
    network.set_cable(node, plugged=False)
    cgroups.set_frozen(node.cgroup, True)
    return f"{node.name} suspended: every process of the node frozen, its network silent"


def resume(node: LabNode) -> str:
    if power_of(node) != "suspended":
        return f"{node.name} is not suspended; nothing done"
    cgroups.set_frozen(node.cgroup, False)
    network.set_cable(node, plugged=True)
    return f"{node.name} resumed"


def stop_engine(node: LabNode) -> str:
    power = power_of(node)
    if power != "running":
        raise NodeHaltedError(f"{node.name} is {power}: its engine cannot be stopped")
    if not engines.stop(node):
        return f"the engine of {node.name} is already stopped; nothing done"
    return f"the engine of {node.name} stopped gracefully (SIGTERM)"


def isolate(node: LabNode, peers: list[LabNode]) -> str:
    """Cut the node off the swarm (its swarm ports and its mesh traffic with ``peers``, the
    other nodes, dropped silently both ways); it keeps running."""
    power = power_of(node)
    if power != "running":
        raise NodeHaltedError(f"{node.name} is {power}: only a running node can be isolated")
    if network.is_isolated(node):
        return f"{node.name} is already isolated; nothing done"
    network.set_isolated(node, True, peers)
    return isolation.describe(node.name, isolated=True)


def reconnect(node: LabNode, peers: list[LabNode]) -> str:
    """Undo :func:`isolate` (whatever the node's power: the rules live in its namespace). The
    peers are cleared even when the node is connected: a node that was halted and started
    again lost its own rules, while its peers still drop what it sends."""
    was = network.is_isolated(node)
    network.set_isolated(node, False, peers)
    if not was:
        return f"{node.name} is already connected; nothing done"
    return isolation.describe(node.name, isolated=False)


def isolated(node: LabNode) -> bool:
    return network.is_isolated(node)
