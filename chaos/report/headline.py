"""A run's headline: what a script wants from ``chaos run --json`` and what the terminal
summary shows, taken from ``result.json`` alone (plus the run's paths).

The JSON object (one line on stdout) is a stable interface; ``headline_version`` counts its
incompatible changes. Keys::

    headline_version  1
    run               the run directory's name (its id)
    experiment        the experiment's name
    verdict           pass | fail | unknown (| interrupted)
    exit_code         the process's exit code (the runner decides it: not only the verdict)
    reasons           why the verdict is what it is, one sentence each
    checks            [{name, status, value, threshold, message}], units as in result.json
    recovery          {leader_elected_s, client_recovered_s, client_status, api_unavailable_s,
                       service_converged_s, node_down_detected_s, tasks_rescheduled_s,
                       outage_s}: seconds, null when not applicable or not reached
    judged            {sent, failed, error_rate, p99_ms} on the live node IPs during fault +
                      observe (null without those phases)
    failed_by_node    node -> failed requests from the fault start (as in result.json)
    node_ips          node -> its IP (the load's target)
    faulted           the nodes a fault step acted on
    guard             {reason, tripped_s, detect_latency_s, restore_latency_s} when the
                      run's guard stopped it (tripped_s after the fault start; the latencies
                      from the violating window's end to the trip, and from the trip to the
                      restore's start), else null
    api_latency       [{phase, node, calls, timeouts, errors, p50_ms, p99_ms, max_ms}]: the
                      manager API's latency per phase and manager (as in result.json)
    leader_before, leader_after, restored, errors
    paths             {run_dir, result, report, load_dir}: report null when not written
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TypedDict, cast
from urllib.parse import urlsplit

from chaos import faults
from chaos.analysis.api import ApiLatency
from chaos.analysis.result import RunResult
from chaos.timeline import Event, StepEnd

HEADLINE_VERSION = 1
RESULT_FILE = "result.json"
REPORT_FILE = "report.html"


class CheckHead(TypedDict):
    name: str
    status: str
    value: float | None
    threshold: float | None
    message: str


class RecoveryHead(TypedDict):
    leader_elected_s: float | None
    client_recovered_s: float | None
    client_status: str
    api_unavailable_s: float | None
    service_converged_s: float | None
    node_down_detected_s: float | None
    tasks_rescheduled_s: float | None
    outage_s: float | None


class JudgedHead(TypedDict):
    sent: int
    failed: int
    error_rate: float | None
    p99_ms: float | None


class GuardHead(TypedDict):
    reason: str
    tripped_s: float | None
    detect_latency_s: float
    restore_latency_s: float | None


class ApiHead(TypedDict):
    phase: str
    node: str
    calls: int
    timeouts: int
    errors: int
    p50_ms: float | None
    p99_ms: float | None
    max_ms: float | None


class PathsHead(TypedDict):
    run_dir: str
    result: str
    report: str | None
    load_dir: str


class Headline(TypedDict):
    headline_version: int
    run: str
    experiment: str
    verdict: str
    exit_code: int
    reasons: list[str]
    checks: list[CheckHead]
    recovery: RecoveryHead
    judged: JudgedHead | None
    failed_by_node: dict[str, int]
    node_ips: dict[str, str]
    faulted: list[str]
    guard: GuardHead | None
    api_latency: list[ApiHead]
    leader_before: str | None
    leader_after: str | None
    restored: bool
    errors: list[str]
    paths: PathsHead


def node_ips(result: RunResult) -> dict[str, str]:
    """Node -> IP, from the phases' per-node stats (the load's target URLs)."""
    out: dict[str, str] = {}
    for phase in result.phases:
        for node in phase.nodes:
            out.setdefault(node.node, urlsplit(node.target).hostname or node.target)
    return out


def faulted_nodes(events: Iterable[Event]) -> list[str]:
    """The nodes a fault acting on the node itself (its power, engine or network: the
    registry's ``on_node``) was injected on, as the runner counts them."""
    on_node = faults.on_node()
    out: set[str] = set()
    for e in events:
        if isinstance(e, StepEnd) and e.ok and e.action in on_node:
            out.update(e.nodes)
    return sorted(out)


def paths(run_dir: Path, result: RunResult) -> PathsHead:
    report = run_dir / REPORT_FILE
    return PathsHead(
        run_dir=str(run_dir),
        result=str(run_dir / RESULT_FILE),
        report=str(report) if report.is_file() else None,
        load_dir=str(run_dir / result.load_dir),
    )


def guard(result: RunResult) -> GuardHead | None:
    g = result.guard
    if g is None:
        return None
    fault = next((p.start for p in result.phases if p.name == "fault"), None)
    return GuardHead(
        reason=g.reason,
        tripped_s=None if fault is None else round(g.tripped - fault, 3),
        detect_latency_s=g.detect_latency_s,
        restore_latency_s=g.restore_latency_s,
    )


def api_head(a: ApiLatency) -> ApiHead:
    """The same fields as result.json's ``api_latency`` rows (checked by the tests)."""
    return cast(ApiHead, a.model_dump(mode="json"))


def headline(result: RunResult, *, exit_code: int, run_dir: Path) -> Headline:
    r = result.recovery
    judged = None
    if result.judged is not None:
        p99 = result.judged_latency_ms.p99 if result.judged_latency_ms is not None else None
        judged = JudgedHead(
            sent=result.judged.sent,
            failed=result.judged.error_count,
            error_rate=result.judged.error_rate,
            p99_ms=p99,
        )
    return Headline(
        headline_version=HEADLINE_VERSION,
        run=run_dir.name,
        experiment=result.experiment.name,
        verdict=str(result.verdict),
        exit_code=exit_code,
        reasons=list(result.verdict_reasons),
        checks=[
            CheckHead(
                name=c.name,
                status=c.status,
                value=c.value,
                threshold=c.threshold,
                message=c.message,
            )
            for c in result.checks
        ],
        recovery=RecoveryHead(
            leader_elected_s=r.leader_elected_s,
            client_recovered_s=r.client_recovered_s,
            client_status=r.client_status,
            api_unavailable_s=r.api_unavailable_s,
            service_converged_s=r.service_converged_s,
            node_down_detected_s=r.node_down_detected_s,
            tasks_rescheduled_s=r.tasks_rescheduled_s,
            outage_s=r.outage_s,
        ),
        judged=judged,
        failed_by_node=dict(result.failed_by_node),
        node_ips=node_ips(result),
        faulted=faulted_nodes(result.events),
        guard=guard(result),
        api_latency=[api_head(a) for a in result.api_latency],
        leader_before=result.leader_before,
        leader_after=result.leader_after,
        restored=result.restored,
        errors=list(result.errors),
        paths=paths(run_dir, result),
    )
