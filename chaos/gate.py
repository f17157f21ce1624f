"""``chaos gate``: saved runs against thresholds and a baseline, for CI (no cluster needed).

    RUN_DIR... (run dirs, or suite/sweep dirs holding them)  ->  runs  ->  groups of repeats
    ->  absolute checks per run  +  baseline checks per group  ->  status, lines, JUnit, Markdown

**Absolute checks** (each run): ``error_rate``, ``p99`` and ``recovery`` against the
experiment file's ``slo`` (as saved in ``result.json``), each overridable by an option; the
run's own ``leader_election`` and ``dropped`` checks as saved; and ``run_valid`` (the run
finished, restored the cluster, had no run error and measured the system, not the load
generator). Definitions as in :mod:`chaos.analysis.checks`.

**Groups**: runs of the same experiment with the same settings (``result.json``'s settings
without ``slo``, ``description`` and ``expect``, which do not change what runs) are repeats.

**Baseline checks** (each group with a baseline): for every metric of :data:`METRICS`, with
``C`` the median of the group's values, ``B`` the median and ``B_max`` the largest of the
matching baseline group's finite values, ``tol`` the tolerance and ``floor`` the metric's absolute
slack::

    limit = max(B * (1 + tol), B_max) + floor          pass when C <= limit

So a median within the tolerance of the baseline's median, or no worse than the baseline's
worst repeat, passes; the floor keeps a near-zero baseline (no errors) from failing on one
request. "Not recovered" counts as +infinity (a median over repeats still works). No values
in the baseline: no check (the baseline sets no bar); none in the group: ``unknown``. The
baseline group is the one with the same experiment and settings, else the only baseline group
of the same experiment (the line says the settings differ), else ``unknown``.

**Comparable runs**: a group and its baseline must share their fingerprint (platform, mesh,
node count, engine versions, service, load: :mod:`chaos.analysis.fingerprint`); otherwise
the gate is refused with one line naming the difference (exit 2), since such a baseline sets
no bar.

**Interrupted runs** (stopped early by an operator) are neither pass nor fail: their one
line is ``skipped`` ("not judged"), they take no part in the baseline comparison, and they do
not fail the gate by themselves; a gate where no run at all was judged fails (nothing to
vouch for).

**Exit**: ``fail`` and ``unknown`` both fail the gate (a gate must not pass on missing data).
"""

from __future__ import annotations

import json
import os
import statistics
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import ValidationError

from chaos import fmt
from chaos.analysis import RunResult, check_comparable, fingerprint_of, load_result
from chaos.analysis.checks import (
    CheckInputs,
    check_error_rate,
    check_p99,
    check_recovery,
)
from chaos.analysis.steadiness import unsteady_start
from chaos.errors import UsageError
from chaos.experiment.spec import Slo
from chaos.verdict import Validity, Verdict

RESULT_FILE = "result.json"
Status = Literal["pass", "fail", "unknown", "skipped"]
Kind = Literal["absolute", "baseline"]
IDENTITY_EXCLUDES = ("slo", "description", "expect")
SAVED_CHECKS = ("leader_election", "dropped")


@dataclass(frozen=True, slots=True)
class Thresholds:
    """Overrides of the experiments' SLO (``None``: use the file's) and the baseline
    tolerance. Units: fraction, seconds, seconds, fraction."""

    max_error_rate: float | None = None
    max_p99: float | None = None
    max_recovery: float | None = None
    tolerance: float = 0.2


@dataclass(frozen=True, slots=True)
class Run:
    dir: Path
    result: RunResult


@dataclass(frozen=True, slots=True)
class Group:
    """Repeats: runs of one experiment with the same settings."""

    experiment: str
    identity: str
    runs: tuple[Run, ...]

    @property
    def label(self) -> str:
        if len(self.runs) == 1:
            return f"{self.experiment} ({self.runs[0].dir})"
        common = os.path.commonpath([str(r.dir) for r in self.runs])
        return f"{self.experiment} ({len(self.runs)} runs in {common})"


@dataclass(frozen=True, slots=True)
class GateCheck:
    """One line of the gate. ``subject``: the run or group; ``value`` and ``limit`` in the
    metric's unit (fraction or seconds)."""

    experiment: str
    subject: str
    metric: str
    kind: Kind
    status: Status
    message: str
    value: float | None = None
    limit: float | None = None

    @property
    def name(self) -> str:
        """The testcase name: the metric first."""
        what = self.metric if self.kind == "absolute" else f"{self.metric} vs baseline"
        return f"{what}: {self.subject}"

    @property
    def line(self) -> str:
        tail = " (unknown counts as a failure)" if self.status == "unknown" else ""
        if self.status == "skipped":
            tail = " (neither pass nor fail)"
        return f"{self.status.upper():<7} {self.name}: {self.message}{tail}"


