"""What a timeline chart shades and marks, from the run's events and phases.

Fault windows (seconds after t0):

- the ``fault`` phase, from its start (the first fault step's start) to the start of
  ``observe``: every step of the schedule runs inside it;
- each **node fault** (a fault kind of :mod:`chaos.faults` marked ``shade``: today ``halt``,
  ``suspend``, ``stop_engine``, ``isolate``, ``stress``, ``degrade``), from its ``step_start``
  to the ``step_end`` of the first later step that heals it on one of the same nodes (its own
  ``step_end`` when it healed itself after a ``duration``); to the end of the data when
  nothing healed it;
- each **manager API outage** (:func:`chaos.analysis.events.api_outages`, the intervals
  ``api_unavailable_s`` sums): an ``api_error`` to the next ``api_ok`` (to the end when
  none); drawn as a strip along the top.

Markers: leader changes, node status changes to or from ``down`` (and every power change),
task moves (a ``tasks`` event whose placement differs from the previous one), update state
changes, the first ``api_error`` of each outage, and the guard's trip.
"""

from __future__ import annotations

from collections.abc import Sequence

from chaos import faults
from chaos.analysis.events import Outage
from chaos.analysis.phases import PhaseStats
from chaos.report.model import Band, Marker
from chaos.timeline import (
    Event,
    GuardTripped,
    LeaderChange,
    NodePowerChange,
    NodeStatusChange,
    StepEnd,
    StepStart,
    TasksChange,
    UpdateStateChange,
)

VERBS = faults.shaded()  # the faults a report shades, from the registry
POWER_FAULTS = frozenset(VERBS)
POWER_HEALS = faults.shaded_heals()
FAULT_PHASE = "fault"


def fault_phase(phases: Sequence[PhaseStats]) -> tuple[float, float] | None:
    """The ``fault`` phase's ``[start, end)`` in seconds, ``None`` without one."""
    for p in phases:
        if p.name == FAULT_PHASE:
            return (p.start, p.end)
    return None


def first_fault(events: Sequence[Event], phases: Sequence[PhaseStats]) -> float | None:
    """The first fault step's start (seconds): the fault phase start, else the first
    ``step_start``; ``None`` for a run without fault steps."""
    span = fault_phase(phases)
    if span is not None:
        return span[0]
    return next((e.t for e in events if isinstance(e, StepStart)), None)


def power_windows(events: Sequence[Event], end: float) -> list[Band]:
    """Each power fault from its step start to the end of the step that healed it."""
    starts: dict[int, StepStart] = {}
    ends: list[tuple[StepStart, StepEnd]] = []  # (step_start, step_end) in order
    for e in events:
        if isinstance(e, StepStart):
            starts[e.index] = e
        elif isinstance(e, StepEnd) and e.index in starts:
            ends.append((starts[e.index], e))
    bands = []
    for i, (start, done) in enumerate(ends):
        if done.action not in POWER_FAULTS:
            continue
        nodes = set(done.nodes)
        heal = (
            done  # it healed itself (a duration)
            if done.healed
            else next(
                (d for _s, d in ends[i + 1 :] if d.action in POWER_HEALS and nodes & set(d.nodes)),
                None,
            )
        )
        who = ", ".join(sorted(nodes)) or "?"
        verb = VERBS[done.action]
        bands.append(
            Band(
                start=start.t,
                end=heal.t if heal is not None else end,
                label=f"{who} {verb}" + ("" if heal is not None else " (not healed)"),
                kind="power",
            )
        )
    return bands


def outage_bands(outages: Sequence[Outage]) -> list[Band]:
    """Each manager API outage as a band."""
    return [
        Band(o.start, o.end, "manager API failing" + (" (to the end)" if o.open else ""), "api")
        for o in outages
    ]


def fault_bands(
    events: Sequence[Event],
    phases: Sequence[PhaseStats],
    outages: Sequence[Outage],
    end: float,
) -> list[Band]:
    """Every shaded window of a run page (module docstring), in drawing order; ``outages``
    from :func:`chaos.analysis.events.api_outages`, ``end`` the end of the data (seconds)."""
    bands = []
    span = fault_phase(phases)
    if span is not None:
        bands.append(Band(span[0], span[1], "fault phase", "phase"))
    return bands + power_windows(events, end) + outage_bands(outages)


def markers(events: Sequence[Event], outages: Sequence[Outage]) -> list[Marker]:
    """The control-plane events worth a line on the timeline (module docstring), in time
    order; an outage is marked at its first ``api_error``."""
    out = [Marker(o.start, f"API unavailable: {o.first_error}", "api") for o in outages]
    placement: dict[str, dict[str, int]] = {}
    for e in events:
        if isinstance(e, LeaderChange):
            if e.old is None:
                continue  # the first observation, not a change
            label = f"leader {e.old} -> {e.new}" if e.new else "no leader"
            out.append(Marker(e.t, label, "leader"))
        elif isinstance(e, NodePowerChange) or (
            isinstance(e, NodeStatusChange) and "down" in (e.old, e.new)
        ):
            out.append(Marker(e.t, e.detail or f"{e.node} {e.new}", "node"))
        elif isinstance(e, TasksChange):
            before = placement.get(e.service)
            placement[e.service] = e.by_node
            if before is not None and e.by_node != before:
                out.append(Marker(e.t, f"tasks: {e.detail}", "tasks"))
        elif isinstance(e, UpdateStateChange):
            out.append(Marker(e.t, e.detail or f"update {e.new}", "update"))
        elif isinstance(e, GuardTripped):
            out.append(Marker(e.t, f"guard tripped: {e.detail}", "guard"))
    return sorted(out, key=lambda m: m.t)
