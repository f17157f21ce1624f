"""HTML reports rendered from saved run directories, with no cluster:

    result.json + load/ (timeline, histograms) + events  ->  series, bands, tables (plain data)
    ->  jinja2 templates + the vendored uPlot  ->  one self-contained page

- :func:`render_run`: ``RUN_DIR/report.html`` for one run;
- :func:`refresh_index`: ``REPORTS/index.html``, every run under a directory, newest first;
- :func:`render_compare`: runs side by side, timelines aligned at the first fault.

What the pages show and how: ``docs/reports.md``; metric definitions: ``docs/metrics.md``.
"""

from __future__ import annotations

from chaos.report.compare import render_compare
from chaos.report.index import INDEX_FILE, refresh_index
from chaos.report.run import REPORT_FILE, render_run

__all__ = ["INDEX_FILE", "REPORT_FILE", "refresh_index", "render_compare", "render_run"]
