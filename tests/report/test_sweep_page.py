"""``sweep.html`` in a real headless Chromium, from disk: every repeat drawn as a point, every
interval and median drawn per setting, the recommendation with its certainty, the same numbers
as ``sweep.md``, no console errors, nothing fetched."""

from __future__ import annotations

import json
from pathlib import Path

from chaos import sweep
from tests.gate.test_sweep import make_sweep_dir
from tests.report.browser import Chromium

SWEEP_JS = """JSON.stringify({
  ready: window.chaosSweep.ready === true,
  strips: Object.fromEntries(Object.values(window.chaosSweep.strips).map(s => [s.id, {
    points: s.points, drawn: s.drawn === true, medians: s.medians.map(m => m.median),
    intervals: s.intervals.map(i => [i.low, i.high]),
    canvas: s.u.root.querySelector('canvas') !== null,
  }])),
  confidence: document.querySelector('#recommendation').dataset.confidence,
  banner: document.querySelector('#recommendation').innerText,
  table: document.querySelector('.sweep').innerText,
  timelines: Object.keys((window.chaosReport || {charts: {}}).charts),
  scripts: [...document.scripts].filter(s => s.src).length,
})"""


def test_sweep_page(chromium: Chromium, tmp_path: Path) -> None:
    root = make_sweep_dir(
        tmp_path / "sweep",
        {
            "1": [(23, 17.3), (19, 16.8), (25, 17.9)],
            "2": [(30, 12.0), (41, 12.5)],
            "3": [(50, 8.0)],
        },
        full=True,
    )
    summary = sweep.summarise(root)
    sweep.write_summary(root, summary)
    page = sweep.write_sweep_page(root, summary)
    assert page == root / sweep.HTML_FILE
    got = chromium.inspect(page.as_uri(), SWEEP_JS, screenshot=tmp_path / "sweep.png")
    assert got.errors == [] and got.failed == []
    value = json.loads(got.value)
    assert value["ready"] and value["scripts"] == 0
    failed = value["strips"]["strip-failed"]
    assert failed["canvas"] and failed["drawn"] and failed["points"] == 6
    assert failed["medians"] == [23, 35.5, 50]
    assert failed["intervals"] == [[19, 25], [30, 41]]  # one run (p3): no interval
    assert set(value["strips"]) == {"strip-failed", "strip-error_rate", "strip-p99_ms",
                                    "strip-update_s"}  # fmt: skip
    assert value["confidence"] == "not_sure"
    assert summary.recommendation.text in value["banner"]
    md = (root / sweep.MARKDOWN_FILE).read_text()
    for text in ("23 [19..25]", "35.5 [30..41]", "17.3s [16.8s..17.9s]", "0.539% [0.445%..0.585%]"):
        assert text in value["table"] and text in md
    assert value["timelines"] == ["cmp-rps", "cmp-eps", "cmp-p99"]


def test_sweep_page_without_load_data_still_shows_the_repeats(
    chromium: Chromium, tmp_path: Path
) -> None:
    root = make_sweep_dir(tmp_path / "sweep", {"1": [(23, 17.3)], "3": [(50, 8.0), (52, 8.2)]})
    page = sweep.write_sweep_page(root, sweep.summarise(root))
    assert isinstance(page, Path)
    got = chromium.inspect(page.as_uri(), SWEEP_JS)
    assert got.errors == [] and got.failed == []
    value = json.loads(got.value)
    assert value["strips"]["strip-failed"]["points"] == 3 and value["timelines"] == []
    assert "a representative repeat has no load data" in page.read_text()
