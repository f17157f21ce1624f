"""The live view's numbers, folded from load windows and run events."""

from __future__ import annotations

import pytest

from chaos.experiment.livedata import EventTail, Rolling, Steps
from chaos.experiment.schedule import Schedule
from chaos.timeline import (
    EventLog,
    LeaderChange,
    NodeStatusChange,
    PhaseStart,
    StepEnd,
    StepStart,
)
from tests.ui.fakes import TARGETS, ManualClock, experiment, second_of_windows, window

URL1, URL2, _ = TARGETS


def test_the_last_second_of_each_target() -> None:
    rolling = Rolling()
    rolling.add(second_of_windows(0.0, ok=5))  # an older second, pushed out below
    rolling.add(second_of_windows(1.0, ok=7, errors={"node-001": {"connect_timeout": 3}}))
    one = rolling.second(URL1)
    two = rolling.second(URL2)
    assert one is not None and two is not None
    assert one.t_end == pytest.approx(2.0) and one.span_s == pytest.approx(1.0)
    assert (one.sent, one.ok, dict(one.errors)) == (30, 0, {"connect_timeout": 30})
    assert one.errors_per_s == pytest.approx(30.0) and one.p99_ms is None  # no success
    assert two.ok_per_s == pytest.approx(70.0) and two.errors_per_s == 0.0
    # failures so far count every window ever seen, not only the last second
    assert rolling.failed == {URL1: 30, URL2: 0, list(TARGETS)[2]: 0}
    assert rolling.second("http://10.0.0.9:80/") is None


def test_error_kinds_most_frequent_first_and_p99_the_worst_window() -> None:
    rolling = Rolling()
    rolling.add([
        window(0.0, URL1, 4, {"refused": 1}, p99=3.0),
        window(0.1, URL1, 2, {"reset": 2, "refused": 3}, p99=40.0),
        window(0.2, URL1, 6, p99=5.0),
    ])  # fmt: skip
    s = rolling.second(URL1)
    assert s is not None
    assert list(s.errors.items()) == [("refused", 4), ("reset", 2)]
    assert s.p99_ms == 40.0
    assert s.span_s == pytest.approx(0.3)  # three windows so far, not a whole second


def _log() -> EventLog:
    return EventLog(None, ManualClock())


def test_steps_follow_the_run_events() -> None:
    steps = Steps(Schedule.of(experiment()))
    log = _log()
    clock = log.clock
    assert isinstance(clock, ManualClock)
    tail = EventTail(steps)
    clock.t = 14.0
    log.emit(StepStart(detail="halt leader", index=0, action="halt"))
    clock.t = 14.3
    log.emit(StepEnd(detail="node-001 halted", index=0, action="halt", nodes=("node-001",),
                     ok=True))  # fmt: skip
    log.emit(StepStart(detail="wait for leader elected", index=1, action="wait_for"))
    tail.read(log.events)
    clock.t = 20.3
    lines = steps.lines(clock.now())
    assert [(s.number, s.state) for s in lines] == [
        (1, "done"), (2, "running"), (3, "pending"), (4, "pending")
    ]  # fmt: skip
    assert lines[0].elapsed_s == pytest.approx(0.3) and lines[0].detail == "node-001 halted"
    assert lines[1].elapsed_s == pytest.approx(6.0) and lines[1].bound_s == 60.0
    assert steps.current() == 1 and steps.elapsed_of_current(clock.now()) == pytest.approx(6.0)
    log.emit(StepEnd(detail="wait for leader_elected timed out after 60s: no leader",
                     index=1, action="wait_for", ok=False, error="..."))  # fmt: skip
    log.emit(StepStart(detail="sleep 5s", index=2, action="sleep"))
    log.emit(StepEnd(detail="could not start", index=2, action="sleep", ok=False, error="x"))
    tail.read(log.events)
    states = [s.state for s in steps.lines(clock.now())]
    assert states == ["done", "deviated", "failed", "pending"]
    assert steps.current() == 3


def test_steps_without_a_schedule_are_learnt_from_their_events() -> None:
    steps = Steps(None)
    log = _log()
    log.emit(StepStart(detail="drain leader", index=0, action="drain"))
    EventTail(steps).read(log.events)
    (line,) = steps.lines(0.0)
    assert (line.text, line.state, line.bound_s) == ("drain leader", "running", None)


def test_event_tail_keeps_the_last_control_plane_events_once_each() -> None:
    log = _log()
    tail = EventTail(Steps(None), keep=3)
    # phases and steps have lines of their own
    log.emit(PhaseStart(detail="fault", name="fault", at=0.0))
    for i in range(4):
        node = f"node-00{i}"
        log.emit(NodeStatusChange(detail=f"{node} ready -> down", node=node, old="ready",
                                  new="down"))  # fmt: skip
    tail.read(log.events)
    tail.read(log.events)  # nothing new: nothing repeated
    assert [e.detail for e in tail.tail] == [f"node-00{i} ready -> down" for i in (1, 2, 3)]
    log.emit(LeaderChange(detail="leader node-001 -> None", old="node-001", new=None))
    tail.read(log.events)
    assert [e.kind for e in tail.tail] == ["node_status", "node_status", "leader"]
