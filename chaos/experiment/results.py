"""Turning a finished run into ``result.json`` (the analysis itself is :mod:`chaos.analysis`)."""

from __future__ import annotations

import platform as host_platform
import sys
import time

from chaos import __version__
from chaos.analysis import (
    Analysis,
    Environment,
    ExperimentInfo,
    Fingerprint,
    PhaseSpan,
    Recovery,
    RunResult,
    analyze,
    leader_after,
    make_result,
)
from chaos.analysis.api import FILE as API_FILE
from chaos.analysis.api import api_latency, read_calls
from chaos.errors import ChaosError
from chaos.experiment.spec import Experiment
from chaos.experiment.state import RunState
from chaos.platform.base import Platform
from chaos.timeline import load_events
from chaos.verdict import Validity, judge


def phase_spans(st: RunState) -> list[PhaseSpan]:
    """Consecutive phases from their start marks; the last ends at the ``end`` mark."""
    marks = list(st.phases)
    spans: list[PhaseSpan] = []
    if not marks:  # the run failed before its first phase
        return spans
    for (name, start), nxt in zip(marks, [*marks[1:], ("", st.t_end)], strict=True):
        if name != "end":
            spans.append(PhaseSpan(name=name, start=start, end=nxt[1]))
    return spans


def _no_analysis(reason: str, state: RunState) -> Analysis:
    recovery = Recovery(
        leader_elected_s=None, node_down_detected_s=None, tasks_rescheduled_s=None,
        service_converged_s=None, api_unavailable_s=None, api_first_error=None,
        client_recovered_s=None, client_status="not_applicable", outage_s=None,
        dead_ip_errors=0, live_ip_errors=0, baseline_error_rate=None, baseline_p99_ms=None,
        good_max_error_rate=None, good_max_p99_ms=None, notes=[reason],
    )  # fmt: skip
    validity = Validity(
        interrupted=state.interrupted, guard_tripped=state.guard_tripped,
        deviations=tuple(state.deviations),
        # a run that failed before its load ran: its own error says why, not the missing data
        run_errors=tuple(state.errors) or (reason,), generator_limited=None,
    )  # fmt: skip
    outcome, reasons = judge([], validity)
    return Analysis(
        phases=[], judged=None, judged_latency_ms=None, recovery=recovery, checks=[],
        verdict=outcome, verdict_reasons=reasons, failed_by_node={},
    )  # fmt: skip


def engine_versions(platform: Platform) -> dict[str, str]:
    versions: dict[str, str] = {}
    for node in platform.node_names():
        try:
            with platform.engine(node, timeout=3.0) as engine:
                versions[node] = engine.server_version()
        except ChaosError:
            versions[node] = "unreachable"
    return versions


def build_result(
    exp: Experiment, platform: Platform, state: RunState, targets: dict[str, str]
) -> RunResult:
    events = load_events(state.out_dir / "events.jsonl")
    load_dir = state.out_dir / "load"
    errors = [*state.errors]
    try:
        analysis = analyze(
            load_dir,
            events=events,
            phases=phase_spans(state),
            targets=targets,
            faulted_nodes=sorted(state.faulted_nodes),
            fault_start=state.fault_start if exp.steps else None,
            update_start=state.update_start,
            leader_before=state.leader_before,
            slo=exp.slo,
            service=exp.service.name,
            run_errors=errors,
            deviations=state.deviations,
            interrupted=state.interrupted,
            guard_tripped=state.guard_tripped,
        )
    except ChaosError as exc:
        analysis = _no_analysis(f"no analysis: {exc}", state)
    env = platform.environment()
    environment = Environment(
        engine_versions=engine_versions(platform),
        kernel=env.get("kernel", host_platform.release()),
        mesh=platform.mesh, platform=platform.name, seed=state.seed, tool_version=__version__,
        python=sys.version.split()[0],
    )  # fmt: skip
    return make_result(
        analysis,
        experiment=ExperimentInfo(
            name=exp.name, file=exp.source, description=exp.description, expect=exp.expect,
            settings=exp.model_dump(mode="json", by_alias=True),
        ),
        events=events,
        leader_before=state.leader_before,
        leader_after=leader_after(events, state.leader_before),
        environment=environment,
        fingerprint=Fingerprint.of(environment, exp.service, exp.load),
        started_at=state.started_at,
        duration_s=round(time.monotonic() - state.started, 3),
        restored=state.restored,
        errors=errors,
        load_dir="load",
        api=api_latency(read_calls(state.out_dir / API_FILE), phase_spans(state)),
    )  # fmt: skip
