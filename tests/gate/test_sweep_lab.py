"""A real sweep on the lab with short phases: two settings of the rolling update, one run
each, then the summary, the recommendation and the gate over the sweep dir."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from chaos import gate, sweep
from chaos.analysis import load_result
from chaos.lab import Lab
from tests.experiments.helpers import SHORT, assert_slo_holds

pytestmark = pytest.mark.lab

CHAOS = str(Path(sys.executable).with_name("chaos"))


def test_sweep_of_update_parallelism(lab: Lab, tmp_path: Path) -> None:
    out = tmp_path / "sweep"
    args = [
        CHAOS, "run", "rolling-update",
        "--sweep", "update.parallelism=1,3", "--repeat", "1",
        *(arg for item in SHORT for arg in ("--set", item)),
        "--set", "service.update.delay=1s",
        "--seed", "1", "--out", str(out), "--quiet",
    ]  # fmt: skip
    got = subprocess.run(args, capture_output=True, text=True, timeout=540, check=False)
    assert got.returncode == 0, got.stdout + got.stderr
    slugs = ["update.parallelism=1", "update.parallelism=3"]
    for slug in slugs:
        assert (out / slug / "rep-1" / "result.json").is_file()
    saved = json.loads((out / sweep.SUMMARY_FILE).read_text())
    summary = sweep.SweepSummary.model_validate(saved)
    assert [c.slug for c in summary.cells] == slugs
    for c in summary.cells:
        assert len(c.runs) == 1
        assert c.failed.n == 1 and c.update_s.n == 1  # the update completed in both
    one, three = summary.cells
    # as the catalogue's rolling-update test: one task at a time keeps the SLO
    assert_slo_holds(load_result(out / slugs[0] / "rep-1" / "result.json"))
    # stop-first with the parallelism of all three replicas stops every task at once: no
    # backend until a new task is healthy (the expect text), far over the 1% SLO
    worse = load_result(out / slugs[1] / "rep-1" / "result.json")
    assert worse.verdict == "fail", worse.verdict_reasons
    assert three.failed.median is not None and three.failed.median > 0
    assert one.failed.median is not None and three.failed.median > one.failed.median
    assert one.settings == {"service.update.parallelism": 1}
    # 3 tasks one at a time with a 1 s delay take longer than all three at once
    assert one.update_s.median is not None and three.update_s.median is not None
    assert one.update_s.median > three.update_s.median
    rec = summary.recommendation
    assert rec.slug in slugs and rec.confidence == "not_sure"  # one run per setting
    assert "one run per setting" in rec.text or "tied" in rec.text
    assert rec.text in got.stdout
    md = (out / sweep.MARKDOWN_FILE).read_text()
    assert "**(recommended)**" in md and "| update.parallelism=3" in md
    assert (out / sweep.HTML_FILE).is_file()
    # the gate reads the sweep dir: two groups (different settings), no invalid input
    report = gate.gate([out], None, gate.Thresholds())
    assert len(gate.group(gate.collect([out]))) == 2
    # it passes on runs that passed; a run the generator could not vouch for is unknown there
    passed = all(rep.verdict == "pass" for c in summary.cells for rep in c.runs)
    assert report.exit_code == (0 if passed else 1), gate.lines(report)
