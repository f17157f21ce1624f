"""What a timeline chart shades and marks, from the run's events and phases.

Fault windows (seconds after t0):

- the ``fault`` phase, from its start (the first fault step's start) to the start of
  ``observe``: every step of the schedule runs inside it;
- each **node fault** (a fault kind of :mod:`chaos.faults` marked ``shade``: today ``halt``,
  ``suspend``, ``stop_engine``, ``isolate``, ``stress``, ``degrade``), from its ``step_start``
  to the ``step_end`` of the first later step that heals it on one of the same nodes (its own
  ``step_end`` when it healed itself after a ``duration``); to the end of the data when
  nothing healed it;
- each **manager API outage**: an ``api_error`` to the next ``api_ok`` (to the end when none),
  the intervals summed by ``api_unavailable_s``; drawn as a strip along the top.

Markers: leader changes, node status changes to or from ``down`` (and every power change),
task moves (a ``tasks`` event whose placement differs from the previous one), update state
changes, and the first ``api_error`` of each outage.
"""

from __future__ import annotations

from collections.abc import Sequence

from chaos import faults
from chaos.analysis.phases import PhaseStats
from chaos.report.model import Band, Marker
from chaos.timeline import Event

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
    return next((e.t for e in events if e.kind == "step_start"), None)


def _nodes(ev: Event) -> set[str]:
    return {str(n) for n in ev.data.get("nodes") or []}


def power_windows(events: Sequence[Event], end: float) -> list[Band]:
    """Each power fault from its step start to the end of the step that healed it."""
    starts: dict[int, Event] = {}
    ends: list[tuple[Event, Event]] = []  # (step_start, step_end) in order
    for e in events:
        index = e.data.get("index")
        if not isinstance(index, int):
            continue
        if e.kind == "step_start":
            starts[index] = e
        elif e.kind == "step_end" and index in starts:
            ends.append((starts[index], e))
    bands = []
    for i, (start, done) in enumerate(ends):
        action = str(done.data.get("action", ""))
        if action not in POWER_FAULTS:
            continue
        nodes = _nodes(done)
        heal = (
            done
            if done.data.get("healed")
            else next(  # it healed itself (a duration)
                (
                    d
                    for _s, d in ends[i + 1 :]
                    if d.data.get("action") in POWER_HEALS and _nodes(d) & nodes
                ),
                None,
            )
        )
        who = ", ".join(sorted(nodes)) or "?"
        verb = VERBS[action]
        bands.append(
            Band(
                start=start.t,
                end=heal.t if heal is not None else end,
                label=f"{who} {verb}" + ("" if heal is not None else " (not healed)"),
                kind="power",
            )
        )
    return bands


def api_outages(events: Sequence[Event], end: float) -> list[Band]:
    """Each ``api_error`` -> next ``api_ok`` interval (open ones end at ``end``)."""
    bands: list[Band] = []
    since: Event | None = None
    for e in events:
        if e.kind == "api_error" and since is None:
            since = e
        elif e.kind == "api_ok" and since is not None:
            bands.append(Band(since.t, e.t, "manager API failing", "api"))
            since = None
    if since is not None:
        bands.append(Band(since.t, end, "manager API failing (to the end)", "api"))
    return bands


def fault_bands(events: Sequence[Event], phases: Sequence[PhaseStats], end: float) -> list[Band]:
    """Every shaded window of a run page (module docstring), in drawing order."""
    bands = []
    span = fault_phase(phases)
    if span is not None:
        bands.append(Band(span[0], span[1], "fault phase", "phase"))
    return bands + power_windows(events, end) + api_outages(events, end)


def markers(events: Sequence[Event]) -> list[Marker]:
    """The control-plane events worth a line on the timeline (module docstring)."""
    out: list[Marker] = []
    placement: dict[str, object] = {}
    in_outage = False
    for e in events:
        d = e.data
        if e.kind == "leader":
            new = d.get("new")
            if d.get("old") is None:
                continue  # the first observation, not a change
            label = f"leader {d.get('old')} -> {new}" if new else "no leader"
            out.append(Marker(e.t, label, "leader"))
        elif e.kind == "node_power" or (
            e.kind == "node_status" and "down" in (d.get("old"), d.get("new"))
        ):
            out.append(Marker(e.t, e.detail or f"{d.get('node')} {d.get('new')}", "node"))
        elif e.kind == "tasks":
            service = str(d.get("service", ""))
            now = d.get("by_node")
            before = placement.get(service)
            placement[service] = now
            if before is not None and now != before:
                out.append(Marker(e.t, f"tasks: {e.detail}", "tasks"))
        elif e.kind == "update_state":
            out.append(Marker(e.t, e.detail or f"update {d.get('new')}", "update"))
        elif e.kind == "api_error" and not in_outage:
            in_outage = True
            out.append(Marker(e.t, f"API unavailable: {d.get('message', e.detail)}", "api"))
        elif e.kind == "api_ok":
            in_outage = False
    return out
