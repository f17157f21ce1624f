"""Client-side recovery: when the live node IPs serve like the baseline again.

The live targets (those whose node was not faulted) are merged and cut into buckets of
``BUCKET_S`` seconds aligned on the fault start: bucket k holds the 100 ms windows whose start
lies in ``[fault + k*BUCKET_S, fault + (k+1)*BUCKET_S)``. Only whole buckets (ending at or
before the end of the last window) are judged.

A bucket is **good** when both hold:

- its error rate (server errors / sent) <= ``max(ERROR_RATIO * baseline error rate,
  ERROR_FLOOR)``, and
- its success p99 <= ``max(P99_RATIO * baseline p99, baseline p99 + P99_SLACK_MS)`` plus the
  bucket's worst send lag (checked only when the bucket had a success).

The send lag is the generator's own: latency counts from the intended send time, so when the
generator's host stalls (it shares the CPU with whatever it measures, on the lab with the node
being booted) every latency in that window carries the stall. The stall is measured, so it is
taken off rather than blamed on the cluster; a cluster's own slowness (a SYN retransmit, a
timeout) shows with no send lag and stays bad. A generator late for most of a run is
``generator_limited`` and its verdict unknown anyway.

A bucket with nothing sent is bad (no evidence of service).

Otherwise it is **bad**. The baseline is the ``baseline`` phase over the same live targets,
whole windows only (a window ending after the baseline's end or the fault start is left out,
so a fault biting within the last window cannot raise the reference).

- ``client_recovered_s``: 0 when no judged bucket is bad; else the start of the bucket after
  the last bad one, minus the fault start, provided at least ``SUSTAIN_BUCKETS`` good buckets
  follow it before the data ends; else ``None`` with status ``not_recovered``.
- ``outage_s``: end of the last bad bucket minus start of the first bad bucket (0 when none).

Resolution is one bucket (1 s). Without a fault, live targets or a usable baseline, both are
``None`` with status ``not_applicable``.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Literal

from chaos.analysis.loaddir import EPS_S, GENERATOR_KINDS, LoadData
from chaos.load.sink import hlog_tag
from chaos.load.windows import new_histogram

BUCKET_S = 1.0  # bucket width, seconds
SUSTAIN_BUCKETS = 5  # good buckets in a row that count as recovered
ERROR_RATIO = 2.0  # a good bucket's error rate is at most this x the baseline's ...
ERROR_FLOOR = 0.001  # ... or this fraction (0.1 %), whichever is larger
P99_RATIO = 2.0  # a good bucket's success p99 is at most this x the baseline p99 ...
# ... or the baseline p99 plus this many milliseconds, whichever is larger. Generous on purpose:
# at 100 req/s a bucket's p99 is its 2nd-worst request, and the latency of a real outage is a
# timeout or a SYN retransmit (>= 1 s). The servers' host can stall without the generator
# being late: on the lab (every node's tasks and the generator on two cores) a run with not
# one error had every target, the isolated victim's own task included, answer 40-50 ms late
# (p99 105 ms) for 200 ms while the generator's send lag was 18 ms. 50 ms marked that bucket
# bad and, 65 s into the fault, failed the run's recovery; 200 ms is still a fifth of a
# retransmit.
P99_SLACK_MS = 200.0

ClientStatus = Literal["recovered", "not_recovered", "not_applicable"]


@dataclass(frozen=True, slots=True)
class Baseline:
    """The reference: ``error_rate`` a fraction, ``p99_ms`` success p99 in milliseconds."""

    error_rate: float
    p99_ms: float

    @property
    def max_error_rate(self) -> float:
        return max(ERROR_RATIO * self.error_rate, ERROR_FLOOR)

    @property
    def max_p99_ms(self) -> float:
        return max(P99_RATIO * self.p99_ms, self.p99_ms + P99_SLACK_MS)


@dataclass(frozen=True, slots=True)
class Bucket:
    """One bucket of the live targets merged: ``start`` seconds after t0, ``sent`` and
    ``errors`` (server-side) counts, ``p99_ms`` success p99 (``None`` without a success),
    ``lag_ms`` the generator's worst send lag in it."""

    start: float
    sent: int
    errors: int
    p99_ms: float | None
    lag_ms: float = 0.0


def is_good(bucket: Bucket, baseline: Baseline) -> bool:
    """The good/bad rule of the module docstring."""
    if bucket.sent == 0:
        return False
    if bucket.errors / bucket.sent > baseline.max_error_rate + 1e-12:
        return False
    return bucket.p99_ms is None or bucket.p99_ms <= baseline.max_p99_ms + bucket.lag_ms + 1e-9


