"""``chaos gate`` on stored results: absolute thresholds, the baseline rule, JUnit, Markdown,
exit codes through the real CLI."""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from chaos import gate
from chaos.errors import UsageError
from tests.gate.helpers import LEADER, ROLLING, derive

CHAOS = str(Path(sys.executable).with_name("chaos"))


def chaos(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CHAOS, *map(str, args)], capture_output=True, text=True, timeout=60, check=False
    )


def statuses(report: gate.GateReport) -> dict[tuple[str, str], str]:
    return {(c.kind, c.metric): c.status for c in report.checks}


# -- absolute thresholds -------------------------------------------------------------------
def test_a_run_within_its_slo_passes() -> None:
    report = gate.gate([ROLLING], None, gate.Thresholds())
    assert statuses(report) == {
        ("absolute", "run_valid"): "pass",
        ("absolute", "error_rate"): "pass",  # 0.539% <= 1%
        ("absolute", "p99"): "pass",  # 18.7 ms <= 500 ms
        ("absolute", "dropped"): "pass",
    }
    assert report.exit_code == 0
    assert gate.lines(report)[-1] == "gate: PASS (4 checks)"


@pytest.mark.parametrize(
    ("thresholds", "metric", "status"),
    [
        (gate.Thresholds(max_error_rate=0.001), "error_rate", "fail"),  # 0.539% > 0.1%
        (gate.Thresholds(max_error_rate=0.006), "error_rate", "pass"),
        (gate.Thresholds(max_p99=0.010), "p99", "fail"),  # 18.7 ms > 10 ms
        (gate.Thresholds(max_p99=0.019), "p99", "pass"),
        # the stored rolling update ended before the client was back for 5 good buckets
        (gate.Thresholds(max_recovery=30.0), "recovery", "fail"),
    ],
)
def test_options_override_the_slo(thresholds: gate.Thresholds, metric: str, status: str) -> None:
    report = gate.gate([ROLLING], None, thresholds)
    assert statuses(report)[("absolute", metric)] == status
    assert report.exit_code == (0 if status == "pass" else 1)


def test_saved_leader_election_check_is_kept() -> None:
    report = gate.gate([LEADER], None, gate.Thresholds())
    got = statuses(report)
    assert got[("absolute", "leader_election")] == "pass"  # 9.26 s <= 30 s
    assert got[("absolute", "recovery")] == "fail"  # not recovered in the short observe phase
    assert report.exit_code == 1


def test_missing_metric_is_unknown_and_fails_the_gate(tmp_path: Path) -> None:
    run = derive(ROLLING, tmp_path / "run", no_judged=True)
    report = gate.gate([run], None, gate.Thresholds())
    got = statuses(report)
    assert got[("absolute", "error_rate")] == "unknown"
    assert got[("absolute", "p99")] == "unknown"
    assert report.exit_code == 1
    line = next(gate.line(c) for c in report.checks if c.metric == "error_rate")
    assert line.startswith("UNKNOWN") and "counts as a failure" in line


def test_a_run_that_failed_itself_is_not_valid(tmp_path: Path) -> None:
    run = derive(ROLLING, tmp_path / "run", errors=["step 1 (update) failed: engine gone"])
    report = gate.gate([run], None, gate.Thresholds())
    check = next(c for c in report.checks if c.metric == "run_valid")
    assert check.status == "unknown" and "engine gone" in check.message
    assert report.exit_code == 1


def test_an_interrupted_run_is_skipped_and_alone_judges_nothing(tmp_path: Path) -> None:
    stopped = derive(
        ROLLING, tmp_path / "stopped", verdict=("interrupted", ["SIGTERM: not judged"])
    )
    report = gate.gate([stopped], None, gate.Thresholds())
    assert statuses(report) == {("absolute", "run_valid"): "skipped"}
    assert report.exit_code == 1  # nothing was judged: a gate cannot vouch for it
    assert gate.lines(report)[-1] == "gate: FAIL (no run was judged: 1 interrupted)"
    # beside a judged run it takes no part, and the gate passes on the judged one
    report = gate.gate([stopped, ROLLING], None, gate.Thresholds())
    assert report.exit_code == 0 and report.skipped == 1
    junit = ET.fromstring(gate.junit(report))
    assert junit.find("testsuite").get("skipped") == "1"  # type: ignore[union-attr]


