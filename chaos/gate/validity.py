"""``run_valid``: whether a saved run measured the system (finished, restored the cluster, no
run error, the load generator on time, a steady start). A run its guard stopped did not
finish, but not for lack of a measurement: it hurt its users more than agreed, which a gate
counts as a failure."""

from __future__ import annotations

from chaos.analysis import RunResult
from chaos.analysis.steadiness import unsteady_start
from chaos.gate.report import Status
from chaos.verdict import Validity, Verdict


def validity(result: RunResult) -> Validity:
    """The saved run's own validity, as :func:`chaos.verdict.judge` saw it."""
    has_fault = bool(result.experiment.settings.get("steps"))
    return Validity(
        run_errors=tuple(result.errors),
        generator_limited=None if result.load is None else result.load.generator_limited,
        unsteady=unsteady_start(result.phases, has_fault=has_fault),
    )


def run_valid(result: RunResult) -> tuple[Status, str]:
    if result.verdict == Verdict.GUARD_TRIPPED:
        return "fail", "; ".join(result.verdict_reasons) or "the run's guard stopped it"
    why = ([] if result.restored else ["the cluster was not restored"]) + validity(result).caps()
    if why:
        return "unknown", "; ".join(why)
    return "pass", "the run finished, restored the cluster and measured the system"
