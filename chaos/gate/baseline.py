"""The baseline checks of a group of repeats: each metric's median against the limit its
baseline group sets (the rule: :mod:`chaos.gate`)."""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from chaos import fmt
from chaos.analysis import RunResult, check_comparable, fingerprint_of
from chaos.gate.report import GateCheck, Status
from chaos.gate.runs import Group, judged_p99_s
from chaos.verdict import Verdict

INF = float("inf")


def _recovery(r: RunResult) -> float | None:
    rec = r.recovery
    if rec.client_status == "not_recovered":
        return INF
    if rec.client_status == "not_applicable":
        return None
    return rec.client_recovered_s


def _error_rate(r: RunResult) -> float | None:
    return None if r.judged is None else r.judged.error_rate


def _converged(r: RunResult) -> float | None:
    return r.recovery.service_converged_s


def secs(x: float) -> str:
    """A duration in text form; a baseline's "not recovered" is +infinity."""
    return "not recovered" if x == INF else fmt.text_duration(x)


@dataclass(frozen=True, slots=True)
class Metric:
    """A lower-is-better number compared with the baseline; ``floor`` in its unit."""

    name: str
    get: Callable[[RunResult], float | None]
    floor: float
    show: Callable[[float], str]


METRICS = (
    Metric("error_rate", _error_rate, 0.001, fmt.text_pct),  # 0.1 percentage point
    Metric("p99", judged_p99_s, 0.005, secs),  # 5 ms
    Metric("recovery", _recovery, 1.0, secs),  # one client bucket
    Metric("converged", _converged, 1.0, secs),  # service_converged_s; the update duration
)


def limit_of(baseline: Sequence[float], tolerance: float, floor: float) -> float:
    """``max(median * (1 + tolerance), largest finite value) + floor`` (the rule of
    :mod:`chaos.gate`); infinite when the median is (the baseline did not recover)."""
    finite = [v for v in baseline if v != INF]
    return max([statistics.median(baseline) * (1 + tolerance), *finite]) + floor


def _spread(values: Sequence[float], show: Callable[[float], str]) -> str:
    n = len(values)
    if n == 1:
        return "1 run"
    return f"{n} runs, {show(min(values))}..{show(max(values))}"


def compare_metric(
    m: Metric, current: Sequence[float], baseline: Sequence[float], tolerance: float
) -> tuple[Status, str, float | None, float | None] | None:
    """One baseline comparison: (status, message, current median, limit); ``None`` when the
    baseline has no value (no bar)."""
    base = list(baseline)
    if not base:
        return None
    limit = limit_of(base, tolerance, m.floor)
    if limit == INF:
        return None  # the baseline did not recover either: no bar
    if not current:
        return (
            "unknown",
            f"{m.name}: no value in these runs (baseline {m.show(limit)})",
            None,
            limit,
        )
    c = statistics.median(current)
    ok = c <= limit
    rule = (
        f"max(baseline median {m.show(statistics.median(base))} x {1 + tolerance:g}, "
        f"baseline max {m.show(max(v for v in base if v != INF))}) + {m.show(m.floor)}"
    )
    msg = (
        f"{m.name} median {m.show(c)} ({_spread(current, m.show)}) {'<=' if ok else '>'} "
        f"{m.show(limit)} = {rule} (baseline: {_spread(base, m.show)})"
    )
    return ("pass" if ok else "fail"), msg, c, limit


def match(g: Group, baseline: Sequence[Group]) -> tuple[Group | None, str]:
    for b in baseline:
        if b.identity == g.identity:
            return b, ""
    same = [b for b in baseline if b.experiment == g.experiment]
    if len(same) == 1:
        return same[0], " [baseline settings differ]"
    return None, ""


def _values(g: Group, m: Metric) -> list[float]:
    judged = (r for r in g.runs if r.result.verdict != Verdict.INTERRUPTED)
    return [v for r in judged if (v := m.get(r.result)) is not None]


def check_baseline_comparable(g: Group, b: Group) -> None:
    """A baseline that ran on other ground (platform, mesh, nodes, engine versions) or with
    another service or load sets no bar: UsageError naming the difference (exit 2)."""
    runs = [r for r in (*b.runs, *g.runs) if r.result.verdict != Verdict.INTERRUPTED]
    prints = [(str(r.dir), fingerprint_of(r.result, str(r.dir))) for r in runs]
    check_comparable("gate --baseline", prints)


def baseline_checks(g: Group, baseline: Sequence[Group], tolerance: float) -> list[GateCheck]:
    b, note = match(g, baseline)
    if b is None:
        why = f"no baseline run of {g.experiment} with these settings"
        return [GateCheck(g.experiment, g.label, "baseline", "baseline", "unknown", why)]
    check_baseline_comparable(g, b)
    out = []
    for m in METRICS:
        cmp = compare_metric(m, _values(g, m), _values(b, m), tolerance)
        if cmp is None:
            continue
        status, msg, value, limit = cmp
        out.append(
            GateCheck(g.experiment, g.label, m.name, "baseline", status, msg + note, value, limit)
        )
    return out
