"""The recovery metrics of one run, in one model. Definitions (all seconds after the fault
start, ``None`` = not applicable to this scenario or not observed; full text in
``docs/metrics.md``):

- ``leader_elected_s``: first ``leader`` event naming a node other than the leader before.
- ``node_down_detected_s``: first ``node_status`` -> down of a faulted node.
- ``tasks_rescheduled_s``: first ``tasks`` event with running == desired and none running on a
  faulted node (``None`` when no task was on a faulted node at fault time).
- ``service_converged_s``: update/rollback: update start -> completed/rollback_completed;
  else the ``tasks`` event from which running == desired held to the end.
- ``api_unavailable_s``: total time between each ``api_error`` and the next ``api_ok``
  (whole run, clipped at its end); ``api_first_error`` its first message.
- ``client_recovered_s`` / ``outage_s``: live node IPs back to baseline for a sustained window
  (:mod:`chaos.analysis.client`).
- ``dead_ip_errors`` / ``live_ip_errors``: server-side failed requests from the fault start to
  the end on the faulted / other nodes' IPs (the whole run without a fault).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

from chaos.analysis import client
from chaos.analysis import events as ev
from chaos.analysis.client import ClientStatus
from chaos.analysis.loaddir import Frozen, LoadData, count
from chaos.analysis.phases import PhaseSpan, node_name
from chaos.timeline import Event

BASELINE_PHASE = "baseline"


class Recovery(Frozen):
    """See the module docstring; every key is present, ``null`` when n/a. ``client_status``:
    recovered / not_recovered / not_applicable. ``baseline_error_rate`` (fraction) and
    ``baseline_p99_ms`` are the reference the client buckets were judged against;
    ``good_max_error_rate`` and ``good_max_p99_ms`` the resulting limits of a good bucket."""

    leader_elected_s: float | None
    node_down_detected_s: float | None
    tasks_rescheduled_s: float | None
    service_converged_s: float | None
    api_unavailable_s: float | None
    api_first_error: str | None
    client_recovered_s: float | None
    client_status: ClientStatus
    outage_s: float | None
    dead_ip_errors: int
    live_ip_errors: int
    baseline_error_rate: float | None
    baseline_p99_ms: float | None
    good_max_error_rate: float | None
    good_max_p99_ms: float | None
    bucket_s: float = client.BUCKET_S
    sustain_buckets: int = client.SUSTAIN_BUCKETS
    notes: list[str]


def failed_by_node(
    data: LoadData, targets: Mapping[str, str], since: float | None
) -> dict[str, int]:
    """Server-side failed requests per node (every target), from ``since`` (the whole run
    when ``None``) to the end."""
    span = [(float("-inf") if since is None else since, float("inf"))]
    out: dict[str, int] = {}
    for url in data.run.targets:
        node = node_name(url, targets)
        out[node] = out.get(node, 0) + count(data.entries(span, [url])).error_count
    return out


def compute_recovery(
    data: LoadData,
    *,
    events: Sequence[Event],
    phases: Sequence[PhaseSpan],
    targets: Mapping[str, str],
    faulted_nodes: Collection[str],
    fault_start: float | None,
    update_start: float | None,
    leader_before: str | None,
    service: str,
) -> Recovery:
    urls = data.run.targets
    live = [u for u in urls if node_name(u, targets) not in faulted_nodes]
    dead = [u for u in urls if u not in live]
    base = next(((p.start, p.end) for p in phases if p.name == BASELINE_PHASE), None)
    cr, baseline = client.client_recovery(data, live, fault_start, base)
    span = [(float("-inf") if fault_start is None else fault_start, float("inf"))]
    end = max([data.end, *(p.end for p in phases)])
    conv = ev.service_converged(events, fault_start, update_start, service)
    api = ev.api_unavailable(events, end)
    notes = [f"client recovery: {cr.note}"] if cr.note else []
    if conv.seconds is None and conv.note:
        notes.append(f"service convergence: {conv.note}")
    return Recovery(
        leader_elected_s=ev.leader_elected_s(events, fault_start, leader_before),
        node_down_detected_s=ev.node_down_detected_s(events, fault_start, faulted_nodes),
        tasks_rescheduled_s=ev.tasks_rescheduled_s(events, fault_start, faulted_nodes, service),
        service_converged_s=conv.seconds,
        api_unavailable_s=api.seconds,
        api_first_error=api.first_error,
        client_recovered_s=cr.recovered_s,
        client_status=cr.status,
        outage_s=cr.outage_s,
        dead_ip_errors=count(data.entries(span, dead)).error_count,
        live_ip_errors=count(data.entries(span, live)).error_count,
        baseline_error_rate=None if baseline is None else baseline.error_rate,
        baseline_p99_ms=None if baseline is None else baseline.p99_ms,
        good_max_error_rate=None if baseline is None else baseline.max_error_rate,
        good_max_p99_ms=None if baseline is None else baseline.max_p99_ms,
        notes=notes,
    )
