"""The emulated mesh's supervisor: ``python -m chaos.lab.meshd`` (started by ``lab up``).

Every ``INTERVAL`` seconds it pings every node's engine, asks a live manager for services,
tasks and nodes, computes each node's DNAT rules (:mod:`chaos.lab.mesh`) and applies the
ones that changed with one atomic ``iptables-restore --noflush`` per node. When no manager
answers (quorum lost), the last rules stay: running tasks keep serving, as they do on swarm's
own mesh, which is fed by gossip, not raft. Its status is written to ``mesh.json``.

A node whose swarm ports are blocked (:mod:`chaos.platform.isolation`) is silent to gossip
though its engine answers: after the suspicion time the others drop its tasks and it keeps
only its own, as swarm's mesh would on both sides of the partition.
"""

from __future__ import annotations

import signal
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from types import FrameType

from chaos.errors import ChaosError
from chaos.lab import engines, network
from chaos.lab import state as lab_state
from chaos.lab.config import LabNode
from chaos.lab.mesh import HOOKS, MeshEntry, describe, local_only, mesh_entries, node_rules
from chaos.lab.system import run
from chaos.swarm.engine import Engine
from chaos.swarm.model import NodeView, ServiceView, TaskView

INTERVAL = 0.5
SUSPICION = 4.0  # memberlist: a node silent this long after a failed probe is dead
API_TIMEOUT = 1.0


class Supervisor:
    def __init__(self, nodes: list[LabNode]) -> None:
        self.nodes = nodes
        self.engines = {
            n.name: Engine(n.docker_host, name=n.name, timeout=API_TIMEOUT) for n in nodes
        }
        self.failing_since: dict[str, float] = {}
        self.failing_since_epoch: dict[str, float] = {}
        self.died_at: dict[str, float] = {}
        self.pid_at_death: dict[str, int | None] = {}
        self.by_name = {n.name: n for n in nodes}
        self.applied: dict[str, str] = {}
        self.hooked: set[str] = set()
        self.preferred: str | None = None
        # the swarm's last answer: while no manager answers (election, quorum lost) the mesh
        # still drops the backends of nodes that died since, as gossip would
        self.last: tuple[list[ServiceView], list[TaskView], list[NodeView]] | None = None
        self.isolated: set[str] = set()
        self.cut_off: dict[str, list[MeshEntry]] = {}  # an isolated node's own backends
        self.stopping = False
        self.pool = ThreadPoolExecutor(max_workers=len(nodes))

    def liveness(self) -> tuple[set[str], frozenset[str]]:
        """(nodes whose engine answers now, nodes dead past the suspicion time)."""
        now = time.monotonic()
        answers = dict(
            zip(
                self.engines,
                self.pool.map(lambda e: e.ping(timeout=1.0), self.engines.values()),
                strict=True,
            )
        )
        alive = {name for name, ok in answers.items() if ok}
        self.isolated = set(
            self.pool.map(lambda n: n.name if network.is_isolated(n) else "", self.nodes)
        ) - {""}
        for name in self.engines:
            if name in alive and name not in self.isolated:
                self.failing_since.pop(name, None)
                if name in self.died_at and self.pid_at_death.get(name) == self._pid(name):
                    del self.died_at[name]  # the same engine, thawed: its tasks lived on
            elif name not in self.failing_since:
                self.failing_since[name] = now
                self.failing_since_epoch[name] = time.time()
                self.pid_at_death[name] = self._pid(name)
        dead = frozenset(n for n, since in self.failing_since.items() if now - since >= SUSPICION)
        for name in dead - alive:  # if it comes back as a new engine, its older tasks died
            self.died_at[name] = self.failing_since_epoch[name]  # (isolated ones live on)
        return alive, dead

    def _pid(self, name: str) -> int | None:
        return engines.dockerd_pid(self.by_name[name])

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

    def apply(self, node: LabNode, rules: str) -> None:
        """Replace the node's mesh chains (atomically) if they changed, then hook them.

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

    def apply_all(self, entries: list[MeshEntry], full: list[MeshEntry]) -> None:
        """``entries`` (without the dead nodes' tasks) everywhere but on an isolated node: it
        keeps the tasks it had when it was cut off (its containers run on, and no manager
        reaches it to say otherwise), as swarm's mesh on that side of the partition would."""
        for gone in set(self.cut_off) - self.isolated:
            del self.cut_off[gone]
        for lab_node in self.nodes:
            if lab_node.name in self.isolated:
                mine = self.cut_off.setdefault(lab_node.name, local_only(full, lab_node.name))
            else:
                mine = entries
            self.apply(lab_node, node_rules(lab_node.ip, mine))

    def entries(
        self,
        swarm: tuple[list[ServiceView], list[TaskView], list[NodeView]],
        dead: frozenset[str],
    ) -> list[MeshEntry]:
        entries = mesh_entries(*swarm, dead, self.died_at)
        full = mesh_entries(*swarm, frozenset(), self.died_at) if self.isolated else entries
        self.apply_all(entries, full)
        return entries

    def cycle(self) -> None:
        alive, dead = self.liveness()
        managers = [n for n in self.nodes if n.manager and n.name in alive]
        # an isolated manager answers from a stale store: ask the others first
        managers.sort(key=lambda n: (n.name in self.isolated, n.name != self.preferred))
        error = ""
        for node in managers:
            engine = self.engines[node.name]
            try:
                services, tasks, nodes = engine.services(), engine.tasks(), engine.nodes()
            except ChaosError as exc:
                error = str(exc)
                continue
            self.preferred = node.name
            self.last = (services, tasks, nodes)
            entries = self.entries(self.last, dead)
            lab_state.write_json_atomic(
                lab_state.MESH_STATUS_FILE,
                {
                    "updated": time.time(),
                    "source": node.name,
                    "services": describe(entries),
                    "dead_nodes": sorted(dead),
                    "isolated_nodes": sorted(self.isolated),
                    "error": "",
                },
            )
            return
        services_now: object = {}
        if self.last is not None:
            services_now = describe(self.entries(self.last, dead))
        lab_state.write_json_atomic(
            lab_state.MESH_STATUS_FILE,
            {
                "updated": time.time(),
                "source": "",
                "error": error or "no manager answers",
                "dead_nodes": sorted(dead),
                "isolated_nodes": sorted(self.isolated),
                "services": services_now,
            },
        )

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
