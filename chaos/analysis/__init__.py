"""Analysis of one experiment run over saved data (no cluster needed):

    load dir + events + phase spans  ->  phases (per-phase, per-node stats)
    ->  recovery (control-plane metrics from events, client recovery from 1 s buckets)
    ->  checks (SLO -> pass/fail/unknown)  ->  verdict (chaos.verdict)  ->  result.json

Metric definitions: ``docs/metrics.md``.
"""

from __future__ import annotations

from chaos.analysis.checks import Check, CheckInputs, run_checks
from chaos.analysis.events import leader_after
from chaos.analysis.fingerprint import Fingerprint, check_comparable, fingerprint_of
from chaos.analysis.phases import NodeStats, PhaseSpan, PhaseStats
from chaos.analysis.recovery import Recovery
from chaos.analysis.result import (
    SCHEMA_VERSION,
    Analysis,
    Environment,
    ExperimentInfo,
    RunResult,
    analyze,
    load_result,
    load_result_of,
    make_result,
    write_result,
)

__all__ = [
    "SCHEMA_VERSION",
    "Analysis",
    "Check",
    "CheckInputs",
    "Environment",
    "ExperimentInfo",
    "Fingerprint",
    "NodeStats",
    "PhaseSpan",
    "PhaseStats",
    "Recovery",
    "RunResult",
    "analyze",
    "check_comparable",
    "fingerprint_of",
    "leader_after",
    "load_result",
    "load_result_of",
    "make_result",
    "run_checks",
    "write_result",
]