@dataclass(frozen=True, slots=True)
class GateReport:
    checks: tuple[GateCheck, ...]
    baseline: Path | None
    tolerance: float

    @property
    def failed(self) -> int:
        return sum(c.status == "fail" for c in self.checks)

    @property
    def unknown(self) -> int:
        return sum(c.status == "unknown" for c in self.checks)

    @property
    def skipped(self) -> int:
        return sum(c.status == "skipped" for c in self.checks)

    @property
    def judged(self) -> bool:
        """Some run was judged (a gate of interrupted runs only vouches for nothing)."""
        return self.skipped < len(self.checks)

    @property
    def passed(self) -> bool:
        return self.failed == 0 and self.unknown == 0 and self.judged

    @property
    def exit_code(self) -> int:
        return 0 if self.passed else 1

    @property
    def summary(self) -> str:
        n = len(self.checks)
        skipped = f", {self.skipped} interrupted runs not judged" if self.skipped else ""
        if self.passed:
            return f"gate: PASS ({n - self.skipped} checks{skipped})"
        if not self.judged:
            return f"gate: FAIL (no run was judged: {self.skipped} interrupted)"
        return (
            f"gate: FAIL ({self.failed} failed, {self.unknown} unknown of "
            f"{n - self.skipped} checks{skipped})"
        )

    def lines(self) -> list[str]:
        return [c.line for c in self.checks] + [self.summary]


# -- reading -------------------------------------------------------------------------------
def collect(paths: Sequence[Path]) -> list[Run]:
    """The runs under ``paths``: a dir with ``result.json`` is one run; any other dir is
    searched for run dirs (a suite or sweep). UsageError when a path holds no run."""
    runs: list[Run] = []
    for path in paths:
        if (path / RESULT_FILE).is_file():
            files = [path / RESULT_FILE]
        elif path.is_dir():
            files = sorted(path.rglob(RESULT_FILE))
        else:
            raise UsageError(f"{path}: no such directory")
        if not files:
            raise UsageError(f"{path}: no {RESULT_FILE} in it or below; is it a run directory?")
        runs += [Run(f.parent, load_result(f)) for f in files]
    return runs


def identity_of(name: str, settings: dict[str, Any]) -> str:
    """What makes runs repeats of each other: the experiment and its settings without
    :data:`IDENTITY_EXCLUDES` (thresholds and prose do not change what runs)."""
    kept = {k: v for k, v in settings.items() if k not in IDENTITY_EXCLUDES}
    return json.dumps({"name": name, **kept}, sort_keys=True)


def identity(result: RunResult) -> str:
    return identity_of(result.experiment.name, result.experiment.settings)


def group(runs: Sequence[Run]) -> list[Group]:
    """Runs grouped by experiment and settings, in first-seen order."""
    found: dict[str, list[Run]] = {}
    for run in runs:
        found.setdefault(identity(run.result), []).append(run)
    return [Group(rs[0].result.experiment.name, key, tuple(rs)) for key, rs in found.items()]


# -- absolute checks -----------------------------------------------------------------------
def _slo(run: Run) -> Slo:
    try:
        return Slo.model_validate(run.result.experiment.settings.get("slo") or {})
    except ValidationError as exc:
        msg = exc.errors()[0]["msg"]
        raise UsageError(f"{run.dir}: malformed slo in {RESULT_FILE}: {msg}") from None


def _inputs(result: RunResult) -> CheckInputs:
    lat = result.judged_latency_ms
    load = result.load
    return CheckInputs(
        judged=result.judged,
        judged_p99_s=None if lat is None or lat.p99 is None else lat.p99 / 1000.0,
        recovery=result.recovery,
        leader_faulted=False,  # only leader_election needs it; that check is read as saved
        generator_errors=None if load is None else load.requests.generator_errors,
    )


def validity(result: RunResult) -> Validity:
    """The saved run's own validity, as :func:`chaos.verdict.judge` saw it."""
    has_fault = bool(result.experiment.settings.get("steps"))
    return Validity(
        run_errors=tuple(result.errors),
        generator_limited=None if result.load is None else result.load.generator_limited,
        unsteady=unsteady_start(result.phases, has_fault=has_fault),
    )


def run_valid(result: RunResult) -> tuple[Status, str]:
    why = ([] if result.restored else ["the cluster was not restored"]) + validity(result).caps()
    if why:
        return "unknown", "; ".join(why)
    return "pass", "the run finished, restored the cluster and measured the system"


