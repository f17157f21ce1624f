"""The fingerprint of a result: recorded by new runs, derived for old ones, and a comparison of
runs on different ground refused with one line naming the difference (sweeps, ``chaos
compare``, ``chaos gate --baseline``), unless the field is the one compared."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from chaos import gate, sweep
from chaos.analysis import Fingerprint, fingerprint_of, load_result, write_result
from chaos.analysis.fingerprint import check_comparable, differences
from chaos.cli import cli
from chaos.errors import UsageError
from chaos.experiment.spec import LoadSpec, ServiceSpec, load_experiment
from chaos.report import render_compare
from tests.gate.helpers import LEADER, ROLLING, derive
from tests.gate.test_sweep import make_sweep_dir


def with_environment(run_dir: Path, **env: Any) -> Path:
    """Rewrite a derived run's environment (e.g. another engine version)."""
    path = run_dir / "result.json"
    r = load_result(path)
    write_result(path, r.model_copy(update={"environment": r.environment.model_copy(update=env)}))
    return run_dir


def recorded(run_dir: Path) -> Path:
    """Give a derived (old-style) result the fingerprint a new run records."""
    path = run_dir / "result.json"
    r = load_result(path)
    write_result(path, r.model_copy(update={"fingerprint": fingerprint_of(r)}))
    return run_dir


def test_an_old_result_still_loads_and_gets_a_derived_fingerprint() -> None:
    raw = json.loads((ROLLING / "result.json").read_text())
    assert "fingerprint" not in raw and raw["schema_version"] == 1
    fp = fingerprint_of(load_result(ROLLING / "result.json"))
    assert (fp.platform, fp.mesh, fp.nodes) == ("lab", "emulated", 3)
    assert fp.engine_versions == ["20.10.24+dfsg1"]
    assert fp.service.update.parallelism == 1 and fp.load.rate == 200.0


def test_the_recorded_fingerprint_is_what_the_runner_builds(tmp_path: Path) -> None:
    # what chaos.experiment.results records: Fingerprint.of(environment, exp.service, exp.load)
    r = load_result(ROLLING / "result.json")
    exp = load_experiment(ROLLING / "experiment.yaml")
    built = Fingerprint.of(r.environment, exp.service, exp.load)
    assert differences(built, fingerprint_of(r)) == []
    run = recorded(derive(ROLLING, tmp_path / "new"))
    saved = json.loads((run / "result.json").read_text())["fingerprint"]
    assert saved["engine_versions"] == ["20.10.24+dfsg1"] and saved["nodes"] == 3
    assert load_result(run / "result.json").fingerprint == fingerprint_of(r)


def test_unreachable_nodes_do_not_count_as_a_version() -> None:
    r = load_result(ROLLING / "result.json")
    env = r.environment.model_copy(
        update={"engine_versions": {"node-001": "20.10.24+dfsg1", "node-002": "unreachable"}}
    )
    fp = Fingerprint.of(env, ServiceSpec(), LoadSpec())
    assert (fp.nodes, fp.engine_versions) == (2, ["20.10.24+dfsg1"])
    none = Fingerprint.of(env.model_copy(update={"engine_versions": {"a": "unreachable"}}),
                          ServiceSpec(), LoadSpec())  # fmt: skip
    assert [d.field for d in differences(fp, none)] == ["nodes"]  # no versions: not held against


@pytest.mark.parametrize(
    ("change", "allowed", "fields"),
    [
        ({"service": {"update": {"parallelism": 3}}}, (), ["service.update.parallelism"]),
        ({"service": {"update": {"parallelism": 3}}}, ("service.update.parallelism",), []),
        ({"service": {"update": {"parallelism": 3}}}, ("service",), []),
        ({"load": {"rate": 400.0}}, ("service.update.parallelism",), ["load.rate"]),
        ({"phases": {"observe": 9.0}}, (), []),  # not part of what is compared
    ],
)
def test_differences(
    tmp_path: Path, change: dict[str, Any], allowed: tuple[str, ...], fields: list[str]
) -> None:
    a = fingerprint_of(load_result(ROLLING / "result.json"))
    b = fingerprint_of(
        load_result(derive(ROLLING, tmp_path / "b", settings=change) / "result.json")
    )
    assert [d.field for d in differences(a, b, allowed)] == fields


def test_check_comparable_names_the_runs_and_the_field() -> None:
    a = fingerprint_of(load_result(ROLLING / "result.json"))
    b = a.model_copy(update={"nodes": 5, "mesh": "ipvs"})
    check_comparable("x", [("r1", a), ("r2", a)])
    with pytest.raises(UsageError) as err:
        check_comparable("compare", [("r1", a), ("r2", b)])
    assert str(err.value) == (
        'compare: r1 and r2 are not comparable: mesh "emulated" vs "ipvs"; nodes 3 vs 5'
    )


def test_a_sweep_allows_its_swept_key_and_refuses_another_engine(tmp_path: Path) -> None:
    root = make_sweep_dir(tmp_path / "sweep", {"1": [(23, 17.3), (19, 16.8)], "3": [(48, 8.1)]})
    assert sweep.summarise(root).recommendation.slug == "update.parallelism=1"
    with_environment(root / "update.parallelism=3" / "rep-1",
                     engine_versions={"node-001": "24.0.7", "node-002": "24.0.7"})  # fmt: skip
    with pytest.raises(UsageError, match=(
        r"^sweep .*: update.parallelism=1/rep-1 and update.parallelism=3/rep-1 are not "
        r'comparable: engine_versions \["20.10.24\+dfsg1"\] vs \["24.0.7"\]; nodes 3 vs 2$'
    )):  # fmt: skip
        sweep.summarise(root)


