"""SLO checks (jepsen style); the verdict they feed is :func:`chaos.verdict.judge`.

Each check compares one value with one threshold of the experiment's ``slo`` (an unset
threshold is not checked) and says ``pass``, ``fail`` or ``unknown``. A value that cannot be
computed is ``unknown`` with the reason, and a check that crashes is ``unknown``, never
``pass``. Units: ``error_rate`` a fraction; ``p99``, ``recovery`` and ``leader_election``
seconds; ``dropped`` a count.

- ``error_rate``: server errors / sent on the live node IPs during the fault and observe
  phases (every phase of a run without fault steps).
- ``p99``: success p99 on the same requests.
- ``recovery``: ``client_recovered_s``; not recovered by the end of the run fails.
- ``leader_election``: ``leader_elected_s``; no new leader after the leader was faulted fails,
  no change while the leader was not faulted is unknown (not applicable).
- ``dropped``: generator-side outcomes (``dropped`` + ``pool``). Exceeding it means the run is
  not a valid measurement, not that the system deviated: ``unknown``, never ``fail``.

How the checks and the run's own validity become one verdict: :mod:`chaos.verdict`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from chaos import fmt
from chaos.analysis.loaddir import Frozen, Requests
from chaos.analysis.recovery import Recovery
from chaos.experiment.spec import Slo
from chaos.verdict import GENERATOR_LIMITED

Status = Literal["pass", "fail", "unknown"]


class Check(Frozen):
    """One SLO check; ``threshold`` and ``value`` in the check's unit (module docstring)."""

    name: str
    threshold: float | None
    value: float | None
    status: Status
    message: str


@dataclass(frozen=True, slots=True)
class CheckInputs:
    """What the checks judge. ``judged``: live IPs during the judged phases (``None`` when
    the run has none); ``judged_p99_s``: their success p99 in seconds; ``generator_errors``:
    from the load summary (``None`` without one); ``leader_faulted``: the leader before the
    fault was a faulted node."""

    judged: Requests | None
    judged_p99_s: float | None
    recovery: Recovery
    leader_faulted: bool
    generator_errors: int | None


def _cmp(name: str, threshold: float, value: float, unit: Callable[[float], str]) -> Check:
    ok = value <= threshold
    rel = "<=" if ok else ">"
    return Check(
        name=name,
        threshold=threshold,
        value=value,
        status="pass" if ok else "fail",
        message=f"{name} {unit(value)} {rel} {unit(threshold)}",
    )


def _unknown(name: str, threshold: float | None, why: str) -> Check:
    return Check(name=name, threshold=threshold, value=None, status="unknown", message=why)


def check_error_rate(limit: float, inp: CheckInputs) -> Check:
    if inp.judged is None or inp.judged.error_rate is None:
        return _unknown("error_rate", limit, "no request was sent to a live IP in fault/observe")
    return _cmp("error_rate", limit, inp.judged.error_rate, fmt.text_pct)


def check_p99(limit: float, inp: CheckInputs) -> Check:
    if inp.judged_p99_s is None:
        return _unknown("p99", limit, "no success on a live IP in fault/observe")
    return _cmp("p99", limit, inp.judged_p99_s, fmt.text_duration)


def check_recovery(limit: float, inp: CheckInputs) -> Check:
    rec = inp.recovery
    if rec.client_status == "not_applicable":
        return _unknown("recovery", limit, f"recovery not applicable: {'; '.join(rec.notes)}")
    if rec.client_recovered_s is None:
        return Check(
            name="recovery",
            threshold=limit,
            value=None,
            status="fail",
            message="the live IPs did not recover before the run ended",
        )
    return _cmp("recovery", limit, rec.client_recovered_s, fmt.text_duration)


def check_leader_election(limit: float, inp: CheckInputs) -> Check:
    value = inp.recovery.leader_elected_s
    if value is not None:
        return _cmp("leader_election", limit, value, fmt.text_duration)
    if inp.leader_faulted:
        return Check(
            name="leader_election",
            threshold=limit,
            value=None,
            status="fail",
            message="the leader was faulted and no other node became leader",
        )
    return _unknown("leader_election", limit, "not applicable: the leader did not change")


def check_dropped(limit: float, inp: CheckInputs) -> Check:
    if inp.generator_errors is None:
        return _unknown("dropped", limit, "no load summary: the load run did not finish")
    value = float(inp.generator_errors)
    if value <= limit:
        return _cmp("dropped", limit, value, lambda x: f"{x:.0f}")
    return Check(
        name="dropped",
        threshold=limit,
        value=value,
        status="unknown",
        message=f"{value:.0f} generator-side drops > {limit:.0f}: {GENERATOR_LIMITED}",
    )


CheckFn = Callable[[float, CheckInputs], Check]
CHECKS: tuple[tuple[str, Callable[[Slo], float | None], CheckFn], ...] = (
    ("error_rate", lambda s: s.max_error_rate, check_error_rate),
    ("p99", lambda s: s.max_p99, check_p99),
    ("recovery", lambda s: s.max_recovery, check_recovery),
    ("leader_election", lambda s: s.max_leader_election, check_leader_election),
    ("dropped", lambda s: None if s.max_dropped is None else float(s.max_dropped), check_dropped),
)


def run_checks(
    slo: Slo,
    inp: CheckInputs,
    checks: Sequence[tuple[str, Callable[[Slo], float | None], CheckFn]] = CHECKS,
) -> list[Check]:
    """Every check of ``checks`` whose threshold is set in ``slo``, in order; a crash inside
    a check makes it ``unknown``."""
    out = []
    for name, threshold, check in checks:
        limit = threshold(slo)
        if limit is None:
            continue
        try:
            out.append(check(limit, inp))
        except Exception as exc:  # a crashing check says unknown, never pass
            out.append(_unknown(name, limit, f"the check crashed: {exc!r}"))
    return out
