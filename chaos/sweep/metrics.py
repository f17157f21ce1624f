"""The four numbers a sweep compares, each with its name, how "better" reads, and its format
(the one formatter of sweep numbers: the log, ``sweep.md`` and ``sweep.html`` all ask it).

Every metric is lower-is-better. Values as in ``result.json`` (``docs/metrics.md``):
``failed`` = ``judged.error_count``, ``error_rate`` = ``judged.error_rate`` (a fraction),
``p99_ms`` = ``judged_latency_ms.p99`` (milliseconds), ``update_s`` =
``recovery.service_converged_s`` (seconds).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from chaos.fmt import TEXT_NA, text_ms, text_pct, text_s

MetricKey = Literal["failed", "error_rate", "p99_ms", "update_s"]


@dataclass(frozen=True, slots=True)
class SweepMetric:
    """``name``: what it counts; ``better``: "<setting> <better> than <other>"; ``unit``: the
    axis label of the page."""

    key: MetricKey
    name: str
    better: str
    unit: str
    definition: str


METRICS: tuple[SweepMetric, ...] = (
    SweepMetric(
        "failed", "failed requests", "failed fewer requests", "requests",
        "server-side failed requests on the live node IPs during fault + observe "
        "(judged.error_count)",
    ),
    SweepMetric(
        "error_rate", "error rate", "had a lower error rate", "%",
        "failed / sent, the same requests (judged.error_rate)",
    ),
    SweepMetric(
        "p99_ms", "p99", "had a lower p99", "ms",
        "success latency p99 of the same requests (judged_latency_ms.p99)",
    ),
    SweepMetric(
        "update_s", "update duration", "finished its update sooner", "s",
        "update start -> completed (recovery.service_converged_s)",
    ),
)  # fmt: skip
BY_KEY = {m.key: m for m in METRICS}


def fmt(key: MetricKey, x: float | None) -> str:
    """``23``, ``0.539%``, ``18.7ms``, ``17.3s``; ``-`` for no value (the text forms of
    :mod:`chaos.fmt`)."""
    if x is None:
        return TEXT_NA
    if key == "failed":
        return f"{x:g}"
    if key == "error_rate":
        return text_pct(x)
    if key == "p99_ms":
        return text_ms(x)
    return text_s(x, 1)


def plot_value(key: MetricKey, x: float | None) -> float | None:
    """The value on the page's axis (an error rate in percent, the rest as they are)."""
    if x is None:
        return None
    return x * 100 if key == "error_rate" else x