def test_a_sweep_refuses_a_run_with_another_service(tmp_path: Path) -> None:
    root = make_sweep_dir(tmp_path / "sweep", {"1": [(23, 17.3)], "3": [(48, 8.1)]})
    derive(ROLLING, root / "update.parallelism=3" / "rep-2", failed=50,
           settings={"service": {"update": {"parallelism": 3}, "replicas": 5}})  # fmt: skip
    with pytest.raises(UsageError, match=r"service\.replicas 3 vs 5"):
        sweep.summarise(root)


def test_compare_allows_other_experiments_and_refuses_other_ground(tmp_path: Path) -> None:
    a = derive(ROLLING, tmp_path / "a", full=True)
    b = derive(LEADER, tmp_path / "b", full=True)
    assert render_compare([a, b], tmp_path / "ok.html").is_file()  # other service: compared
    with_environment(b, platform="vagrant")
    got = CliRunner().invoke(cli, ["compare", str(a), str(b), "--out", str(tmp_path / "x.html")])
    assert got.exit_code == 2
    assert got.output == (
        f'chaos: error: compare: {a} and {b} are not comparable: platform "lab" vs "vagrant"; '
        "to put runs of different platforms side by side, add --across-platforms\n"
    )


def test_compare_across_platforms_puts_the_lab_beside_the_vms(tmp_path: Path) -> None:
    lab = derive(LEADER, tmp_path / "lab", full=True)
    vms = with_environment(derive(LEADER, tmp_path / "vms", full=True), platform="vagrant",
                           mesh="ingress")  # fmt: skip
    out = tmp_path / "platforms.html"
    got = CliRunner().invoke(cli, ["compare", str(lab), str(vms), "--across-platforms",
                                   "--out", str(out)])  # fmt: skip
    assert got.exit_code == 0, got.output
    page = out.read_text()
    assert "vagrant" in page and "ingress" in page  # the page says where each ran
    # the platforms may differ, not the cluster's shape
    five = recorded(derive(LEADER, tmp_path / "five", full=True))
    r = load_result(five / "result.json")
    assert r.fingerprint is not None
    bigger = r.fingerprint.model_copy(update={"platform": "vagrant", "nodes": 5})
    write_result(five / "result.json", r.model_copy(update={"fingerprint": bigger}))
    with pytest.raises(UsageError, match="nodes 3 vs 5"):
        render_compare([lab, five], tmp_path / "no.html", across_platforms=True)


def test_gate_refuses_a_baseline_on_other_ground(tmp_path: Path) -> None:
    base = with_environment(derive(ROLLING, tmp_path / "base"), mesh="ipvs")
    now = derive(ROLLING, tmp_path / "now", failed=26)
    with pytest.raises(UsageError, match=r"gate --baseline: .* mesh \"ipvs\" vs \"emulated\"$"):
        gate.gate([now], base, gate.Thresholds())
    got = CliRunner().invoke(cli, ["gate", str(now), "--baseline", str(base)])
    assert got.exit_code == 2 and len(got.output.splitlines()) == 1, got.output
    # the same ground: the gate judges as before
    assert gate.gate([now], derive(ROLLING, tmp_path / "same"), gate.Thresholds()).exit_code == 0


def test_gate_refuses_a_baseline_of_another_service(tmp_path: Path) -> None:
    # the only baseline of the experiment, with other settings: a note when only the phases
    # differ (the lead's rule), refused when the service differs
    now = derive(ROLLING, tmp_path / "now", settings={"service": {"replicas": 5}})
    with pytest.raises(UsageError, match=r"service\.replicas 3 vs 5"):
        gate.gate([now], ROLLING, gate.Thresholds())


def test_a_sweep_stops_at_the_first_run_on_other_ground(tmp_path: Path) -> None:
    from chaos.experiment.runner import RunOptions, RunOutcome
    from chaos.verdict import Verdict

    calls: list[Path] = []

    def run_one(exp: Any, opts: RunOptions) -> RunOutcome:
        assert opts.out_dir is not None
        calls.append(opts.out_dir)
        par = exp.service.update.parallelism
        derive(ROLLING, opts.out_dir, settings={"service": {"update": {"parallelism": par}}})
        if len(calls) == 2:  # the lab was rebuilt with another engine between two runs
            with_environment(opts.out_dir, engine_versions={"node-001": "24.0.7"})
        return RunOutcome(opts.out_dir, Verdict.PASS, 0, ["results: x", "verdict: pass"])

    out = tmp_path / "sweep"
    axes = [sweep.parse_axis("update.parallelism=1,3")]
    with pytest.raises(UsageError, match="are not comparable: engine_versions"):
        sweep.run_sweep("rolling-update", {}, axes, 2, RunOptions("lab", None, out),
                        log=lambda _: None, run_one=run_one)  # fmt: skip
    assert len(calls) == 2 and not (out / sweep.SUMMARY_FILE).exists()
    log = sweep.SweepLog.model_validate_json((out / sweep.LOG_FILE).read_text())
    assert log.stopped is not None and log.stopped.startswith("runs not comparable: sweep ")
