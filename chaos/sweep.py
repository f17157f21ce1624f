"""Settings sweeps: one experiment run over a matrix of settings, each cell repeated, then one
comparison of the cells from their saved results.

    --sweep KEY=V1,V2 ...   ->  axes  ->  cells (the product, pure: :func:`expand`)
    ->  run every cell ``repeat`` times into ``SWEEP_DIR/<cell-slug>/rep-<n>/``
    ->  :func:`summarise` (reads the saved ``result.json`` files only)
    ->  ``sweep.json`` + ``sweep.md`` (+ ``sweep.html`` through :func:`write_sweep_page`)

Keys are the dotted keys of ``--set``; ``update.X``, ``rollback.X``, ``replicas`` and ``image``
are short for ``service.update.X``, ``service.rollback.X``, ``service.replicas`` and
``service.image``. Values are YAML-typed like ``--set`` values and split on commas, so a value
cannot itself contain a comma.

Per cell and metric the summary keeps the median and the spread (min..max over the repeats):
``failed`` (server-side failed requests on the live IPs in fault + observe, ``judged.
error_count``), ``error_rate`` (a fraction), ``p99_ms`` (success p99, same requests) and
``update_s`` (``recovery.service_converged_s``: update start -> completed for update
experiments). A repeat without a value (no result, a metric not applicable) does not count.

Recommendation: the cell with the fewest median failed requests, then the shortest median
update. It is *confident* when the deciding metric separates it from the runner-up: its worst
repeat is strictly better than the runner-up's best (``best.max < runner_up.min``) and both have
at least two repeats; otherwise it says *not sure* and why (one run per setting, ranges
overlap, a tie).
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import re
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict

from chaos.analysis import RunResult, load_result
from chaos.errors import ChaosError, UsageError
from chaos.experiment import catalogue
from chaos.experiment.runner import REPORTS, RunOptions, run_experiment
from chaos.experiment.spec import Experiment
from chaos.verdict import STOPS_A_SERIES, ExitCode

PLAN_FILE = "sweep-plan.json"
SUMMARY_FILE = "sweep.json"
MARKDOWN_FILE = "sweep.md"
HTML_FILE = "sweep.html"
RESULT_FILE = "result.json"

ALIASES = {
    "update": "service.update",
    "rollback": "service.rollback",
    "replicas": "service.replicas",
    "image": "service.image",
}


def canonical_key(key: str) -> str:
    """``update.parallelism`` -> ``service.update.parallelism``; other keys unchanged."""
    key = key.strip()
    head, dot, rest = key.partition(".")
    if head in ALIASES:
        return ALIASES[head] + dot + rest
    return key


def canonical_overrides(overrides: dict[str, Any]) -> dict[str, Any]:
    return {canonical_key(k): v for k, v in overrides.items()}


@dataclass(frozen=True, slots=True)
class Axis:
    """One swept key (canonical dotted form) and its values (YAML-typed), in order."""

    key: str
    values: tuple[Any, ...]


def parse_axis(text: str) -> Axis:
    """``update.parallelism=1,2,3`` -> ``Axis("service.update.parallelism", (1, 2, 3))``."""
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise UsageError(f"--sweep {text!r}: use KEY=V1,V2,..., e.g. update.parallelism=1,2,3")
    parts = [p.strip() for p in raw.split(",")]
    if not raw.strip() or any(not p for p in parts):
        raise UsageError(f"--sweep {text!r}: an empty value; use KEY=V1,V2,...")
    try:
        values = tuple(yaml.safe_load(p) for p in parts)
    except yaml.YAMLError:
        raise UsageError(f"--sweep {text!r}: a value is not valid YAML") from None
    if len({json.dumps(v, sort_keys=True, default=str) for v in values}) != len(values):
        raise UsageError(f"--sweep {text!r}: a value is repeated")
    return Axis(canonical_key(key), values)


def check_axes(axes: Sequence[Axis]) -> None:
    """A key swept twice, or one key under another (``service.update`` and
    ``service.update.order``), is ambiguous."""
    keys = [a.key for a in axes]
    for i, a in enumerate(keys):
        for b in keys[i + 1 :]:
            if a == b or a.startswith(b + ".") or b.startswith(a + "."):
                raise UsageError(f"--sweep: {a} and {b} overlap; sweep each key once")


@dataclass(frozen=True, slots=True)
class Cell:
    """One combination of swept values: ``settings`` as (canonical key, value) pairs, in the
    order of the axes."""

    settings: tuple[tuple[str, Any], ...]

    @property
    def slug(self) -> str:
        return cell_slug(self.settings)

    @property
    def overrides(self) -> dict[str, Any]:
        return dict(self.settings)

    @property
    def label(self) -> str:
        if not self.settings:
            return "as configured"
        return ", ".join(f"{short_key(k)}={_show(v)}" for k, v in self.settings)


def expand(axes: Sequence[Axis]) -> list[Cell]:
    """The matrix: every combination, the first axis varying slowest; no axes -> one cell."""
    check_axes(axes)
    combos = itertools.product(*[[(a.key, v) for v in a.values] for a in axes])
    return [Cell(tuple(c)) for c in combos]


def short_key(key: str) -> str:
    return key.removeprefix("service.")


def _show(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True)


_UNSAFE = re.compile(r"[^A-Za-z0-9._=-]+")


def cell_slug(settings: Sequence[tuple[str, Any]]) -> str:
    """A directory name: ``update.parallelism=1,update.order=start-first``; characters other
    than letters, digits, ``._=-`` become ``-`` (``chaoslab/web:2`` -> ``chaoslab-web-2``);
    ``default`` for no settings."""
    if not settings:
        return "default"
    parts = [_UNSAFE.sub("-", f"{short_key(k)}={_show(v)}").strip("-") for k, v in settings]
    return ",".join(parts)


# -- running -------------------------------------------------------------------------------
class SweepPlan(BaseModel):
    """``sweep-plan.json``, written before the first run: what the sweep is made of."""

    model_config = ConfigDict(frozen=True)

    experiment: str
    sets: dict[str, Any]
    axes: list[tuple[str, list[Any]]]
    repeat: int
    cells: list[tuple[str, dict[str, Any]]]  # (slug, overrides)
    started_at: str


@dataclass(frozen=True, slots=True)
class SweepOutcome:
    out_dir: Path
    exit_code: int
    lines: list[str]


def prepare(
    experiment: str, sets: dict[str, Any], axes: Sequence[Axis], repeat: int
) -> tuple[list[Cell], dict[str, Experiment]]:
    """Validate every cell's experiment before anything runs (UsageError names the cell)."""
    if repeat < 1:
        raise UsageError(f"--repeat {repeat}: must be at least 1")
    cells = expand(axes)
    base = canonical_overrides(sets)
    exps: dict[str, Experiment] = {}
    for cell in cells:
        try:
            exps[cell.slug] = catalogue.load(experiment, {**base, **cell.overrides})
        except UsageError as exc:
            raise UsageError(f"sweep cell {cell.label}: {exc}") from None
    return cells, exps


