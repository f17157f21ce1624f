"""Suite files validated up front (no cluster): errors name the file, the entry and the field;
the example CI suite is valid and matches the committed baseline."""

from __future__ import annotations

from pathlib import Path

import pytest

from chaos import gate, suite, verdict
from chaos.errors import UsageError

ROOT = Path(__file__).resolve().parents[2]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "s.yaml"
    path.write_text(text)
    return path


def test_the_ci_suite_is_valid_and_matches_its_baseline() -> None:
    planned = suite.load_suite(ROOT / "experiments" / "suites" / "ci.yaml")
    assert [p.dir_name for p in planned] == ["01-rolling-update", "02-leader-kill"]
    ru = planned[0].experiment
    assert ru.service.update.delay == 1.0 and ru.phases.observe == 4.0  # short forms applied
    assert planned[1].experiment.slo.max_recovery is None
    base = {g.experiment: g.identity for g in gate.group(gate.collect([ROOT / "baselines/ci"]))}
    for p in planned:
        settings = p.experiment.model_dump(mode="json", by_alias=True)
        kept = {k: v for k, v in settings.items() if k not in gate.IDENTITY_EXCLUDES}
        assert base[p.experiment.name] == gate.identity_of(p.experiment.name, kept)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "a suite file is a non-empty YAML list"),
        ("experiment: leader-kill\n", "a suite file is a non-empty YAML list"),
        (
            "- leader-kill\n",
            "entry 1: a mapping like {experiment: leader-kill}".replace("{", r"\{"),
        ),
        ("- {experiment: baseline}\n- {experiment: baseline, sets: {}}\n", "entry 2: sets: Extra"),
        ("- {experiment: baseline, seed: soon}\n", "entry 1: seed: Input should be a valid int"),
        ("- {experiment: baseline, repeat: 0}\n", "entry 1: repeat: Input should be greater"),
        ("- {set: {}}\n", "entry 1: experiment: Field required"),
        ("- {experiment: no-such}\n", r"entry 1 \(no-such\): no experiment named 'no-such'"),
        (
            "- {experiment: baseline, set: {phases.observe: soon}}\n",
            r"entry 1 \(baseline\): .*baseline.yaml: phases.observe: invalid duration 'soon'",
        ),
        (
            "- {experiment: rolling-update, set: {update.order: sideways}}\n",
            r"entry 1 \(rolling-update\): .*: service.update.order: Input should be",
        ),
        ("- {experiment: baseline, name: a/b}\n", "entry 1: name: String should match pattern"),
        ("- [unclosed\n", "not valid YAML"),
    ],
)
def test_suite_errors_name_file_entry_and_field(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(UsageError, match=message) as err:
        suite.load_suite(path)
    assert str(err.value).startswith(str(path))


def test_names_and_repeats(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "- {experiment: baseline, repeat: 3}\n- {experiment: baseline, name: again, seed: 7}\n",
    )
    first, second = suite.load_suite(path)
    assert (first.dir_name, first.entry.repeat) == ("01-baseline", 3)
    assert (second.dir_name, second.entry.seed) == ("02-again", 7)


@pytest.mark.parametrize(
    ("codes", "worst"),
    [
        ([], 0),
        ([0, 0], 0),
        ([0, 5], 5),
        ([5, 1, 0], 1),
        ([1, 3], 3),
        ([3, 130], 130),
        ([130, 4], 4),
        ([4, 70], 70),  # a bug of ours outranks everything
        ([2, 1], 2),
    ],
)
def test_worst_exit_code(codes: list[int], worst: int) -> None:
    assert verdict.worst(codes) == worst


def test_cli_bad_suite_is_a_usage_error(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from chaos.cli import cli

    path = write(tmp_path, "- {experiment: baseline, sets: {}}\n")
    got = CliRunner().invoke(cli, ["suite", str(path)])
    assert got.exit_code == 2
    assert (
        got.output.strip() == f"chaos: error: {path}: entry 1: sets: Extra inputs are not permitted"
    )