def test_a_run_its_guard_stopped_fails_the_gate(tmp_path: Path) -> None:
    reason = "guard tripped: error rate 62.0% > 50% over 5s on the live IPs"
    run = derive(ROLLING, tmp_path / "guarded", verdict=("guard_tripped", [reason]))
    report = gate.gate([run], None, gate.Thresholds())
    check = next(c for c in report.checks if c.metric == "run_valid")
    assert (check.status, check.message) == ("fail", reason)
    assert report.exit_code == 1


# -- the baseline rule ---------------------------------------------------------------------
@pytest.mark.parametrize(
    ("baseline", "tolerance", "floor", "limit"),
    [
        ([10.0], 0.2, 0.0, 12.0),  # one run: median x 1.2
        ([10.0], 0.2, 1.0, 13.0),  # + the floor
        ([10.0, 10.0, 15.0], 0.2, 0.0, 15.0),  # the baseline's worst repeat is wider
        ([9.0, 10.0, 11.0], 0.2, 0.0, 12.0),  # median x 1.2 is wider than the max
        ([0.0], 0.2, 0.001, 0.001),  # no errors in the baseline: only the floor
        ([10.0, 12.0, float("inf")], 0.2, 1.0, 15.4),  # inf (not recovered) ignored for max
        ([float("inf")], 0.2, 1.0, float("inf")),  # the baseline never recovered: no bar
    ],
)
def test_limit_of(baseline: list[float], tolerance: float, floor: float, limit: float) -> None:
    assert gate.limit_of(baseline, tolerance, floor) == pytest.approx(limit)


RECOVERY = gate.METRICS[2]
ERROR_RATE = gate.METRICS[0]


@pytest.mark.parametrize(
    ("current", "baseline", "status"),
    [
        ([12.0], [10.0], "pass"),  # 12 <= 10 x 1.2 + 1
        ([13.5], [10.0], "fail"),
        ([13.0, 11.0, 40.0], [10.0, 11.0, 12.0], "pass"),  # an outlier repeat: median 13
        ([15.0, 16.0, 11.0], [10.0, 11.0, 12.0], "fail"),  # median 15 > 14.2
        ([float("inf")], [10.0], "fail"),  # not recovered where the baseline did
        ([], [10.0], "unknown"),  # no value: unknown, never pass
        ([12.0], [], None),  # no baseline value: no bar
        ([float("inf")], [float("inf")], None),
    ],
)
def test_compare_metric(current: list[float], baseline: list[float], status: str | None) -> None:
    got = gate.compare_metric(RECOVERY, current, baseline, 0.2)
    assert (got[0] if got else None) == status


def test_noise_within_tolerance_passes(tmp_path: Path) -> None:
    # the stored run: 23 failed of 4271 (0.539%), p99 18.7 ms, converged 17.3 s
    current = derive(ROLLING, tmp_path / "now", failed=26, p99_ms=20.9, converged_s=18.6)
    report = gate.gate([current], ROLLING, gate.Thresholds(tolerance=0.2))
    got = statuses(report)
    assert got[("baseline", "error_rate")] == "pass"
    assert got[("baseline", "p99")] == "pass"
    assert got[("baseline", "converged")] == "pass"
    assert ("baseline", "recovery") not in got  # the baseline did not recover: no bar
    assert report.exit_code == 0


def test_regression_beyond_tolerance_fails(tmp_path: Path) -> None:
    # 3x the failed requests (1.6%: still within an SLO of 2%), p99 unchanged
    current = derive(ROLLING, tmp_path / "now", failed=69)
    report = gate.gate([current], ROLLING, gate.Thresholds(max_error_rate=0.02))
    got = statuses(report)
    assert got[("absolute", "error_rate")] == "pass"
    assert got[("baseline", "error_rate")] == "fail"
    assert got[("baseline", "p99")] == "pass"
    assert report.exit_code == 1
    line = next(gate.line(c) for c in report.checks if c.status == "fail")
    assert line.startswith("FAIL    error_rate vs baseline: rolling-update")
    assert "1.62% (1 run) > 0.746%" in line


