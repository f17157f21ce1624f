"""Sweeps without a cluster: matrix expansion, aliases, slugs, the summary of saved runs and
the recommendation rule."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from chaos import sweep
from chaos.analysis import load_result, write_result
from chaos.cli import cli
from chaos.errors import UsageError
from chaos.experiment.runner import RunOptions, RunOutcome
from chaos.sweep import run as sweep_run
from chaos.verdict import Verdict
from tests.gate.helpers import ROLLING, derive


@pytest.mark.parametrize(
    ("key", "canonical"),
    [
        ("update.parallelism", "service.update.parallelism"),
        ("rollback.order", "service.rollback.order"),
        ("replicas", "service.replicas"),
        ("image", "service.image"),
        ("service.update.delay", "service.update.delay"),
        ("phases.observe", "phases.observe"),
        ("updates.x", "updates.x"),
        (" update.order ", "service.update.order"),
    ],
)
def test_canonical_key(key: str, canonical: str) -> None:
    assert sweep.canonical_key(key) == canonical


@pytest.mark.parametrize(
    ("text", "key", "values"),
    [
        ("update.parallelism=1,2,3", "service.update.parallelism", (1, 2, 3)),
        (
            "update.order=stop-first,start-first",
            "service.update.order",
            ("stop-first", "start-first"),
        ),
        (
            "image=chaoslab/web:1,chaoslab/web:2",
            "service.image",
            ("chaoslab/web:1", "chaoslab/web:2"),
        ),
        ("phases.observe=5s, 10s", "phases.observe", ("5s", "10s")),
        ("load.rate=100/s", "load.rate", ("100/s",)),
        ("service.update.delay=0,0.5", "service.update.delay", (0, 0.5)),
    ],
)
def test_parse_axis(text: str, key: str, values: tuple[Any, ...]) -> None:
    assert sweep.parse_axis(text) == sweep.Axis(key, values)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("update.parallelism", "use KEY=V1,V2"),
        ("=1,2", "use KEY=V1,V2"),
        ("update.parallelism=", "an empty value"),
        ("update.parallelism=1,,2", "an empty value"),
        ("update.parallelism=1,1", "a value is repeated"),
        ("image=[a,b", "an empty value|not valid YAML"),
    ],
)
def test_parse_axis_errors(text: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        sweep.parse_axis(text)


PAR = sweep.Axis("service.update.parallelism", (1, 2))
ORDER = sweep.Axis("service.update.order", ("stop-first", "start-first"))


def test_expand_is_the_product_first_axis_slowest() -> None:
    cells = sweep.expand([PAR, ORDER])
    assert [c.settings for c in cells] == [
        (("service.update.parallelism", 1), ("service.update.order", "stop-first")),
        (("service.update.parallelism", 1), ("service.update.order", "start-first")),
        (("service.update.parallelism", 2), ("service.update.order", "stop-first")),
        (("service.update.parallelism", 2), ("service.update.order", "start-first")),
    ]
    assert cells[1].label == "update.parallelism=1, update.order=start-first"
    assert cells[1].overrides == {
        "service.update.parallelism": 1,
        "service.update.order": "start-first",
    }


def test_expand_without_axes_is_one_cell() -> None:
    (cell,) = sweep.expand([])
    assert cell.settings == () and cell.slug == "default" and cell.label == "as configured"


@pytest.mark.parametrize(
    "axes",
    [
        [PAR, sweep.Axis("service.update.parallelism", (3,))],
        [sweep.Axis("service.update", ({"order": "stop-first"},)), ORDER],
    ],
)
def test_overlapping_axes_are_refused(axes: list[sweep.Axis]) -> None:
    with pytest.raises(UsageError, match="overlap"):
        sweep.expand(axes)


@pytest.mark.parametrize(
    ("settings", "slug"),
    [
        ((), "default"),
        ((("service.update.parallelism", 1),), "update.parallelism=1"),
        (
            (("service.update.parallelism", 2), ("service.update.order", "start-first")),
            "update.parallelism=2,update.order=start-first",
        ),
        ((("service.image", "chaoslab/web:2"),), "image=chaoslab-web-2"),
        ((("phases.observe", "5s"),), "phases.observe=5s"),
        ((("load.connection", None),), "load.connection=null"),
        ((("service.update.delay", 0.5),), "service.update.delay=0.5".removeprefix("service.")),
    ],
)
def test_cell_slug(settings: tuple[tuple[str, Any], ...], slug: str) -> None:
    assert sweep.cell_slug(settings) == slug


@pytest.mark.parametrize(
    ("values", "n", "median", "lo", "hi"),
    [
        ([], 0, None, None, None),
        ([None, None], 0, None, None, None),
        ([5.0], 1, 5.0, 5.0, 5.0),
        ([3.0, 1.0, 2.0], 3, 2.0, 1.0, 3.0),
        ([4.0, None, 1.0], 2, 2.5, 1.0, 4.0),
    ],
)
def test_spread(
    values: list[float | None], n: int, median: float | None, lo: float | None, hi: float | None
) -> None:
    assert sweep.Spread.of(values) == sweep.Spread(n=n, median=median, min=lo, max=hi)


def cell(name: str, failed: list[float | None], update: list[float | None]) -> sweep.CellSummary:
    runs = [
        sweep.RepSummary(
            dir=f"{name}/rep-{i + 1}",
            verdict="pass",
            failed=f,
            error_rate=None if f is None else f / 4000,
            p99_ms=18.0,
            update_s=u,
        )
        for i, (f, u) in enumerate(zip(failed, update, strict=True))
    ]
    return sweep.cell_summary(name, name, {}, runs)


@pytest.mark.parametrize(
    ("cells", "slug", "confidence", "phrase"),
    [
        # fewest failed; every repeat of b below every repeat of a: 9 of 9 pairs, p = 1/20
        (
            [cell("a", [10, 14, 12], [20, 21, 22]), cell("b", [0, 3, 1], [30, 31, 29])],
            "b",
            "confident",
            "b failed fewer requests than a in 9 of 9 run pairs (3 vs 3 runs); a lead this "
            "one-sided comes by chance 5.0% of the time when two settings are alike: sure at 95%",
        ),
        # fewest failed by median, but the runs overlap: 6 of 9 pairs, p = 7/20
        (
            [cell("a", [2, 9, 4], [20, 20, 20]), cell("b", [1, 5, 3], [30, 30, 30])],
            "b",
            "not_sure",
            "in 6 of 9 run pairs (3 vs 3 runs); a lead this one-sided comes by chance 35.0% of "
            "the time when two settings are alike: not sure (sure needs 5.0% or less)",
        ),
        # equal failed medians: the shorter update decides, here separated
        (
            [cell("a", [0, 0, 1], [30, 32, 31]), cell("b", [0, 1, 0], [17, 18, 19])],
            "b",
            "confident",
            "b finished its update sooner than a in 9 of 9 run pairs",
        ),
        # separated, but two runs each can never be sure: the best split has a 1/6 chance
        (
            [cell("a", [10, 14], [20, 21]), cell("b", [0, 3], [30, 31])],
            "b",
            "not_sure",
            "comes by chance 16.7% of the time when two settings are alike; 2 vs 2 runs can "
            "never be sure at 95%: repeat each setting at least 3 times",
        ),
        (
            [cell("a", [0], [30]), cell("b", [4], [12])],
            "a",
            "not_sure",
            "one run per setting",
        ),
        (
            [cell("a", [0, 0], [30, 31]), cell("b", [0, 0], [31, 30])],
            "a",
            "not_sure",
            "tied with b",
        ),
        (
            [cell("a", [None], [None]), cell("b", [2, 3], [20, 21])],
            "b",
            "not_sure",
            "only one setting has results",
        ),
        ([cell("a", [None], [None])], None, "none", "no setting has a result"),
        # a cell with no update value ranks after one with (unknown is not better)
        (
            [cell("a", [0, 0], [None, None]), cell("b", [0, 0], [20, 21])],
            "b",
            "not_sure",
            "no update duration to compare with a",
        ),
        # sure against both others; the text names the least one-sided lead
        (
            [
                cell("a", [1, 2, 3, 2], [20, 20, 20, 20]),
                cell("b", [9, 8, 7, 9], [20, 20, 20, 20]),
                cell("c", [4, 5, 6, 5], [20, 20, 20, 20]),
            ],
            "a",
            "confident",
            "sure at 95% against all 2 other settings (the least one-sided lead, vs c, comes by "
            "chance 1.4% of the time",
        ),
        # sure against c but not against b: the first comparison not sure is named
        (
            [
                cell("a", [1, 2, 3], [20, 20, 20]),
                cell("b", [2, 4, 3], [20, 20, 20]),
                cell("c", [9, 8, 7], [20, 20, 20]),
            ],
            "a",
            "not_sure",
            "not sure: a failed fewer requests than b in 7 of 9 run pairs (3 vs 3 runs); a lead "
            "this one-sided comes by chance 25.0% of the time",
        ),
    ],
)
def test_recommend(
    cells: list[sweep.CellSummary], slug: str | None, confidence: str, phrase: str
) -> None:
    rec = sweep.recommend(cells)
    assert (rec.slug, rec.confidence) == (slug, confidence), rec.text
    assert phrase in rec.text
    assert rec.confidence != "confident" or all(v.sure for v in rec.versus)


def make_sweep_dir(
    root: Path, cells: dict[str, list[tuple[int, float]]], full: bool = False
) -> Path:
    """A sweep dir over update.parallelism as the runner lays it out, from the stored run."""
    axes = [("service.update.parallelism", [int(k) for k in cells])]
    plan_cells = []
    for value, reps in cells.items():
        settings = {"service.update.parallelism": int(value)}
        slug = sweep.cell_slug(tuple(settings.items()))
        plan_cells.append((slug, settings))
        for i, (failed, conv) in enumerate(reps):
            derive(
                ROLLING,
                root / slug / f"rep-{i + 1}",
                failed=failed,
                converged_s=conv,
                settings={"service": {"update": {"parallelism": int(value)}}},
                full=full,
            )
    plan = sweep.SweepPlan(
        experiment="rolling-update",
        sets={},
        axes=axes,
        repeat=max(len(r) for r in cells.values()),
        cells=plan_cells,
        started_at="2026-11-27T14:00:00+00:00",
    )
    (root / sweep.PLAN_FILE).write_text(plan.model_dump_json())
    return root


def test_summarise_and_write_a_saved_sweep(tmp_path: Path) -> None:
    root = make_sweep_dir(
        tmp_path / "sweep",
        {"1": [(23, 17.3), (19, 16.8), (25, 17.9)], "3": [(48, 8.1), (55, 8.6), (61, 7.9)]},
    )
    summary = sweep.summarise(root)
    one, three = summary.cells
    assert one.slug == "update.parallelism=1" and one.failed.median == 23
    assert (three.failed.min, three.failed.max, three.update_s.median) == (48, 61, 8.1)
    assert summary.recommendation.slug == "update.parallelism=1"
    assert summary.recommendation.confidence == "confident"
    sweep.write_summary(root, summary)
    saved = json.loads((root / sweep.SUMMARY_FILE).read_text())
    assert saved["recommendation"]["slug"] == "update.parallelism=1"
    md = (root / sweep.MARKDOWN_FILE).read_text()
    assert "| update.parallelism=1 **(recommended)** | 3 | pass pass pass | 23 (19..25) |" in md
    assert "| 17.3s (16.8s..17.9s) |" in md
    assert "confident" in md


def test_a_missing_repeat_is_shown_not_counted(tmp_path: Path) -> None:
    root = make_sweep_dir(tmp_path / "sweep", {"1": [(23, 17.3)], "2": [(30, 12.0)]})
    (root / "update.parallelism=2" / "rep-2").mkdir()  # started, no result (interrupted)
    plan = sweep.SweepPlan.model_validate_json((root / sweep.PLAN_FILE).read_text())
    (root / sweep.PLAN_FILE).write_text(plan.model_copy(update={"repeat": 2}).model_dump_json())
    two = sweep.summarise(root).cells[1]
    assert [r.verdict for r in two.runs] == ["pass", "missing"]
    assert two.failed.n == 1


def test_not_a_sweep_dir(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="not a sweep directory"):
        sweep.summarise(tmp_path)


def test_sweep_page_uses_the_compare_report(tmp_path: Path) -> None:
    root = make_sweep_dir(tmp_path / "sweep", {"1": [(23, 17.3)], "3": [(50, 8.0)]}, full=True)
    page = sweep.write_sweep_page(root, sweep.summarise(root))
    assert page == root / sweep.HTML_FILE
    assert "update.parallelism" in page.read_text()


def test_prepare_validates_every_cell_before_running() -> None:
    axes = [sweep.parse_axis("update.parallelism=1,two")]
    with pytest.raises(UsageError, match=r"sweep cell update.parallelism=two: .*parallelism"):
        sweep.prepare("rolling-update", {}, axes, 1)
    cells, exps = sweep.prepare(
        "rolling-update", {"update.delay": "1s"}, [sweep.parse_axis("update.order=start-first")], 2
    )
    (only,) = cells
    exp = exps[only.slug]
    assert exp.service.update.order == "start-first" and exp.service.update.delay == 1.0


def test_cli_bad_sweep_is_a_usage_error_before_touching_a_cluster(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def no_run(*args: object) -> None:
        raise AssertionError("a sweep with an invalid cell must not start a run")

    monkeypatch.setattr(sweep_run, "run_experiment", no_run)
    got = CliRunner().invoke(
        cli, ["run", "rolling-update", "--sweep", "update.order=sideways", "--quiet"]
    )
    assert got.exit_code == 2, got.output
    assert got.output.startswith("chaos: error: sweep cell update.order=sideways: ")
    assert len(got.output.splitlines()) == 1
    got = CliRunner().invoke(cli, ["run", "rolling-update", "--repeat", "0"])
    assert got.exit_code == 2 and "--repeat" in got.output


class FakeRuns:
    """Stands in for ``run_experiment`` (the only part that needs a cluster): writes a result
    derived from the stored rolling update, more failures with a higher parallelism."""

    def __init__(self, stop_at: int | None = None) -> None:
        self.calls: list[tuple[int | None, int | None, Path | None]] = []
        self.stop_at = stop_at

    def __call__(self, exp: Any, opts: RunOptions) -> RunOutcome:
        par = exp.service.update.parallelism
        self.calls.append((par, opts.seed, opts.out_dir))
        assert opts.out_dir is not None and not opts.keep
        n = len(self.calls)
        failed = 20 * par + n
        derive(
            ROLLING,
            opts.out_dir,
            failed=failed,
            converged_s=18.0 / par,
            settings={"service": {"update": {"parallelism": par}}},
        )
        code = 4 if n == self.stop_at else 0
        return RunOutcome(opts.out_dir, Verdict.PASS, code, ["results: x", "verdict: pass"])


def test_run_sweep_lays_out_cells_and_repeats(tmp_path: Path) -> None:
    fake = FakeRuns()
    out = tmp_path / "sweep"
    axes = [sweep.parse_axis("update.parallelism=1,3")]
    lines: list[str] = []
    got = sweep.run_sweep(
        "rolling-update", {"update.delay": "1s"}, axes, 2, RunOptions("lab", 7, out, False, False),
        log=lines.append, run_one=fake,
    )  # fmt: skip
    assert got.exit_code == 0 and got.out_dir == out
    assert fake.calls == [
        (1, 7, out / "update.parallelism=1" / "rep-1"),
        (1, 8, out / "update.parallelism=1" / "rep-2"),
        (3, 7, out / "update.parallelism=3" / "rep-1"),
        (3, 8, out / "update.parallelism=3" / "rep-2"),
    ]
    summary = sweep.SweepSummary.model_validate_json((out / sweep.SUMMARY_FILE).read_text())
    assert [c.failed.median for c in summary.cells] == [21.5, 63.5]
    assert summary.recommendation.slug == "update.parallelism=1"
    # 2 runs against 2 that do not overlap: the most one-sided split, still a 1/6 chance
    assert summary.recommendation.confidence == "not_sure"
    assert "2 vs 2 runs can never be sure" in summary.recommendation.text
    assert got.lines[-1] == summary.recommendation.text
    assert lines[0] == f"sweep {out}: 2 settings x 2 repeats = 4 runs"


def test_run_sweep_stops_when_the_cluster_is_not_restored(tmp_path: Path) -> None:
    fake = FakeRuns(stop_at=2)
    out = tmp_path / "sweep"
    axes = [sweep.parse_axis("update.parallelism=1,3")]
    opts = RunOptions("lab", None, out)
    got = sweep.run_sweep("rolling-update", {}, axes, 2, opts, log=print, run_one=fake)
    assert got.exit_code == 4 and len(fake.calls) == 2
    assert [seed for _, seed, _ in fake.calls] == [None, None]
    summary = sweep.summarise(out)
    assert [len(c.runs) for c in summary.cells] == [2, 0]
    assert "only one setting has results" in summary.recommendation.text


def test_an_interrupted_repeat_is_shown_not_counted(tmp_path: Path) -> None:
    root = make_sweep_dir(tmp_path / "sweep", {"1": [(23, 17.3), (90, 30.0)], "3": [(50, 8.0)]})
    path = root / "update.parallelism=1" / "rep-2" / "result.json"
    r = load_result(path)
    write_result(path, r.model_copy(update={"verdict": Verdict.INTERRUPTED}))
    one = sweep.summarise(root).cells[0]
    assert [r.verdict for r in one.runs] == ["pass", "interrupted"]
    assert (one.failed.n, one.failed.median, one.update_s.n) == (1, 23, 1)


def test_cli_report_rebuilds_a_sweep_from_its_saved_runs(tmp_path: Path) -> None:
    root = make_sweep_dir(
        tmp_path / "sweep",
        {"1": [(23, 17.3), (19, 16.8), (25, 17.9)], "3": [(48, 8.1), (55, 8.6), (61, 7.9)]},
    )
    got = CliRunner().invoke(cli, ["report", str(root)])
    assert got.exit_code == 0, got.output
    summary = sweep.SweepSummary.model_validate_json((root / sweep.SUMMARY_FILE).read_text())
    assert got.output.splitlines() == [
        f"sweep summary: {root / sweep.MARKDOWN_FILE}",
        f"sweep page: {root / sweep.HTML_FILE}",
        summary.recommendation.text,
    ]
    assert summary.recommendation.confidence == "confident"
