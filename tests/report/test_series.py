"""The page data, without a browser: bucketing, rates, latency merges, fault windows,
markers and formatting, on small hand-made inputs."""

from __future__ import annotations

import pytest

from chaos import fmt
from chaos.analysis.events import api_outages
from chaos.analysis.loaddir import Requests
from chaos.analysis.phases import PhaseStats
from chaos.load.summary import Percentiles, TimelineEntry
from chaos.load.windows import new_histogram
from chaos.report.faults import fault_bands, markers, outage_bands, power_windows
from chaos.report.rundir import Window
from chaos.report.series import Grid, distributions, latency, pick_bucket, rates
from chaos.timeline import (
    ApiError,
    ApiOk,
    LeaderChange,
    NodeStatusChange,
    StepEnd,
    StepStart,
    TasksChange,
)


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


def phase(name: str, start: float, end: float) -> PhaseStats:
    none = Percentiles(p50=None, p90=None, p99=None, p999=None, max=None)
    req = Requests(total=0, sent=0, ok=0, error_count=0, errors={}, dropped=0, generator={},
                   error_rate=None)  # fmt: skip
    return PhaseStats(name=name, start=start, end=end, requests=req, latency_ms=none, nodes=[])


def test_power_fault_windows_end_at_the_heal() -> None:
    def step(t: float, index: int, action: str, node: str) -> tuple[StepStart, StepEnd]:
        start = StepStart(t=t, index=index, action=action)
        return start, StepEnd(t=t + 0.1, index=index, action=action, nodes=(node,), ok=True)

    events = [*step(5.0, 0, "halt", "n1"), *step(6.0, 1, "suspend", "n2")]
    events += [StepStart(t=9.0, index=2, action="start"),
               StepEnd(t=9.5, index=2, action="start", nodes=("n1",), ok=True)]  # fmt: skip
    bands = power_windows(events, end=20.0)
    assert [(b.start, b.end, b.label) for b in bands] == [
        (5.0, 9.5, "n1 halted"),
        (6.0, 20.0, "n2 suspended (not healed)"),
    ]
    phases = [phase("baseline", 0, 5), phase("fault", 5, 10), phase("observe", 10, 20)]
    bands = fault_bands(events, phases, [], 20.0)
    assert [b.kind for b in bands] == ["phase", "power", "power"]


def test_api_outages_and_markers() -> None:
    def placed(t: float, detail: str, **by_node: int) -> TasksChange:
        return TasksChange(t=t, detail=detail, service="web", running=1, desired=1,
                           by_node=by_node, images={})  # fmt: skip

    events = [
        LeaderChange(t=0.1, old=None, new="n1"),
        ApiError(t=2.0, node="", message="boom"),
        ApiError(t=2.5, node="", message="again"),
        ApiOk(t=4.0, node=""),
        LeaderChange(t=4.0, detail="leader n1 -> n2", old="n1", new="n2"),
        NodeStatusChange(t=5.0, detail="n1 ready -> unknown", node="n1", old="ready",
                         new="unknown"),
        NodeStatusChange(t=6.0, detail="n1 unknown -> down", node="n1", old="unknown",
                         new="down"),
        placed(0.2, "", n1=1),
        placed(7.0, "web: 1/1", n2=1),
        ApiError(t=8.0, node="", message="late"),
    ]  # fmt: skip
    outages = api_outages(events, 10.0)
    assert [(o.start, o.end) for o in outages] == [(2.0, 4.0), (8.0, 10.0)]
    assert [(b.start, b.end) for b in outage_bands(outages)] == [(2.0, 4.0), (8.0, 10.0)]
    kinds = [(m.t, m.kind) for m in markers(events, outages)]
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
