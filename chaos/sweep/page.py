"""``sweep.html``: one self-contained page (the report module's templates and vendored uPlot):
the recommendation with how sure it is, one strip chart per metric (every repeat a point, the
median a bar, its bootstrap interval a band, per setting), the numbers as a table, each
comparison in words, and the timelines of one representative repeat per setting overlaid
(as ``chaos compare`` draws them) when the run dirs hold their load data.

Every number on the page comes formatted from :mod:`chaos.sweep.metrics` out of the
:class:`~chaos.sweep.model.SweepSummary`, the same as ``sweep.md`` and ``sweep.json``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

from chaos.errors import ChaosError
from chaos.report.compare import differing_settings, overlay_charts, run_labels
from chaos.report.model import Chart
from chaos.report.page import embed_json, environment, render, write_page
from chaos.report.rundir import read_run
from chaos.sweep.files import HTML_FILE
from chaos.sweep.matrix import short_key, show
from chaos.sweep.metrics import METRICS, SweepMetric, fmt, plot_value
from chaos.sweep.model import CellSummary, SweepSummary
from chaos.sweep.summary import representative

RECOMMENDED = "#59a14f"  # the palette's green
OTHER = "#4e79a7"


@dataclass(frozen=True, slots=True)
class StripCell:
    """One setting on a strip chart: ``values`` its repeats (plot units), ``median``, ``low``
    and ``high`` (``None``: no interval), ``text`` the same numbers formatted."""

    tick: str
    label: str
    values: list[float]
    median: float | None
    low: float | None
    high: float | None
    recommended: bool
    color: str
    text: str


@dataclass(frozen=True, slots=True)
class Strip:
    id: str
    title: str
    unit: str
    axis: str
    note: str
    cells: list[StripCell]


def tick(cell: CellSummary) -> str:
    """The x tick of a setting: its swept values only (the axis names the keys)."""
    return " / ".join(show(v) for v in cell.settings.values()) or "as configured"


def _cell_text(m: SweepMetric, c: CellSummary) -> str:
    e = c.estimate(m.key)
    if e.n == 0:
        return f"{c.label}: no {m.name}"
    runs = f"{e.n} run{'s' if e.n > 1 else ''}"
    if e.low is None or e.high is None:
        return f"{c.label}: {m.name} {fmt(m.key, e.median)} ({runs})"
    interval = f"{e.level:.0%} interval {fmt(m.key, e.low)}..{fmt(m.key, e.high)}"
    return f"{c.label}: median {m.name} {fmt(m.key, e.median)}, {interval} ({runs})"


def strips(summary: SweepSummary) -> list[Strip]:
    axis = " / ".join(short_key(k) for k, _ in summary.axes) or "setting"
    out = []
    for m in METRICS:
        cells = []
        for c in summary.cells:
            e = c.estimate(m.key)
            best = c.slug == summary.recommendation.slug
            cells.append(
                StripCell(
                    tick=tick(c),
                    label=c.label,
                    values=[v for x in c.values(m.key) if (v := plot_value(m.key, x)) is not None],
                    median=plot_value(m.key, e.median),
                    low=plot_value(m.key, e.low),
                    high=plot_value(m.key, e.high),
                    recommended=best,
                    color=RECOMMENDED if best else OTHER,
                    text=_cell_text(m, c),
                )
            )
        if any(c.values for c in cells):
            out.append(
                Strip(f"strip-{m.key}", m.name.capitalize(), m.unit, axis, m.definition, cells)
            )
    return out


def _timelines(sweep_dir: Path, summary: SweepSummary) -> tuple[list[Chart], str]:
    """The overlaid timelines of one representative repeat per setting, or why none."""
    dirs = [sweep_dir / rel for c in summary.cells if (rel := representative(c)) is not None]
    if len(dirs) < 2:
        return [], "not shown: fewer than two settings with results"
    try:
        runs = [read_run(d) for d in dirs]
    except ChaosError as exc:
        return [], f"not shown ({exc})"
    if not all(r.timeline for r in runs):
        return [], "not shown: a representative repeat has no load data"
    labels = run_labels(runs, differing_settings([r.result for r in runs]))
    return overlay_charts(runs, labels), ""


def _table_cell(m: SweepMetric, c: CellSummary) -> str:
    """``median [low..high]``; the median alone for one run."""
    e = c.estimate(m.key)
    if e.n == 0:
        return "-"
    if e.low is None or e.high is None:
        return fmt(m.key, e.median)
    return f"{fmt(m.key, e.median)} [{fmt(m.key, e.low)}..{fmt(m.key, e.high)}]"


@dataclass(frozen=True, slots=True)
class Row:
    """A table row: the setting, its formatted numbers, its repeats (dir, verdict, whether
    the run's own page exists to link to)."""

    cell: CellSummary
    recommended: bool
    values: list[str]
    reps: list[tuple[str, str, bool]]


def render_sweep_page(sweep_dir: Path, summary: SweepSummary) -> str:
    charts, why = _timelines(sweep_dir, summary)
    env = environment()
    sweep_js = env.loader.get_source(env, "sweep.js")[0] if env.loader else ""
    data = [asdict(s) for s in strips(summary)]
    rows = [
        Row(
            cell=c,
            recommended=c.slug == summary.recommendation.slug,
            values=[_table_cell(m, c) for m in METRICS],
            reps=[
                (r.dir, r.verdict, (sweep_dir / r.dir / "report.html").is_file()) for r in c.runs
            ],
        )
        for c in summary.cells
    ]
    swept = ", ".join(
        f"{short_key(k)} = {', '.join(show(v) for v in vs)}" for k, vs in summary.axes
    )
    return render(
        "sweep.html.j2",
        charts,
        title=f"swarm-chaos sweep: {summary.experiment}",
        summary=summary,
        rec=summary.recommendation,
        metrics=METRICS,
        strips=data,
        strips_json=embed_json(data),
        sweep_js=sweep_js,
        rows=rows,
        timelines_note=why,
        swept=swept,
    )


def write_sweep_page(sweep_dir: Path, summary: SweepSummary) -> Path | str:
    """Write ``sweep.html``; the path, or why no page was written (the Markdown and JSON
    summaries are the record either way)."""
    if not any(c.runs for c in summary.cells):
        return "not written (no setting has run)"
    try:
        return write_page(sweep_dir / HTML_FILE, render_sweep_page(sweep_dir, summary))
    except ChaosError as exc:
        return f"not written ({exc})"
