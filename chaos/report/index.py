"""``reports/index.html``: one row per run directory under a reports directory, newest first,
each linking its page. Only ``result.json`` is read (fast: no load data); a directory whose
result is missing (a run still going, or one that crashed early) is listed as such, one whose
result is malformed with the reason.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from chaos import fmt
from chaos.errors import UsageError
from chaos.report import metrics
from chaos.report.page import render, write_page
from chaos.report.run import REPORT_FILE
from chaos.report.rundir import RESULT_FILE, read_result

INDEX_FILE = "index.html"


@dataclass(frozen=True, slots=True)
class IndexRow:
    """One run: ``href`` relative to the index; ``verdict`` ``pass``/``fail``/``unknown``, or
    ``none`` without a readable result (``problem`` says why)."""

    href: str
    dir: str
    started: str
    experiment: str
    verdict: str
    failed: str
    error_rate: str
    p99: str
    recovered: str
    duration: str
    has_page: bool
    problem: str = ""


def run_dirs(reports_dir: Path) -> list[Path]:
    """Every directory under ``reports_dir`` (at any depth) holding a result or a plan."""
    out = []
    for root, dirs, files in os.walk(reports_dir):
        dirs.sort()
        if RESULT_FILE in files or "plan.txt" in files:
            out.append(Path(root))
            dirs.clear()  # a run dir holds no other runs (its load/ is not one)
    return out


def index_row(run_dir: Path, reports_dir: Path) -> IndexRow:
    rel = run_dir.relative_to(reports_dir).as_posix()
    has_page = (run_dir / REPORT_FILE).is_file()
    href = f"{rel}/{REPORT_FILE}" if has_page else f"{rel}/{RESULT_FILE}"
    blank = dict(failed="", error_rate="", p99="", recovered="", duration="")
    if not (run_dir / RESULT_FILE).is_file():
        return IndexRow(href=f"{rel}/", dir=rel, started="", experiment=rel, verdict="none",
                        has_page=False, problem="no result.json (running, or stopped early)",
                        **blank)  # fmt: skip
    try:
        r = read_result(run_dir)
    except UsageError as exc:
        return IndexRow(href=href, dir=rel, started="", experiment=rel, verdict="none",
                        has_page=has_page, problem=str(exc), **blank)  # fmt: skip
    failed, _sent = metrics.failed_requests(r)
    rec = r.recovery
    recovered = (
        "not recovered"
        if rec.client_status == "not_recovered"
        else fmt.seconds(rec.client_recovered_s)
    )
    return IndexRow(
        href=href,
        dir=rel,
        started=r.started_at,
        experiment=r.experiment.name,
        verdict=r.verdict,
        failed=fmt.count(failed),
        error_rate=fmt.pct(None if r.judged is None else r.judged.error_rate),
        p99=fmt.ms(metrics.judged_p99_ms(r)),
        recovered=recovered,
        duration=fmt.seconds(r.duration_s),
        has_page=has_page,
    )


def refresh_index(reports_dir: Path) -> Path:
    """(Re)write ``reports_dir/index.html`` from every run under it; returns its path.
    :class:`UsageError` when ``reports_dir`` is not a directory."""
    if not reports_dir.is_dir():
        raise UsageError(f"{reports_dir}: no such reports directory")
    rows = [index_row(d, reports_dir) for d in run_dirs(reports_dir)]
    rows.sort(key=lambda row: (row.started, row.dir), reverse=True)
    html = render("index.html.j2", [], title="swarm-chaos runs", rows=rows,
                  root=str(reports_dir))  # fmt: skip
    return write_page(reports_dir / INDEX_FILE, html)
