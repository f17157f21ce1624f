"""Streaming writes into the out dir while the run goes on.

    run.json            RunInfo, written at start (config, t0 as epoch and monotonic)
    timeline.jsonl      one TimelineEntry per line, per window and target, appended as
                        windows close (flushed at each close, about every 100 ms)
    latency.hlog        HdrHistogram interval log of successes, Tag=<target URL> per window
                        and target plus an untagged all-target line per window (microseconds)
    latency-all.hlog    the same over all requests (errors recorded at their latency)
    summary.json        LoadSummary, written at the end

A window closes once all its requests have an outcome, so a crash loses the windows still
open: about the last 100-200 ms in normal operation, up to the request timeout during a stall.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TextIO

from chaos import atomic
from chaos.errors import UsageError
from chaos.load.hlog import HlogWriter
from chaos.load.summary import (
    HLOG_ALL_FILE,
    HLOG_FILE,
    RUN_FILE,
    SUMMARY_FILE,
    TIMELINE_FILE,
    LoadSummary,
    RunInfo,
    TimelineEntry,
)
from chaos.load.windows import ClosedWindow, new_histogram


def hlog_tag(url: str) -> str:
    """A URL made safe as an hlog tag (no commas or spaces)."""
    return url.replace(",", "%2C").replace(" ", "%20")


def prepare_out_dir(out_dir: Path) -> None:
    """Create ``out_dir`` or raise :class:`UsageError` saying why it cannot be used."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(
            f"cannot create out dir {out_dir}: {exc.strerror}; pick another --out"
        ) from None
    if not os.access(out_dir, os.W_OK | os.X_OK):
        raise UsageError(f"out dir {out_dir} is not writable; pick another --out")


class OutDirSink:
    def __init__(self, out_dir: Path, run: RunInfo) -> None:
        prepare_out_dir(out_dir)
        self._dir = out_dir
        self._tags = [hlog_tag(u) for u in run.targets]
        # read by the run the moment it exists (chaos.experiment.loadproc): never half written
        atomic.write_text(out_dir / RUN_FILE, run.model_dump_json(indent=2) + "\n")
        self._timeline: TextIO = open(out_dir / TIMELINE_FILE, "w", encoding="utf-8")  # noqa: SIM115
        self._hlog_fh: TextIO = open(out_dir / HLOG_FILE, "w", encoding="utf-8")  # noqa: SIM115
        self._hlog_all_fh: TextIO = open(out_dir / HLOG_ALL_FILE, "w", encoding="utf-8")  # noqa: SIM115
        self._hlog = HlogWriter(self._hlog_fh, run.t0_epoch)
        self._hlog_all = HlogWriter(self._hlog_all_fh, run.t0_epoch)

    def write_window(self, window: ClosedWindow, entries: list[TimelineEntry]) -> None:
        for entry in entries:
            self._timeline.write(entry.model_dump_json() + "\n")
        total_ok, total_all = new_histogram(), new_histogram()
        for tag, stats in zip(self._tags, window.stats, strict=True):
            self._hlog.write(stats.hist_ok, window.start, window.width, tag)
            self._hlog_all.write(stats.hist_all, window.start, window.width, tag)
            total_ok.add(stats.hist_ok)
            total_all.add(stats.hist_all)
        self._hlog.write(total_ok, window.start, window.width, None)
        self._hlog_all.write(total_all, window.start, window.width, None)

    def flush(self) -> None:
        for fh in (self._timeline, self._hlog_fh, self._hlog_all_fh):
            fh.flush()

    def write_summary(self, summary: LoadSummary) -> None:
        atomic.write_text(self._dir / SUMMARY_FILE, summary.model_dump_json(indent=2) + "\n")

    def close(self) -> None:
        for fh in (self._timeline, self._hlog_fh, self._hlog_all_fh):
            fh.close()
