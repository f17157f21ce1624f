"""The page data, without a browser: bucketing, rates, latency merges, fault windows,
markers and formatting, on small hand-made inputs."""

from __future__ import annotations

from typing import Any

import pytest

from chaos.analysis.loaddir import Requests
from chaos.analysis.phases import PhaseStats
from chaos.load.summary import Percentiles, TimelineEntry
from chaos.load.windows import new_histogram
from chaos.report import fmt
from chaos.report.faults import api_outages, fault_bands, markers, power_windows
from chaos.report.rundir import Window
from chaos.report.series import Grid, distributions, latency, pick_bucket, rates
from chaos.timeline import Event


@pytest.mark.parametrize(
    ("duration", "bucket"), [(10, 0.5), (33, 0.5), (200, 0.5), (300, 1.0), (3600, 10.0)]
)
def test_pick_bucket(duration: float, bucket: float) -> None:
    assert pick_bucket(duration) == bucket


def entry(t: float, target: str, ok: int, **errors: int) -> TimelineEntry:
    return TimelineEntry(
        t=t, target=target, total=ok + sum(errors.values()), ok=ok, errors=errors,
        p50_ms=None, p99_ms=None, p99_all_ms=None, send_lag_max_ms=0.0,
    )  # fmt: skip


def test_rates_per_covered_second_and_server_errors_only() -> None:
    grid = Grid(bucket_s=0.5, origin=0.0, first=0, last=1)
    entries = [entry(round(i * 0.1, 1), "a", 5, refused=1) for i in range(8)]  # 0.0 .. 0.7
    entries.append(entry(0.2, "b", 2, dropped=3))
    r = rates(entries, grid, window_s=0.1)
    assert r.ok["a"] == [50.0, 50.0]  # the second bucket has 3 windows: still 50/s
    assert r.errors["a"] == [10.0, 10.0]
    assert r.errors["b"] == [0.0, None]  # dropped is the generator's, not a server error


def test_grid_anchored_at_the_fault() -> None:
    grid = Grid(bucket_s=1.0, origin=7.05, first=-2, last=1, shift=7.05)
    assert grid.x == [-2.0, -1.0, 0.0, 1.0]
    assert grid.slot(7.0) == 1 and grid.slot(7.05) == 2 and grid.slot(4.9) is None


def window(start: float, *values_us: int) -> Window:
    hist = new_histogram()
    for v in values_us:
        hist.record_value(v)
    return Window(start, hist)


def test_latency_is_an_exact_merge() -> None:
    grid = Grid(bucket_s=1.0, origin=0.0, first=0, last=1)
    lat = latency([window(0.0, *[1000] * 99), window(0.5, 500_000)], grid)
    assert lat.p50[0] == pytest.approx(1.0, rel=1e-3)
    assert lat.p99[0] == pytest.approx(1.0, rel=1e-3)  # 99 of 100 at 1 ms
    assert lat.max[0] == pytest.approx(500.0, rel=1e-3)
    assert lat.p50[1] is None  # no success: a gap, not a zero


def test_distributions_share_a_log_grid_and_end_at_max() -> None:
    a, b = window(0, *range(1000, 2000)).hist, window(0, 5000, 6000).hist
    d = distributions({"baseline": a, "fault": b, "empty": new_histogram()})
    assert d.x[0] == 1.0 and d.x[10] == pytest.approx(10.0)
    assert set(d.values) == {"baseline", "fault"} and d.counts == {"baseline": 1000, "fault": 2}
    base = [v for v in d.values["baseline"] if v is not None]
    assert base == sorted(base) and base[-1] == pytest.approx(2.0, rel=1e-2)
    assert len(base) == 32  # 10 per decade up to 1000 samples, plus the max
    assert d.values["fault"][4] == pytest.approx(6.0, rel=1e-2)  # 2 samples: k 0..3, then max
    assert d.values["fault"][5] is None


def ev(t: float, kind: str, detail: str = "", **data: Any) -> Event:
    return Event(t=t, kind=kind, detail=detail, data=data)


def phase(name: str, start: float, end: float) -> PhaseStats:
    none = Percentiles(p50=None, p90=None, p99=None, p999=None, max=None)
    req = Requests(total=0, sent=0, ok=0, error_count=0, errors={}, dropped=0, generator={},
                   error_rate=None)  # fmt: skip
    return PhaseStats(name=name, start=start, end=end, requests=req, latency_ms=none, nodes=[])


def test_power_fault_windows_end_at_the_heal() -> None:
    events = [
        ev(5.0, "step_start", index=0, action="halt"),
        ev(5.1, "step_end", index=0, action="halt", nodes=["n1"], ok=True),
        ev(6.0, "step_start", index=1, action="suspend"),
        ev(6.1, "step_end", index=1, action="suspend", nodes=["n2"], ok=True),
        ev(9.0, "step_start", index=2, action="start"),
        ev(9.5, "step_end", index=2, action="start", nodes=["n1"], ok=True),
    ]
    bands = power_windows(events, end=20.0)
    assert [(b.start, b.end, b.label) for b in bands] == [
        (5.0, 9.5, "n1 halted"),
        (6.0, 20.0, "n2 suspended (not healed)"),
    ]
    phases = [phase("baseline", 0, 5), phase("fault", 5, 10), phase("observe", 10, 20)]
    assert [b.kind for b in fault_bands(events, phases, 20.0)] == ["phase", "power", "power"]


def test_api_outages_and_markers() -> None:
    events = [
        ev(0.1, "leader", old=None, new="n1"),
        ev(2.0, "api_error", message="boom"),
        ev(2.5, "api_error", message="again"),
        ev(4.0, "api_ok"),
        ev(4.0, "leader", "leader n1 -> n2", old="n1", new="n2"),
        ev(5.0, "node_status", "n1 ready -> unknown", node="n1", old="ready", new="unknown"),
        ev(6.0, "node_status", "n1 unknown -> down", node="n1", old="unknown", new="down"),
        ev(0.2, "tasks", service="web", by_node={"n1": 1}),
        ev(7.0, "tasks", "web: 1/1", service="web", by_node={"n2": 1}),
        ev(8.0, "api_error", message="late"),
    ]
    assert [(b.start, b.end) for b in api_outages(events, 10.0)] == [(2.0, 4.0), (8.0, 10.0)]
    kinds = [(m.t, m.kind) for m in markers(events)]
    assert kinds == [(2.0, "api"), (4.0, "leader"), (6.0, "node"), (7.0, "tasks"), (8.0, "api")]


def test_formatting() -> None:
    assert fmt.seconds(None) == "\u2013"
    assert (fmt.seconds(9.2635), fmt.seconds(24.0), fmt.seconds(125)) == (
        "9.26 s", "24.0 s", "2 min 05 s",
    )  # fmt: skip
    assert (fmt.ms(1.644), fmt.ms(45.76), fmt.ms(376.6), fmt.ms(1027.1)) == (
        "1.64 ms", "45.8 ms", "377 ms", "1.03 s",
    )  # fmt: skip
    assert (fmt.pct(0.0823), fmt.pct(0.00539), fmt.pct(0.0), fmt.pct(0.325)) == (
        "8.23%", "0.539%", "0%", "32.5%",
    )  # fmt: skip
    assert fmt.signed(1.2, " s") == "+1.20 s" and fmt.signed(0.0, " s") == ""
    assert fmt.signed(-3, "", 0) == "\u22123"
