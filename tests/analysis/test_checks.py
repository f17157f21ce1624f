"""SLO checks and the one judge (chaos.verdict), on hand-made inputs (no clock)."""

from __future__ import annotations

from typing import Any

import pytest

from chaos.analysis.checks import CHECKS, Check, CheckInputs, run_checks
from chaos.analysis.loaddir import Requests
from chaos.analysis.recovery import Recovery
from chaos.experiment.spec import Slo
from chaos.verdict import ExitCode, Validity, Verdict, exit_code, judge


def recovery(**over: Any) -> Recovery:
    fields: dict[str, Any] = {
        "leader_elected_s": None,
        "node_down_detected_s": None,
        "tasks_rescheduled_s": None,
        "service_converged_s": None,
        "api_unavailable_s": 0.0,
        "api_first_error": None,
        "client_recovered_s": 3.0,
        "client_status": "recovered",
        "outage_s": 2.0,
        "dead_ip_errors": 0,
        "live_ip_errors": 0,
        "baseline_error_rate": 0.0,
        "baseline_p99_ms": 5.0,
        "good_max_error_rate": 0.001,
        "good_max_p99_ms": 15.0,
        "notes": [],
    }
    return Recovery(**(fields | over))


def judged(sent: int, errors: int) -> Requests:
    return Requests(
        total=sent,
        sent=sent,
        ok=sent - errors,
        error_count=errors,
        errors={"refused": errors} if errors else {},
        dropped=0,
        generator={},
        error_rate=errors / sent if sent else None,
    )


def inputs(**over: Any) -> CheckInputs:
    fields: dict[str, Any] = {
        "judged": judged(1000, 5),
        "judged_p99_s": 0.020,
        "recovery": recovery(),
        "leader_faulted": False,
        "generator_errors": 0,
    }
    return CheckInputs(**(fields | over))


SLO = Slo(max_error_rate=0.01, max_p99=0.1, max_recovery=5.0, max_leader_election=20.0)


def statuses(slo: Slo, inp: CheckInputs) -> dict[str, str]:
    return {c.name: c.status for c in run_checks(slo, inp)}


def test_all_pass() -> None:
    checks = run_checks(SLO, inputs())
    assert [c.name for c in checks] == [
        "error_rate",
        "p99",
        "recovery",
        "leader_election",
        "dropped",
    ]
    by = {c.name: c for c in checks}
    assert (by["error_rate"].value, by["error_rate"].threshold) == (0.005, 0.01)
    assert by["leader_election"].status == "unknown"  # the leader did not change: n/a
    assert by["p99"].message == "p99 20.0ms <= 100.0ms"
    assert judge(checks, Validity())[0] == "unknown"
    no_leader_slo = SLO.model_copy(update={"max_leader_election": None})
    assert judge(run_checks(no_leader_slo, inputs()), Validity()) == ("pass", [])


def test_unset_thresholds_are_not_checked() -> None:
    assert run_checks(Slo(max_dropped=None), inputs()) == []
    assert [c.name for c in run_checks(Slo(), inputs())] == ["dropped"]  # max_dropped: 0


@pytest.mark.parametrize(
    ("over", "name", "status"),
    [
        ({"judged": judged(1000, 11)}, "error_rate", "fail"),
        ({"judged": judged(1000, 10)}, "error_rate", "pass"),  # at the threshold
        ({"judged": judged(0, 0)}, "error_rate", "unknown"),  # nothing sent
        ({"judged": None}, "error_rate", "unknown"),  # no fault/observe phase
        ({"judged_p99_s": 0.25}, "p99", "fail"),
        ({"judged_p99_s": None}, "p99", "unknown"),
        ({"recovery": recovery(client_recovered_s=7.0)}, "recovery", "fail"),
        (
            {"recovery": recovery(client_recovered_s=None, client_status="not_recovered")},
            "recovery",
            "fail",
        ),
        (
            {"recovery": recovery(client_recovered_s=None, client_status="not_applicable")},
            "recovery",
            "unknown",
        ),
        ({"recovery": recovery(leader_elected_s=12.0)}, "leader_election", "pass"),
        ({"recovery": recovery(leader_elected_s=25.0)}, "leader_election", "fail"),
        ({"leader_faulted": True}, "leader_election", "fail"),  # faulted, no new leader
        ({"leader_faulted": False}, "leader_election", "unknown"),  # n/a
        ({"generator_errors": 3}, "dropped", "unknown"),  # the run measured itself
        ({"generator_errors": None}, "dropped", "unknown"),  # no summary
    ],
)
def test_check_status(over: dict[str, Any], name: str, status: str) -> None:
    assert statuses(SLO, inputs(**over))[name] == status