@dataclass(frozen=True, slots=True)
class ClientRecovery:
    """``recovered_s`` and ``outage_s`` in seconds (see the module docstring); ``note`` says
    why a value is ``None``."""

    status: ClientStatus
    recovered_s: float | None
    outage_s: float | None
    note: str = ""


def judge(buckets: Sequence[Bucket], baseline: Baseline, origin: float) -> ClientRecovery:
    """Apply the rule to buckets (in time order, the first starting at the fault ``origin``)."""
    if not buckets:
        return ClientRecovery("not_recovered", None, None, "no whole bucket after the fault")
    bad = [k for k, b in enumerate(buckets) if not is_good(b, baseline)]
    if not bad:
        return ClientRecovery("recovered", 0.0, 0.0)
    first, last = bad[0], bad[-1]
    outage = round((last - first + 1) * BUCKET_S, 6)
    after = len(buckets) - last - 1
    if after < SUSTAIN_BUCKETS:
        end = buckets[last].start + BUCKET_S - origin
        return ClientRecovery(
            "not_recovered",
            None,
            outage,
            f"not recovered: still bad {end:.1f} s after the fault, then only {after} good "
            f"bucket(s) before the data ended (needs {SUSTAIN_BUCKETS})",
        )
    return ClientRecovery("recovered", round(buckets[last + 1].start - origin, 6), outage)


def make_buckets(data: LoadData, urls: Collection[str], origin: float) -> list[Bucket]:
    """Whole buckets of ``urls`` merged, from ``origin`` (seconds after t0) to the data's end."""
    n = int((data.end - origin) / BUCKET_S + EPS_S) if data.end > origin else 0
    sent = [0] * n
    errors = [0] * n
    lag = [0.0] * n
    hists = [new_histogram() for _ in range(n)]

    def index(t: float) -> int | None:
        if t < origin - EPS_S:
            return None
        k = int((t - origin) / BUCKET_S + EPS_S)
        return k if k < n else None

    for e in data.timeline:
        k = index(e.t)
        if e.target not in urls or k is None:
            continue
        gen = sum(c for kind, c in e.errors.items() if kind in GENERATOR_KINDS)
        sent[k] += e.total - gen
        errors[k] += sum(e.errors.values()) - gen
        lag[k] = max(lag[k], e.send_lag_max_ms)
    tags = {hlog_tag(u) for u in urls}
    for iv in data.intervals:
        k = index(iv.start)
        if iv.tag in tags and k is not None:
            hists[k].add(iv.histogram)
    return [
        Bucket(
            start=origin + k * BUCKET_S,
            sent=sent[k],
            errors=errors[k],
            p99_ms=(
                hists[k].get_value_at_percentile(99.0) / 1000.0
                if hists[k].get_total_count()
                else None
            ),
            lag_ms=lag[k],
        )
        for k in range(n)
    ]


def baseline_of(
    data: LoadData, span: tuple[float, float] | None, urls: Collection[str]
) -> Baseline | None:
    """The baseline over ``span`` for ``urls``; ``None`` without a span, sends or successes."""
    if span is None:
        return None
    sent = errors = 0
    for e in data.entries([span], urls):
        gen = sum(c for kind, c in e.errors.items() if kind in GENERATOR_KINDS)
        sent += e.total - gen
        errors += sum(e.errors.values()) - gen
    hist = data.histogram([span], urls)
    if sent == 0 or hist.get_total_count() == 0:
        return None
    return Baseline(errors / sent, hist.get_value_at_percentile(99.0) / 1000.0)


def client_recovery(
    data: LoadData,
    live_urls: Collection[str],
    fault_start: float | None,
    baseline_span: tuple[float, float] | None,
) -> tuple[ClientRecovery, Baseline | None]:
    """Client recovery of the live targets after ``fault_start`` (see the module docstring)."""
    if fault_start is None:
        return ClientRecovery("not_applicable", None, None, "no fault step in this run"), None
    if not live_urls:
        return ClientRecovery("not_applicable", None, None, "every target was faulted"), None
    if baseline_span is not None:  # whole windows only, none after the fault start
        start, end = baseline_span
        baseline_span = (start, min(end, fault_start) - data.run.window_s)
    baseline = baseline_of(data, baseline_span, live_urls)
    if baseline is None:
        note = "no baseline (no baseline phase, or nothing sent or served in it)"
        return ClientRecovery("not_applicable", None, None, note), None
    return judge(make_buckets(data, live_urls, fault_start), baseline, fault_start), baseline
