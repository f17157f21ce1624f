"""HdrHistogram interval log (format 1.3), written line by line, and its reader (the one
parser of these files: the analysis and the pages both read through :func:`read_hlog`).

We write the lines ourselves: the ``hdrhistogram`` package's ``HistogramLogWriter`` has a
broken ``output_start_time`` and cannot write ``Tag=``. Layout::

    #[Histogram log format version 1.3]
    #[StartTime: 1732560000.000 (seconds since epoch), Mon Nov 25 20:00:00 UTC 2024]
    #[BaseTime: 1732560000.000 (seconds since epoch)]
    "StartTimestamp","Interval_Length","Interval_Max","Interval_Compressed_Histogram"
    Tag=http://10.0.0.11:8080/,0.000,0.100,12.345,HISTFAAAA...
    0.000,0.100,12.345,HISTFAAAA...

Timestamps are seconds relative to StartTime/BaseTime (the run's t0 as wall-clock epoch);
values are microseconds; the max column is in milliseconds (unit ratio 1000). Untagged lines
hold the sum over all targets for the interval.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from hdrh.histogram import HdrHistogram

MAX_UNIT_RATIO = 1000.0  # microseconds -> milliseconds in the Interval_Max column


def header_lines(start_epoch: float) -> list[str]:
    stamp = datetime.fromtimestamp(start_epoch, UTC).strftime("%a %b %d %H:%M:%S UTC %Y")
    return [
        "#[Histogram log format version 1.3]",
        f"#[StartTime: {start_epoch:.3f} (seconds since epoch), {stamp}]",
        f"#[BaseTime: {start_epoch:.3f} (seconds since epoch)]",
        '"StartTimestamp","Interval_Length","Interval_Max","Interval_Compressed_Histogram"',
    ]


def interval_line(hist: HdrHistogram, start: float, length: float, tag: str | None) -> str:
    """One interval line; ``start`` and ``length`` in seconds, ``tag`` without commas."""
    if tag is not None and ("," in tag or " " in tag):
        raise ValueError(f"hlog tag must not contain commas or spaces: {tag!r}")
    prefix = "" if tag is None else f"Tag={tag},"
    peak = hist.get_max_value() / MAX_UNIT_RATIO if hist.get_total_count() else 0.0
    blob = hist.encode().decode("ascii")
    return f"{prefix}{start:.3f},{length:.3f},{peak:.3f},{blob}"


class HlogWriter:
    """Appends interval lines to an open text file; the caller flushes."""

    def __init__(self, fh: TextIO, start_epoch: float) -> None:
        self._fh = fh
        fh.write("\n".join(header_lines(start_epoch)) + "\n")

    def write(self, hist: HdrHistogram, start: float, length: float, tag: str | None) -> None:
        self._fh.write(interval_line(hist, start, length, tag) + "\n")


@dataclass(frozen=True, slots=True)
class Interval:
    """One decoded interval line: ``tag`` is ``None`` for untagged (all-target) lines."""

    tag: str | None
    start: float
    length: float
    max_ms: float
    histogram: HdrHistogram


@dataclass(frozen=True, slots=True)
class Hlog:
    start_epoch: float | None
    intervals: tuple[Interval, ...]

    def merged(
        self, tag: str | None, start: float = 0.0, end: float = float("inf")
    ) -> HdrHistogram:
        """Sum of the intervals with ``tag`` whose start lies in [start, end)."""
        from chaos.load.windows import new_histogram

        out = new_histogram()
        for iv in self.intervals:
            if iv.tag == tag and start <= iv.start < end:
                out.add(iv.histogram)
        return out


def every_line(tag: str | None) -> bool:
    return True


def target_lines(tag: str | None) -> bool:
    """The per-target lines (what the analysis folds over targets)."""
    return tag is not None


def sum_lines(tag: str | None) -> bool:
    """The untagged lines, each the exact merge of every target of one window (what a page
    draws)."""
    return tag is None


def read_hlog(path: Path, keep: Callable[[str | None], bool] = every_line) -> Hlog:
    """The intervals of ``path`` whose tag ``keep`` accepts, in file order; only those are
    decoded (decoding is the slow part of reading a run)."""
    start_epoch: float | None = None
    intervals: list[Interval] = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line:
            continue
        if line.startswith("#"):
            if line.startswith("#[StartTime:"):
                start_epoch = float(line.split()[1])
            continue
        if line.startswith('"StartTimestamp"'):
            continue
        tag: str | None = None
        if line.startswith("Tag="):
            tag, line = line[4:].split(",", 1)
        if not keep(tag):
            continue
        start, length, peak, blob = line.split(",", 3)
        hist = HdrHistogram.decode(blob.encode("ascii"))
        intervals.append(Interval(tag, float(start), float(length), float(peak), hist))
    return Hlog(start_epoch, tuple(intervals))
