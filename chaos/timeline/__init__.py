"""Cluster and fault events on the request timeline.

Every event carries ``t``: seconds after the load generator's t0 (the run's zero), on the
monotonic clock the load is paced on, so requests and events line up exactly. Events are
appended to ``events.jsonl`` as they happen (a crash keeps them). The kinds and their fields:
:mod:`chaos.timeline.events`; the clock and the log: :mod:`chaos.timeline.log`.
"""

from __future__ import annotations

from chaos.timeline.events import (
    CONTROL_PLANE,
    AnyEvent,
    ApiError,
    ApiOk,
    Event,
    GuardTripped,
    KnownEvent,
    LeaderChange,
    NodeAvailabilityChange,
    NodePowerChange,
    NodeReachabilityChange,
    NodeRoleChange,
    NodeStatusChange,
    PhaseStart,
    RestoreDone,
    RestoreStart,
    RestoreStep,
    StepEnd,
    StepStart,
    TaskChange,
    TasksChange,
    UnknownEvent,
    UpdateStateChange,
    parse_event,
)
from chaos.timeline.log import Clock, EventLog, load_events

__all__ = [
    "CONTROL_PLANE",
    "AnyEvent",
    "ApiError",
    "ApiOk",
    "Clock",
    "Event",
    "EventLog",
    "GuardTripped",
    "KnownEvent",
    "LeaderChange",
    "NodeAvailabilityChange",
    "NodePowerChange",
    "NodeReachabilityChange",
    "NodeRoleChange",
    "NodeStatusChange",
    "PhaseStart",
    "RestoreDone",
    "RestoreStart",
    "RestoreStep",
    "StepEnd",
    "StepStart",
    "TaskChange",
    "TasksChange",
    "UnknownEvent",
    "UpdateStateChange",
    "load_events",
    "parse_event",
]
