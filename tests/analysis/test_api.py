"""The manager API's latency per phase and manager, from the prober's lines."""

from __future__ import annotations

import json
from pathlib import Path

from chaos.analysis.api import ApiCall, api_latency, rank, read_calls
from chaos.analysis.phases import PhaseSpan

PHASES = [PhaseSpan("baseline", 0.0, 10.0), PhaseSpan("fault", 10.0, 20.0)]


def test_nearest_rank() -> None:
    assert rank([], 0.5) is None
    assert rank([5.0], 0.99) == 5.0
    values = [float(v) for v in range(1, 11)]
    assert (rank(values, 0.5), rank(values, 0.9), rank(values, 0.99)) == (5.0, 9.0, 10.0)


def test_rows_per_phase_and_manager_with_failures_by_kind() -> None:
    calls = [ApiCall(t=t, node="node-002", ms=2.0 + t, ok=True) for t in range(10)]
    calls += [
        ApiCall(t=10.0, node="node-002", ms=900.0, ok=True),
        ApiCall(t=11.0, node="node-002", ms=5001.0, ok=False, failure="timeout"),
        ApiCall(t=12.0, node="node-002", ms=20.0, ok=False, failure="error"),
        ApiCall(t=12.5, node="node-001", ms=3.0, ok=True),
        ApiCall(t=20.0, node="node-001", ms=1.0, ok=True),  # after the last phase: not counted
    ]
    rows = api_latency(calls, PHASES)
    assert [(a.phase, a.node) for a in rows] == [
        ("baseline", "node-002"), ("fault", "node-001"), ("fault", "node-002")
    ]  # fmt: skip
    base, leader, follower = rows
    assert (base.calls, base.p50_ms, base.max_ms) == (10, 6.0, 11.0)
    assert (follower.calls, follower.timeouts, follower.errors) == (3, 1, 1)
    # latency over the calls that succeeded only: a timeout is a failure, not a 5 s sample
    assert (follower.p50_ms, follower.p99_ms, follower.max_ms) == (900.0, 900.0, 900.0)
    assert (leader.calls, leader.p50_ms) == (1, 3.0)


def test_only_failures_leave_no_latency() -> None:
    (row,) = api_latency([ApiCall(t=1.0, node="n", ms=5000.0, ok=False, failure="timeout")],
                         PHASES)  # fmt: skip
    assert (row.timeouts, row.p50_ms, row.max_ms) == (1, None, None)


def test_a_torn_line_of_a_killed_run_is_skipped(tmp_path: Path) -> None:
    path = tmp_path / "api.jsonl"
    good = {"t": 1.0, "node": "node-001", "ms": 2.5, "ok": True}
    path.write_text(json.dumps(good) + '\n{"t": 2.0, "node": "node-0')
    assert read_calls(path) == [ApiCall(t=1.0, node="node-001", ms=2.5, ok=True)]
    assert read_calls(tmp_path / "missing.jsonl") == []
