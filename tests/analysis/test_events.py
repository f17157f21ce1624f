"""Control-plane metrics from hand-written event lists (no clock, no cluster)."""

from __future__ import annotations

import pytest

from chaos.analysis import events as ev
from chaos.timeline import (
    ApiError,
    ApiOk,
    Event,
    LeaderChange,
    NodeStatusChange,
    TasksChange,
    UpdateStateChange,
)

FAULT = 10.0


def leader(t: float, old: str | None, new: str | None) -> LeaderChange:
    return LeaderChange(t=t, old=old, new=new)


def status(t: float, node: str, new: str, old: str = "ready") -> NodeStatusChange:
    return NodeStatusChange(t=t, node=node, old=old, new=new)


def api_error(t: float, message: str, node: str = "") -> ApiError:
    return ApiError(t=t, node=node, message=message)


def api_ok(t: float, node: str = "") -> ApiOk:
    return ApiOk(t=t, node=node)


def tasks(
    t: float, running: int, desired: int, service: str = "web", **by_node: int
) -> TasksChange:
    return TasksChange(
        t=t, service=service, running=running, desired=desired, by_node=by_node, images={}
    )


@pytest.mark.parametrize(
    ("events", "fault", "before", "want"),
    [
        ([leader(25.0, "m1", "m2")], FAULT, "m1", 15.0),
        # no leader for a while, then a new one
        ([leader(12.0, "m1", None), leader(21.5, None, "m3")], FAULT, "m1", 11.5),
        ([leader(5.0, "m1", "m2")], FAULT, "m1", None),  # before the fault
        ([leader(12.0, None, "m1")], FAULT, "m1", None),  # the same leader again
        ([], FAULT, "m1", None),
        ([leader(25.0, "m1", "m2")], None, "m1", None),  # no fault
        ([leader(12.0, None, "m1")], FAULT, None, 2.0),  # leader unknown before
    ],
)
def test_leader_elected(
    events: list[Event], fault: float | None, before: str | None, want: float | None
) -> None:
    assert ev.leader_elected_s(events, fault, before) == want


def test_leader_after() -> None:
    assert ev.leader_after([], "m1") == "m1"
    assert ev.leader_after([leader(1, "m1", "m2"), leader(2, "m2", "m3")], "m1") == "m3"
    assert ev.leader_after([leader(1, "m1", None)], "m1") is None


@pytest.mark.parametrize(
    ("events", "faulted", "want"),
    [
        ([status(22.0, "w1", "down")], {"w1"}, 12.0),
        ([status(22.0, "w2", "down")], {"w1"}, None),
        ([status(12.0, "w1", "unknown")], {"w1"}, None),
        (
            [
                status(5.0, "w1", "down"),  # before the fault
                status(24.0, "w1", "down"),
            ],
            {"w1"},
            14.0,
        ),
        ([status(22.0, "w1", "down")], set(), None),
    ],
)
def test_node_down_detected(events: list[Event], faulted: set[str], want: float | None) -> None:
    assert ev.node_down_detected_s(events, FAULT, faulted) == want


@pytest.mark.parametrize(
    ("events", "want"),
    [
        # w1 held 2 tasks; they are replaced elsewhere at 40 s
        (
            [
                tasks(1.0, 6, 6, w1=2, w2=2, m1=2),
                tasks(25.0, 4, 6, w2=2, m1=2),
                tasks(40.0, 6, 6, w2=3, m1=3),
            ],
            30.0,
        ),
        # still counted as running on w1 (before Down): not rescheduled yet
        ([tasks(1.0, 6, 6, w1=2, w2=4), tasks(12.0, 6, 6, w1=2, w2=4)], None),
        # nothing on the faulted node at fault time: nothing to reschedule
        ([tasks(1.0, 6, 6, w2=3, m1=3), tasks(40.0, 6, 6, w2=3, m1=3)], None),
        # no task picture before the fault
        ([tasks(40.0, 6, 6, w2=3, m1=3)], None),
        # another service's events are ignored
        ([tasks(1.0, 6, 6, w1=2, w2=4), tasks(20.0, 2, 2, service="db", w2=2)], None),
    ],
)
def test_tasks_rescheduled(events: list[Event], want: float | None) -> None:
    assert ev.tasks_rescheduled_s(events, FAULT, {"w1"}, "web") == want


def upd(t: float, new: str) -> UpdateStateChange:
    return UpdateStateChange(t=t, service="web", old="updating", new=new, message=f"update {new}")


@pytest.mark.parametrize(
    ("events", "update_start", "want", "note"),
    [
        ([upd(11.0, "updating"), upd(50.0, "completed")], 10.5, 39.5, ""),
        ([upd(11.0, "rollback_started"), upd(30.0, "rollback_completed")], None, 20.0, ""),
        ([upd(11.0, "updating"), upd(20.0, "paused")], 10.5, None, "paused"),
        ([upd(11.0, "updating")], 10.5, None, "did not complete"),
        # no update: the tasks picture that stays converged
        ([tasks(12.0, 6, 6), tasks(20.0, 4, 6), tasks(35.0, 6, 6)], None, 25.0, ""),
        (
            [tasks(12.0, 4, 6), tasks(20.0, 6, 6), tasks(22.0, 5, 6), tasks(30.0, 6, 6)],
            None,
            20.0,
            "",
        ),
        ([tasks(12.0, 6, 6), tasks(13.0, 6, 6)], None, 2.0, ""),  # never disturbed
        ([tasks(12.0, 6, 6), tasks(20.0, 4, 6)], None, None, "running != desired"),
        ([tasks(1.0, 6, 6)], None, None, "no task change"),
    ],
)
def test_service_converged(
    events: list[Event], update_start: float | None, want: float | None, note: str
) -> None:
    got = ev.service_converged(events, FAULT, update_start, "web")
    assert got.seconds == want
    assert note in got.note


@pytest.mark.parametrize(
    ("events", "end", "seconds", "first"),
    [
        ([], 100.0, 0.0, None),
        (
            [api_error(10, "no leader", "m2"), api_ok(25, "m2")],
            100.0,
            15.0,
            "no leader",
        ),
        (
            [
                api_error(10, "deadline exceeded"),
                api_error(12, "no leader"),  # the same outage
                api_ok(20),
                api_error(30, "again"),
                api_ok(31),
            ],
            100.0,
            11.0,
            "deadline exceeded",
        ),
        ([api_error(90, "x")], 100.0, 10.0, "x"),  # open at the end: clipped
        ([api_ok(5)], 100.0, 0.0, None),
    ],
)
def test_api_unavailable(
    events: list[Event], end: float, seconds: float, first: str | None
) -> None:
    assert ev.api_unavailable(events, end) == ev.ApiOutage(seconds, first)
