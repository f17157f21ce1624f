"""``--repeat auto``: more runs of the settings whose ranking is not sure yet, until sure, the
cap or the time budget; with an injected runner and clock (no cluster, no wall clock)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from chaos import sweep
from chaos.cli import cli
from chaos.experiment import catalogue
from chaos.experiment.runner import RunOptions, RunOutcome
from chaos.experiment.schedule import Schedule
from chaos.fmt import text_estimate
from chaos.verdict import Verdict
from tests.gate.helpers import ROLLING, derive


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


class Runs:
    """Writes a result per call: the failed requests of parallelism p are ``failed[p]``
    taken in turn; each run takes ``took(p, n)`` seconds on ``clock``."""

    def __init__(
        self,
        clock: Clock,
        failed: dict[int, list[int]],
        took: Any = lambda par, n: 100.0,
        codes: dict[int, int] | None = None,
    ) -> None:
        self.clock, self.failed, self.took = clock, failed, took
        self.codes = codes or {}
        self.calls: list[tuple[int, Path]] = []

    def __call__(self, exp: Any, opts: RunOptions) -> RunOutcome:
        par = exp.service.update.parallelism
        assert opts.out_dir is not None
        n = sum(p == par for p, _ in self.calls)
        self.calls.append((par, opts.out_dir))
        values = self.failed[par]
        derive(
            ROLLING,
            opts.out_dir,
            failed=values[n % len(values)],
            converged_s=18.0 / par,
            settings={"service": {"update": {"parallelism": par}}},
        )
        self.clock.t += self.took(par, n)
        code = self.codes.get(len(self.calls), 0)
        return RunOutcome(opts.out_dir, Verdict.PASS, code, ["results: x", "verdict: pass"])


def run(
    tmp_path: Path, values: str, runs: Runs, clock: Clock, auto: sweep.AutoRepeat
) -> tuple[sweep.SweepOutcome, sweep.SweepSummary, list[str]]:
    out = tmp_path / "sweep"
    lines: list[str] = []
    got = sweep.run_sweep(
        "rolling-update", {}, [sweep.parse_axis(f"update.parallelism={values}")], auto,
        RunOptions("lab", 5, out, False, False), log=lines.append, run_one=runs, clock=clock,
    )  # fmt: skip
    summary = sweep.SweepSummary.model_validate_json((out / sweep.SUMMARY_FILE).read_text())
    return got, summary, lines


def slugs(runs: Runs) -> list[str]:
    return [f"p{par}/{path.name}" for par, path in runs.calls]


def test_separated_settings_are_sure_after_three_rounds(tmp_path: Path) -> None:
    clock = Clock()
    runs = Runs(clock, {1: [20, 22, 21], 3: [60, 64, 61]})
    got, summary, lines = run(tmp_path, "1,3", runs, clock, sweep.auto_repeat(None))
    # round by round, so every setting has as many runs whenever the sweep stops
    assert slugs(runs) == ["p1/rep-1", "p3/rep-1", "p1/rep-2", "p3/rep-2", "p1/rep-3", "p3/rep-3"]
    assert got.exit_code == 0
    assert summary.auto and summary.recommendation.confidence == "confident"
    assert summary.stopped == "sure at 95% against every other setting after 6 runs"
    assert f"sweep stopped: {summary.stopped}" in got.lines
    assert lines[0].endswith("--repeat auto: 3 runs each, then more of the settings not yet sure "
                             "at 95%, up to 10 each")  # fmt: skip
    log = sweep.SweepLog.model_validate_json((tmp_path / "sweep" / sweep.LOG_FILE).read_text())
    assert [(r.slug, r.rep, r.seed, r.seconds) for r in log.runs][:2] == [
        ("update.parallelism=1", 1, 5, 100.0),
        ("update.parallelism=3", 1, 5, 100.0),
    ]


def test_only_the_unsure_settings_run_again_until_sure(tmp_path: Path) -> None:
    clock = Clock()
    # p1 and p2 overlap at first (p2's third run is low), p2 later drifts up; p3 is far off
    runs = Runs(clock, {1: [20, 22, 21, 20, 21], 2: [24, 30, 19, 31, 33, 32], 3: [80, 85, 82]})
    got, summary, lines = run(tmp_path, "1,2,3", runs, clock, sweep.auto_repeat(None))
    counts = {par: sum(p == par for p, _ in runs.calls) for par in (1, 2, 3)}
    assert counts[3] == 3  # sure against p3 after the first rounds: never run again
    assert counts[1] == counts[2] > 3
    assert summary.recommendation.confidence == "confident"
    assert any("not sure yet against 1 setting(s): one more run of update.parallelism=1, "
               "update.parallelism=2" in line for line in lines)  # fmt: skip
    assert got.exit_code == 0


def test_the_cap_stops_a_ranking_that_never_gets_sure(tmp_path: Path) -> None:
    clock = Clock()
    runs = Runs(clock, {1: [20, 24, 22], 2: [21, 23, 25], 3: [90, 91, 92]})
    auto = sweep.AutoRepeat(min_repeat=3, max_repeat=5)
    got, summary, _ = run(tmp_path, "1,2,3", runs, clock, auto)
    counts = {par: sum(p == par for p, _ in runs.calls) for par in (1, 2, 3)}
    assert counts == {1: 5, 2: 5, 3: 3} and got.exit_code == 0
    assert summary.recommendation.confidence == "not_sure"
    assert summary.stopped == (
        "the cap of 5 runs per setting is reached; still not sure against update.parallelism=2"
    )
    assert [len(c.runs) for c in summary.cells] == [5, 5, 3]


def test_the_budget_is_not_overrun_by_a_whole_run(tmp_path: Path) -> None:
    clock = Clock()
    took = {1: [100.0, 140.0, 90.0, 100.0], 3: [150.0] * 4}
    runs = Runs(clock, {1: [20, 24, 22], 3: [21, 23, 25]}, took=lambda p, n: took[p][n])
    auto = sweep.AutoRepeat(min_repeat=3, max_repeat=10, budget_s=900.0)
    got, summary, _ = run(tmp_path, "1,3", runs, clock, auto)
    # 100 + 150 + 140 + 150 + 90 + 150 = 780 s; the next p1 run is judged by p1's longest so
    # far (140 s, not its last 90 s): 120 s are left, so it does not start
    assert slugs(runs) == ["p1/rep-1", "p3/rep-1", "p1/rep-2", "p3/rep-2", "p1/rep-3", "p3/rep-3"]
    assert clock.t - 1000.0 == 780.0
    assert summary.stopped == (
        "the time budget of 15 min 00 s is spent: the next run (update.parallelism=1) takes "
        "about 2 min 20 s, 2 min 00 s is left; still not sure against update.parallelism=3"
    )
    assert got.exit_code == 0


def test_the_first_run_always_starts(tmp_path: Path) -> None:
    clock = Clock()
    runs = Runs(clock, {1: [20], 3: [60]}, took=lambda p, n: 500.0)
    auto = sweep.AutoRepeat(min_repeat=3, max_repeat=10, budget_s=60.0)
    _, summary, _ = run(tmp_path, "1,3", runs, clock, auto)
    assert len(runs.calls) == 1  # nothing to estimate the first by; the second would not fit
    assert summary.stopped is not None and "time budget of 60.0 s is spent" in summary.stopped


def test_a_run_that_leaves_the_cluster_broken_stops_auto(tmp_path: Path) -> None:
    clock = Clock()
    runs = Runs(clock, {1: [20, 22, 21], 3: [60, 64, 61]}, codes={3: 4})
    got, summary, _ = run(tmp_path, "1,3", runs, clock, sweep.auto_repeat(None))
    assert got.exit_code == 4 and len(runs.calls) == 3
    assert summary.stopped == "stopped after update.parallelism=1/rep-2: exit 4"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--repeat", "3", "--budget", "30m"], "--budget applies to --repeat auto"),
        (["--repeat", "0"], "--repeat '0': a number of runs (1 or more) or auto"),
        (["--repeat", "often"], "--repeat 'often': a number of runs"),
        (["--repeat", "auto", "--budget", "soon"], "--budget"),
    ],
)
def test_cli_repeat_and_budget_errors(args: list[str], message: str) -> None:
    got = CliRunner().invoke(cli, ["run", "rolling-update", "--sweep", "update.order=stop-first",
                                   *args])  # fmt: skip
    assert got.exit_code == 2, got.output
    assert message in got.output and len(got.output.splitlines()) == 1


def test_cli_repeat_auto_reaches_the_sweep(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[object] = []

    def fake_sweep(*args: object, **kwargs: object) -> sweep.SweepOutcome:
        seen.append(args[3])
        return sweep.SweepOutcome(Path("x"), 0, ["done"])

    monkeypatch.setattr("chaos.cli.experiments.run_sweep", fake_sweep)
    monkeypatch.setattr("chaos.cli.experiments.lock.holding", _NoLock)
    got = CliRunner().invoke(
        cli, ["run", "rolling-update", "--sweep", "update.parallelism=1,3", "--repeat", "auto",
              "--budget", "30m", "--quiet"],
    )  # fmt: skip
    assert got.exit_code == 0, got.output
    assert seen == [sweep.AutoRepeat(min_repeat=3, max_repeat=10, budget_s=1800.0)]


class _NoLock:
    """Stands in for ``lock.holding`` (the lab may be in use by someone else)."""

    def __init__(self, *args: object) -> None:
        pass

    def __enter__(self) -> None:
        return None

    def __exit__(self, *args: object) -> None:
        return None


def test_every_run_says_how_far_the_sweep_is(tmp_path: Path) -> None:
    """A fixed sweep: [i/N], the time so far and the estimate of what is left (the schedule
    scaled by how long the finished runs took); --repeat auto: the budget left."""
    clock = Clock()
    runs = Runs(clock, {1: [20, 22], 3: [60, 61]}, took=lambda p, n: 120.0)
    out = tmp_path / "fixed"
    lines: list[str] = []
    sweep.run_sweep(
        "rolling-update", {}, [sweep.parse_axis("update.parallelism=1,3")], 2,
        RunOptions("lab", 5, out, False, False), log=lines.append, run_one=runs, clock=clock,
    )  # fmt: skip
    starts = [ln for ln in lines if ln.startswith("[")]
    assert [s.split("]")[0] + "]" for s in starts] == ["[1/4]", "[2/4]", "[3/4]", "[4/4]"]
    # before any run: four times the experiment's schedule (phases and step bounds)
    expected = Schedule.of(catalogue.load("rolling-update", {})).expected_s()
    assert starts[0].endswith(f"(0s elapsed, ~{text_estimate(4 * expected)} left)"), starts[0]
    # after one run of 120 s, three that take as long
    assert starts[1].endswith("(2m00s elapsed, ~6m00s left)"), starts[1]
    assert starts[3].endswith("(6m00s elapsed, ~2m00s left)"), starts[3]
    assert any("verdict: pass (exit 0)" in ln and "(took 2m00s)" in ln for ln in lines)

    clock = Clock()
    runs = Runs(clock, {1: [20, 24, 22], 3: [21, 23, 25]}, took=lambda p, n: 100.0)
    auto = sweep.AutoRepeat(min_repeat=2, max_repeat=2, budget_s=600.0)
    _, _, lines = run(tmp_path, "1,3", runs, clock, auto)
    starts = [ln for ln in lines if ln.startswith("[run ")]
    assert starts[0].endswith("(0s elapsed, 10m00s of the budget left)"), starts[0]
    assert starts[2].endswith("(3m20s elapsed, 6m40s of the budget left)"), starts[2]
