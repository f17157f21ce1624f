"""Control-plane metrics from hand-written event lists (no clock, no cluster)."""

from __future__ import annotations

from typing import Any

import pytest

from chaos.analysis import events as ev
from chaos.timeline import Event

FAULT = 10.0


def e(t: float, kind: str, **data: Any) -> Event:
    return Event(t=t, kind=kind, data=data)


def tasks(t: float, running: int, desired: int, service: str = "web", **by_node: int) -> Event:
    return e(t, "tasks", service=service, running=running, desired=desired, by_node=by_node)


@pytest.mark.parametrize(
    ("events", "fault", "before", "want"),
    [
        ([e(25.0, "leader", old="m1", new="m2")], FAULT, "m1", 15.0),
        # no leader for a while, then a new one
        ([e(12.0, "leader", old="m1", new=None), e(21.5, "leader", new="m3")], FAULT, "m1", 11.5),
        ([e(5.0, "leader", old="m1", new="m2")], FAULT, "m1", None),  # before the fault
        ([e(12.0, "leader", old=None, new="m1")], FAULT, "m1", None),  # the same leader again
        ([], FAULT, "m1", None),
        ([e(25.0, "leader", old="m1", new="m2")], None, "m1", None),  # no fault
        ([e(12.0, "leader", old=None, new="m1")], FAULT, None, 2.0),  # leader unknown before
    ],
)
def test_leader_elected(
    events: list[Event], fault: float | None, before: str | None, want: float | None
) -> None:
    assert ev.leader_elected_s(events, fault, before) == want


def test_leader_after() -> None:
    assert ev.leader_after([], "m1") == "m1"
    assert ev.leader_after([e(1, "leader", new="m2"), e(2, "leader", new="m3")], "m1") == "m3"
    assert ev.leader_after([e(1, "leader", new=None)], "m1") is None


@pytest.mark.parametrize(
    ("events", "faulted", "want"),
    [
        ([e(22.0, "node_status", node="w1", old="ready", new="down")], {"w1"}, 12.0),
        ([e(22.0, "node_status", node="w2", old="ready", new="down")], {"w1"}, None),
        ([e(12.0, "node_status", node="w1", new="unknown")], {"w1"}, None),
        (
            [
                e(5.0, "node_status", node="w1", new="down"),  # before the fault
                e(24.0, "node_status", node="w1", new="down"),
            ],
            {"w1"},
            14.0,
        ),
        ([e(22.0, "node_status", node="w1", new="down")], set(), None),
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


def upd(t: float, new: str) -> Event:
    return e(t, "update_state", service="web", old="updating", new=new, message=f"update {new}")


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
            [e(10, "api_error", node="m2", message="no leader"), e(25, "api_ok", node="m2")],
            100.0,
            15.0,
            "no leader",
        ),
        (
            [
                e(10, "api_error", message="deadline exceeded"),
                e(12, "api_error", message="no leader"),  # the same outage
                e(20, "api_ok"),
                e(30, "api_error", message="again"),
                e(31, "api_ok"),
            ],
            100.0,
            11.0,
            "deadline exceeded",
        ),
        ([e(90, "api_error", message="x")], 100.0, 10.0, "x"),  # open at the end: clipped
        ([e(5, "api_ok")], 100.0, 0.0, None),
    ],
)
def test_api_unavailable(
    events: list[Event], end: float, seconds: float, first: str | None
) -> None:
    assert ev.api_unavailable(events, end) == ev.ApiOutage(seconds, first)