def test_repeats_compare_medians_and_use_the_spread(tmp_path: Path) -> None:
    base = tmp_path / "base"
    for i, (failed, conv) in enumerate([(18, 16.9), (23, 17.3), (31, 18.4)]):
        derive(ROLLING, base / f"rep-{i + 1}", failed=failed, converged_s=conv)
    now = tmp_path / "now"
    # one bad repeat (an outlier), the median within the baseline's worst repeat
    for i, (failed, conv) in enumerate([(24, 17.0), (30, 18.0), (70, 25.0)]):
        derive(ROLLING, now / f"rep-{i + 1}", failed=failed, converged_s=conv)
    report = gate.gate([now], base, gate.Thresholds(max_error_rate=0.05))
    got = statuses(report)
    assert got[("baseline", "error_rate")] == "pass"  # median 30 <= max(23 x 1.2, 31) + floor
    assert got[("baseline", "converged")] == "pass"
    check = next(c for c in report.checks if c.kind == "baseline" and c.metric == "error_rate")
    assert "3 runs" in check.subject and "(3 runs, " in check.message

    worse = tmp_path / "worse"
    for i, failed in enumerate([40, 44, 52]):
        derive(ROLLING, worse / f"rep-{i + 1}", failed=failed)
    report = gate.gate([worse], base, gate.Thresholds(max_error_rate=0.05))
    assert statuses(report)[("baseline", "error_rate")] == "fail"


def test_groups_are_matched_by_settings(tmp_path: Path) -> None:
    p2 = {"service": {"update": {"parallelism": 2}}}
    base = tmp_path / "base"
    derive(ROLLING, base / "p1", failed=23)
    derive(ROLLING, base / "p2", failed=60, settings=p2)
    derive(LEADER, base / "lk")
    now = tmp_path / "now"
    derive(ROLLING, now / "p2", failed=62, settings=p2)  # fine against p2, a regression vs p1
    report = gate.gate([now], base, gate.Thresholds(max_error_rate=0.05))
    assert statuses(report)[("baseline", "error_rate")] == "pass"
    # another slo is the same run: thresholds are not settings
    derive(ROLLING, tmp_path / "slo", settings={"slo": {"max_error_rate": 0.05}})
    report = gate.gate([tmp_path / "slo"], base, gate.Thresholds())
    assert not any("differ" in c.message for c in report.checks)


def test_settings_differ_falls_back_to_the_only_baseline_of_that_experiment(
    tmp_path: Path,
) -> None:
    now = derive(ROLLING, tmp_path / "now", settings={"phases": {"observe": 6.0}})
    report = gate.gate([now], ROLLING, gate.Thresholds())
    check = next(c for c in report.checks if c.kind == "baseline")
    assert check.message.endswith("[baseline settings differ]")


def test_no_baseline_for_an_experiment_is_unknown(tmp_path: Path) -> None:
    report = gate.gate([LEADER], ROLLING, gate.Thresholds(max_recovery=120.0))
    check = next(c for c in report.checks if c.kind == "baseline")
    assert check.status == "unknown" and "no baseline run of leader-kill" in check.message


def test_input_without_runs_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(UsageError, match=r"no result\.json"):
        gate.gate([tmp_path / "empty"], None, gate.Thresholds())
    with pytest.raises(UsageError, match="no such directory"):
        gate.gate([tmp_path / "nope"], None, gate.Thresholds())


