"""``result.json``: everything one experiment run produced, the record ``chaos report`` and
``chaos gate`` read later without a cluster; and :func:`analyze`, the step that turns a
saved load dir plus the run's events into phases, recovery metrics, checks and a verdict.

Times are seconds on the load's t axis (after its t0) unless a field says otherwise;
latencies are milliseconds (``*_ms``).
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError

from chaos import atomic
from chaos.analysis.api import ApiLatency
from chaos.analysis.checks import Check, CheckInputs, run_checks
from chaos.analysis.events import GuardReport, guard_report
from chaos.analysis.fingerprint import Fingerprint
from chaos.analysis.loaddir import Frozen, Requests, count, read_load_dir, read_summary
from chaos.analysis.phases import PhaseSpan, PhaseStats, node_name, phase_stats
from chaos.analysis.recovery import Recovery, compute_recovery, failed_by_node
from chaos.analysis.steadiness import unsteady_start
from chaos.errors import UsageError
from chaos.experiment.spec import Slo
from chaos.load.summary import LoadTotals, Percentiles, percentiles
from chaos.timeline import AnyEvent, Event, KnownEvent, UnknownEvent
from chaos.verdict import Validity, Verdict, judge

SCHEMA_VERSION = 1
# the phases error_rate and p99 are judged over: after the fault began; every phase of a run
# without fault steps (nothing to tell apart, so nothing is exempt)
JUDGED_PHASES = ("fault", "observe")


class Analysis(Frozen):
    """The analysis of one run. ``judged``: live IPs during fault + observe (``None`` without
    those phases); ``failed_by_node``: server-side failures per node from the fault start (the
    whole run without a fault), every target; ``load``: the load summary without its
    timeline (``None`` when the load run did not finish)."""

    phases: list[PhaseStats]
    judged: Requests | None
    judged_latency_ms: Percentiles | None
    recovery: Recovery
    checks: list[Check]
    verdict: Verdict
    verdict_reasons: list[str]
    failed_by_node: dict[str, int]
    load: LoadTotals | None = None


def analyze(
    load_dir: Path,
    *,
    events: Sequence[Event],
    phases: Sequence[PhaseSpan],
    targets: Mapping[str, str],
    faulted_nodes: Collection[str],
    fault_start: float | None,
    update_start: float | None,
    leader_before: str | None,
    slo: Slo,
    service: str,
    run_errors: Sequence[str] = (),
    deviations: Sequence[str] = (),
    interrupted: str = "",
    guard_tripped: str = "",
) -> Analysis:
    """Analyse a saved run. ``targets``: URL -> node name; ``faulted_nodes``: node names the
    fault acted on (their IPs are "dead", the others "live"); ``fault_start``: the first fault
    step's start (``None`` for a run without faults); ``update_start``: the first update or
    rollback step's start; ``run_errors``, ``deviations``, ``interrupted``: what the run said
    about itself (see :class:`chaos.verdict.Validity`). Raises :class:`UsageError` for an
    unreadable load dir."""
    data = read_load_dir(load_dir)
    summary = read_summary(load_dir)
    stats = phase_stats(data, phases, targets)
    recovery = compute_recovery(
        data,
        events=events,
        phases=phases,
        targets=targets,
        faulted_nodes=faulted_nodes,
        fault_start=fault_start,
        update_start=update_start,
        leader_before=leader_before,
        service=service,
    )
    live = [u for u in data.run.targets if node_name(u, targets) not in faulted_nodes]
    has_fault = fault_start is not None
    spans = [(p.start, p.end) for p in phases if p.name in JUDGED_PHASES or not has_fault]
    judged, latency, p99_s = None, None, None
    if spans:
        judged = count(data.entries(spans, live))
        latency = percentiles(data.histogram(spans, live))
        p99_s = None if latency.p99 is None else latency.p99 / 1000.0
    inputs = CheckInputs(
        judged=judged,
        judged_p99_s=p99_s,
        recovery=recovery,
        leader_faulted=leader_before is not None and leader_before in faulted_nodes,
        generator_errors=None if summary is None else summary.requests.generator_errors,
    )
    checks = run_checks(slo, inputs)
    validity = Validity(
        interrupted=interrupted,
        guard_tripped=guard_tripped,
        deviations=tuple(deviations),
        run_errors=tuple(run_errors),
        generator_limited=None if summary is None else summary.generator_limited,
        unsteady=unsteady_start(stats, has_fault=has_fault),
    )
    outcome, reasons = judge(checks, validity)
    return Analysis(
        phases=stats,
        judged=judged,
        judged_latency_ms=latency,
        recovery=recovery,
        checks=checks,
        verdict=outcome,
        verdict_reasons=reasons,
        failed_by_node=failed_by_node(data, targets, fault_start),
        load=None if summary is None else summary.totals(),
    )


class ExperimentInfo(Frozen):
    """The experiment as run: ``file`` its path, ``settings`` the validated experiment
    (``Experiment.model_dump(mode="json")``, after ``--set`` overrides)."""

    name: str
    file: str
    description: str
    expect: str
    settings: dict[str, Any]


class Environment(Frozen):
    """Where it ran: ``engine_versions`` node -> docker engine version; ``kernel`` the host's
    ``uname -r``; ``mesh`` the routing-mesh kind; ``platform`` the driver (lab, vagrant...);
    ``seed`` the random seed of target selection."""

    engine_versions: dict[str, str]
    kernel: str
    mesh: str
    platform: str
    seed: int | None
    tool_version: str
    python: str


class RunResult(Frozen):
    """``result.json``. ``started_at``: ISO 8601 wall clock; ``duration_s``: seconds;
    ``leader_before``/``leader_after``: node names; ``restored``: the clean-up put the cluster
    back; ``errors``: run errors (a failed step...); ``load_dir``: relative to result.json;
    ``fingerprint``: what a comparison needs to share with it (:mod:`chaos.analysis.
    fingerprint`; absent in results written before it, which still load)."""

    schema_version: int = SCHEMA_VERSION
    experiment: ExperimentInfo
    verdict: Verdict
    verdict_reasons: list[str]
    phases: list[PhaseStats]
    judged: Requests | None
    judged_latency_ms: Percentiles | None
    events: list[AnyEvent]
    leader_before: str | None
    leader_after: str | None
    recovery: Recovery
    checks: list[Check]
    failed_by_node: dict[str, int]
    load: LoadTotals | None
    environment: Environment
    started_at: str
    duration_s: float
    restored: bool
    errors: list[str]
    load_dir: str
    fingerprint: Fingerprint | None = None
    guard: GuardReport | None = None  # the live guard's trip and its latencies
    # the manager API's latency per phase and manager (chaos.analysis.api; [] in results
    # written before the prober, and for runs that never reached their phases)
    api_latency: list[ApiLatency] = Field(default_factory=list)


def load_result_of(load_dir: Path) -> LoadTotals | None:
    """The ``load`` field from a load dir (``None`` when its run did not finish); the same
    as ``analyze(...).load``."""
    summary = read_summary(load_dir)
    return None if summary is None else summary.totals()


def make_result(
    analysis: Analysis,
    *,
    experiment: ExperimentInfo,
    events: Sequence[KnownEvent | UnknownEvent],
    leader_before: str | None,
    leader_after: str | None,
    environment: Environment,
    started_at: str,
    duration_s: float,
    restored: bool,
    errors: Sequence[str],
    load_dir: str,
    fingerprint: Fingerprint | None = None,
    api: Sequence[ApiLatency] = (),
) -> RunResult:
    """The :class:`RunResult` of an analysed run plus what only the runner knows."""
    return RunResult(
        experiment=experiment,
        verdict=analysis.verdict,
        verdict_reasons=analysis.verdict_reasons,
        phases=analysis.phases,
        judged=analysis.judged,
        judged_latency_ms=analysis.judged_latency_ms,
        events=list(events),
        leader_before=leader_before,
        leader_after=leader_after,
        recovery=analysis.recovery,
        checks=analysis.checks,
        failed_by_node=analysis.failed_by_node,
        load=analysis.load,
        environment=environment,
        started_at=started_at,
        duration_s=duration_s,
        restored=restored,
        errors=list(errors),
        load_dir=load_dir,
        fingerprint=fingerprint,
        guard=guard_report(events),
        api_latency=list(api),
    )


def write_result(path: Path, result: RunResult) -> None:
    """Written atomically (:mod:`chaos.atomic`): reports and gates read it as runs go."""
    atomic.write_text(path, result.model_dump_json(indent=2) + "\n")


def load_result(path: Path) -> RunResult:
    """Read ``result.json``; :class:`UsageError` for a missing, malformed or newer file."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"{path}: no such result file; run an experiment first") from None
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: not a result file (invalid JSON: {exc})") from None
    if not isinstance(raw, dict):
        raise UsageError(f"{path}: not a result file (expected a JSON object)")
    version = raw.get("schema_version")
    if not isinstance(version, int):
        raise UsageError(f"{path}: not a result file (no integer schema_version)")
    if version > SCHEMA_VERSION:
        raise UsageError(
            f"{path}: schema_version {version} is newer than this swarm-chaos reads "
            f"({SCHEMA_VERSION}); upgrade swarm-chaos"
        )
    try:
        return RunResult.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "<top>"
        raise UsageError(f"{path}: malformed result file: {where}: {err['msg']}") from None
