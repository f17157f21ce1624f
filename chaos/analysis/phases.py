"""Per-phase statistics of a load run: counts, error rate and success latency, overall and per
node (per target URL).

A phase is a :class:`PhaseSpan` on the load's t axis (seconds after t0), half-open
``[start, end)``; a 100 ms window belongs to the phase holding its start. Latency percentiles
are in milliseconds over successes, from the exact merge of the phase's HdrHistograms.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from chaos.analysis.loaddir import Frozen, LoadData, Requests, count
from chaos.load.summary import Percentiles, percentiles


@dataclass(frozen=True, slots=True)
class PhaseSpan:
    """A named phase: ``start`` and ``end`` in seconds after the load's t0, ``end`` exclusive."""

    name: str
    start: float
    end: float


class NodeStats(Frozen):
    """One target of one phase: ``node`` is the node name (the URL when unmapped)."""

    node: str
    target: str
    requests: Requests
    latency_ms: Percentiles


class PhaseStats(Frozen):
    """One phase: ``start``/``end`` in seconds after t0; ``latency_ms`` over all targets'
    successes; ``nodes`` per target, in the run's target order."""

    name: str
    start: float
    end: float
    requests: Requests
    latency_ms: Percentiles
    nodes: list[NodeStats]


def node_name(url: str, targets: Mapping[str, str]) -> str:
    return targets.get(url, url)


def phase_stats(
    data: LoadData, spans: Sequence[PhaseSpan], targets: Mapping[str, str]
) -> list[PhaseStats]:
    """Statistics of every phase in ``spans``; ``targets`` maps URL -> node name."""
    urls = data.run.targets
    out = []
    for span in spans:
        window = [(span.start, span.end)]
        nodes = [
            NodeStats(
                node=node_name(url, targets),
                target=url,
                requests=count(data.entries(window, [url])),
                latency_ms=percentiles(data.histogram(window, [url])),
            )
            for url in urls
        ]
        out.append(
            PhaseStats(
                name=span.name,
                start=span.start,
                end=span.end,
                requests=count(data.entries(window, urls)),
                latency_ms=percentiles(data.histogram(window, urls)),
                nodes=nodes,
            )
        )
    return out