# -- JUnit and Markdown --------------------------------------------------------------------
def test_junit_has_one_testcase_per_check_and_the_failure_names_the_metric(
    tmp_path: Path,
) -> None:
    current = derive(ROLLING, tmp_path / "now", failed=69)
    report = gate.gate([current], ROLLING, gate.Thresholds(max_error_rate=0.02, max_p99=0.010))
    root = ET.fromstring(gate.junit(report))
    cases = root.findall("./testsuite/testcase")
    assert len(cases) == len(report.checks)
    suite = root.find("testsuite")
    assert suite is not None and suite.get("failures") == "2" and suite.get("errors") == "0"
    failed = sorted(c.get("name", "") for c in cases if c.find("failure") is not None)
    assert failed == [f"error_rate vs baseline: rolling-update ({current})", f"p99: {current}"]
    case = next(c for c in cases if c.get("name", "").startswith("p99:"))
    failure = case.find("failure")
    assert failure is not None and failure.get("message") == "p99 18.7ms > 10.0ms"
    assert case.get("classname") == "chaos.gate.rolling-update"


def test_junit_marks_unknown_as_error(tmp_path: Path) -> None:
    report = gate.gate([derive(ROLLING, tmp_path / "r", no_judged=True)], None, gate.Thresholds())
    root = ET.fromstring(gate.junit(report))
    errors = [c.get("name") for c in root.iter("testcase") if c.find("error") is not None]
    assert errors == [f"error_rate: {tmp_path / 'r'}", f"p99: {tmp_path / 'r'}"]


def test_markdown_lists_failures_first(tmp_path: Path) -> None:
    current = derive(ROLLING, tmp_path / "now", failed=69)
    md = gate.markdown(gate.gate([current], ROLLING, gate.Thresholds(max_error_rate=0.02)))
    lines = md.splitlines()
    assert lines[0] == "## chaos gate: ❌ fail"
    rows = [line for line in lines if line.startswith("| ")]
    assert rows[0] == "| | check | run | detail |"
    assert rows[1].startswith("| ❌ | error_rate vs baseline |")
    assert all(r.startswith("| ✅") for r in rows[2:])
    assert "tolerance 20%" in md


# -- through the CLI -----------------------------------------------------------------------
def test_cli_pass_and_fail_with_junit_and_markdown(tmp_path: Path) -> None:
    ok = chaos("gate", ROLLING, "--baseline", ROLLING, "--junit", tmp_path / "ok.xml")
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.splitlines()[-1] == "gate: PASS (7 checks)"
    bad = chaos(
        "gate", ROLLING, "--max-p99", "10ms", "--junit", tmp_path / "bad.xml",
        "--markdown", tmp_path / "summary.md",
    )  # fmt: skip
    assert bad.returncode == 1, bad.stderr
    assert "FAIL    p99: " in bad.stdout
    root = ET.parse(tmp_path / "bad.xml").getroot()
    failing = [c.get("name", "") for c in root.iter("testcase") if c.find("failure") is not None]
    assert len(failing) == 1 and failing[0].startswith("p99")
    assert (tmp_path / "summary.md").read_text().startswith("## chaos gate: ❌ fail")


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--max-p99", "fast", "chaos: error: --max-p99: invalid duration 'fast'"),
        ("--max-recovery", "-3s", "chaos: error: --max-recovery: invalid duration '-3s'"),
        ("--max-error-rate", "lots", "chaos: error: --max-error-rate: invalid percentage 'lots'"),
        ("--max-error-rate", "150%", "chaos: error: --max-error-rate: invalid percentage"),
        ("--tolerance", "20 percent", "chaos: error: --tolerance: invalid percentage"),
    ],
)
def test_cli_malformed_threshold_is_a_usage_error(option: str, value: str, message: str) -> None:
    got = chaos("gate", ROLLING, option, value)
    assert got.returncode == 2
    assert got.stdout == ""
    assert len(got.stderr.splitlines()) == 1 and got.stderr.startswith(message), got.stderr


def test_cli_not_a_run_dir_is_a_usage_error(tmp_path: Path) -> None:
    got = chaos("gate", tmp_path)
    assert got.returncode == 2
    assert got.stderr.strip() == f"chaos: error: {tmp_path}: no result.json in it or below; " + (
        "is it a run directory?"
    )
