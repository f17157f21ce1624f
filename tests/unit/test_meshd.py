"""The emulated mesh's supervisor without a lab: which nodes gossip would call dead, and that
an engine which stops answering (a frozen node: its call hangs) holds up neither the other
nodes' pollers nor the rule cycle. The suspicion runs on an injected clock."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path

import pytest

from chaos.errors import EngineError
from chaos.lab import engines, meshd, network, pressure
from chaos.lab import state as lab_state
from chaos.lab.config import LabNode
from chaos.lab.mesh import Backend, MeshEntry
from chaos.swarm.model import ContainerView

NODES = [LabNode(f"node-00{i}", i, f"10.213.77.1{i}", True) for i in (1, 2, 3)]
PATIENCE = 30.0  # seconds to wait for the threads to get somewhere (not a bound on speed)


class Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


class World:
    """Each node's engine: a frozen one's call hangs until thawed, a halted one's fails."""

    def __init__(self) -> None:
        self.thawed = {n.name: threading.Event() for n in NODES}
        for event in self.thawed.values():
            event.set()
        self.halted: set[str] = set()
        self.polls = {n.name: 0 for n in NODES}
        self.cycles = 0
        self.changed = threading.Condition()

    def listing(self, name: str) -> list[ContainerView]:
        self.thawed[name].wait()
        with self.changed:
            self.polls[name] += 1
            self.changed.notify_all()
        if name in self.halted:
            raise EngineError(f"{name}: engine unreachable (connection refused)")
        return []

    def cycle(self) -> None:
        with self.changed:
            self.cycles += 1
            self.changed.notify_all()

    def until(self, what: str, ok: Callable[[], bool]) -> None:
        with self.changed:
            assert self.changed.wait_for(ok, timeout=PATIENCE), what


