"""The generated pages in a real headless Chromium, opened from disk (file://, offline): no
console errors or failed requests, every chart mounted with data, the fault windows shaded
at the times of the saved result, the tables present. Screenshots stay in the test's tmp dir."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from chaos.analysis import RunResult, load_result
from chaos.analysis.events import api_outages, guard_report
from chaos.analysis.result import write_result
from chaos.report import render_run
from chaos.report.faults import markers
from chaos.timeline import ApiError, ApiOk, GuardTripped, StepEnd, StepStart
from chaos.verdict import Verdict
from tests.report.browser import Chromium, Inspection
from tests.report.conftest import RUN_NAMES

TIME_CHARTS = ("rps", "eps", "latency")
CHARTS_JS = """JSON.stringify(Object.values(window.chaosReport.charts).map(c => ({
  id: c.id, points: c.points, drawn: c.drawn === true,
  canvas: c.u.root.querySelector('canvas') !== null,
  min: c.u.scales.x.min, max: c.u.scales.x.max, width: c.u.bbox.width / devicePixelRatio,
  bands: c.bands, markers: c.markers.length,
})))"""
PAGE_JS = """JSON.stringify({
  verdict: document.querySelector('#verdict').className,
  cards: document.querySelectorAll('#headline .card').length,
  titled: [...document.querySelectorAll('#headline .card')].every(c => c.title.length > 20),
  phaseRows: document.querySelectorAll('.phases tbody tr').length,
  eventRows: document.querySelectorAll('.events tbody tr').length,
  checkRows: document.querySelectorAll('.checks tbody tr').length,
  env: document.querySelector('.environment').innerText,
  settings: document.querySelector('.settings').innerText,
  footnotes: document.querySelectorAll('ol.footnotes li').length,
  scripts: [...document.scripts].filter(s => s.src).length,
  links: [...document.querySelectorAll('link[href]')].length,
})"""


def _clean(page: Inspection) -> None:
    assert page.errors == [], page.errors
    assert page.failed == [], page.failed
    assert page.screenshot is not None and page.screenshot.stat().st_size > 10_000
    print(f"screenshot: {page.screenshot}")


def _open(chromium: Chromium, path: Path, expression: str, shot: Path) -> Any:
    page = chromium.inspect(path.as_uri(), expression, shot)
    _clean(page)
    return json.loads(page.value)


def expected_bands(result: RunResult) -> list[tuple[str, float, float]]:
    """The fault windows re-derived from the saved result (docs/reports.md's definition)."""
    events = result.events
    fault = next(p for p in result.phases if p.name == "fault")
    out = [("phase", fault.start, fault.end)]
    for i, e in enumerate(events):
        if isinstance(e, StepStart) and e.action in ("halt", "suspend", "stop_engine"):
            heal = next(
                h for h in events[i:] if isinstance(h, StepEnd) and h.action in ("start", "resume")
            )
            out.append(("power", e.t, heal.t))
    error = None
    for e in events:
        if isinstance(e, ApiError) and error is None:
            error = e.t
        elif isinstance(e, ApiOk) and error is not None:
            out.append(("api", error, e.t))
            error = None
    return out


@pytest.mark.parametrize("name", RUN_NAMES)
def test_run_page(chromium: Chromium, runs_dir: Path, tmp_path: Path, name: str) -> None:
    result = load_result(runs_dir / name / "result.json")
    page = chromium.inspect(
        (runs_dir / name / "report.html").as_uri(),
        f"JSON.stringify({{charts: {CHARTS_JS}, page: {PAGE_JS}}})",
        tmp_path / f"{name}.png",
    )
    _clean(page)
    value = json.loads(page.value)
    charts = {c["id"]: c for c in json.loads(value["charts"])}
    assert set(charts) == {*TIME_CHARTS, "distribution"}
    for c in charts.values():
        assert c["canvas"] and c["drawn"], c["id"]
        assert c["points"] and all(n > 0 for n in c["points"]), (c["id"], c["points"])
    assert len(charts["rps"]["points"]) == 3  # one line per node IP
    assert len(charts["distribution"]["points"]) == 3  # baseline, fault, observe

    want = expected_bands(result)
    assert len(want) == (3 if name == "leader-kill" else 1)
    for chart_id in TIME_CHARTS:
        c = charts[chart_id]
        assert c["markers"] > 0, chart_id
        assert [b["kind"] for b in c["bands"]] == [k for k, _s, _e in want], chart_id
        for b, (_kind, start, end) in zip(c["bands"], want, strict=True):
            assert (b["start"], b["end"]) == pytest.approx((start, end), abs=1e-6), chart_id
        for b in c["bands"]:
            # where the band was drawn, recomputed from the axis (CSS px in the plot area)
            for t, x in ((b["start"], b["x0"]), (b["end"], b["x1"])):
                assert x == pytest.approx(
                    (t - c["min"]) / (c["max"] - c["min"]) * c["width"], abs=1.0
                )
            assert 0 < b["x0"] < b["x1"] <= c["width"] + 1

    info = json.loads(value["page"])
    assert result.verdict in info["verdict"].split()
    assert info["cards"] == 10 and info["titled"] and info["footnotes"] == 10
    assert info["phaseRows"] == sum(1 + len(p.nodes) for p in result.phases)
    assert info["eventRows"] == len(result.events)
    assert info["checkRows"] == len(result.checks)
    env = result.environment
    for text in (env.kernel, env.mesh, env.tool_version, str(env.seed)):
        assert text in info["env"]
    assert "20.10.24" in info["env"]  # the engine version
    assert "load.rate" in info["settings"]
    assert info["scripts"] == 0 and info["links"] == 0  # nothing loaded from elsewhere


def test_index_page(chromium: Chromium, runs_dir: Path, tmp_path: Path) -> None:
    rows = _open(
        chromium,
        runs_dir / "index.html",
        """JSON.stringify([...document.querySelectorAll('tr.run')].map(r => ({
          text: r.innerText, href: r.querySelector('a').getAttribute('href')})))""",
        tmp_path / "index.png",
    )
    assert [r["href"] for r in rows] == [  # newest first
        "rolling-update/report.html",
        "leader-kill/report.html",
    ]
    assert "PASS" in rows[0]["text"].upper() and "FAIL" in rows[1]["text"].upper()
    for r in rows:
        assert (runs_dir / r["href"]).is_file()


def test_compare_page(chromium: Chromium, runs_dir: Path, tmp_path: Path) -> None:
    value = _open(
        chromium,
        runs_dir / "compare.html",
        f"""JSON.stringify({{charts: {CHARTS_JS},
          metrics: document.querySelectorAll('tr.metric').length,
          deltas: document.querySelectorAll('.delta').length,
          heads: [...document.querySelectorAll('.compare thead th')].map(t => t.innerText)}})""",
        tmp_path / "compare.png",
    )
    charts = {c["id"]: c for c in json.loads(value["charts"])}
    assert set(charts) == {"cmp-rps", "cmp-eps", "cmp-p99", "cmp-distribution"}
    for cid in ("cmp-rps", "cmp-eps", "cmp-p99"):
        c = charts[cid]
        assert len(c["points"]) == 2 and all(n > 0 for n in c["points"])
        # aligned at the first fault: every run's fault phase starts at x = 0
        assert [b["start"] for b in c["bands"]] == pytest.approx([0.0, 0.0])
        assert c["min"] < 0 < c["max"]
    assert len(charts["cmp-distribution"]["points"]) == 4  # 2 runs x (baseline, fault)
    assert value["metrics"] >= 10 and value["deltas"] > 0
    assert any("rolling-update" in h for h in value["heads"])
    assert any("leader-kill" in h for h in value["heads"])


def test_dark_scheme(chromium: Chromium, runs_dir: Path, tmp_path: Path) -> None:
    page = chromium.inspect(
        (runs_dir / "leader-kill" / "report.html").as_uri(),
        """JSON.stringify([getComputedStyle(document.body).backgroundColor,
          Object.values(window.chaosReport.charts).every(c => c.drawn)])""",
        tmp_path / "leader-kill-dark.png",
        dark=True,
    )
    _clean(page)
    background, drawn = json.loads(page.value)
    assert drawn and background == "rgb(21, 23, 26)"


def test_run_without_load_data(chromium: Chromium, runs_dir: Path, tmp_path: Path) -> None:
    """A run that stopped before the load started still gets a page that says so."""
    run_dir = tmp_path / "early-stop"
    shutil.copytree(runs_dir / "rolling-update", run_dir)
    shutil.rmtree(run_dir / "load")
    render_run(run_dir)
    page = chromium.inspect(
        (run_dir / "report.html").as_uri(), "document.body.innerText", tmp_path / "no-load.png"
    )
    _clean(page)
    assert "No load data" in page.value


def test_a_run_its_guard_stopped(chromium: Chromium, runs_dir: Path, tmp_path: Path) -> None:
    """The guard's trip is a card (when, and its two latencies), a marker on every timeline,
    and the banner's colour; the verdict's reason is the guard's."""
    run_dir = tmp_path / "guarded"
    shutil.copytree(runs_dir / "leader-kill", run_dir)
    result = load_result(run_dir / "result.json")
    fault = next(p for p in result.phases if p.name == "fault")
    reason = "error rate 61.0% > 50% over 5s on the live IPs"
    trip = GuardTripped(
        t=fault.start + 6.3, detail=reason, data_end=fault.start + 6.0, error_rate=0.61,
        p99_ms=None, span_s=5.0,
    )  # fmt: skip
    guarded = result.model_copy(
        update={
            "verdict": Verdict.GUARD_TRIPPED,
            "verdict_reasons": [f"guard tripped: {reason}"],
            "events": sorted([*result.events, trip], key=lambda e: e.t),
            "guard": guard_report([*result.events, trip]),
        }
    )
    write_result(run_dir / "result.json", guarded)
    render_run(run_dir)
    info = _open(
        chromium,
        run_dir / "report.html",
        f"""JSON.stringify({{
          banner: document.querySelector('#verdict').className,
          card: document.querySelector('#headline .card[data-key=guard]')?.innerText ?? null,
          markers: {CHARTS_JS},
          text: document.body.innerText,
        }})""",
        tmp_path / "guarded.png",
    )
    assert "guard_tripped" in info["banner"].split()
    assert info["card"] is not None and "Guard tripped" in info["card"]
    assert "6.30" in info["card"] and "+0.30 s to trip" in info["card"], info["card"]
    assert f"guard tripped: {reason}" in info["text"]
    # one marker more than the same run without the trip, on every timeline
    plain = len(markers(result.events, api_outages(result.events, 1e9)))
    for chart in json.loads(info["markers"]):
        if chart["id"] in TIME_CHARTS:
            assert chart["markers"] == plain + 1, chart["id"]