def absolute_checks(run: Run, th: Thresholds) -> list[GateCheck]:
    """The checks of one run against its SLO with the overrides of ``th``."""
    result, subject = run.result, str(run.dir)
    exp = result.experiment.name
    if result.verdict == Verdict.INTERRUPTED:
        why = "; ".join(result.verdict_reasons) or "interrupted: not judged"
        return [GateCheck(exp, subject, "run_valid", "absolute", "skipped", why)]
    slo = _slo(run)
    status, why = run_valid(result)
    out = [GateCheck(exp, subject, "run_valid", "absolute", status, why)]
    inputs = _inputs(result)
    limits = (
        (th.max_error_rate, slo.max_error_rate, check_error_rate),
        (th.max_p99, slo.max_p99, check_p99),
        (th.max_recovery, slo.max_recovery, check_recovery),
    )
    for override, saved, fn in limits:
        limit = override if override is not None else saved
        if limit is None:
            continue
        c = fn(limit, inputs)
        out.append(GateCheck(exp, subject, c.name, "absolute", c.status, c.message, c.value, limit))
    for c in result.checks:
        if c.name in SAVED_CHECKS:
            out.append(
                GateCheck(
                    exp, subject, c.name, "absolute", c.status, c.message, c.value, c.threshold
                )
            )
    return out


# -- baseline checks -----------------------------------------------------------------------
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


def _p99(r: RunResult) -> float | None:
    lat = r.judged_latency_ms
    return None if lat is None or lat.p99 is None else lat.p99 / 1000.0


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
    Metric("p99", _p99, 0.005, secs),  # 5 ms
    Metric("recovery", _recovery, 1.0, secs),  # one client bucket
    Metric("converged", _converged, 1.0, secs),  # service_converged_s; the update duration
)


def limit_of(baseline: Sequence[float], tolerance: float, floor: float) -> float:
    """``max(median * (1 + tolerance), largest finite value) + floor`` (the rule of the module
    docstring); infinite when the median is (the baseline did not recover)."""
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


# -- the gate ------------------------------------------------------------------------------
def gate(paths: Sequence[Path], baseline: Path | None, th: Thresholds) -> GateReport:
    """Every check of the runs under ``paths``; UsageError for input that is not runs."""
    if not paths:
        raise UsageError("gate: give at least one run directory")
    runs = collect(paths)
    checks: list[GateCheck] = []
    for run in runs:
        checks += absolute_checks(run, th)
    if baseline is not None:
        base_groups = group(collect([baseline]))
        for g in group(runs):
            checks += baseline_checks(g, base_groups, th.tolerance)
    return GateReport(tuple(checks), baseline, th.tolerance)


def junit(report: GateReport) -> str:
    """JUnit XML: one testcase per check, named after the metric; a failed check is a
    ``<failure>``, an unknown one an ``<error>`` (both fail CI)."""
    n = str(len(report.checks))
    attrs = {"tests": n, "failures": str(report.failed), "errors": str(report.unknown)}
    root = ET.Element("testsuites", {"name": "chaos gate", **attrs})
    skipped = str(report.skipped)
    suite = ET.SubElement(root, "testsuite", {"name": "chaos gate", **attrs, "skipped": skipped})
    for c in report.checks:
        case = ET.SubElement(
            suite,
            "testcase",
            {"classname": f"chaos.gate.{c.experiment}", "name": c.name, "time": "0"},
        )
        if c.status == "fail":
            ET.SubElement(case, "failure", {"type": "fail", "message": c.message}).text = c.line
        elif c.status == "unknown":
            ET.SubElement(case, "error", {"type": "unknown", "message": c.message}).text = c.line
        elif c.status == "skipped":
            ET.SubElement(case, "skipped", {"message": c.message}).text = c.line
        else:
            ET.SubElement(case, "system-out").text = c.line
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


ICON = {"pass": "✅", "fail": "❌", "unknown": "❓", "skipped": "⏹️"}


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def markdown(report: GateReport) -> str:
    """A job summary: the outcome, the rule, one table row per check (failures first)."""
    head = "✅ pass" if report.passed else "❌ fail"
    out = [f"## chaos gate: {head}", "", report.summary.removeprefix("gate: ") + "."]
    if report.baseline is not None:
        out.append(
            f"Baseline `{report.baseline}`, tolerance {report.tolerance * 100:g}%: "
            "limit = max(baseline median x (1 + tolerance), baseline max) + floor."
        )
    out += ["Unknown counts as a failure.", "", "| | check | run | detail |", "|---|---|---|---|"]
    order = {"fail": 0, "unknown": 1, "skipped": 2, "pass": 3}
    for c in sorted(report.checks, key=lambda c: order[c.status]):
        what = c.metric if c.kind == "absolute" else f"{c.metric} vs baseline"
        out.append(f"| {ICON[c.status]} | {_md(what)} | `{_md(c.subject)}` | {_md(c.message)} |")
    return "\n".join(out) + "\n"
