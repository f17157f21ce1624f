"""The events of a run: one frozen record per kind, typed fields instead of a free dict.

In memory an event is flat (``e.t``, ``e.detail``, ``e.new``...). On disk (``events.jsonl``,
``result.json``'s ``events``) it keeps the shape every saved run has::

    {"t": 12.5, "kind": "leader", "detail": "leader node-001 -> node-002",
     "data": {"old": "node-001", "new": "node-002"}}

``t``: seconds after the load's t0 (stamped by :meth:`chaos.timeline.EventLog.emit`);
``detail``: the one line a person reads. Kinds, and what ``data`` holds:

- ``phase`` (:class:`PhaseStart`): a phase starts [name, at: its start on the load's window
  grid; absent in runs saved before it was recorded]
- ``step_start`` / ``step_end`` (:class:`StepStart`, :class:`StepEnd`): a fault step
  [index, action; at the end: nodes it acted on, ok, error, healed: a fault with a
  ``duration`` healed itself within the step]
- ``leader`` (:class:`LeaderChange`): [old, new]; ``new`` is null while no manager reports
  one, ``old`` is null at the first observation
- ``node_status`` / ``node_availability`` / ``node_reachability`` / ``node_role`` /
  ``node_power``: one node's field changed [node, old, new] (ready/down/unknown/disconnected;
  active/pause/drain; reachable/unreachable, managers only; manager/worker; the platform's
  running/halted/suspended)
- ``tasks`` (:class:`TasksChange`): the service's task picture changed [service, running,
  desired, by_node, images]
- ``task`` (:class:`TaskChange`): one task changed state [service, slot, task, node, old,
  new, error]
- ``update_state`` (:class:`UpdateStateChange`): the service's UpdateStatus [service, old,
  new, message]
- ``api_error`` / ``api_ok`` (:class:`ApiError`, :class:`ApiOk`): a manager call failed
  [node, message]; calls succeed again [node]
- ``guard_tripped`` (:class:`GuardTripped`): the live guard stopped the run [data_end: the
  end of the last window it judged, error_rate, p99_ms and span_s: what it judged]
- ``restore_start`` (:class:`RestoreStart`): the clean-up begins
- ``restore`` (:class:`RestoreDone`): the clean-up after the run [errors]
- ``restore_step`` (:class:`RestoreStep`): one thing the restore did (in ``detail``)

A saved event of a kind this version does not know, or whose data does not fit its kind,
reads as an :class:`UnknownEvent` with its free ``data``: an old or foreign file still loads
and renders, and the metrics pass over what they cannot read.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    TypeAdapter,
    model_serializer,
    model_validator,
)

ENVELOPE = ("t", "kind", "detail")


class Event(BaseModel):
    """What every event has; ``t`` is 0 until the log stamps it."""

    model_config = ConfigDict(frozen=True)

    t: float = 0.0
    kind: str
    detail: str = ""


class _Typed(Event):
    """An event of a known kind: its data are fields, nested under ``data`` on disk."""

    @model_validator(mode="before")
    @classmethod
    def _from_record(cls, value: Any) -> Any:
        if isinstance(value, dict) and isinstance(value.get("data"), dict):
            head = {k: v for k, v in value.items() if k != "data"}
            return {**value["data"], **head}
        return value

    @model_serializer(mode="wrap")
    def _to_record(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        flat: dict[str, Any] = handler(self)
        head = {k: flat.pop(k) for k in ENVELOPE}
        # an optional field nobody gave stays out of ``data``, as the writers always did (a
        # failed step names no nodes, a run saved before ``at`` has none): saved runs read
        # back and written again are the same records
        given = self.model_fields_set
        data = {
            k: v for k, v in flat.items() if k in given or type(self).model_fields[k].is_required()
        }
        return {**head, "data": data}


class PhaseStart(_Typed):
    kind: Literal["phase"] = "phase"
    name: str
    at: float | None = None


class StepStart(_Typed):
    kind: Literal["step_start"] = "step_start"
    index: int
    action: str


class StepEnd(_Typed):
    """``nodes``: what the step acted on (empty when it failed); ``error``: why it failed;
    ``healed``: its fault was undone before the step ended (absent in older runs)."""

    kind: Literal["step_end"] = "step_end"
    index: int
    action: str
    nodes: tuple[str, ...] = ()
    ok: bool
    healed: bool = False
    error: str = ""


class LeaderChange(_Typed):
    kind: Literal["leader"] = "leader"
    old: str | None
    new: str | None


class _NodeChange(_Typed):
    node: str
    old: str
    new: str


class NodeStatusChange(_NodeChange):
    kind: Literal["node_status"] = "node_status"


class NodeAvailabilityChange(_NodeChange):
    kind: Literal["node_availability"] = "node_availability"


class NodeReachabilityChange(_NodeChange):
    kind: Literal["node_reachability"] = "node_reachability"


class NodeRoleChange(_NodeChange):
    kind: Literal["node_role"] = "node_role"


class NodePowerChange(_NodeChange):
    kind: Literal["node_power"] = "node_power"


class TasksChange(_Typed):
    """``by_node``: node -> running tasks; ``images``: image -> running tasks."""

    kind: Literal["tasks"] = "tasks"
    service: str
    running: int
    desired: int
    by_node: dict[str, int]
    images: dict[str, int]


class TaskChange(_Typed):
    """``old`` is null for a task seen for the first time."""

    kind: Literal["task"] = "task"
    service: str
    slot: int
    task: str
    node: str
    old: str | None
    new: str
    error: str


class UpdateStateChange(_Typed):
    """``old``/``new`` are ``""`` for a service that never had an update."""

    kind: Literal["update_state"] = "update_state"
    service: str
    old: str
    new: str
    message: str


class ApiError(_Typed):
    """``node``: the manager asked (``""`` when the observer itself failed)."""

    kind: Literal["api_error"] = "api_error"
    node: str
    message: str


class ApiOk(_Typed):
    kind: Literal["api_ok"] = "api_ok"
    node: str


class GuardTripped(_Typed):
    """``data_end``: seconds after t0; ``error_rate`` a fraction and ``p99_ms`` over the
    guard's last ``span_s`` seconds (``None`` without a request or a success)."""

    kind: Literal["guard_tripped"] = "guard_tripped"
    data_end: float
    error_rate: float | None
    p99_ms: float | None
    span_s: float


