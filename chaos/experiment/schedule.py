"""How long a run should take, known before it starts: the phase durations and, for the fault
steps, what bounds each one (a sleep its duration, a wait its timeout; the other steps act and
return, usually within seconds, with no bound to promise).

The live view and the progress of suites use it for "elapsed / left"; nothing here decides
anything about the run itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from chaos.experiment.plan import describe_step
from chaos.experiment.spec import Experiment, SleepStep, Step, WaitStep
from chaos.experiment.steps import DEFAULT_WAIT

# "exact": fixed phases only; "at_most": waits may end early; "about": a step without a bound
# (counted as 0 s) is still to come, so it is an estimate, not a promise
Certainty = Literal["exact", "at_most", "about"]
TIMED_PHASES = ("warmup", "baseline", "observe")


@dataclass(frozen=True, slots=True)
class StepPlan:
    text: str  # as the runner's step lines say it (plan.describe_step)
    bound_s: float | None  # the longest it can take; None: no bound known
    certainty: Certainty = "at_most"  # a sleep takes exactly its bound


@dataclass(frozen=True, slots=True)
class Left:
    seconds: float
    certainty: Certainty


def step_plan(step: Step) -> StepPlan:
    text = describe_step(step)
    if isinstance(step, SleepStep):
        return StepPlan(text, step.duration, "exact")
    if isinstance(step, WaitStep):
        return StepPlan(text, step.timeout if step.timeout is not None else DEFAULT_WAIT)
    if step.timeout is not None:
        return StepPlan(text, step.timeout)
    return StepPlan(text, None, "about")


@dataclass(frozen=True, slots=True)
class Schedule:
    warmup_s: float
    baseline_s: float
    observe_s: float
    steps: tuple[StepPlan, ...]

    @classmethod
    def of(cls, exp: Experiment) -> Schedule:
        return cls(
            warmup_s=exp.phases.warmup,
            baseline_s=exp.phases.baseline,
            observe_s=exp.phases.observe,
            steps=tuple(step_plan(s) for s in exp.steps),
        )

    def phase_length(self, phase: str) -> float | None:
        """Seconds of a timed phase; None for the others (setup, fault, restore, end)."""
        return {
            "warmup": self.warmup_s,
            "baseline": self.baseline_s,
            "observe": self.observe_s,
        }.get(phase)

    def expected_s(self) -> float:
        """The phases plus every step's bound (0 for an unbounded step): what a suite's
        estimate starts from before it has seen a run (set-up and restore come on top)."""
        return self._fault_left(0, 0.0)[0] + self.warmup_s + self.baseline_s + self.observe_s

    def left(
        self, phase: str, phase_elapsed: float, step: int = 0, step_elapsed: float = 0.0
    ) -> Left | None:
        """Time left until the observe phase ends, from ``phase`` after ``phase_elapsed``
        seconds; in the fault phase ``step`` is the 0-based index of the step under way (or
        of the next one) and ``step_elapsed`` how long it has been going. None once the run is
        past its phases (restore, end)."""
        order = ("setup", "warmup", "baseline", "fault", "observe")
        if phase not in order:
            return None
        at = order.index(phase)
        seconds = 0.0
        certainty: Certainty = "exact"
        if phase == "setup":
            certainty = "about"  # set-up itself has no known length
        for name in TIMED_PHASES:
            if order.index(name) > at:
                seconds += self.phase_length(name) or 0.0
            elif name == phase:
                seconds += max(0.0, (self.phase_length(name) or 0.0) - phase_elapsed)
        if at <= order.index("fault"):
            first, elapsed = (step, step_elapsed) if phase == "fault" else (0, 0.0)
            more, fault_certainty = self._fault_left(first, elapsed)
            seconds += more
            certainty = _weaker(certainty, fault_certainty)
        return Left(seconds, certainty)

    def _fault_left(self, first: int, elapsed: float) -> tuple[float, Certainty]:
        seconds = 0.0
        certainty: Certainty = "exact"
        for i, plan in enumerate(self.steps[first:], start=first):
            certainty = _weaker(certainty, plan.certainty)
            if plan.bound_s is None:
                continue
            seconds += max(0.0, plan.bound_s - elapsed) if i == first else plan.bound_s
        return seconds, certainty


def _weaker(a: Certainty, b: Certainty) -> Certainty:
    rank = ("exact", "at_most", "about")
    return a if rank.index(a) >= rank.index(b) else b
