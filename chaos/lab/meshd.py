"""The emulated mesh's supervisor: ``python -m chaos.lab.meshd`` (started by ``lab up``).

Every ``INTERVAL`` seconds it asks every node's engine which task containers it runs (what
the node's gossip would advertise), learns from a manager which services asked for the mesh
(kept from the last answer while no manager answers: quorum lost, election), computes each
node's DNAT rules (:mod:`chaos.lab.mesh`) and applies the ones that changed with one atomic
``iptables-restore --noflush`` per node. Its status is written to ``mesh.json``.

A task the managers are stopping (its desired state no longer ``running``: an update, a
scale-down, a drain, a rescheduled task) leaves the rules before its container stops, as
swarm's agent takes its endpoint out of the load balancer and waits 2 s before stopping it.

As gossip does, a node whose engine stops answering keeps its backends for ``SUSPICION``
seconds and is then dropped. A node whose swarm ports are blocked
(:mod:`chaos.platform.isolation`) is silent to gossip though its engine answers: the others
drop it after the suspicion time, and it keeps only its own tasks, as swarm's mesh would on
both sides of the partition.
"""

from __future__ import annotations

import signal
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from types import FrameType

from chaos.errors import ChaosError
from chaos.lab import network
from chaos.lab import state as lab_state
from chaos.lab.config import LabNode
from chaos.lab.mesh import (
    HOOKS,
    Backend,
    MeshEntry,
    MeshService,
    describe,
    mesh_entries,
    meshed_services,
    node_rules,
)
from chaos.lab.system import run
from chaos.swarm.engine import DockerEngine
from chaos.swarm.model import ContainerView

INTERVAL = 0.5
SUSPICION = 4.0  # memberlist: a node silent this long after a failed probe is dead
API_TIMEOUT = 1.0


