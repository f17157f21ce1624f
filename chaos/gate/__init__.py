"""``chaos gate``: saved runs against thresholds and a baseline, for CI (no cluster needed).

    RUN_DIR... (run dirs, or suite/sweep dirs holding them)  ->  runs  ->  groups of repeats
    ->  absolute checks per run  +  baseline checks per group  ->  status, lines, JUnit, Markdown

**Absolute checks** (each run, :mod:`chaos.gate.absolute`): ``error_rate``, ``p99`` and
``recovery`` against the experiment file's ``slo`` (as saved in ``result.json``), each
overridable by an option; the run's own ``leader_election`` and ``dropped`` checks as saved;
and ``run_valid`` (:mod:`chaos.gate.validity`: the run finished, restored the cluster, had no
run error and measured the system, not the load generator; a run its guard stopped fails it,
with the guard's reason: it hurt its users more than agreed). Definitions as in
:mod:`chaos.analysis.checks`.

**Groups** (:mod:`chaos.gate.runs`): runs of the same experiment with the same settings
(``result.json``'s settings without ``slo``, ``description`` and ``expect``, which do not
change what runs) are repeats.

**Baseline checks** (each group with a baseline, :mod:`chaos.gate.baseline`): for every
metric of :data:`~chaos.gate.baseline.METRICS`, with ``C`` the median of the group's values,
``B`` the median and ``B_max`` the largest of the matching baseline group's finite values,
``tol`` the tolerance and ``floor`` the metric's absolute slack::

    limit = max(B * (1 + tol), B_max) + floor          pass when C <= limit

So a median within the tolerance of the baseline's median, or no worse than the baseline's
worst repeat, passes; the floor keeps a near-zero baseline (no errors) from failing on one
request. "Not recovered" counts as +infinity (a median over repeats still works). No values
in the baseline: no check (the baseline sets no bar); none in the group: ``unknown``. The
baseline group is the one with the same experiment and settings, else the only baseline group
of the same experiment (the line says the settings differ), else ``unknown``.

**Comparable runs**: a group and its baseline must share their fingerprint (platform, mesh,
node count, engine versions, service, load: :mod:`chaos.analysis.fingerprint`); otherwise
the gate is refused with one line naming the difference (exit 2), since such a baseline sets
no bar.

**Interrupted runs** (stopped early by an operator) are neither pass nor fail: their one
line is ``skipped`` ("not judged"), they take no part in the baseline comparison, and they do
not fail the gate by themselves; a gate where no run at all was judged fails (nothing to
vouch for).

**Exit**: ``fail`` and ``unknown`` both fail the gate (a gate must not pass on missing data).

The checks are data (:mod:`chaos.gate.report`); the one-line, JUnit and Markdown forms of
them are :mod:`chaos.gate.render`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from chaos.errors import UsageError
from chaos.gate.absolute import absolute_checks
from chaos.gate.baseline import METRICS, baseline_checks, compare_metric, limit_of
from chaos.gate.render import junit, line, lines, markdown
from chaos.gate.report import GateCheck, GateReport, Thresholds
from chaos.gate.runs import IDENTITY_EXCLUDES, collect, group, identity_of


def gate(paths: Sequence[Path], baseline: Path | None, th: Thresholds) -> GateReport:
    """Every check of the runs under ``paths``; UsageError for input that is not runs."""
    if not paths:
        raise UsageError("gate: give at least one run directory")
    runs = collect(paths)
    checks: list[GateCheck] = []
    for run in runs:
        checks += absolute_checks(run, th)
    if baseline is not None:
        base_groups = group(collect([baseline]))
        for g in group(runs):
            checks += baseline_checks(g, base_groups, th.tolerance)
    return GateReport(tuple(checks), baseline, th.tolerance)


__all__ = [
    "IDENTITY_EXCLUDES",
    "METRICS",
    "GateCheck",
    "GateReport",
    "Thresholds",
    "collect",
    "compare_metric",
    "gate",
    "group",
    "identity_of",
    "junit",
    "limit_of",
    "line",
    "lines",
    "markdown",
]
