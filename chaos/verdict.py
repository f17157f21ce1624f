"""The one judge: a run's verdict and the process's exit code, decided here and nowhere else.

Jepsen's three values plus one: a run that was stopped early by an operator (a signal, the
kill switch) measured nothing to the end, so it is neither pass nor fail.

    interrupted   stopped before its end: nothing is judged (its checks are kept, unjudged)
    guard_tripped the run stopped itself: its guard saw it hurt more than agreed (not judged
                  against the SLO: it did not run to its end; the guard's reason is the finding)
    fail          a check failed, or swarm did not do what a ``wait_for`` expected
    unknown       no check failed, but one could not be computed, or the run cannot vouch
                  for its own numbers: the generator lagged, a step hit a platform error,
                  or the swarm was not steady before the fault (errors in the baseline)
    pass          every check passed and the measurement is valid

Exit codes (one table for ``chaos run``, suites and sweeps):

    0 pass   1 fail   2 invalid input   3 platform error   4 cluster not restored
    5 unknown   6 guard tripped (restored)   70 internal error (a bug)
    130 interrupted (restored)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum, StrEnum
from typing import Protocol


class Verdict(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    UNKNOWN = "unknown"
    INTERRUPTED = "interrupted"
    GUARD_TRIPPED = "guard_tripped"


class ExitCode(IntEnum):
    PASS = 0
    FAIL = 1
    USAGE = 2
    PLATFORM = 3
    NOT_RESTORED = 4
    UNKNOWN = 5
    GUARD_TRIPPED = 6
    INTERNAL = 70
    INTERRUPTED = 130


# what each code means, in the words of a run's summary and `chaos run --help`
MEANING = {
    ExitCode.PASS: "pass",
    ExitCode.FAIL: "SLO violated",
    ExitCode.USAGE: "invalid input",
    ExitCode.PLATFORM: "platform error",
    ExitCode.NOT_RESTORED: "cluster not restored",
    ExitCode.UNKNOWN: "verdict unknown",
    ExitCode.GUARD_TRIPPED: "guard tripped (restored)",
    ExitCode.INTERNAL: "internal error (a bug)",
    ExitCode.INTERRUPTED: "interrupted (restored)",
}


def meaning(code: int) -> str:
    """What exit ``code`` means; a code of no run of ours reads as such."""
    try:
        return MEANING[ExitCode(code)]
    except ValueError:
        return "not an exit code of chaos run"


def exit_table() -> str:
    """Every exit code and its meaning, in one line (help texts)."""
    return ", ".join(f"{int(c)} {m}" for c, m in MEANING.items())


# a run that ended like this stops a suite or a sweep: the cluster is not in a state to go on,
# or the operator asked to stop
STOPS_A_SERIES = frozenset({ExitCode.NOT_RESTORED, ExitCode.INTERRUPTED})

GENERATOR_LIMITED = "the generator could not keep up: the run measured itself"


class JudgedCheck(Protocol):
    @property
    def status(self) -> str: ...

    @property
    def message(self) -> str: ...


@dataclass(frozen=True, slots=True)
class Validity:
    """What the run says about its own measurement, besides the checks.

    ``interrupted``: why it stopped early ('' when it ran to its end); ``guard_tripped``: why
    its guard stopped it (''); ``deviations``: waits
    that timed out (swarm did not do what the experiment expects); ``run_errors``: what went
    wrong in the run itself (a failed step, a set-up error); ``generator_limited``: the load
    summary's flag (``None``: there is no summary); ``unsteady``: errors seen before the fault
    (see :func:`chaos.analysis.steadiness.unsteady_start`)."""

    interrupted: str = ""
    guard_tripped: str = ""
    deviations: tuple[str, ...] = ()
    run_errors: tuple[str, ...] = ()
    generator_limited: bool | None = False
    unsteady: tuple[str, ...] = ()

    def caps(self) -> list[str]:
        """Reasons that keep a run from passing (each makes it at best unknown)."""
        out = []
        if self.generator_limited:
            out.append(f"{GENERATOR_LIMITED} (send lag or generator-side errors)")
        if self.generator_limited is None:
            out.append("no load summary: the load run did not finish")
        out += [f"run error: {e}" for e in self.run_errors]
        out += list(self.unsteady)
        return out


def judge(checks: Sequence[JudgedCheck], validity: Validity) -> tuple[Verdict, list[str]]:
    """The verdict and its reasons: failed checks and deviations first, then unknown checks,
    then what caps the run's validity."""
    if validity.guard_tripped:
        return Verdict.GUARD_TRIPPED, [f"guard tripped: {validity.guard_tripped}"]
    if validity.interrupted:
        return Verdict.INTERRUPTED, [f"{validity.interrupted}: not judged"]
    reasons = [f"fail: {d}" for d in validity.deviations]
    reasons += [f"fail: {c.message}" for c in checks if c.status == "fail"]
    failed = bool(reasons)
    unknown = [f"unknown: {c.message}" for c in checks if c.status == "unknown"]
    capped = [f"unknown: {why}" for why in validity.caps()]
    reasons += unknown + capped
    if failed:
        return Verdict.FAIL, reasons
    if unknown or capped:
        return Verdict.UNKNOWN, reasons
    return Verdict.PASS, reasons


def exit_code(
    verdict: Verdict, *, restored: bool, platform_failed: bool, vanished: bool = False
) -> ExitCode:
    """The process's exit code for a finished run. ``platform_failed``: the run itself hit a
    platform error (a step or set-up failed), which outranks unknown but not fail;
    ``vanished``: the cluster itself disappeared under the run (its network torn down by
    another process): a platform error, with nothing left to restore."""
    if vanished:
        return ExitCode.PLATFORM
    if not restored:
        return ExitCode.NOT_RESTORED
    if verdict is Verdict.INTERRUPTED:
        return ExitCode.INTERRUPTED
    if verdict is Verdict.GUARD_TRIPPED:
        return ExitCode.GUARD_TRIPPED
    if verdict is Verdict.FAIL:
        return ExitCode.FAIL
    if platform_failed:
        return ExitCode.PLATFORM
    return ExitCode.PASS if verdict is Verdict.PASS else ExitCode.UNKNOWN


SEVERITY = (
    ExitCode.INTERNAL,
    ExitCode.NOT_RESTORED,
    ExitCode.INTERRUPTED,
    ExitCode.PLATFORM,
    ExitCode.USAGE,
    ExitCode.FAIL,
    ExitCode.GUARD_TRIPPED,
    ExitCode.UNKNOWN,
)


def worst(codes: Sequence[int]) -> int:
    """The most severe exit code of a series of runs (0 when all passed)."""
    for code in SEVERITY:
        if code in codes:
            return int(code)
    return 0
