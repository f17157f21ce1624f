"""``RUN_DIR/report.html``: one run's page, from the saved run directory alone."""

from __future__ import annotations

from pathlib import Path

from chaos import fmt
from chaos.analysis.events import api_outages
from chaos.report import metrics, tables
from chaos.report.faults import fault_bands, markers
from chaos.report.model import Chart, Series
from chaos.report.page import color, render, write_page
from chaos.report.rundir import Run, read_run
from chaos.report.series import (
    DISTRIBUTION_PHASES,
    distributions,
    grid_of,
    latency,
    phase_histograms,
    pick_bucket,
    rates,
)

REPORT_FILE = "report.html"
LATENCY_COLORS = {"p50": "#4e79a7", "p99": "#f28e2b", "max": "#e15759"}
PHASE_COLORS = {"baseline": "#59a14f", "fault": "#e15759", "observe": "#4e79a7"}


def node_label(url: str, targets: dict[str, str]) -> str:
    """``node-001 (10.213.77.11)``; the bare host when the URL maps to no node."""
    host = url.split("://", 1)[-1].split("/", 1)[0].rsplit(":", 1)[0]
    node = targets.get(url)
    return f"{node} ({host})" if node and node != url else host


def timeline_charts(run: Run, bucket_s: float) -> list[Chart]:
    """Successes/s and errors/s per node IP, and latency p50/p99/max, with fault shading."""
    grid = grid_of(run, bucket_s)
    window_s = run.info.window_s if run.info else 0.1
    r = rates(run.timeline, grid, window_s)
    lat = latency(run.windows, grid)
    targets = run.targets
    urls = run.info.targets if run.info else sorted(r.ok)
    events = run.result.events
    outages = api_outages(events, run.end)
    bands = fault_bands(events, run.result.phases, outages, run.end)
    marks = markers(events, outages)
    per = f"per {fmt.seconds(bucket_s)} bucket".replace(".00 s", " s")

    def chart(key: str, title: str, series: list[Series], y_label: str, note: str,
              y_log: bool = False) -> Chart:  # fmt: skip
        return Chart(key, title, "time", grid.x, series, y_label, y_log, note, bands, marks)

    def per_ip(values: dict[str, list[float | None]]) -> list[Series]:
        return [
            Series(node_label(u, targets), values.get(u, []), color(i)) for i, u in enumerate(urls)
        ]

    return [
        chart("rps", "Successful requests per second, by node IP", per_ip(r.ok), "req/s",
              f"Successes per second {per}; the load is open loop, so a dip is lost work."),
        chart("eps", "Errors per second, by node IP", per_ip(r.errors), "errors/s",
              f"Server-side failures (refused, timeouts, 5xx...) {per}."),
        chart("latency", "Success latency over time, all node IPs",
              [Series("p50", lat.p50, LATENCY_COLORS["p50"]),
               Series("p99", lat.p99, LATENCY_COLORS["p99"]),
               Series("max", lat.max, LATENCY_COLORS["max"], dash=True, width=1.0)],
              "ms", f"Exact HdrHistogram merge {per}, from the intended send time (log scale).",
              y_log=True),
    ]  # fmt: skip


def distribution_chart(run: Run) -> Chart:
    """Latency by percentile per phase, HdrHistogram style."""
    d = distributions(phase_histograms(run.windows, run.result.phases, DISTRIBUTION_PHASES))
    return Chart(
        id="distribution",
        title="Latency by percentile, per phase",
        kind="percentile",
        x=d.x,
        series=[
            Series(f"{name} ({d.counts[name]:,} ok)", vals, PHASE_COLORS.get(name, color(i)))
            for i, (name, vals) in enumerate(d.values.items())
        ],
        y_label="ms",
        y_log=True,
        note="Successes, all node IPs; x is 1/(1\u2212p) on a log scale as the HdrHistogram "
        "plotter draws it; each line ends at its max.",
    )


def build_run_page(run: Run) -> str:
    """The HTML of a run page."""
    result = run.result
    bucket_s = pick_bucket(run.end)
    charts = [*timeline_charts(run, bucket_s), distribution_chart(run)]
    return render(
        "run.html.j2",
        charts,
        title=f"{result.experiment.name} · {result.verdict}",
        result=result,
        run_dir=run.dir.name,
        headlines=metrics.headlines(result),
        notes=result.recovery.notes,
        phase_head=tables.PHASE_HEAD,
        phase_rows=tables.phase_rows(result),
        api_head=tables.API_HEAD,
        api_rows=tables.api_rows(result),
        check_head=tables.CHECK_HEAD,
        check_rows=tables.check_rows(result),
        event_head=tables.EVENT_HEAD,
        event_rows=tables.event_rows(result),
        settings_rows=tables.settings_rows(result),
        environment_rows=tables.environment_rows(result),
        plan=run.plan,
        experiment_yaml=run.experiment_yaml,
        bucket=fmt.seconds(bucket_s),
        has_load=bool(run.timeline),
    )


def render_run(run_dir: Path) -> Path:
    """Render ``run_dir/report.html`` from the saved run; returns its path.
    :class:`chaos.errors.UsageError` for a missing directory or a malformed result."""
    run = read_run(run_dir)
    return write_page(run_dir / REPORT_FILE, build_run_page(run))
