"""The emulated mesh's supervisor: ``python -m chaos.lab.meshd`` (started by ``lab up``).

Every ``INTERVAL`` seconds it asks every node's engine which task containers it runs (what
the node's gossip would advertise), learns from a manager which services asked for the mesh
(kept from the last answer while no manager answers: quorum lost, election), computes each
node's DNAT rules (:mod:`chaos.lab.mesh`) and applies the ones that changed with one atomic
``iptables-restore --noflush`` per node. Its status is written to ``mesh.json``.

A task the managers are stopping (its desired state no longer ``running``: an update, a
scale-down, a drain, a rescheduled task) leaves the rules before its container stops, as
swarm's agent takes its endpoint out of the load balancer and waits 2 s before stopping it.

Each node's own rules are written only while its engine answers, as a node's agent programs
its own ingress: a node that is down keeps what its kernel kept (nothing after a boot, which
empties its tables) and is written anew, in full, once it answers again. After a boot (another
dockerd answers) not before its engine says ``LocalNodeState: active``: a real node's
libnetwork starts its cluster agent (gossip, the ingress sandbox, the published ports) on the
engine's node-ready event, which needs a session with a dispatcher, so a leader; until then
its IP refuses. A booted dockerd serves its API only once its node is ready, or after 20 s
without (its ``swarmConnectTimeout``), so this holds back only an engine that answered while
no leader could take it in: on three managers, a node booted into a quorum loss that lasts.

``mesh.json`` also says when a poll last found a node disturbed (``calm_since``: not
answering, booted, cut off, degraded or stressed), the test fixtures' clue that raft has
nothing left to settle.

As gossip does, a node whose engine stops answering keeps its backends until it has been
silent for ``SUSPICION`` seconds, and is then dropped; each node is watched by a thread of its
own, so a frozen engine holds up nothing else. A node whose engine stops gracefully said
goodbye first (memberlist's Leave, before its containers stop) and is dropped at once. A
node whose swarm ports are blocked (:mod:`chaos.platform.isolation`) is silent to gossip
though its engine answers: the others drop it after the suspicion time, and it keeps only its
own tasks, as swarm's mesh would on both sides of the partition. Until then connections
balanced across the partition time out: the lab's isolation also drops the nodes' traffic
with each other (:func:`chaos.lab.network.set_isolated`), as it cuts swarm's overlay.
"""

from __future__ import annotations

import signal
import sys
import threading
import time
from collections.abc import Callable
from functools import partial
from types import FrameType

from chaos.errors import ChaosError
from chaos.lab import engines, network, pressure
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
    one_line,
)
from chaos.lab.system import run
from chaos.swarm.engine import DockerEngine
from chaos.swarm.model import ContainerView

INTERVAL = 0.5
# memberlist's LAN defaults, as swarm's gossip (libnetwork's networkdb) runs them: every node
# probes a peer each second with a 500 ms timeout, and a peer that missed its probe is
# suspected for 4 s (4 x log10(n), at least 1, times the probe interval) before it is declared
# dead and its load-balancer entries go. A node silent this long is dead to the others; on the
# VMs, swarm's own mesh kept sending connections to a powered-off node's task for about 5 s.
SUSPICION = 5.0
API_TIMEOUT = 1.0


def log(message: str) -> None:
    """One line of the supervisor's log (``meshd.log``), stamped with the wall clock so a
    run's errors can be laid beside it: every change of a node's routes, every deletion of
    tracked connections, every failure."""
    now = time.time()
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now))
    print(f"{stamp}.{int(now * 1000) % 1000:03d}Z meshd: {message}", file=sys.stderr, flush=True)


