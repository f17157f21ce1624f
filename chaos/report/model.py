"""The plain data a report page is made of: charts (series, shaded windows, event markers),
headline numbers and table rows. Everything here is JSON-ready (``to_json``) and knows nothing
about HTML; the templates and ``report.js`` turn it into a page.

Times are seconds on the chart's x axis (after the load's t0 on a run page, after the first
fault on a comparison page); latencies are milliseconds.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

ChartKind = Literal["time", "percentile"]
BandKind = Literal["phase", "power", "api"]
MarkerKind = Literal["leader", "node", "tasks", "update", "api", "step", "guard"]
Tone = Literal["good", "bad", "warn", "neutral"]


@dataclass(frozen=True, slots=True)
class Series:
    """One line: ``values`` share the chart's x array; ``None`` is a gap (no data)."""

    label: str
    values: list[float | None]
    color: str
    dash: bool = False
    width: float = 1.5


@dataclass(frozen=True, slots=True)
class Band:
    """A shaded window ``[start, end)`` on the x axis (seconds). ``kind``: ``phase`` the fault
    phase, ``power`` a node powered off/suspended until healed, ``api`` the manager API
    failing (drawn as a strip at the top). ``color`` overrides the kind's colour."""

    start: float
    end: float
    label: str
    kind: BandKind
    color: str | None = None


@dataclass(frozen=True, slots=True)
class Marker:
    """A control-plane event at ``t`` seconds: a vertical line with ``label`` on hover."""

    t: float
    label: str
    kind: MarkerKind


@dataclass(frozen=True, slots=True)
class Chart:
    """One chart. ``kind`` ``time``: x in seconds; ``percentile``: x = 1/(1-p) (log scale,
    the HdrHistogram plotter's axis). ``y_log``: logarithmic y axis."""

    id: str
    title: str
    kind: ChartKind
    x: list[float]
    series: list[Series]
    y_label: str
    y_log: bool = False
    note: str = ""
    bands: list[Band] = field(default_factory=list)
    markers: list[Marker] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class Headline:
    """One headline number: ``value`` already formatted, ``definition`` for the hover text
    and the footnote (``docs/metrics.md``), ``tone`` colours it."""

    key: str
    label: str
    value: str
    definition: str
    sub: str = ""
    tone: Tone = "neutral"


@dataclass(frozen=True, slots=True)
class Row:
    """A table row of already formatted cells; ``tone`` colours the row's status cell."""

    cells: list[str]
    tone: Tone = "neutral"