def run_sweep(
    experiment: str,
    sets: dict[str, Any],
    axes: Sequence[Axis],
    repeat: int,
    opts: RunOptions,
    log: Callable[[str], None] = print,
) -> SweepOutcome:
    """Run every cell ``repeat`` times (``opts.out_dir``: the sweep dir, default
    ``reports/sweep-<date>-<name>``), then summarise. Seeds: ``opts.seed + n`` for repeat n
    when a seed is given, else random per run. Exit code: 0 when every run finished (its
    verdict is in the summary); 4 or 130 stops the sweep at once (cluster not restored,
    interrupted) and is returned; else 3 if a run hit a platform error."""
    cells, exps = prepare(experiment, sets, axes, repeat)
    name = next(iter(exps.values())).name
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    sweep_dir = opts.out_dir or (REPORTS / f"sweep-{stamp}-{name}")
    sweep_dir.mkdir(parents=True, exist_ok=True)
    plan = SweepPlan(
        experiment=experiment,
        sets=canonical_overrides(sets),
        axes=[(a.key, list(a.values)) for a in axes],
        repeat=repeat,
        cells=[(c.slug, c.overrides) for c in cells],
        started_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    )
    (sweep_dir / PLAN_FILE).write_text(plan.model_dump_json(indent=2) + "\n")
    total = len(cells) * repeat
    log(f"sweep {sweep_dir}: {len(cells)} settings x {repeat} repeats = {total} runs")
    code = 0
    done = 0
    for cell in cells:
        for n in range(1, repeat + 1):
            done += 1
            rep_dir = sweep_dir / cell.slug / f"rep-{n}"
            seed = None if opts.seed is None else opts.seed + n - 1
            log(f"[{done}/{total}] {cell.label}, repeat {n}")
            outcome = run_experiment(
                exps[cell.slug], replace(opts, seed=seed, out_dir=rep_dir, keep=False)
            )
            log(f"  verdict: {outcome.verdict} (exit {outcome.exit_code}) -> {rep_dir}")
            if outcome.exit_code in STOPS_A_SERIES:
                log("sweep stopped: " + ("; ".join(outcome.lines[2:]) or "see the run above"))
                return SweepOutcome(sweep_dir, outcome.exit_code, finish(sweep_dir, log))
            if outcome.exit_code == ExitCode.PLATFORM:
                code = ExitCode.PLATFORM
    return SweepOutcome(sweep_dir, code, finish(sweep_dir, log))