class Supervisor:
    """The mesh's state, fed by threads that never hold up one another: one poller per node
    (its engine's task containers and whether its swarm ports are blocked: what its gossip
    would advertise, and whether it can) and one for the managers (which services asked for
    the mesh, which tasks they are stopping). The rule cycle reads their latest answers, so a
    frozen engine (a call that waits out its timeout) delays nothing but its own poller."""

    def __init__(self, nodes: list[LabNode], clock: Callable[[], float] = time.monotonic) -> None:
        self.nodes = nodes
        self.clock = clock  # when each node was last heard, and how long ago that is
        self.engines = {
            n.name: DockerEngine(n.docker_host, name=n.name, timeout=API_TIMEOUT) for n in nodes
        }
        self.addrs = {n.name: n.ip for n in nodes}
        self.lock = threading.Lock()
        started = clock()
        self.heard: dict[str, float] = {n.name: started for n in nodes}  # last good listing
        self.seen: dict[str, list[ContainerView]] = {}  # the last listing of each node
        self.answering: set[str] = set()  # nodes whose engine answered their last poll
        self.engine_pids: dict[str, int | None] = {}  # the dockerd that gave that answer
        self.joining: set[str] = set()  # booted, its engine not yet active in the swarm
        # the wall-clock time of the last poll that found a node disturbed: not answering,
        # just booted, cut off, degraded or stressed (a test fixture's clue that raft may
        # still move)
        self.calm_since = time.time()
        self.isolated: set[str] = set()
        self.services: list[MeshService] = []  # from the last manager that answered
        self.retiring: set[str] = set()  # tasks the managers are stopping (the last answer)
        self.source = ""
        self.error = "no manager answered yet"
        self.applied: dict[str, str] = {}
        self.routed: dict[str, set[Backend]] = {}  # per node: the backends its rules name
        self.forgotten = 0  # stale connection-tracking entries deleted so far
        self.hooked: set[str] = set()
        self.preferred: str | None = None
        self.stopping = threading.Event()

    # -- the pollers ------------------------------------------------------------------------
    def _listing(self, name: str) -> list[ContainerView] | None:
        try:
            return self.engines[name].task_containers()
        except ChaosError:
            return None

    def poll_node(self, node: LabNode) -> None:
        """One look at a node: what it runs, whether it is cut off from gossip, and whether
        its engine said goodbye (a graceful stop leaves the gossip cluster: no suspicion)."""
        listing = self._listing(node.name)
        pid = engines.dockerd_pid(node) if listing is not None else None
        # only this thread changes this node's pid and joining mark: read without the lock
        booted = listing is not None and self.engine_pids.get(node.name, pid) != pid
        joined = (booted or node.name in self.joining) and self._active(node.name)
        cut, degraded = network.swarm_faults(node)
        left = listing is None and lab_state.said_goodbye(node.name)
        disturbed = (
            listing is None
            or booted
            or cut
            or degraded
            or node.name in self.joining
            or pressure.weighed_on(node)
        )
        with self.lock:
            if left:
                self.heard[node.name] = min(self.heard[node.name], self.clock() - SUSPICION)
            if booted:
                # another engine answers: the node was rebooted (or its engine restarted)
                # since the last poll, its tables emptied at the boot: write them anew in
                # full, once its engine is active in the swarm
                self.applied.pop(node.name, None)
                self.hooked.discard(node.name)
                if not joined:
                    self.joining.add(node.name)
                    log(f"{node.name}: another engine answers; its rules wait for it to be active")
            if joined and node.name in self.joining:
                self.joining.discard(node.name)
                log(f"{node.name}: its engine is active in the swarm; writing its rules")
            if listing is not None:
                self.engine_pids[node.name] = pid
                self.seen[node.name] = listing
                self.answering.add(node.name)
            elif node.name in self.answering:
                # down, frozen or rebooting: its rules are whatever its kernel kept (none after
                # a boot), so once it answers again they are written anew, hooks and all
                self.answering.discard(node.name)
                self.applied.pop(node.name, None)
                self.hooked.discard(node.name)
            if cut:
                self.isolated.add(node.name)
            else:
                self.isolated.discard(node.name)
            if listing is not None and not cut:
                self.heard[node.name] = self.clock()
            if disturbed:
                self.calm_since = time.time()

    def _active(self, name: str) -> bool:
        """Whether the node's engine says ``LocalNodeState: active`` (see the module)."""
        try:
            return self.engines[name].local_node_state() == "active"
        except ChaosError:
            return False

    def dead(self) -> frozenset[str]:
        """The nodes silent to gossip (no answer, or cut off) for ``SUSPICION`` seconds, and
        those that said goodbye: a graceful engine stop leaves gossip first (marked by
        :func:`chaos.lab.engines.stop`), and the others delete its entries at once, while
        its engine may still answer."""
        now = self.clock()
        with self.lock:
            silent = {n for n, t in self.heard.items() if now - t >= SUSPICION}
        return frozenset(silent | {n for n in self.heard if lab_state.said_goodbye(n)})

    def refresh_services(self) -> None:
        """The meshed services from a manager (connected ones first)."""
        with self.lock:
            isolated, heard = set(self.isolated), dict(self.heard)
        now = self.clock()
        managers = sorted(
            (n for n in self.nodes if n.manager),
            key=lambda n: (
                n.name in isolated,
                now - heard[n.name] > 2 * INTERVAL,  # answering its poller lately
                n.name != self.preferred,
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
            with self.lock:
                self.services = meshed_services(services)
                # tasks being stopped: swarm's agent disables their endpoint in gossip and
                # waits 2 s before it stops the container, so new connections stop first
                self.retiring = {t.id for t in tasks if t.desired_state != "running"}
                self.preferred = self.source = node.name
                self.error = ""
            return
        with self.lock:
            self.error = error

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
        dead = self.dead()
        with self.lock:
            services, isolated = list(self.services), set(self.isolated)
            everyone = mesh_entries(services, self.view("", dead), self.addrs)
            own = {n: mesh_entries(services, self.view(n, dead), self.addrs) for n in isolated}
            source, error = self.source, self.error
            joining = set(self.joining)
            programmable = self.answering - joining
            calm_since = self.calm_since
        for lab_node in self.nodes:
            if lab_node.name not in programmable:
                # a node's agent programs its own mesh: not while down, nor before its engine
                # is active in the swarm after a boot
                continue
            entries = own.get(lab_node.name, everyone)
            if self.apply(lab_node, node_rules(lab_node.ip, entries)):
                self.forget_removed(lab_node, entries)
        lab_state.write_json_atomic(
            lab_state.MESH_STATUS_FILE,
            {
                "updated": time.time(),
                "source": "" if error else source,
                "error": error,
                "dead_nodes": sorted(dead),
                "isolated_nodes": sorted(isolated),
                "joining_nodes": sorted(joining),
                "calm_since": calm_since,
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
        before = self.routed.get(node.name)
        if now != before:
            log(f"{node.name}: routes {one_line(entries)}")
        for backend in sorted((before or set()) - now):
            try:
                gone = network.forget_connections(node.netns, backend.ip, backend.port)
            except ChaosError as exc:
                log(f"{node.name}: conntrack: {exc}")
                continue
            self.forgotten += gone
            if gone:
                log(f"{node.name}: forgot {gone} tracked connections to {backend}")
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
            log(f"{node.name}: {exc}")
            return False
        return True

    def rehook_all(self) -> None:
        """Engines re-create their own chains on restart; make sure ours are still hooked."""
        self.hooked.clear()

    def _every(self, interval: float, work: Callable[[], None], what: str) -> None:
        """Run ``work`` every ``interval`` seconds until stopped; a failure is logged and the
        next beat tries again (the mesh must outlive any one bad call)."""
        while not self.stopping.is_set():
            started = time.monotonic()
            try:
                work()
            except Exception as exc:
                log(f"{what}: {exc!r}")
            self.stopping.wait(max(0.0, interval - (time.monotonic() - started)))

    def serve(self) -> None:
        threads = [
            threading.Thread(
                target=self._every,
                args=(INTERVAL, partial(self.poll_node, n), n.name),
                name=f"gossip-{n.name}",
                daemon=True,
            )
            for n in self.nodes
        ]
        threads.append(
            threading.Thread(
                target=self._every,
                args=(INTERVAL, self.refresh_services, "managers"),
                name="managers",
                daemon=True,
            )
        )
        for thread in threads:
            thread.start()
        last_rehook = time.monotonic()

        def rules() -> None:
            nonlocal last_rehook
            self.cycle()
            if time.monotonic() - last_rehook > 5.0:
                self.rehook_all()
                last_rehook = time.monotonic()

        self._every(INTERVAL, rules, "rules")


def main() -> int:
    st = lab_state.load()
    if st is None:
        print("meshd: no lab state; start the lab with `chaos lab up`", file=sys.stderr)
        return 3
    supervisor = Supervisor(st.config.lab_nodes())

    def _stop(_sig: int, _frame: FrameType | None) -> None:
        supervisor.stopping.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    supervisor.serve()
    return 0


if __name__ == "__main__":
    sys.exit(main())
