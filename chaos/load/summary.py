"""The results' public shape (``summary.json`` and ``timeline.jsonl``) and how it is built.

Public names (do not rename): ``requests`` {``total``, ``ok``, ``dropped``, ``errors``},
``latency_ms`` {``p50``, ``p90``, ``p99``, ``p999``, ``max``} over successes,
``achieved_rate``, ``send_lag_ms`` {``p50``, ``p99``}, ``targets`` (the same per URL) and
``timeline`` (entries with ``t``, ``target``, ``ok``, ``errors``, ``p99_ms``).

``errors`` maps every non-ok outcome kind to its count, including the generator-side kinds
``dropped`` and ``pool``; so ``total == ok + sum(errors.values())``. ``dropped`` is repeated at
the top level. Latency percentiles are ``None`` when there was no success.

Times: ``t0_epoch`` is the wall-clock (``time.time()``) instant of the run's t0, taken right
next to ``t0_monotonic`` (``time.monotonic()``, the clock the run is paced on); a timeline
entry's ``t`` is seconds after t0 of its window's start, with requests bucketed by their
*intended* send time. To place an event seen at monotonic time m on the timeline, use
``m - t0_monotonic``; for an epoch time e, ``e - t0_epoch``.
"""

from __future__ import annotations

import json
from pathlib import Path

from hdrh.histogram import HdrHistogram
from pydantic import BaseModel, ConfigDict

from chaos.load.outcome import Outcome, Result
from chaos.load.windows import (
    ClosedWindow,
    WindowStats,
    new_histogram,
    to_us,
    values_at_percentiles,
)

SUMMARY_FILE = "summary.json"
TIMELINE_FILE = "timeline.jsonl"
RUN_FILE = "run.json"
HLOG_FILE = "latency.hlog"
HLOG_ALL_FILE = "latency-all.hlog"


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Percentiles(_Model):
    """Milliseconds."""

    p50: float | None
    p90: float | None
    p99: float | None
    p999: float | None
    max: float | None


class SendLag(_Model):
    """Milliseconds the sends were late against the schedule."""

    p50: float | None
    p99: float | None
    max: float | None


class RequestCounts(_Model):
    total: int
    ok: int
    dropped: int
    errors: dict[str, int]
    generator_errors: int


class TargetSummary(_Model):
    requests: RequestCounts
    latency_ms: Percentiles
    latency_all_ms: Percentiles
    achieved_rate: float
    send_lag_ms: SendLag


class TimelineEntry(_Model):
    """One window of one target. ``t``: window start, seconds after t0; ``p99_ms`` and
    ``p50_ms`` over successes (``None`` without any), ``p99_all_ms`` over all requests."""

    t: float
    target: str
    total: int
    ok: int
    errors: dict[str, int]
    p50_ms: float | None
    p99_ms: float | None
    p99_all_ms: float | None
    send_lag_max_ms: float


class RunInfo(_Model):
    """Written to ``run.json`` when the run starts."""

    targets: list[str]
    rate: float
    duration_s: float | None
    timeout_s: float
    connection: str
    engine: str
    in_flight_cap: int
    window_s: float
    t0_epoch: float
    t0_monotonic: float
    loop: str = "asyncio"  # the event loop that ran the generator: "uvloop" or "asyncio"


class LoadTotals(_Model):
    """The summary without its timeline: what ``result.json`` keeps of the load (``load``);
    the timeline stays in the load dir."""

    run: RunInfo
    duration_s: float
    requests: RequestCounts
    latency_ms: Percentiles
    latency_all_ms: Percentiles
    achieved_rate: float
    send_lag_ms: SendLag
    generator_limited: bool
    targets: dict[str, TargetSummary]


class LoadSummary(LoadTotals):
    """``summary.json``."""

    timeline: list[TimelineEntry]

    def totals(self) -> LoadTotals:
        return LoadTotals.model_validate(self.model_dump(exclude={"timeline"}))


def _ms(us: int) -> float:
    return round(us / 1000.0, 3)


def percentiles(hist: HdrHistogram) -> Percentiles:
    if hist.get_total_count() == 0:
        return Percentiles(p50=None, p90=None, p99=None, p999=None, max=None)
    got = hist.get_percentile_to_value_dict([50.0, 90.0, 99.0, 99.9])
    return Percentiles(
        p50=_ms(got[50.0]),
        p90=_ms(got[90.0]),
        p99=_ms(got[99.0]),
        p999=_ms(got[99.9]),
        max=_ms(hist.get_max_value()),
    )