@pytest.fixture()
def running(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[tuple[meshd.Supervisor, World, Clock]]:
    monkeypatch.setattr(meshd, "INTERVAL", 0.01)
    # the host's lab (if one is up) marks its gracefully stopped engines in the state dir:
    # this supervisor must read its own
    monkeypatch.setattr(lab_state, "GOSSIP_LEFT_DIR", tmp_path / "left")
    clock = Clock()
    sup = meshd.Supervisor(NODES, clock=clock)
    world = World()
    for node in NODES:
        monkeypatch.setattr(sup.engines[node.name], "task_containers",
                            lambda name=node.name: world.listing(name))  # fmt: skip
    monkeypatch.setattr(network, "swarm_faults", lambda node: (False, False))
    monkeypatch.setattr(pressure, "weighed_on", lambda node: False)  # not the host's lab's
    monkeypatch.setattr(engines, "dockerd_pid", lambda node: 100)  # not the host's lab's
    monkeypatch.setattr(sup, "refresh_services", lambda: None)
    monkeypatch.setattr(sup, "cycle", world.cycle)
    thread = threading.Thread(target=sup.serve, daemon=True)
    thread.start()
    yield sup, world, clock
    sup.stopping.set()
    for event in world.thawed.values():
        event.set()
    thread.join(timeout=PATIENCE)


def test_a_frozen_node_is_dead_after_the_suspicion_and_holds_up_nothing(
    running: tuple[meshd.Supervisor, World, Clock],
) -> None:
    sup, world, clock = running
    world.until("every node polled", lambda: min(world.polls.values()) >= 2)
    world.thawed["node-002"].clear()  # frozen: its next call hangs
    clock.t += meshd.SUSPICION - 0.1
    assert sup.dead() == frozenset()  # suspected, not dead yet
    clock.t += 0.2
    polls, cycles = dict(world.polls), world.cycles
    # the others are still heard (polled anew since) and the rule cycle keeps its beat, while
    # node-002's poller hangs in its call
    world.until(
        "the others polled and the rules applied while node-002 hangs",
        lambda: (
            world.polls["node-001"] > polls["node-001"] + 2
            and world.polls["node-003"] > polls["node-003"] + 2
            and world.cycles > cycles + 2
        ),
    )
    assert sup.dead() == frozenset({"node-002"})
    world.thawed["node-002"].set()  # thawed: heard again at its next answer
    # its second call after the thaw: the first answer has been recorded (a count goes up
    # inside the call, before the poller takes the answer)
    world.until("node-002 answers again", lambda: world.polls["node-002"] > polls["node-002"] + 1)
    assert sup.dead() == frozenset()


def test_an_engine_that_refuses_is_dead_after_the_suspicion(
    running: tuple[meshd.Supervisor, World, Clock],
) -> None:
    sup, world, clock = running
    world.halted.add("node-001")
    refused = world.polls["node-001"]
    world.until("node-001 refused", lambda: world.polls["node-001"] > refused + 1)
    assert sup.dead() == frozenset()
    clock.t += meshd.SUSPICION
    polls = dict(world.polls)
    world.until(
        "the others heard at the new time",
        lambda: all(world.polls[n] > polls[n] + 1 for n in ("node-002", "node-003")),
    )
    assert sup.dead() == frozenset({"node-001"})


def test_a_node_that_said_goodbye_is_dead_at_once_though_its_engine_answers(
    running: tuple[meshd.Supervisor, World, Clock],
) -> None:
    """A graceful engine stop leaves gossip before its containers stop (the mark is made
    before the SIGTERM): no suspicion, and it stays dead while it shuts down and boots."""
    sup, world, _clock = running
    world.until("every node polled", lambda: min(world.polls.values()) >= 2)
    lab_state.GOSSIP_LEFT_DIR.mkdir(parents=True)
    (lab_state.GOSSIP_LEFT_DIR / "node-003").touch()
    assert sup.dead() == frozenset({"node-003"})  # its engine has not even been told yet
    world.halted.add("node-003")  # the engine exits
    polls = world.polls["node-003"]
    world.until("node-003 refused", lambda: world.polls["node-003"] > polls + 1)
    (lab_state.GOSSIP_LEFT_DIR / "node-003").unlink()  # a boot: it will join again
    assert sup.dead() == frozenset({"node-003"})  # not back until its engine answers
    world.halted.clear()
    polls = world.polls["node-003"]
    world.until("node-003 answers", lambda: world.polls["node-003"] > polls + 1)
    assert sup.dead() == frozenset()


class Beats:
    """A supervisor driven by hand, one poll of every node and one rule cycle per beat, with
    each engine's answer (``down``), dockerd pid and ``LocalNodeState`` set by the test."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
        self.sup = meshd.Supervisor(NODES)
        self.ran: list[tuple[str, str]] = []
        self.down: set[str] = set()
        self.pids = {n.name: 100 for n in NODES}
        self.states = {n.name: "active" for n in NODES}
        self.faults = {n.name: (False, False) for n in NODES}  # (cut off, degraded)
        self.pressed: set[str] = set()  # stressed, or through the delayer

        def run(argv: list[str], **kw: object) -> object:
            self.ran.append((str(kw.get("netns")), argv[0]))
            return type("Done", (), {"returncode": 0, "stdout": "", "stderr": ""})()

        monkeypatch.setattr(meshd, "run", run)
        monkeypatch.setattr(lab_state, "write_json_atomic", lambda *a: None)
        monkeypatch.setattr(lab_state, "GOSSIP_LEFT_DIR", tmp_path / "left")
        monkeypatch.setattr(network, "swarm_faults", lambda node: self.faults[node.name])
        monkeypatch.setattr(pressure, "weighed_on", lambda node: node.name in self.pressed)
        monkeypatch.setattr(engines, "dockerd_pid", lambda node: self.pids[node.name])
        for node in NODES:
            engine = self.sup.engines[node.name]
            monkeypatch.setattr(engine, "task_containers", partial(self.listing, node.name))
            monkeypatch.setattr(engine, "local_node_state", partial(self.states.get, node.name))

    def listing(self, name: str) -> list[ContainerView]:
        if name in self.down:
            raise EngineError(f"{name}: engine unreachable (connection refused)")
        return []

    def __call__(self) -> list[str]:
        """One beat; the namespaces whose rules it wrote."""
        self.ran.clear()
        for node in NODES:
            self.sup.poll_node(node)
        self.sup.cycle()
        return sorted({ns for ns, cmd in self.ran if cmd == "iptables-restore"})

    def touched(self, node: LabNode) -> bool:
        return any(ns == node.netns for ns, _cmd in self.ran)


@pytest.fixture()
def beat(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Beats:
    return Beats(monkeypatch, tmp_path)


def test_a_node_that_stopped_answering_gets_its_rules_anew_when_back(beat: Beats) -> None:
    """A node that was down (halted, frozen, rebooting) is not programmed meanwhile, and is
    programmed again in full once its engine answers: a booted machine has no rules left."""
    assert beat() == [n.netns for n in NODES]  # first written everywhere
    assert beat() == []  # unchanged: nothing rewritten
    beat.down.add("node-002")
    assert beat() == []  # node-002 is not programmed while it does not answer
    assert not beat.touched(NODES[1])
    beat.down.clear()
    assert beat() == [NODES[1].netns]  # back: written anew, though its rules did not change
    assert (NODES[1].netns, "iptables") in beat.ran  # and hooked again
    # rebooted between two polls (a halt and a start within half a second): no poll failed,
    # but another engine answers on a node whose tables the boot emptied
    beat.pids["node-003"] = 200
    assert beat() == [NODES[2].netns]
    assert (NODES[2].netns, "iptables") in beat.ran
    assert beat() == []


def test_a_booted_node_is_programmed_once_its_engine_is_active_in_the_swarm(beat: Beats) -> None:
    """A booted engine that answers before a leader took its node in (after dockerd's 20 s
    wait: a quorum loss) is not programmed until it says ``active``, however long that takes,
    while the others' rules are kept up; nor is one that then stops answering."""
    assert beat() == [n.netns for n in NODES]
    beat.down.add("node-001")
    assert beat() == []
    beat.down.clear()
    beat.pids["node-001"], beat.states["node-001"] = 300, "pending"
    for _ in range(3):
        assert beat() == []
        assert not beat.touched(NODES[0])
    beat.states["node-001"] = "error"  # a swarm that failed to start: still not programmed
    assert beat() == []
    beat.states["node-001"] = "active"
    assert beat() == [NODES[0].netns]
    assert (NODES[0].netns, "iptables") in beat.ran
    assert beat() == []
    # rebooted into a pending engine with no failed poll in between, which then stops
    # answering while it waits: written only once the new one is active
    beat.pids["node-002"], beat.states["node-002"] = 400, "pending"
    assert beat() == []
    beat.down.add("node-002")
    assert beat() == []
    beat.down.clear()
    assert beat() == []
    beat.states["node-002"] = "active"
    assert beat() == [NODES[1].netns]
    # a frozen engine that answers again (the same dockerd) is not asked: its kernel kept
    # its rules and its node was active before
    beat.states["node-003"] = "pending"
    beat.down.add("node-003")
    assert beat() == []
    beat.down.clear()
    assert beat() == [NODES[2].netns]


def test_the_calm_since_moves_with_every_disturbance_a_poll_finds(
    beat: Beats, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``calm_since`` (in mesh.json): the last poll that found a node not answering, booted,
    cut off, degraded or stressed; calm polls leave it where it was."""
    now = [1000.0]
    monkeypatch.setattr("chaos.lab.meshd.time.time", lambda: now[0])
    beat()
    calm = beat.sup.calm_since
    for _ in range(3):
        now[0] += 1
        beat()
    assert beat.sup.calm_since == calm

    def nothing() -> None:
        pass

    disturbances: list[tuple[Callable[[], object], Callable[[], object]]] = [
        (lambda: beat.down.add("node-002"), beat.down.clear),
        (lambda: beat.faults.update({"node-003": (True, False)}),
         lambda: beat.faults.update({"node-003": (False, False)})),
        (lambda: beat.faults.update({"node-001": (False, True)}),
         lambda: beat.faults.update({"node-001": (False, False)})),
        (lambda: beat.pids.update({"node-002": beat.pids["node-002"] + 1}), nothing),
        (lambda: beat.pressed.add("node-003"), beat.pressed.clear),
    ]  # fmt: skip
    for disturb, undo in disturbances:
        now[0] += 1
        disturb()
        beat()
        assert beat.sup.calm_since == now[0]
        undo()
        now[0] += 1
        beat()  # the poll that finds it over is calm
        assert beat.sup.calm_since == now[0] - 1


def test_a_change_of_routes_and_each_forgetting_is_logged_once(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    sup = meshd.Supervisor(NODES)
    asked: list[str] = []

    def forget(netns: str, ip: str, port: int) -> int:
        asked.append(f"{ip}:{port}")
        return 3

    monkeypatch.setattr(network, "forget_connections", forget)
    b2, b3 = Backend("10.213.77.12", 32768, "node-002"), Backend("10.213.77.13", 32768, "node-003")
    both = [MeshEntry("web", 80, 80, (b2, b3))]
    sup.forget_removed(NODES[0], both)
    sup.forget_removed(NODES[0], both)  # unchanged: no line
    sup.forget_removed(NODES[0], [MeshEntry("web", 80, 80, (b2,))])
    lines = capsys.readouterr().err.splitlines()
    assert [ln.split("meshd: ", 1)[1] for ln in lines] == [
        "node-001: routes web:80 -> 10.213.77.12:32768 (node-002), 10.213.77.13:32768 (node-003)",
        "node-001: routes web:80 -> 10.213.77.12:32768 (node-002)",
        "node-001: forgot 3 tracked connections to 10.213.77.13:32768",
    ]
    assert asked == ["10.213.77.13:32768"]
    assert sup.forgotten == 3
    assert all(re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z meshd: ", ln) for ln in lines)
