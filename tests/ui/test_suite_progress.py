"""A suite says run i of N with the elapsed and estimated time left, and the run under way
sees it (its live view shows it)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from chaos import suite
from chaos.experiment.runner import RunOptions, RunOutcome
from chaos.experiment.spec import Experiment
from chaos.ui.progress import current_series
from chaos.verdict import Verdict


def test_suite_lines_count_runs_and_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "two.yaml"
    path.write_text("- {experiment: baseline, repeat: 2}\n- {experiment: leader-kill}\n")
    seen: list[str | None] = []

    def fake_run(exp: Experiment, opts: RunOptions) -> RunOutcome:
        seen.append(current_series())
        assert opts.out_dir is not None
        return RunOutcome(opts.out_dir, Verdict.PASS, 0, [])

    monkeypatch.setattr(suite, "run_experiment", fake_run)
    lines: list[str] = []
    outcome = suite.run_suite(path, RunOptions(out_dir=tmp_path / "out"), log=lines.append)
    assert outcome.exit_code == 0
    starts = [line for line in lines if line.startswith("[")]
    assert len(starts) == 3
    assert re.fullmatch(r"\[1/3\] baseline -> .*/01-baseline/rep-1  \(\d+s elapsed, ~\S+ left\)",
                        starts[0])  # fmt: skip
    assert starts[2].startswith("[3/3] leader-kill -> ")
    assert sum(line.startswith("  verdict: pass (exit 0)  (took ") for line in lines) == 3
    assert [s.split(",")[0] if s else s for s in seen] == [
        "suite two.yaml: run 1 of 3", "suite two.yaml: run 2 of 3", "suite two.yaml: run 3 of 3"
    ]  # fmt: skip
    assert current_series() is None  # over with the suite
