"""Settings sweeps: one experiment run over a matrix of settings, each cell repeated, then one
comparison of the cells from their saved results that says how sure it is.

    --sweep KEY=V1,V2 ...  ->  axes  ->  cells (the product, pure)            matrix
    ->  every cell N times, or --repeat auto until sure / capped / out of time  run
        into SWEEP_DIR/<cell-slug>/rep-<n>/                                    files
    ->  per cell and metric: median, range, bootstrap interval                 summary, stats
    ->  the recommended cell against each other: Mann-Whitney U, "sure"        recommend
    ->  sweep.json + sweep.md + sweep.html                                     markdown, page

What every number means: ``docs/sweeps.md``.
"""

from __future__ import annotations

from chaos.experiment.spec import canonical_key  # the --set aliases, also for --sweep keys
from chaos.sweep.files import (
    HTML_FILE,
    LOG_FILE,
    MARKDOWN_FILE,
    PLAN_FILE,
    SUMMARY_FILE,
    AutoRepeat,
    LoggedRun,
    SweepLog,
    SweepPlan,
)
from chaos.sweep.markdown import markdown
from chaos.sweep.matrix import Axis, Cell, cell_slug, check_axes, expand, parse_axis, short_key
from chaos.sweep.model import (
    CellSummary,
    Comparison,
    Estimate,
    Recommendation,
    RepSummary,
    Spread,
    SweepSummary,
)
from chaos.sweep.page import write_sweep_page
from chaos.sweep.recommend import recommend
from chaos.sweep.run import (
    AUTO_MAX_REPEAT,
    SweepOutcome,
    auto_repeat,
    finish,
    prepare,
    run_sweep,
    write_summary,
)
from chaos.sweep.summary import cell_summary, rep_summary, representative, summarise

__all__ = [
    "AUTO_MAX_REPEAT",
    "HTML_FILE",
    "LOG_FILE",
    "MARKDOWN_FILE",
    "PLAN_FILE",
    "SUMMARY_FILE",
    "AutoRepeat",
    "Axis",
    "Cell",
    "CellSummary",
    "Comparison",
    "Estimate",
    "LoggedRun",
    "Recommendation",
    "RepSummary",
    "Spread",
    "SweepLog",
    "SweepOutcome",
    "SweepPlan",
    "SweepSummary",
    "auto_repeat",
    "canonical_key",
    "cell_slug",
    "cell_summary",
    "check_axes",
    "expand",
    "finish",
    "markdown",
    "parse_axis",
    "prepare",
    "recommend",
    "rep_summary",
    "representative",
    "run_sweep",
    "short_key",
    "summarise",
    "write_summary",
    "write_sweep_page",
]
