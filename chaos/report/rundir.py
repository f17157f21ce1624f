"""A saved run directory read back for a report: ``result.json``, the load's timeline and the
all-target latency histograms, and the settings files. No cluster is needed.

Only the *untagged* lines of ``latency.hlog`` are decoded (each is the exact merge of every
target's histogram of one 100 ms window): decoding is the slow part of reading a run, and the
per-target numbers a page shows are already in ``result.json``. A log without untagged lines
falls back to merging the tagged ones per window.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from hdrh.histogram import HdrHistogram
from pydantic import ValidationError

from chaos.analysis import RunResult, load_result
from chaos.errors import UsageError
from chaos.load.summary import (
    HLOG_FILE,
    RUN_FILE,
    TIMELINE_FILE,
    RunInfo,
    TimelineEntry,
    load_run_info,
    load_timeline,
)
from chaos.load.windows import new_histogram

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
    timeline: list[TimelineEntry] = []
    windows: tuple[Window, ...] = ()
    if (load_dir / RUN_FILE).is_file():
        try:
            info = load_run_info(load_dir)
            if (load_dir / TIMELINE_FILE).is_file():
                timeline = load_timeline(load_dir)
            if (load_dir / HLOG_FILE).is_file():
                windows = read_windows(load_dir / HLOG_FILE)
        except (ValidationError, ValueError, OSError) as exc:
            first = str(exc).splitlines()[0]
            raise UsageError(f"{load_dir}: cannot read the load results: {first}") from None
    return Run(
        dir=run_dir,
        result=result,
        info=info,
        timeline=tuple(timeline),
        windows=windows,
        experiment_yaml=_text(run_dir / "experiment.yaml"),
        plan=_text(run_dir / "plan.txt"),
    )


def read_windows(path: Path) -> tuple[Window, ...]:
    """The all-target histogram of every window of an hlog, in time order."""
    untagged: list[Window] = []
    tagged: dict[float, list[str]] = {}
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", '"')):
            continue
        if line.startswith("Tag="):
            _tag, rest = line[4:].split(",", 1)
            start, _length, _peak, blob = rest.split(",", 3)
            tagged.setdefault(float(start), []).append(blob)
            continue
        start, _length, _peak, blob = line.split(",", 3)
        untagged.append(Window(float(start), HdrHistogram.decode(blob.encode("ascii"))))
    if untagged or not tagged:
        return tuple(sorted(untagged, key=lambda w: w.start))
    out = []
    for t, blobs in sorted(tagged.items()):
        hist = new_histogram()
        for blob in blobs:
            hist.add(HdrHistogram.decode(blob.encode("ascii")))
        out.append(Window(t, hist))
    return tuple(out)


def _text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return ""
