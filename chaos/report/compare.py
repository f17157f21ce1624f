"""``chaos compare``: runs side by side. Headline metrics with deltas against the first run,
the settings that differ, and the timelines overlaid with x = seconds after each run's first
fault (a run without a fault is aligned at its t0). Every metric compared is lower-is-better,
so a positive delta is marked worse. The runs must have run on the same ground (platform,
mesh, node count, engine versions: :mod:`chaos.analysis.fingerprint`); their experiments may
differ, and the page lists how.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from chaos import fmt
from chaos.analysis import RunResult, check_comparable, fingerprint_of
from chaos.analysis.fingerprint import EXPERIMENT_FIELDS, PLATFORM_FIELDS
from chaos.errors import UsageError
from chaos.report import metrics, tables
from chaos.report.faults import fault_phase, first_fault
from chaos.report.model import Band, Chart, Series
from chaos.report.page import color, render, write_page
from chaos.report.rundir import Run, read_run
from chaos.report.series import (
    Grid,
    distributions,
    grid_of,
    latency,
    phase_histograms,
    pick_bucket,
    rates,
)


@dataclass(frozen=True, slots=True)
class Cell:
    """A formatted value and its delta against the first run (``tone``: worse/better/"")."""

    value: str
    delta: str = ""
    tone: str = ""


@dataclass(frozen=True, slots=True)
class CompareRow:
    label: str
    definition: str
    cells: list[Cell]


@dataclass(frozen=True, slots=True)
class Metric:
    """A compared number: ``get`` reads it from a result; ``show`` formats a value;
    ``delta`` formats a difference (lower is better)."""

    label: str
    definition: str
    get: Callable[[RunResult], float | None]
    show: Callable[[float | None], str]
    delta: Callable[[float], str]
    text: Callable[[RunResult], str | None] = lambda r: None  # overrides ``show``


def _err_rate(r: RunResult) -> float | None:
    return None if r.judged is None else r.judged.error_rate


def _recovery(key: str) -> Callable[[RunResult], float | None]:
    def get(r: RunResult) -> float | None:
        value = getattr(r.recovery, key)
        return None if value is None else float(value)

    return get


def _not_recovered(r: RunResult) -> str | None:
    return "not recovered" if r.recovery.client_status == "not_recovered" else None


def _count(v: float | None) -> str:
    return fmt.count(None if v is None else int(v))


METRICS: tuple[Metric, ...] = (
    Metric("Failed requests", metrics.DEFINITIONS["failed"],
           lambda r: float(metrics.failed_requests(r)[0]), _count,
           lambda d: fmt.signed(d, "", 0)),
    Metric("Error rate (live IPs)", metrics.DEFINITIONS["error_rate"], _err_rate, fmt.pct,
           lambda d: fmt.signed(d * 100, " pp", 2)),
    Metric("p99 latency (live IPs)", metrics.DEFINITIONS["p99"], metrics.judged_p99_ms, fmt.ms,
           lambda d: fmt.signed(d, " ms", 1)),
    *(
        Metric(m.label, metrics.DEFINITIONS[m.key], _recovery(m.key), fmt.seconds,
               lambda d: fmt.signed(d, " s", 2),
               _not_recovered if m.key == "client_recovered_s" else lambda r: None)
        for m in metrics.RECOVERY
    ),
    Metric("Dead-IP errors", metrics.DEFINITIONS["dead_ip_errors"],
           _recovery("dead_ip_errors"), _count, lambda d: fmt.signed(d, "", 0)),
    Metric("Live-IP errors", metrics.DEFINITIONS["live_ip_errors"],
           _recovery("live_ip_errors"), _count, lambda d: fmt.signed(d, "", 0)),
)  # fmt: skip


def metric_rows(results: Sequence[RunResult]) -> list[CompareRow]:
    rows = []
    for m in METRICS:
        values = [m.get(r) for r in results]
        first = values[0]
        cells = []
        for i, (v, r) in enumerate(zip(values, results, strict=True)):
            shown = m.text(r) or m.show(v)
            if i == 0 or v is None or first is None:
                cells.append(Cell(shown, tone="worse" if m.text(r) else ""))
                continue
            d = v - first
            text = m.delta(d)
            cells.append(Cell(shown, text, "" if not text else "worse" if d > 0 else "better"))
        rows.append(CompareRow(m.label, m.definition, cells))
    return rows


def differing_settings(results: Sequence[RunResult]) -> list[tuple[str, list[str]]]:
    """Settings whose value differs between the runs (key, one value per run)."""
    flat = []
    for r in results:
        settings = dict(r.experiment.settings)
        steps = settings.pop("steps", None) or []
        settings["steps"] = "; ".join(tables.step_summary(s) for s in steps if isinstance(s, dict))
        # runs across platforms (lab vs VMs) differ first in where they ran
        settings["platform"] = r.environment.platform
        settings["mesh"] = r.environment.mesh
        flat.append(dict(tables.flatten(settings)))
    keys = sorted({k for f in flat for k in f})
    out = []
    for k in keys:
        if k in ("description", "expect"):
            continue
        vals = [f.get(k, fmt.NA) for f in flat]
        if len(set(vals)) > 1:
            out.append((k, vals))
    return out


def run_labels(runs: Sequence[Run], diffs: Sequence[tuple[str, list[str]]]) -> list[str]:
    """Short names: the experiment name, plus the differing settings when names repeat."""
    names = [r.name for r in runs]
    if len(set(names)) == len(names):
        return names
    wanted = [(k, v) for k, v in diffs if not k.startswith("steps")][:2]
    labels = []
    for i, r in enumerate(runs):
        extra = ", ".join(f"{k.rsplit('.', 1)[-1]}={vals[i]}" for k, vals in wanted)
        labels.append(f"{r.name} ({extra or r.dir.name})")
    return labels


def _rgba(hex_color: str, alpha: float) -> str:
    r, g, b = (int(hex_color[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r}, {g}, {b}, {alpha})"


def overlay_charts(runs: Sequence[Run], labels: Sequence[str]) -> list[Chart]:
    """Total successes/s, errors/s and p99 of every run on one axis: seconds after the
    run's first fault, on a shared bucket grid."""
    bucket_s = max(pick_bucket(r.end) for r in runs)
    origins = [first_fault(r.result.events, r.result.phases) or 0.0 for r in runs]
    grids = [grid_of(r, bucket_s, origin=o, shift=o) for r, o in zip(runs, origins, strict=True)]
    union = Grid(bucket_s, 0.0, min(g.first for g in grids), max(g.last for g in grids))
    ok_s, err_s, p99_s, bands = [], [], [], []
    for i, (run, grid, origin) in enumerate(zip(runs, grids, origins, strict=True)):
        window_s = run.info.window_s if run.info else 0.1
        r = rates(run.timeline, grid, window_s)
        pad: list[float | None] = [None] * (grid.first - union.first)
        tail: list[float | None] = [None] * (union.last - grid.last)
        ok_s.append(Series(labels[i], pad + _total(r.ok, grid.size) + tail, color(i)))
        err_s.append(Series(labels[i], pad + _total(r.errors, grid.size) + tail, color(i)))
        p99_s.append(Series(labels[i], pad + latency(run.windows, grid).p99 + tail, color(i)))
        span = fault_phase(run.result.phases)
        if span is not None:
            bands.append(Band(span[0] - origin, span[1] - origin, f"{labels[i]}: fault phase",
                              "phase", color=_rgba(color(i), 0.10)))  # fmt: skip
    x = union.x
    per = f"{fmt.seconds(bucket_s)} buckets"
    common = {"kind": "time", "x": x, "bands": bands}
    return [
        Chart(id="cmp-rps", title="Successful requests per second, all node IPs",
              series=ok_s, y_label="req/s", note=f"x: seconds after each run's first fault; "
              f"{per}; each run's fault phase shaded in its colour.", **common),  # type: ignore[arg-type]
        Chart(id="cmp-eps", title="Errors per second, all node IPs", series=err_s,
              y_label="errors/s", note="Server-side failures.", **common),  # type: ignore[arg-type]
        Chart(id="cmp-p99", title="Success p99 over time, all node IPs", series=p99_s,
              y_label="ms", y_log=True, note="Exact HdrHistogram merge per bucket (log scale).",
              **common),  # type: ignore[arg-type]
    ]  # fmt: skip


