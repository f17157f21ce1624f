"""``sweep.md``: the summary as Markdown, the same numbers as ``sweep.json`` and the page."""

from __future__ import annotations

from chaos.sweep.matrix import short_key, show
from chaos.sweep.metrics import METRICS, MetricKey, fmt
from chaos.sweep.model import Estimate, Spread, SweepSummary

CONFIDENCE = {
    "confident": "sure against every other setting",
    "not_sure": "not sure",
    "none": "no setting has a result",
}


def _cell_md(metric: MetricKey, s: Spread) -> str:
    if s.n == 0:
        return "-"
    med = fmt(metric, s.median)
    if s.n == 1:
        return med
    return f"{med} ({fmt(metric, s.min)}..{fmt(metric, s.max)})"


def _interval_md(metric: MetricKey, e: Estimate) -> str:
    if e.n == 0:
        return "-"
    if e.low is None or e.high is None:
        return f"{fmt(metric, e.median)} (one run)"
    return f"{fmt(metric, e.median)} [{fmt(metric, e.low)}..{fmt(metric, e.high)}]"


def markdown(summary: SweepSummary) -> str:
    """One row per setting, median (min..max) per metric; the recommendation and how sure it
    is; the medians' intervals; each comparison in words; the definitions."""
    rec = summary.recommendation
    swept = ", ".join(
        f"{short_key(k)} = {', '.join(show(v) for v in vs)}" for k, vs in summary.axes
    )
    runs = "repeats chosen by --repeat auto" if summary.auto else f"{summary.repeat} repeat(s)"
    out = [
        f"# Sweep: {summary.experiment}",
        "",
        f"Swept: {swept or 'nothing'}; {runs} per setting. "
        "Cells: median (min..max) over the repeats with a value.",
        "",
        "| setting | runs | verdicts | failed requests | error rate | p99 | update duration |",
        "|---|---|---|---|---|---|---|",
    ]
    for c in summary.cells:
        verdicts = " ".join(r.verdict for r in c.runs) or "-"
        best = " **(recommended)**" if c.slug == rec.slug else ""
        out.append(
            f"| {c.label}{best} | {len(c.runs)} | {verdicts} | {_cell_md('failed', c.failed)} "
            f"| {_cell_md('error_rate', c.error_rate)} | {_cell_md('p99_ms', c.p99_ms)} "
            f"| {_cell_md('update_s', c.update_s)} |"
        )
    out += [
        "",
        f"**{rec.text}**",
        "",
        f"Confidence: {rec.confidence} ({CONFIDENCE[rec.confidence]}).",
    ]
    if summary.stopped:
        out += ["", f"Stopped: {summary.stopped}."]
    if rec.versus:
        out += ["", f"## How sure ({rec.level:.0%})", ""]
        for v in rec.versus:
            out.append(f"- {'**sure**' if v.sure else 'not sure'}: {v.text}")
    out += [
        "",
        f"## Medians with their {rec.level:.0%} bootstrap intervals",
        "",
        "| setting | " + " | ".join(m.name for m in METRICS) + " |",
        "|---|" + "---|" * len(METRICS),
    ]
    for c in summary.cells:
        cells = " | ".join(_interval_md(m.key, c.estimate(m.key)) for m in METRICS)
        out.append(f"| {c.label} | {cells} |")
    out += [
        "",
        "Failed requests: server-side failures on the live IPs during fault + observe; "
        "error rate: failed / sent; p99: success latency, same requests; update duration: "
        "update start -> completed (`service_converged_s`). See `docs/metrics.md`.",
        "",
        f"Interval: the {rec.level:.0%} percentile bootstrap interval of the median, from the "
        "exact bootstrap distribution (with 5 runs or fewer it is their min..max). Sure: "
        "the one-sided Mann-Whitney U test of the recommended setting against the other, on "
        f"failed requests (on the update duration when the medians are equal), p <= "
        f"{1 - rec.level:.0%}. See `docs/sweeps.md`.",
        "",
    ]
    return "\n".join(out)