def timeline_entry(window: ClosedWindow, target: str, stats: WindowStats) -> TimelineEntry:
    has_ok = stats.hist_ok.get_total_count() > 0
    has_any = stats.hist_all.get_total_count() > 0
    p50_ok, p99_ok = values_at_percentiles(stats.hist_ok, (50.0, 99.0))
    (p99_all,) = values_at_percentiles(stats.hist_all, (99.0,))
    return TimelineEntry(
        t=window.start,
        target=target,
        total=stats.total,
        ok=stats.counts.get(Outcome.OK, 0),
        errors={k.value: n for k, n in sorted(stats.counts.items()) if k is not Outcome.OK},
        p50_ms=_ms(p50_ok) if has_ok else None,
        p99_ms=_ms(p99_ok) if has_ok else None,
        p99_all_ms=_ms(p99_all) if has_any else None,
        send_lag_max_ms=round(stats.send_lag_max * 1000.0, 3),
    )


class _Tally:
    """Cumulative counts and histograms for one target (or all)."""

    def __init__(self) -> None:
        self.counts: dict[Outcome, int] = {}
        self.ok = new_histogram()
        self.all = new_histogram()
        self.lag = new_histogram()

    def add_window(self, stats: WindowStats) -> None:
        for kind, n in stats.counts.items():
            self.counts[kind] = self.counts.get(kind, 0) + n
        self.ok.add(stats.hist_ok)
        self.all.add(stats.hist_all)

    def add_lag(self, result: Result) -> None:
        lag = result.send_lag
        if lag is not None:
            self.lag.record_value(to_us(lag))

    def requests(self) -> RequestCounts:
        total = sum(self.counts.values())
        errors = {k.value: n for k, n in sorted(self.counts.items()) if k is not Outcome.OK}
        return RequestCounts(
            total=total,
            ok=self.counts.get(Outcome.OK, 0),
            dropped=self.counts.get(Outcome.DROPPED, 0),
            errors=errors,
            generator_errors=sum(n for k, n in self.counts.items() if k.is_generator_fault),
        )

    def send_lag(self) -> SendLag:
        if self.lag.get_total_count() == 0:
            return SendLag(p50=None, p99=None, max=None)
        got = self.lag.get_percentile_to_value_dict([50.0, 99.0])
        return SendLag(p50=_ms(got[50.0]), p99=_ms(got[99.0]), max=_ms(self.lag.get_max_value()))

    def sent(self) -> int:
        return sum(n for k, n in self.counts.items() if k is not Outcome.DROPPED)


class SummaryBuilder:
    """Folds closed windows and per-request send lags into a :class:`LoadSummary`."""

    def __init__(self, run: RunInfo) -> None:
        self.run = run
        self.total = _Tally()
        self.per_target = [_Tally() for _ in run.targets]
        self.timeline: list[TimelineEntry] = []

    def add_result(self, result: Result) -> None:
        self.total.add_lag(result)
        self.per_target[result.target].add_lag(result)

    def add_window(self, window: ClosedWindow) -> list[TimelineEntry]:
        entries = []
        for k, stats in enumerate(window.stats):
            self.total.add_window(stats)
            self.per_target[k].add_window(stats)
            entries.append(timeline_entry(window, self.run.targets[k], stats))
        self.timeline.extend(entries)
        return entries

    def build(self, duration: float) -> LoadSummary:
        span = max(duration, 1e-9)
        requests = self.total.requests()
        lag = self.total.send_lag()
        # The generator could not keep its schedule: dropped sends, or sends late by > 10 ms.
        limited = requests.generator_errors > 0 or (lag.p99 is not None and lag.p99 > 10.0)
        return LoadSummary(
            run=self.run,
            duration_s=round(duration, 6),
            requests=requests,
            latency_ms=percentiles(self.total.ok),
            latency_all_ms=percentiles(self.total.all),
            achieved_rate=round(self.total.sent() / span, 3),
            send_lag_ms=lag,
            generator_limited=limited,
            targets={
                url: TargetSummary(
                    requests=t.requests(),
                    latency_ms=percentiles(t.ok),
                    latency_all_ms=percentiles(t.all),
                    achieved_rate=round(t.sent() / span, 3),
                    send_lag_ms=t.send_lag(),
                )
                for url, t in zip(self.run.targets, self.per_target, strict=True)
            },
            timeline=self.timeline,
        )


def load_summary(out_dir: Path) -> LoadSummary:
    """Read ``summary.json`` written by a finished run."""
    return LoadSummary.model_validate_json((out_dir / SUMMARY_FILE).read_text(encoding="utf-8"))


def load_run_info(out_dir: Path) -> RunInfo:
    return RunInfo.model_validate_json((out_dir / RUN_FILE).read_text(encoding="utf-8"))


def load_timeline(out_dir: Path) -> list[TimelineEntry]:
    """Read ``timeline.jsonl``; works for a run still going or one that crashed (a torn
    last line is skipped)."""
    entries: list[TimelineEntry] = []
    path = out_dir / TIMELINE_FILE
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        try:
            json.loads(line)
        except json.JSONDecodeError:
            continue  # torn write at a crash
        entries.append(TimelineEntry.model_validate_json(line))
    return entries
