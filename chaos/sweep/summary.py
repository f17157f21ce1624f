"""The summary of a sweep dir from its plan and saved results alone (no cluster):
per setting and metric the median, range and bootstrap interval over its repeats, and the
recommendation (:mod:`chaos.sweep.recommend`).

A repeat without a value (no result, an interrupted run, a metric not applicable) is listed,
not counted. The runs
must be comparable (:mod:`chaos.analysis.fingerprint`): the same platform, mesh, node count,
engine versions, service and load, except the swept keys.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from chaos.analysis import RunResult, check_comparable, fingerprint_of, load_result
from chaos.analysis.fingerprint import Fingerprint
from chaos.errors import ChaosError
from chaos.sweep.files import RESULT_FILE, read_log, read_plan, rep_numbers
from chaos.sweep.matrix import Cell
from chaos.sweep.model import CellSummary, Estimate, RepSummary, SweepSummary
from chaos.sweep.recommend import recommend
from chaos.verdict import Verdict


def rep_summary(rel: str, result: RunResult | None) -> RepSummary:
    """A repeat's numbers; none for a missing result or an interrupted run (stopped before
    its end, it measured nothing to the end: shown, not counted, as the gate does)."""
    if result is None or result.verdict == Verdict.INTERRUPTED:
        verdict = "missing" if result is None else str(result.verdict)
        return RepSummary(
            dir=rel, verdict=verdict, failed=None, error_rate=None, p99_ms=None, update_s=None
        )
    judged = result.judged
    lat = result.judged_latency_ms
    return RepSummary(
        dir=rel,
        verdict=result.verdict,
        failed=None if judged is None else float(judged.error_count),
        error_rate=None if judged is None else judged.error_rate,
        p99_ms=None if lat is None else lat.p99,
        update_s=result.recovery.service_converged_s,
    )


def cell_summary(
    slug: str, label: str, settings: dict[str, Any], runs: list[RepSummary]
) -> CellSummary:
    return CellSummary(
        slug=slug,
        label=label,
        settings=settings,
        runs=runs,
        failed=Estimate.of([r.failed for r in runs]),
        error_rate=Estimate.of([r.error_rate for r in runs]),
        p99_ms=Estimate.of([r.p99_ms for r in runs]),
        update_s=Estimate.of([r.update_s for r in runs]),
    )


def _read(path: Path) -> RunResult | None:
    try:
        return load_result(path)
    except ChaosError:
        return None


def check_sweep_runs(
    sweep_dir: Path, swept: Sequence[str], runs: Sequence[tuple[str, Fingerprint]]
) -> None:
    """UsageError naming two runs of the sweep that differ in more than the swept keys."""
    check_comparable(f"sweep {sweep_dir}", runs, allowed=swept)


def summarise(sweep_dir: Path) -> SweepSummary:
    """The summary of a sweep dir (module docstring); UsageError for a dir that is not a
    sweep, or runs that are not comparable."""
    plan = read_plan(sweep_dir)
    log = read_log(sweep_dir)
    cells = []
    prints: list[tuple[str, Fingerprint]] = []
    for slug, overrides in plan.cells:
        cell = Cell(tuple(overrides.items()))
        runs = []
        for n in rep_numbers(sweep_dir / slug):
            rel = f"{slug}/rep-{n}"
            result = _read(sweep_dir / rel / RESULT_FILE)
            runs.append(rep_summary(rel, result))
            if result is not None:
                prints.append((rel, fingerprint_of(result, f"{sweep_dir / rel}")))
        cells.append(cell_summary(slug, cell.label, overrides, runs))
    check_sweep_runs(sweep_dir, [key for key, _ in plan.axes], prints)
    return SweepSummary(
        experiment=plan.experiment,
        repeat=plan.repeat,
        axes=plan.axes,
        cells=cells,
        recommendation=recommend(cells),
        auto=plan.auto is not None,
        stopped=log.stopped,
    )


def representative(cell: CellSummary) -> str | None:
    """The repeat whose failed count is the cell's median (the first such), for the page."""
    with_value = [r for r in cell.runs if r.failed is not None]
    if not with_value:
        return None
    median = cell.failed.median
    return min(with_value, key=lambda r: abs((r.failed or 0.0) - (median or 0.0))).dir
