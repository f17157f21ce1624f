"""The end of a run on the terminal and for scripts, from stored results."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from chaos.analysis.api import ApiLatency
from chaos.analysis.events import GuardReport
from chaos.analysis.result import load_result
from chaos.cli.runend import print_run_end
from chaos.fmt import NA
from chaos.report.headline import ApiHead, headline
from chaos.report.terminal import summary_lines
from chaos.verdict import ExitCode, Verdict

RUNS = Path(__file__).resolve().parents[1] / "fixtures" / "runs"


@pytest.fixture()
def leader_kill(tmp_path: Path) -> Path:
    # deeper than the plain summary is wide: its paths must stay whole on one line
    run = tmp_path / ("reports-of-a-long-named-project-" * 4) / "20261127-143747-leader-kill"
    shutil.copytree(RUNS / "leader-kill", run)
    return run


def test_headline_of_a_stored_run(leader_kill: Path) -> None:
    (leader_kill / "report.html").write_text("<html></html>")
    head = headline(load_result(leader_kill / "result.json"), exit_code=1, run_dir=leader_kill)
    assert head["run"] == "20261127-143747-leader-kill"
    assert (head["verdict"], head["exit_code"]) == ("fail", 1)
    assert head["reasons"] == ["fail: the live IPs did not recover before the run ended"]
    assert [(c["name"], c["status"], c["value"], c["threshold"]) for c in head["checks"]] == [
        ("error_rate", "pass", pytest.approx(0.0823, abs=1e-4), 0.1),
        ("recovery", "fail", None, 60.0),
        ("leader_election", "pass", 9.2635, 30.0),
        ("dropped", "pass", 0.0, 0.0),
    ]
    r = head["recovery"]
    assert (r["leader_elected_s"], r["client_status"], r["api_unavailable_s"]) == (
        9.2635, "not_recovered", 7.2008
    )  # fmt: skip
    assert head["failed_by_node"] == {"node-001": 893, "node-002": 163, "node-003": 121}
    assert head["node_ips"]["node-002"] == "10.213.77.12"
    assert head["faulted"] == ["node-001"]
    assert head["judged"] == {"sent": 3449, "failed": 284, "error_rate": pytest.approx(0.0823,
                              abs=1e-4), "p99_ms": 45.759}  # fmt: skip
    assert head["paths"]["report"] == str(leader_kill / "report.html")
    assert json.loads(json.dumps(head)) == head  # plain JSON types only


def test_summary_says_what_a_user_decides_on(leader_kill: Path) -> None:
    head = headline(load_result(leader_kill / "result.json"), exit_code=1, run_dir=leader_kill)
    lines = summary_lines(head)
    text = "\n".join(lines)
    assert lines[0].startswith("leader-kill  FAIL   exit 1 (SLO violated)")
    assert "\x1b" not in text
    rows = {line.split()[1]: line.split()[2:] for line in lines if line[:3] in (" ✓ ", " ✗ ")}
    assert rows["error_rate"] == ["8.23%", "≤", "10.0%"]
    assert rows["recovery"][:3] == [NA, "≤", "60.0"]
    assert rows["leader_election"] == ["9.26", "s", "≤", "30.0", "s"]
    assert any(" ✗ " in line and "did not recover before the run ended" in line for line in lines)
    assert " leader elected     9.26 s   node-001 -> node-003" in lines
    assert any(line.startswith(" client recovered   not recovered") for line in lines)
    assert " API unavailable    7.20 s" in lines
    assert " node-001  10.213.77.11  893  faulted" in lines
    assert " node-003  10.213.77.13  121" in lines
    assert f" result  {leader_kill / 'result.json'}" in lines
    assert any(line.startswith(" report  not written") for line in lines)
    assert "NOT restored" not in text


def test_summary_of_an_unrestored_run(leader_kill: Path) -> None:
    result = load_result(leader_kill / "result.json")
    broken = result.model_copy(update={"restored": False, "errors": ["restore: node-001 Down"]})
    lines = summary_lines(headline(broken, exit_code=4, run_dir=leader_kill))
    assert "exit 4 (cluster not restored)" in lines[0]
    assert "error: restore: node-001 Down" in lines
    assert "the cluster was NOT restored: run `chaos recover`" in lines


def test_json_is_one_object_on_stdout(
    leader_kill: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert print_run_end(leader_kill, 1, as_json=True) == 1
    out, err = capsys.readouterr()
    assert len(out.splitlines()) == 1
    head = json.loads(out)
    assert (head["verdict"], head["exit_code"], head["headline_version"]) == ("fail", 1, 1)
    assert "leader-kill  FAIL" in err and "checks" in err  # the summary went to stderr


def test_without_json_the_summary_is_on_stdout(
    leader_kill: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert print_run_end(leader_kill, 1, as_json=False) == 1
    out, err = capsys.readouterr()
    assert out.startswith("leader-kill  FAIL") and err == ""


def test_no_result_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = tmp_path / "r1"
    run.mkdir()
    code = print_run_end(run, 3, as_json=True, fallback=["results: r1/result.json"])
    out, err = capsys.readouterr()
    head = json.loads(out)
    assert (head["verdict"], head["exit_code"]) == ("unknown", 3) and "no such result" in head[
        "error"
    ]
    assert code == 3 and err.startswith("results: r1/result.json\nno summary: ")


def test_summary_of_a_run_its_guard_stopped(leader_kill: Path) -> None:
    result = load_result(leader_kill / "result.json")
    fault = next(p.start for p in result.phases if p.name == "fault")
    trip = GuardReport(
        reason="error rate 62.0% > 50% over 5s on the live IPs",
        data_end=fault + 6.0,
        tripped=fault + 6.3,
        restore_started=fault + 6.35,
        detect_latency_s=0.3,
        restore_latency_s=0.05,
    )
    stopped = result.model_copy(
        update={
            "verdict": Verdict.GUARD_TRIPPED,
            "verdict_reasons": [f"guard tripped: {trip.reason}"],
            "guard": trip,
        }
    )
    head = headline(stopped, exit_code=ExitCode.GUARD_TRIPPED, run_dir=leader_kill)
    assert head["guard"] == {
        "reason": trip.reason,
        "tripped_s": pytest.approx(6.3, abs=1e-3),
        "detect_latency_s": 0.3,
        "restore_latency_s": 0.05,
    }
    lines = summary_lines(head)
    assert lines[0].startswith("leader-kill  GUARD_TRIPPED   exit 6 (guard tripped (restored))")
    assert f" reason   {trip.reason}" in lines
    assert " tripped  6.30s after the fault start" in lines
    assert any(line.startswith(" latency  0.30s from the violating window") for line in lines)
    # a run its guard did not stop says nothing of a guard
    plain = headline(result, exit_code=1, run_dir=leader_kill)
    assert plain["guard"] is None
    assert not any(line == "guard" for line in summary_lines(plain))


def test_the_manager_api_latency_in_the_headline_and_the_summary(leader_kill: Path) -> None:
    assert set(ApiHead.__annotations__) == set(ApiLatency.model_fields)  # one set of fields
    result = load_result(leader_kill / "result.json")
    rows = [
        ApiLatency(phase="baseline", node="node-002", calls=10, timeouts=0, errors=0,
                   p50_ms=20.5, p99_ms=31.0, max_ms=31.0),
        ApiLatency(phase="fault", node="node-002", calls=12, timeouts=2, errors=1,
                   p50_ms=951.6, p99_ms=2489.6, max_ms=2489.6),
    ]  # fmt: skip
    head = headline(result.model_copy(update={"api_latency": rows}), exit_code=1,
                    run_dir=leader_kill)  # fmt: skip
    assert head["api_latency"][1] == {
        "phase": "fault", "node": "node-002", "calls": 12, "timeouts": 2, "errors": 1,
        "p50_ms": 951.6, "p99_ms": 2489.6, "max_ms": 2489.6,
    }  # fmt: skip
    lines = summary_lines(head)
    at = lines.index("manager API latency (node ls on each manager, p50 / p99)")
    assert lines[at + 1].split() == ["baseline", "fault", "observe"]
    assert lines[at + 2].split() == [
        "node-002", "20.5ms", "/", "31.0ms", "951.6ms", "/", "2489.6ms", "-",
        "3", "failed", "after", "the", "fault",
    ]  # fmt: skip
    # a result without the prober's rows has no such section
    assert not any(line.startswith("manager API") for line in summary_lines(
        headline(result, exit_code=1, run_dir=leader_kill)))  # fmt: skip
