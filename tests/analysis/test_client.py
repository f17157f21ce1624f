"""The client-recovery bucket rule and its arithmetic, on hand-made buckets (no clock)."""

from __future__ import annotations

import pytest

from chaos.analysis.client import (
    BUCKET_S,
    ERROR_FLOOR,
    P99_SLACK_MS,
    SUSTAIN_BUCKETS,
    Baseline,
    Bucket,
    ClientRecovery,
    is_good,
    judge,
)


@pytest.mark.parametrize(
    ("baseline", "max_error_rate", "max_p99_ms"),
    [
        (Baseline(0.0, 2.0), ERROR_FLOOR, 2.0 + P99_SLACK_MS),  # floors win for a clean baseline
        (Baseline(0.01, 300.0), 0.02, 600.0),  # ratios win for a noisy, slow baseline
        (Baseline(0.0004, 10.0), ERROR_FLOOR, 10.0 + P99_SLACK_MS),
    ],
)
def test_baseline_limits(baseline: Baseline, max_error_rate: float, max_p99_ms: float) -> None:
    assert baseline.max_error_rate == pytest.approx(max_error_rate)
    assert baseline.max_p99_ms == pytest.approx(max_p99_ms)


BASE = Baseline(error_rate=0.0, p99_ms=5.0)  # good: errors <= 0.1 %, p99 <= 205 ms


@pytest.mark.parametrize(
    ("bucket", "good"),
    [
        (Bucket(0.0, sent=200, errors=0, p99_ms=4.0), True),
        (Bucket(0.0, sent=2000, errors=2, p99_ms=4.0), True),  # exactly 0.1 %
        (Bucket(0.0, sent=2000, errors=3, p99_ms=4.0), False),
        (Bucket(0.0, sent=200, errors=1, p99_ms=4.0), False),  # one error in 200 = 0.5 %
        (Bucket(0.0, sent=200, errors=0, p99_ms=205.0), True),  # at the p99 limit
        (Bucket(0.0, sent=200, errors=0, p99_ms=205.1), False),
        # the servers' host stalled (every target 40-50 ms late, the generator 18 ms): a lab
        # run with not one error, not an outage
        (Bucket(0.0, sent=134, errors=0, p99_ms=105.0, lag_ms=18.0), True),
        # the generator stalled 40 ms: its own lag in every latency of the window, not the
        # cluster's
        (Bucket(0.0, sent=200, errors=0, p99_ms=245.0, lag_ms=40.0), True),
        (Bucket(0.0, sent=200, errors=0, p99_ms=246.0, lag_ms=40.0), False),  # slower than that
        (Bucket(0.0, sent=200, errors=0, p99_ms=1030.0, lag_ms=2.0), False),  # a SYN retransmit
        (Bucket(0.0, sent=200, errors=200, p99_ms=None), False),  # all failed
        (Bucket(0.0, sent=0, errors=0, p99_ms=None), False),  # nothing sent: no evidence
    ],
)
def test_good_bad_rule(bucket: Bucket, good: bool) -> None:
    assert is_good(bucket, BASE) is good


def buckets(pattern: str, origin: float = 10.0) -> list[Bucket]:
    """``"BBG.."`` -> buckets from ``origin``: G good, B bad (errors)."""
    return [
        Bucket(origin + k * BUCKET_S, 100, 0 if c == "G" else 50, 3.0)
        for k, c in enumerate(pattern)
    ]


@pytest.mark.parametrize(
    ("pattern", "want"),
    [
        ("GGGGGG", ClientRecovery("recovered", 0.0, 0.0)),
        ("GG", ClientRecovery("recovered", 0.0, 0.0)),  # no bad bucket at all
        ("BBGGGGG", ClientRecovery("recovered", 2.0, 2.0)),
        ("GBBBGGGGGG", ClientRecovery("recovered", 4.0, 3.0)),  # errors start late
        ("BGBGGGGG", ClientRecovery("recovered", 3.0, 3.0)),  # a relapse restarts the wait
        ("B" + "G" * SUSTAIN_BUCKETS, ClientRecovery("recovered", 1.0, 1.0)),
    ],
)
def test_judge_recovered(pattern: str, want: ClientRecovery) -> None:
    assert judge(buckets(pattern), BASE, origin=10.0) == want


@pytest.mark.parametrize(
    ("pattern", "outage"),
    [
        ("BBBB", 4.0),  # bad until the data ends
        ("BBGGGG", 2.0),  # only 4 good buckets: not yet sustained
        ("GGBGGG", 1.0),
    ],
)
def test_judge_not_recovered(pattern: str, outage: float) -> None:
    got = judge(buckets(pattern), BASE, origin=10.0)
    assert (got.status, got.recovered_s, got.outage_s) == ("not_recovered", None, outage)
    assert "not recovered" in got.note


def test_judge_without_buckets_is_not_recovered() -> None:
    got = judge([], BASE, origin=0.0)
    assert (got.status, got.recovered_s, got.outage_s) == ("not_recovered", None, None)
