"""Time left in a run from its schedule: exact in timed phases, an upper bound while waits
are to come, an estimate while a step without a bound is."""

from __future__ import annotations

import pytest

from chaos.experiment.schedule import Left, Schedule, StepPlan
from tests.ui.fakes import experiment


def test_schedule_of_an_experiment() -> None:
    s = Schedule.of(experiment())
    assert (s.warmup_s, s.baseline_s, s.observe_s) == (2.0, 10.0, 30.0)
    assert [(p.text, p.bound_s, p.certainty) for p in s.steps] == [
        ("halt leader", None, "about"),
        ("wait for leader elected", 60.0, "at_most"),
        ("sleep 5s", 5.0, "exact"),
        ("start @victim", None, "about"),
    ]
    assert s.expected_s() == 2 + 10 + 60 + 5 + 30


@pytest.mark.parametrize(
    ("phase", "elapsed", "step", "step_elapsed", "left"),
    [
        ("warmup", 0.5, 0, 0.0, Left(1.5 + 10 + 60 + 5 + 30, "about")),
        ("baseline", 4.0, 0, 0.0, Left(6.0 + 60 + 5 + 30, "about")),
        # step 2 (the wait) 20 s in: 40 s of it left at most, then the sleep, then step 4
        ("fault", 21.0, 1, 20.0, Left(40 + 5 + 30, "about")),
        ("fault", 90.0, 3, 1.0, Left(30, "about")),
        ("observe", 12.0, 4, 0.0, Left(18.0, "exact")),
        ("observe", 45.0, 4, 0.0, Left(0.0, "exact")),  # never negative
    ],
)
def test_left(phase: str, elapsed: float, step: int, step_elapsed: float, left: Left) -> None:
    assert Schedule.of(experiment()).left(phase, elapsed, step, step_elapsed) == left


def test_left_is_an_upper_bound_when_every_step_has_one() -> None:
    s = Schedule(1, 1, 3, (StepPlan("wait", 10.0), StepPlan("sleep", 2.0, "exact")))
    assert s.left("fault", 4.0, 0, 4.0) == Left(6 + 2 + 3, "at_most")
    assert s.left("fault", 11.0, 1, 1.0) == Left(1 + 3, "exact")


def test_no_time_left_after_the_phases() -> None:
    s = Schedule.of(experiment())
    assert s.left("restore", 3.0) is None
    assert s.left("end", 0.0) is None
    assert s.left("setup", 9.0) == Left(2 + 10 + 60 + 5 + 30, "about")
    assert s.phase_length("fault") is None and s.phase_length("observe") == 30.0