def finish(sweep_dir: Path, log: Callable[[str], None]) -> list[str]:
    """Summarise the saved runs, write ``sweep.json``, ``sweep.md`` and the page; the lines
    to print."""
    summary = summarise(sweep_dir)
    write_summary(sweep_dir, summary)
    lines = [f"sweep summary: {sweep_dir / MARKDOWN_FILE}"]
    page = write_sweep_page(sweep_dir, summary)
    lines.append(f"sweep page: {page}")
    lines.append(summary.recommendation.text)
    return lines


# -- summarising ---------------------------------------------------------------------------
class Spread(BaseModel):
    """Median and range of one metric over a cell's repeats that have it (``n`` of them)."""

    model_config = ConfigDict(frozen=True)

    n: int
    median: float | None
    min: float | None
    max: float | None

    @classmethod
    def of(cls, values: Sequence[float | None]) -> Spread:
        xs = sorted(v for v in values if v is not None)
        if not xs:
            return cls(n=0, median=None, min=None, max=None)
        return cls(n=len(xs), median=statistics.median(xs), min=xs[0], max=xs[-1])


class RepSummary(BaseModel):
    """One repeat: its dir (relative to the sweep dir), verdict and headline numbers
    (``None``: no result, or not applicable)."""

    model_config = ConfigDict(frozen=True)

    dir: str
    verdict: str
    failed: float | None
    error_rate: float | None
    p99_ms: float | None
    update_s: float | None


class CellSummary(BaseModel):
    model_config = ConfigDict(frozen=True)

    slug: str
    label: str
    settings: dict[str, Any]
    runs: list[RepSummary]
    failed: Spread
    error_rate: Spread
    p99_ms: Spread
    update_s: Spread


Confidence = Literal["confident", "not_sure", "none"]


class Recommendation(BaseModel):
    model_config = ConfigDict(frozen=True)

    slug: str | None
    confidence: Confidence
    text: str


class SweepSummary(BaseModel):
    """``sweep.json``."""

    model_config = ConfigDict(frozen=True)

    experiment: str
    repeat: int
    axes: list[tuple[str, list[Any]]]
    cells: list[CellSummary]
    recommendation: Recommendation


