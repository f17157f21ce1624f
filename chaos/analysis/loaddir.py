"""The saved load run, read back once (the one reader of a load out dir: the analysis and the
pages both read through it), and the two ways to fold it over time and targets.

Counts come from ``timeline.jsonl`` (one entry per 100 ms window and target); latency comes
from ``latency.hlog`` (the per-window, per-target HdrHistograms of successes, microseconds),
merged exactly, never averaged. A window belongs to the span holding its *start* (``t``,
seconds after the load's t0); spans are half-open ``[start, end)``.

Requests are split the way :mod:`chaos.load.outcome` splits them: generator-side outcomes
(``dropped``, ``pool``) were never the server's doing, so they are counted apart and excluded
from both sides of the error rate: ``error_rate = server errors / sent`` with
``sent = total - generator-side``.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from hdrh.histogram import HdrHistogram
from pydantic import BaseModel, ConfigDict, ValidationError

from chaos.errors import UsageError
from chaos.load.hlog import Interval, read_hlog, target_lines
from chaos.load.outcome import Outcome
from chaos.load.sink import hlog_tag
from chaos.load.summary import (
    HLOG_FILE,
    RUN_FILE,
    SUMMARY_FILE,
    TIMELINE_FILE,
    LoadSummary,
    RunInfo,
    TimelineEntry,
    load_run_info,
    load_summary,
    load_timeline,
)
from chaos.load.windows import new_histogram

EPS_S = 1e-6  # timestamps are rounded to the microsecond (timeline) or millisecond (hlog)
GENERATOR_KINDS = frozenset(k.value for k in Outcome if k.is_generator_fault)


def in_span(t: float, start: float, end: float) -> bool:
    """Whether a window starting at ``t`` belongs to ``[start, end)`` (seconds after t0)."""
    return start - EPS_S <= t < end - EPS_S


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Requests(Frozen):
    """Request counts over some windows and targets.

    ``total`` = ``ok`` + server errors + generator-side; ``sent`` = ``total`` - generator-side;
    ``errors``: server-side error kinds -> count (``refused``, ``http_5xx``, ``timeout``...);
    ``generator``: generator-side kinds (``dropped``, ``pool``) -> count; ``error_count`` is
    the sum of ``errors``; ``error_rate`` = ``error_count / sent`` (a fraction, ``None`` when
    nothing was sent)."""

    total: int
    sent: int
    ok: int
    error_count: int
    errors: dict[str, int]
    dropped: int
    generator: dict[str, int]
    error_rate: float | None


def count(entries: Iterable[TimelineEntry]) -> Requests:
    """Sum timeline entries into :class:`Requests`."""
    total = ok = 0
    errors: dict[str, int] = {}
    generator: dict[str, int] = {}
    for e in entries:
        total += e.total
        ok += e.ok
        for kind, n in e.errors.items():
            into = generator if kind in GENERATOR_KINDS else errors
            into[kind] = into.get(kind, 0) + n
    gen = sum(generator.values())
    sent = total - gen
    err = sum(errors.values())
    return Requests(
        total=total,
        sent=sent,
        ok=ok,
        error_count=err,
        errors=dict(sorted(errors.items())),
        dropped=generator.get(Outcome.DROPPED.value, 0),
        generator=dict(sorted(generator.items())),
        error_rate=err / sent if sent else None,
    )


@dataclass(frozen=True, slots=True)
class LoadData:
    """One load out dir in memory. ``intervals`` are the lines of ``latency.hlog`` that were
    asked for (:func:`read_load_dir`); ``end`` is the end of the last window (seconds after
    t0)."""

    run: RunInfo
    timeline: tuple[TimelineEntry, ...]
    intervals: tuple[Interval, ...]

    @property
    def end(self) -> float:
        if not self.timeline:
            return 0.0
        return max(e.t for e in self.timeline) + self.run.window_s

    def entries(
        self, spans: Sequence[tuple[float, float]], urls: Collection[str]
    ) -> list[TimelineEntry]:
        """Timeline entries of targets ``urls`` whose window starts inside any of ``spans``."""
        return [
            e
            for e in self.timeline
            if e.target in urls and any(in_span(e.t, a, b) for a, b in spans)
        ]

    def histogram(
        self, spans: Sequence[tuple[float, float]], urls: Collection[str]
    ) -> HdrHistogram:
        """Exact merge of the success histograms (microseconds) of targets ``urls`` over the
        windows starting inside any of ``spans``."""
        tags = {hlog_tag(u) for u in urls}
        out = new_histogram()
        for iv in self.intervals:
            if iv.tag in tags and any(in_span(iv.start, a, b) for a, b in spans):
                out.add(iv.histogram)
        return out


@contextmanager
def _reading(load_dir: Path) -> Iterator[None]:
    """A file of the load dir that does not parse: one UsageError naming the dir."""
    try:
        yield
    except (ValidationError, ValueError, OSError) as exc:
        first = str(exc).splitlines()[0]
        raise UsageError(f"{load_dir}: cannot read the load results: {first}") from None


def read_load_dir(
    load_dir: Path,
    *,
    keep: Callable[[str | None], bool] = target_lines,
    complete: bool = True,
) -> LoadData:
    """Read a load out dir; :class:`UsageError` says what is missing or broken. ``keep``:
    the lines of ``latency.hlog`` to decode (:mod:`chaos.load.hlog`; by default the
    per-target ones the analysis folds). ``complete=False``: only ``run.json`` must be there,
    a missing timeline or hlog reads as empty (a page of a run that stopped early)."""
    needed = (RUN_FILE, TIMELINE_FILE, HLOG_FILE) if complete else (RUN_FILE,)
    for name in needed:
        if not (load_dir / name).is_file():
            raise UsageError(f"{load_dir}: no {name}; is this a load out dir of a run?")
    with _reading(load_dir):
        run = load_run_info(load_dir)
        timeline = load_timeline(load_dir) if (load_dir / TIMELINE_FILE).is_file() else []
        hlog = load_dir / HLOG_FILE
        intervals = read_hlog(hlog, keep).intervals if hlog.is_file() else ()
    return LoadData(run=run, timeline=tuple(timeline), intervals=intervals)


def read_summary(load_dir: Path) -> LoadSummary | None:
    """``summary.json``; ``None`` when the run did not finish (it is written last)."""
    if not (load_dir / SUMMARY_FILE).is_file():
        return None
    with _reading(load_dir):
        return load_summary(load_dir)