class RestoreStart(_Typed):
    kind: Literal["restore_start"] = "restore_start"


class RestoreDone(_Typed):
    kind: Literal["restore"] = "restore"
    errors: tuple[str, ...]


class RestoreStep(_Typed):
    kind: Literal["restore_step"] = "restore_step"


class UnknownEvent(Event):
    """A saved event this version cannot type (module docstring): kept as it was."""

    data: dict[str, Any] = Field(default_factory=dict)


KnownEvent = Annotated[
    PhaseStart
    | StepStart
    | StepEnd
    | LeaderChange
    | NodeStatusChange
    | NodeAvailabilityChange
    | NodeReachabilityChange
    | NodeRoleChange
    | NodePowerChange
    | TasksChange
    | TaskChange
    | UpdateStateChange
    | ApiError
    | ApiOk
    | GuardTripped
    | RestoreStart
    | RestoreDone
    | RestoreStep,
    Field(discriminator="kind"),
]
# the control plane as it changes: what the observer, the power reader and the restore emit
# (a live view shows phases and steps apart)
CONTROL_PLANE = (
    LeaderChange, NodeStatusChange, NodeAvailabilityChange, NodeReachabilityChange,
    NodeRoleChange, NodePowerChange, TasksChange, TaskChange, UpdateStateChange, ApiError,
    ApiOk, RestoreStep,
)  # fmt: skip
# the typed reading first; what it refuses (another kind, data of another shape) stays unknown
AnyEvent = Annotated[KnownEvent | UnknownEvent, Field(union_mode="left_to_right")]
_ANY: TypeAdapter[KnownEvent | UnknownEvent] = TypeAdapter(AnyEvent)


def parse_event(record: object) -> KnownEvent | UnknownEvent:
    """One saved event (a dict of the on-disk shape); ValueError when it is not even an
    event (no ``t`` or ``kind``)."""
    return _ANY.validate_python(record)