def rep_summary(rel: str, result: RunResult | None) -> RepSummary:
    if result is None:
        return RepSummary(
            dir=rel, verdict="missing", failed=None, error_rate=None, p99_ms=None, update_s=None
        )
    judged = result.judged
    lat = result.judged_latency_ms
    return RepSummary(
        dir=rel,
        verdict=result.verdict,
        failed=None if judged is None else float(judged.error_count),
        error_rate=None if judged is None else judged.error_rate,
        p99_ms=None if lat is None else lat.p99,
        update_s=result.recovery.service_converged_s,
    )


def cell_summary(
    slug: str, label: str, settings: dict[str, Any], runs: list[RepSummary]
) -> CellSummary:
    return CellSummary(
        slug=slug,
        label=label,
        settings=settings,
        runs=runs,
        failed=Spread.of([r.failed for r in runs]),
        error_rate=Spread.of([r.error_rate for r in runs]),
        p99_ms=Spread.of([r.p99_ms for r in runs]),
        update_s=Spread.of([r.update_s for r in runs]),
    )


def _rank_key(c: CellSummary) -> tuple[float, float]:
    inf = float("inf")
    failed = c.failed.median if c.failed.median is not None else inf
    update = c.update_s.median if c.update_s.median is not None else inf
    return failed, update


def _fmt(metric: str, x: float | None) -> str:
    if x is None:
        return "-"
    if metric == "failed":
        return f"{x:g}"
    if metric == "error_rate":
        return f"{x * 100:.3g}%"
    if metric == "p99_ms":
        return f"{x:.1f}ms"
    return f"{x:.1f}s"


def recommend(cells: Sequence[CellSummary]) -> Recommendation:
    """The rule of the module docstring."""
    usable = [c for c in cells if c.failed.n > 0]
    if not usable:
        return Recommendation(
            slug=None, confidence="none", text="no recommendation: no setting has a result"
        )
    ranked = sorted(usable, key=_rank_key)  # stable: ties keep the matrix order
    best = ranked[0]
    head = f"recommended: {best.label} ({_fmt('failed', best.failed.median)} failed requests"
    head += f", update {_fmt('update_s', best.update_s.median)}, medians)"
    if len(ranked) == 1:
        why = "only one setting has results" if len(cells) > 1 else "only one setting"
        return Recommendation(slug=best.slug, confidence="not_sure", text=f"{head}; {why}")
    second = ranked[1]
    metric, name = ("failed", "failed requests")
    if best.failed.median == second.failed.median:
        metric, name = ("update_s", "update duration")
    b: Spread = getattr(best, metric)
    s: Spread = getattr(second, metric)
    versus = f"{second.label}: {_fmt(metric, s.min)}..{_fmt(metric, s.max)}"
    mine = f"{_fmt(metric, b.min)}..{_fmt(metric, b.max)}"
    if b.median is None or s.median is None:
        text = f"{head}; not sure: no {name} to compare with {second.label}"
        return Recommendation(slug=best.slug, confidence="not_sure", text=text)
    if b.median == s.median:
        text = f"{head}; not sure: tied with {second.label} on failed requests and update"
        return Recommendation(slug=best.slug, confidence="not_sure", text=text)
    if min(b.n, s.n) < 2:
        text = f"{head}; not sure: one run per setting, no spread to judge by (use --repeat 3)"
        return Recommendation(slug=best.slug, confidence="not_sure", text=text)
    assert b.max is not None and s.min is not None
    if b.max < s.min:
        text = (
            f"{head}; confident: on {name} its worst repeat beats the runner-up's best "
            f"({mine} vs {versus})"
        )
        return Recommendation(slug=best.slug, confidence="confident", text=text)
    text = f"{head}; not sure: {name} ranges overlap ({mine} vs {versus})"
    return Recommendation(slug=best.slug, confidence="not_sure", text=text)


def _read(path: Path) -> RunResult | None:
    try:
        return load_result(path)
    except ChaosError:
        return None


