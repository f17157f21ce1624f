"""A saved run directory read back for a report: ``result.json``, the load's timeline and the
all-target latency histograms, and the settings files. No cluster is needed.

The load dir is read by :func:`chaos.analysis.loaddir.read_load_dir`, decoding only the
*untagged* lines of ``latency.hlog`` (each is the exact merge of every target's histogram of
one 100 ms window): decoding is the slow part of reading a run, and the per-target numbers a
page shows are already in ``result.json``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from hdrh.histogram import HdrHistogram

from chaos.analysis import RunResult, load_result
from chaos.analysis.loaddir import read_load_dir
from chaos.errors import UsageError
from chaos.load.hlog import sum_lines
from chaos.load.summary import RUN_FILE, RunInfo, TimelineEntry

RESULT_FILE = "result.json"


@dataclass(frozen=True, slots=True)
class Window:
    """One 100 ms window of all targets: ``start`` seconds after t0; ``hist`` successes in
    microseconds."""

    start: float
    hist: HdrHistogram


@dataclass(frozen=True, slots=True)
class Run:
    """One run directory in memory. ``timeline``/``windows`` are empty when the load dir is
    missing (a run that failed before the load started)."""

    dir: Path
    result: RunResult
    info: RunInfo | None
    timeline: tuple[TimelineEntry, ...]
    windows: tuple[Window, ...]
    experiment_yaml: str
    plan: str

    @property
    def name(self) -> str:
        return self.result.experiment.name

    @property
    def targets(self) -> dict[str, str]:
        """Target URL -> node name, from the phases' per-node stats."""
        out: dict[str, str] = {}
        for phase in self.result.phases:
            for node in phase.nodes:
                out.setdefault(node.target, node.node)
        return out

    @property
    def end(self) -> float:
        """End of the data in seconds after t0: the last window's end or the last phase end."""
        width = self.info.window_s if self.info else 0.1
        ends = [e.t + width for e in self.timeline] + [p.end for p in self.result.phases]
        return max(ends, default=0.0)


def read_result(run_dir: Path) -> RunResult:
    """``RUN_DIR/result.json``; :class:`UsageError` for a missing dir or a bad file."""
    if not run_dir.is_dir():
        raise UsageError(f"{run_dir}: no such run directory")
    return load_result(run_dir / RESULT_FILE)


def read_run(run_dir: Path) -> Run:
    """Read everything a run page needs; :class:`UsageError` says what is missing or broken."""
    result = read_result(run_dir)
    load_dir = run_dir / result.load_dir
    info: RunInfo | None = None
    timeline: tuple[TimelineEntry, ...] = ()
    windows: tuple[Window, ...] = ()
    if (load_dir / RUN_FILE).is_file():
        data = read_load_dir(load_dir, keep=sum_lines, complete=False)
        info, timeline = data.run, data.timeline
        windows = tuple(
            Window(iv.start, iv.histogram) for iv in sorted(data.intervals, key=lambda i: i.start)
        )
    return Run(
        dir=run_dir,
        result=result,
        info=info,
        timeline=timeline,
        windows=windows,
        experiment_yaml=_text(run_dir / "experiment.yaml"),
        plan=_text(run_dir / "plan.txt"),
    )


def _text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return ""
