"""The manager API's latency per phase and manager, from ``RUN_DIR/api.jsonl``
(:mod:`chaos.experiment.apiprobe`: every manager timed once a second).

A call belongs to the phase holding its start (the same half-open spans as the requests).
Percentiles are nearest-rank over the successful calls (about one a second per manager: a
phase's p99 is its worst call or close to it); failures are counted by kind: ``timeouts`` (no
answer within the prober's timeout) and ``errors`` (an answer that was an error, e.g. no
leader). A run written before the prober existed has no file and no rows.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

from chaos.analysis.loaddir import Frozen
from chaos.analysis.phases import PhaseSpan

FILE = "api.jsonl"


class ApiCall(BaseModel):
    """One line of ``api.jsonl``."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    t: float
    node: str
    ms: float
    ok: bool
    failure: str = ""


class ApiLatency(Frozen):
    """One manager in one phase: ``calls`` timed, of which ``timeouts`` and ``errors``
    failed; ``p50_ms``/``p99_ms``/``max_ms`` over the successful ones (``None`` without)."""

    phase: str
    node: str
    calls: int
    timeouts: int
    errors: int
    p50_ms: float | None
    p99_ms: float | None
    max_ms: float | None


def read_calls(path: Path) -> list[ApiCall]:
    """The calls of ``api.jsonl``; a torn last line (a killed run) is skipped."""
    if not path.is_file():
        return []
    calls = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            calls.append(ApiCall.model_validate(json.loads(line)))
        except (ValueError, ValidationError):
            continue
    return calls


def rank(sorted_ms: Sequence[float], p: float) -> float | None:
    """The nearest-rank ``p`` quantile (0 < p <= 1) of sorted values."""
    if not sorted_ms:
        return None
    return sorted_ms[max(0, math.ceil(p * len(sorted_ms)) - 1)]


def api_latency(calls: Sequence[ApiCall], phases: Sequence[PhaseSpan]) -> list[ApiLatency]:
    """One row per phase and manager that was timed in it, phases in order, nodes by name."""
    rows = []
    for span in phases:
        inside = [c for c in calls if span.start <= c.t < span.end]
        for node in sorted({c.node for c in inside}):
            mine = [c for c in inside if c.node == node]
            ok = sorted(c.ms for c in mine if c.ok)
            rows.append(
                ApiLatency(
                    phase=span.name,
                    node=node,
                    calls=len(mine),
                    timeouts=sum(c.failure == "timeout" for c in mine),
                    errors=sum(not c.ok and c.failure != "timeout" for c in mine),
                    p50_ms=rank(ok, 0.5),
                    p99_ms=rank(ok, 0.99),
                    max_ms=ok[-1] if ok else None,
                )
            )
    return rows
