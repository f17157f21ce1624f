"""The absolute checks of one saved run: its SLO (each threshold overridable), the checks it
saved itself, and ``run_valid``."""

from __future__ import annotations

from pydantic import ValidationError

from chaos.analysis import RunResult
from chaos.analysis.checks import CheckInputs, check_error_rate, check_p99, check_recovery
from chaos.errors import UsageError
from chaos.experiment.spec import Slo
from chaos.gate.report import GateCheck, Thresholds
from chaos.gate.runs import RESULT_FILE, Run, judged_p99_s
from chaos.gate.validity import run_valid
from chaos.verdict import Verdict

SAVED_CHECKS = ("leader_election", "dropped")


def _slo(run: Run) -> Slo:
    try:
        return Slo.model_validate(run.result.experiment.settings.get("slo") or {})
    except ValidationError as exc:
        msg = exc.errors()[0]["msg"]
        raise UsageError(f"{run.dir}: malformed slo in {RESULT_FILE}: {msg}") from None


def _inputs(result: RunResult) -> CheckInputs:
    load = result.load
    return CheckInputs(
        judged=result.judged,
        judged_p99_s=judged_p99_s(result),
        recovery=result.recovery,
        leader_faulted=False,  # only leader_election needs it; that check is read as saved
        generator_errors=None if load is None else load.requests.generator_errors,
    )


def absolute_checks(run: Run, th: Thresholds) -> list[GateCheck]:
    """The checks of one run against its SLO with the overrides of ``th``."""
    result, subject = run.result, str(run.dir)
    exp = result.experiment.name
    if result.verdict == Verdict.INTERRUPTED:
        why = "; ".join(result.verdict_reasons) or "interrupted: not judged"
        return [GateCheck(exp, subject, "run_valid", "absolute", "skipped", why)]
    slo = _slo(run)
    status, why = run_valid(result)
    out = [GateCheck(exp, subject, "run_valid", "absolute", status, why)]
    inputs = _inputs(result)
    limits = (
        (th.max_error_rate, slo.max_error_rate, check_error_rate),
        (th.max_p99, slo.max_p99, check_p99),
        (th.max_recovery, slo.max_recovery, check_recovery),
    )
    for override, saved, fn in limits:
        limit = override if override is not None else saved
        if limit is None:
            continue
        c = fn(limit, inputs)
        out.append(GateCheck(exp, subject, c.name, "absolute", c.status, c.message, c.value, limit))
    for c in result.checks:
        if c.name in SAVED_CHECKS:
            out.append(
                GateCheck(
                    exp, subject, c.name, "absolute", c.status, c.message, c.value, c.threshold
                )
            )
    return out