def summarise(sweep_dir: Path) -> SweepSummary:
    """The summary of a sweep dir from its plan and saved results (no cluster)."""
    try:
        plan = SweepPlan.model_validate_json((sweep_dir / PLAN_FILE).read_text())
    except (OSError, ValueError) as exc:
        raise UsageError(f"{sweep_dir}: not a sweep directory ({PLAN_FILE}: {exc})") from None
    cells = []
    for slug, overrides in plan.cells:
        cell = Cell(tuple(overrides.items()))
        runs = []
        for n in range(1, plan.repeat + 1):
            rel = f"{slug}/rep-{n}"
            path = sweep_dir / rel / RESULT_FILE
            if path.exists() or (sweep_dir / rel).exists():
                runs.append(rep_summary(rel, _read(path)))
        cells.append(cell_summary(slug, cell.label, overrides, runs))
    return SweepSummary(
        experiment=plan.experiment,
        repeat=plan.repeat,
        axes=plan.axes,
        cells=cells,
        recommendation=recommend(cells),
    )


def _cell_md(metric: str, s: Spread) -> str:
    if s.n == 0:
        return "-"
    med = _fmt(metric, s.median)
    if s.n == 1:
        return med
    return f"{med} ({_fmt(metric, s.min)}..{_fmt(metric, s.max)})"


def markdown(summary: SweepSummary) -> str:
    """``sweep.md``: one row per setting, median (min..max) per metric, then the
    recommendation."""
    swept = ", ".join(
        f"{short_key(k)} = {', '.join(_show(v) for v in vs)}" for k, vs in summary.axes
    )
    out = [
        f"# Sweep: {summary.experiment}",
        "",
        f"Swept: {swept or 'nothing'}; {summary.repeat} repeat(s) per setting. "
        "Cells: median (min..max) over the repeats with a value.",
        "",
        "| setting | runs | verdicts | failed requests | error rate | p99 | update duration |",
        "|---|---|---|---|---|---|---|",
    ]
    for c in summary.cells:
        verdicts = " ".join(r.verdict for r in c.runs) or "-"
        best = " **(recommended)**" if c.slug == summary.recommendation.slug else ""
        out.append(
            f"| {c.label}{best} | {len(c.runs)} | {verdicts} | {_cell_md('failed', c.failed)} "
            f"| {_cell_md('error_rate', c.error_rate)} | {_cell_md('p99_ms', c.p99_ms)} "
            f"| {_cell_md('update_s', c.update_s)} |"
        )
    out += [
        "",
        f"**{summary.recommendation.text}**",
        "",
        "Failed requests: server-side failures on the live IPs during fault + observe; "
        "error rate: failed / sent; p99: success latency, same requests; update duration: "
        "update start -> completed (`service_converged_s`). See `docs/metrics.md`.",
        "",
    ]
    return "\n".join(out)


def write_summary(sweep_dir: Path, summary: SweepSummary) -> None:
    (sweep_dir / SUMMARY_FILE).write_text(summary.model_dump_json(indent=2) + "\n")
    (sweep_dir / MARKDOWN_FILE).write_text(markdown(summary))


def representative(cell: CellSummary) -> str | None:
    """The repeat whose failed count is the cell's median (the first such), for the page."""
    with_value = [r for r in cell.runs if r.failed is not None]
    if not with_value:
        return None
    median = cell.failed.median
    return min(with_value, key=lambda r: abs((r.failed or 0.0) - (median or 0.0))).dir


def write_sweep_page(sweep_dir: Path, summary: SweepSummary) -> Path | str:
    """``sweep.html``: the report module's compare page of one representative repeat per
    setting (timelines overlaid). Returns the path, or why no page was written (the
    Markdown and JSON summaries are the record either way)."""
    dirs = [sweep_dir / rel for c in summary.cells if (rel := representative(c)) is not None]
    if len(dirs) < 2:
        return "not written (fewer than two settings with results)"
    try:
        from chaos.report import render_compare
    except ImportError:
        return "not written (chaos.report is not available)"
    try:
        return render_compare(dirs, sweep_dir / HTML_FILE)
    except ChaosError as exc:
        return f"not written ({exc})"