def _total(per_target: dict[str, list[float | None]], size: int) -> list[float | None]:
    out: list[float | None] = []
    for i in range(size):
        vals = [v[i] for v in per_target.values() if v[i] is not None]
        out.append(round(sum(v for v in vals if v is not None), 2) if vals else None)
    return out


def distribution_overlay(runs: Sequence[Run], labels: Sequence[str]) -> Chart:
    """The fault phase's latency by percentile of every run (baseline dashed)."""
    hists = {}
    styles = {}
    for i, run in enumerate(runs):
        h = phase_histograms(run.windows, run.result.phases, ("baseline", "fault"))
        for phase in ("fault", "baseline"):
            if phase in h:
                key = f"{labels[i]} · {phase}"
                hists[key] = h[phase]
                styles[key] = (color(i), phase == "baseline")
    d = distributions(hists)
    return Chart(
        id="cmp-distribution",
        title="Latency by percentile: fault phase (solid) and baseline (dashed)",
        kind="percentile",
        x=d.x,
        series=[
            Series(k, v, styles[k][0], dash=styles[k][1], width=1.0 if styles[k][1] else 1.5)
            for k, v in d.values.items()
        ],
        y_label="ms",
        y_log=True,
        note="Successes, all node IPs; x is 1/(1\u2212p) on a log scale.",
    )


def render_compare(run_dirs: Sequence[Path], out: Path, *, across_platforms: bool = False) -> Path:
    """Write the comparison page of ``run_dirs`` (deltas against the first) to ``out``.
    ``across_platforms``: the runs may come from different platforms (the lab and the VMs:
    their platform, mesh and engine versions differ, not the node count)."""
    if len(run_dirs) < 2:
        raise UsageError("compare needs at least two run directories")
    runs = [read_run(d) for d in run_dirs]
    # the experiments may differ (that is what is compared); the ground under them may not,
    # unless the platforms are what is compared
    prints = [(str(r.dir), fingerprint_of(r.result, str(r.dir))) for r in runs]
    allowed = EXPERIMENT_FIELDS + (PLATFORM_FIELDS if across_platforms else ())
    try:
        check_comparable("compare", prints, allowed=allowed)
    except UsageError as exc:
        if across_platforms:
            raise
        try:  # only the platforms differ: say how to compare them
            check_comparable("compare", prints, allowed=EXPERIMENT_FIELDS + PLATFORM_FIELDS)
        except UsageError:
            raise exc from None
        raise UsageError(
            f"{exc}; to put runs of different platforms side by side, add --across-platforms"
        ) from None
    results = [r.result for r in runs]
    diffs = differing_settings(results)
    labels = run_labels(runs, diffs)
    charts = [*overlay_charts(runs, labels), distribution_overlay(runs, labels)]
    html = render(
        "compare.html.j2",
        charts,
        title="swarm-chaos compare: " + " vs ".join(labels),
        runs=runs,
        labels=labels,
        colors=[color(i) for i in range(len(runs))],
        rows=metric_rows(results),
        diffs=diffs,
    )
    return write_page(out, html)