class Supervisor:
    def __init__(self, nodes: list[LabNode]) -> None:
        self.nodes = nodes
        self.engines = {
            n.name: DockerEngine(n.docker_host, name=n.name, timeout=API_TIMEOUT) for n in nodes
        }
        self.addrs = {n.name: n.ip for n in nodes}
        self.failing_since: dict[str, float] = {}
        self.seen: dict[str, list[ContainerView]] = {}  # the last listing of each node
        self.services: list[MeshService] = []  # from the last manager that answered
        self.retiring: set[str] = set()  # tasks the managers are stopping (the last answer)
        self.source = ""
        self.applied: dict[str, str] = {}
        self.routed: dict[str, set[Backend]] = {}  # per node: the backends its rules name
        self.forgotten = 0  # stale connection-tracking entries deleted so far
        self.hooked: set[str] = set()
        self.preferred: str | None = None
        self.isolated: set[str] = set()
        self.stopping = False
        self.pool = ThreadPoolExecutor(max_workers=len(nodes))

    def _listing(self, name: str) -> list[ContainerView] | None:
        try:
            return self.engines[name].task_containers()
        except ChaosError:
            return None

    def survey(self) -> frozenset[str]:
        """List every node's task containers; returns the nodes dead to gossip (silent for
        ``SUSPICION`` seconds, or isolated that long)."""
        now = time.monotonic()
        names = list(self.engines)
        listings = dict(zip(names, self.pool.map(self._listing, names), strict=True))
        cut = list(self.pool.map(network.is_isolated, self.nodes))
        self.isolated = {n.name for n, off in zip(self.nodes, cut, strict=True) if off}
        for name, listing in listings.items():
            if listing is not None:
                self.seen[name] = listing
            if listing is not None and name not in self.isolated:
                self.failing_since.pop(name, None)
            else:
                self.failing_since.setdefault(name, now)
        return frozenset(n for n, t in self.failing_since.items() if now - t >= SUSPICION)

    def refresh_services(self) -> str:
        """The meshed services from a manager (connected ones first); '' or the last error."""
        managers = sorted(
            (n for n in self.nodes if n.manager),
            key=lambda n: (
                n.name in self.isolated,
                n.name != self.preferred,
                n.name in self.failing_since,
            ),
        )
        error = "no manager answers"
        for node in managers:
            try:
                services = self.engines[node.name].services()
                tasks = self.engines[node.name].tasks()
            except ChaosError as exc:
                error = str(exc)
                continue
            self.services = meshed_services(services)
            # tasks being stopped: swarm's agent disables their endpoint in gossip and waits
            # 2 s before it stops the container, so new connections stop reaching them first
            self.retiring = {t.id for t in tasks if t.desired_state != "running"}
            self.preferred = self.source = node.name
            return ""
        return error

    def view(self, node: str, dead: frozenset[str]) -> dict[str, list[ContainerView]]:
        """The containers ``node`` can route to: its own only when it is cut off; else those
        of every node not dead to gossip (a silent one's last listing, while suspected)."""
        if node in self.isolated and node in dead:
            return {node: self.seen.get(node, [])}  # cut off: it hears no stop of its own
        return {
            n: [c for c in listed if c.task_id not in self.retiring]
            for n, listed in self.seen.items()
            if n not in dead
        }

    def cycle(self) -> None:
        dead = self.survey()
        error = self.refresh_services()
        everyone = mesh_entries(self.services, self.view("", dead), self.addrs)
        for lab_node in self.nodes:
            entries = (
                mesh_entries(self.services, self.view(lab_node.name, dead), self.addrs)
                if lab_node.name in self.isolated
                else everyone
            )
            if self.apply(lab_node, node_rules(lab_node.ip, entries)):
                self.forget_removed(lab_node, entries)
        lab_state.write_json_atomic(
            lab_state.MESH_STATUS_FILE,
            {
                "updated": time.time(),
                "source": "" if error else self.source,
                "error": error,
                "dead_nodes": sorted(dead),
                "isolated_nodes": sorted(self.isolated),
                "services": describe(everyone),
                "conntrack_forgotten": self.forgotten,
            },
        )

    def ensure_hooks(self, node: LabNode) -> None:
        run(["sysctl", "-qw", "net.ipv4.ip_forward=1"], netns=node.netns, check=False)
        for table, chain, target in HOOKS:
            check = run(
                ["iptables", "-w", "2", "-t", table, "-C", chain, "-j", target],
                netns=node.netns,
                check=False,
            )
            if check.returncode != 0:
                run(
                    ["iptables", "-w", "2", "-t", table, "-I", chain, "1", "-j", target],
                    netns=node.netns,
                )

    def forget_removed(self, node: LabNode, entries: list[MeshEntry]) -> None:
        """Delete the node's tracked connections to backends its rules no longer name (see
        :func:`chaos.lab.network.forget_connections`), once the new rules are in place."""
        now = {b for e in entries for b in e.backends}
        for backend in sorted(self.routed.get(node.name, set()) - now):
            try:
                self.forgotten += network.forget_connections(node.netns, backend.ip, backend.port)
            except ChaosError as exc:
                print(f"meshd: {node.name}: conntrack: {exc}", file=sys.stderr, flush=True)
        self.routed[node.name] = now

    def apply(self, node: LabNode, rules: str) -> bool:
        """Replace the node's mesh chains (atomically) if they changed, then hook them.
        Returns whether the node's rules are now ``rules``.

        A failure on one node (its engine holding the xtables lock while it boots, say) is
        logged and retried next cycle; it never keeps the other nodes from their rules.
        """
        try:
            if self.applied.get(node.name) != rules:
                run(
                    ["iptables-restore", "-w", "2", "--noflush"], input_text=rules, netns=node.netns
                )
                self.applied[node.name] = rules
            if node.name not in self.hooked:
                self.ensure_hooks(node)
                self.hooked.add(node.name)
        except ChaosError as exc:
            self.applied.pop(node.name, None)
            print(f"meshd: {node.name}: {exc}", file=sys.stderr, flush=True)
            return False
        return True

    def rehook_all(self) -> None:
        """Engines re-create their own chains on restart; make sure ours are still hooked."""
        self.hooked.clear()

    def serve(self) -> None:
        last_rehook = time.monotonic()
        while not self.stopping:
            started = time.monotonic()
            try:
                self.cycle()
            except Exception as exc:  # the mesh must outlive any one bad cycle
                print(f"meshd: {exc!r}", file=sys.stderr, flush=True)
            if started - last_rehook > 5.0:
                self.rehook_all()
                last_rehook = started
            time.sleep(max(0.0, INTERVAL - (time.monotonic() - started)))


def main() -> int:
    st = lab_state.load()
    if st is None:
        print("meshd: no lab state; start the lab with `chaos lab up`", file=sys.stderr)
        return 3
    supervisor = Supervisor(st.config.lab_nodes())

    def _stop(_sig: int, _frame: FrameType | None) -> None:
        supervisor.stopping = True

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    supervisor.serve()
    return 0


if __name__ == "__main__":
    sys.exit(main())