def boom(limit: float, inp: CheckInputs) -> Check:
    raise ZeroDivisionError("in a check")


def test_a_crashing_check_is_unknown_never_pass() -> None:
    crashing = (*CHECKS, ("boom", lambda s: 1.0, boom))
    checks = run_checks(Slo(max_dropped=None), inputs(), crashing)
    assert [(c.name, c.status) for c in checks] == [("boom", "unknown")]
    assert "crashed" in checks[0].message
    assert judge(checks, Validity())[0] == "unknown"


def chk(status: str) -> Check:
    return Check.model_validate(
        {"name": "x", "threshold": 1.0, "value": 0.5, "status": status, "message": status}
    )


UNSTEADY = "the swarm was not steady before the fault: 25 refused on node-002 in the baseline"


@pytest.mark.parametrize(
    ("statuses_", "over", "want"),
    [
        ([], {}, "pass"),  # nothing to check, nothing wrong
        (["pass", "pass"], {}, "pass"),
        (["pass", "unknown"], {}, "unknown"),
        (["unknown", "fail"], {}, "fail"),
        (["pass"], {"generator_limited": True}, "unknown"),  # at best unknown
        (["fail"], {"generator_limited": True}, "fail"),
        (["pass"], {"generator_limited": None}, "unknown"),  # no summary.json
        (["pass"], {"run_errors": ("step 1 (halt) failed",)}, "unknown"),
        (["pass"], {"unsteady": (UNSTEADY,)}, "unknown"),  # a dirty start line: never pass
        (["fail"], {"unsteady": (UNSTEADY,)}, "fail"),
        (["pass"], {"deviations": ("step 2 (wait for leader elected): timed out",)}, "fail"),
        (["fail", "unknown"], {"interrupted": "interrupted by SIGTERM"}, "interrupted"),
        (["pass"], {"interrupted": "stopped by `chaos stop`"}, "interrupted"),
    ],
)
def test_verdict(statuses_: list[str], over: dict[str, Any], want: str) -> None:
    got, reasons = judge([chk(s) for s in statuses_], Validity(**over))
    assert got == want
    assert bool(reasons) == (want != "pass")


def test_an_interrupted_run_lists_no_checks() -> None:
    got, reasons = judge([chk("fail")], Validity(interrupted="interrupted (Ctrl-C)"))
    assert (got, reasons) == (Verdict.INTERRUPTED, ["interrupted (Ctrl-C): not judged"])


def test_unsteady_reason_is_kept_word_for_word() -> None:
    _, reasons = judge([chk("pass")], Validity(unsteady=(UNSTEADY,)))
    assert reasons == [f"unknown: {UNSTEADY}"]


def test_generator_limited_reason() -> None:
    _, reasons = judge([chk("pass")], Validity(generator_limited=True))
    assert reasons == [
        "unknown: the generator could not keep up: the run measured itself "
        "(send lag or generator-side errors)"
    ]


@pytest.mark.parametrize(
    ("verdict", "restored", "platform_failed", "code"),
    [
        (Verdict.PASS, True, False, ExitCode.PASS),
        (Verdict.FAIL, True, False, ExitCode.FAIL),
        (Verdict.UNKNOWN, True, False, ExitCode.UNKNOWN),
        (Verdict.UNKNOWN, True, True, ExitCode.PLATFORM),  # a failed step outranks unknown
        (Verdict.FAIL, True, True, ExitCode.FAIL),  # ... but not a failed check
        (Verdict.INTERRUPTED, True, False, ExitCode.INTERRUPTED),
        (Verdict.INTERRUPTED, False, False, ExitCode.NOT_RESTORED),  # not restored first
        (Verdict.PASS, False, False, ExitCode.NOT_RESTORED),
        (Verdict.GUARD_TRIPPED, True, False, ExitCode.GUARD_TRIPPED),
    ],
)
def test_exit_code(verdict: Verdict, restored: bool, platform_failed: bool, code: int) -> None:
    assert exit_code(verdict, restored=restored, platform_failed=platform_failed) == code


def test_a_cluster_that_vanished_is_a_platform_error_not_an_unrestored_one() -> None:
    # its network was torn down under the run: nothing is left to restore, and no result lies
    got = exit_code(Verdict.INTERRUPTED, restored=False, platform_failed=True, vanished=True)
    assert got == ExitCode.PLATFORM
