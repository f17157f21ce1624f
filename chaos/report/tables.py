"""The tables of a run page, as rows of formatted cells: per phase and node, checks, the
event log, settings and environment."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

from chaos import fmt
from chaos.analysis import RunResult
from chaos.report.model import Row, Tone
from chaos.timeline import ApiError, LeaderChange, NodePowerChange, StepEnd, StepStart

PHASE_HEAD = ["Phase", "Node", "Target", "Span", "Sent", "OK", "Errors", "Error rate", "p50",
              "p99", "max", "Error kinds"]  # fmt: skip
CHECK_HEAD = ["Check", "Status", "Value", "Threshold", "Message"]
API_HEAD = ["Phase", "Manager", "Calls", "Timeouts", "Errors", "p50", "p99", "max"]
EVENT_HEAD = ["t (s)", "Kind", "Detail"]
SKIPPED_SETTINGS = ("name", "description", "expect", "steps")


def phase_rows(result: RunResult) -> list[Row]:
    """One row per phase (all targets, in bold via ``tone``) then one per node of it."""
    rows = []
    for p in result.phases:
        span = f"{p.start:.1f}\u2013{p.end:.1f} s"
        r = p.requests
        rows.append(
            Row(
                [p.name, "all", "", span, fmt.count(r.sent), fmt.count(r.ok),
                 fmt.count(r.error_count), fmt.pct(r.error_rate),
                 fmt.ms(p.latency_ms.p50), fmt.ms(p.latency_ms.p99), fmt.ms(p.latency_ms.max),
                 _kinds(r.errors, r.generator)],
                tone="bad" if r.error_count else "neutral",
            )
        )  # fmt: skip
        for n in p.nodes:
            q = n.requests
            rows.append(
                Row(
                    ["", n.node, _host(n.target), "", fmt.count(q.sent), fmt.count(q.ok),
                     fmt.count(q.error_count), fmt.pct(q.error_rate),
                     fmt.ms(n.latency_ms.p50), fmt.ms(n.latency_ms.p99),
                     fmt.ms(n.latency_ms.max), _kinds(q.errors, q.generator)],
                    tone="warn" if q.error_count else "neutral",
                )
            )  # fmt: skip
    return rows


def api_rows(result: RunResult) -> list[Row]:
    """The manager API's latency (``node ls`` on each manager once a second), per phase."""
    rows = []
    last = ""
    for a in result.api_latency:
        failed = a.timeouts + a.errors
        rows.append(
            Row(
                ["" if a.phase == last else a.phase, a.node, fmt.count(a.calls),
                 fmt.count(a.timeouts), fmt.count(a.errors), fmt.ms(a.p50_ms),
                 fmt.ms(a.p99_ms), fmt.ms(a.max_ms)],
                tone="warn" if failed else "neutral",
            )
        )  # fmt: skip
        last = a.phase
    return rows


def _kinds(errors: Mapping[str, int], generator: Mapping[str, int]) -> str:
    """``connect_timeout 884, refused 9``; generator-side kinds marked as such."""
    parts = [f"{k} {v:,}" for k, v in errors.items()]
    parts += [f"{k} {v:,} (generator)" for k, v in generator.items()]
    return ", ".join(parts)


def _host(url: str) -> str:
    """``http://10.0.0.1:80/`` -> ``10.0.0.1:80``."""
    return url.split("://", 1)[-1].rstrip("/")


def check_rows(result: RunResult) -> list[Row]:
    tones = {"pass": "good", "fail": "bad", "unknown": "warn"}
    return [
        Row(
            [c.name, c.status, fmt.number(c.value), fmt.number(c.threshold), c.message],
            tone=tones[c.status],  # type: ignore[arg-type]
        )
        for c in result.checks
    ]


def event_rows(result: RunResult) -> list[Row]:
    """Every event of the run, in time order; faults and API errors highlighted."""
    rows = []
    for e in result.events:
        tone: Tone = "neutral"
        if isinstance(e, ApiError) or (isinstance(e, StepEnd) and not e.ok):
            tone = "bad"
        elif isinstance(e, StepStart | StepEnd | LeaderChange | NodePowerChange):
            tone = "warn"
        rows.append(Row([f"{e.t:.3f}", e.kind, e.detail], tone=tone))
    return rows


def flatten(value: Any, prefix: str = "") -> Iterator[tuple[str, str]]:
    """``{"a": {"b": 1}}`` -> ``("a.b", "1")``; nulls and empty containers are left out."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield from flatten(v, f"{prefix}.{k}" if prefix else str(k))
    elif value is None or value in ([], {}):
        return
    elif isinstance(value, list) and all(not isinstance(v, dict | list) for v in value):
        yield prefix, ", ".join(str(v) for v in value)
    elif isinstance(value, list):
        yield prefix, json.dumps(value)
    else:
        yield prefix, str(value)


def step_summary(step: Mapping[str, Any]) -> str:
    """``halt target=leader``, ``wait_for condition=leader_elected timeout=60.0``..."""
    parts = [str(step.get("action", "?"))]
    for k, v in step.items():
        if k in ("action", "as") or v in (None, "", [], {}, False):
            continue
        shown = v
        if isinstance(v, dict):
            shown = ":".join(str(x) for x in (v.get("kind"), v.get("value")) if x)
        parts.append(f"{k}={shown}")
    if step.get("as"):
        parts.append(f"as {step['as']}")
    return " ".join(parts)


def settings_rows(result: RunResult) -> list[Row]:
    """The experiment's settings as run (after ``--set``), minus the steps (see the plan)."""
    settings = {k: v for k, v in result.experiment.settings.items() if k not in SKIPPED_SETTINGS}
    return [Row([k, v]) for k, v in flatten(settings)]


def environment_rows(result: RunResult) -> list[Row]:
    env = result.environment
    rows = [
        Row(["Started", result.started_at]),
        Row(["Duration", fmt.seconds(result.duration_s)]),
        Row(["Platform", env.platform]),
        Row(["Routing mesh", env.mesh]),
        Row(["Kernel", env.kernel]),
    ]
    versions = sorted(set(env.engine_versions.values()))
    if len(versions) == 1:
        rows.append(Row(["Docker engine", f"{versions[0]} (all {len(env.engine_versions)} nodes)"]))
    else:
        rows += [Row([f"Docker engine {n}", v]) for n, v in sorted(env.engine_versions.items())]
    rows += [
        Row(["Seed", fmt.NA if env.seed is None else str(env.seed)]),
        Row(["swarm-chaos", env.tool_version]),
        Row(["Python", env.python]),
        Row(["Leader before / after", f"{result.leader_before} / {result.leader_after}"]),
        Row(["Cluster restored", "yes" if result.restored else "NO: run chaos recover"],
            tone="neutral" if result.restored else "bad"),
        Row(["Experiment file", result.experiment.file]),
    ]  # fmt: skip
    if result.load is not None:
        run = result.load.run
        rows += [
            Row(["Load", f"{run.rate:g} req/s open loop, {run.connection} connections, "
                 f"{run.engine} on {run.loop}, timeout {run.timeout_s:g} s"]),
            Row(["Achieved rate", f"{result.load.achieved_rate:.1f} req/s"]),
            Row(["Send lag p99 / max", f"{fmt.ms(result.load.send_lag_ms.p99)} / "
                 f"{fmt.ms(result.load.send_lag_ms.max)}"],
                tone="bad" if result.load.generator_limited else "neutral"),
        ]  # fmt: skip
    return rows
