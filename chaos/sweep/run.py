"""Running a sweep: every cell's experiment validated first, then its runs, then the
comparison written from the saved results.

- ``--repeat N``: every cell N times, cell by cell.
- ``--repeat auto`` (:class:`~chaos.sweep.files.AutoRepeat`): every cell ``min_repeat`` times
  (round by round, so a budget that runs out leaves every setting with as many runs), then,
  round after round, one more run of the recommended setting and of every setting it is not
  yet sure to beat (:mod:`chaos.sweep.recommend`), until it is sure against all of them, a
  setting reaches ``max_repeat`` runs, or the next run would end after the time budget.

The budget counts wall time from the sweep's start. A run is started only when the longest
run so far of its setting (of any setting before its first) still fits in what is left, so
the budget is not overrun by a whole run; the first run has nothing to go by and always
starts.

Seeds: with ``opts.seed``, repeat n of every cell uses ``seed + n - 1`` (the cells see the
same seeds); else random per run. Exit code: 0 when every run finished (each run's verdict is
in the summary); 4 (cluster not restored) or 130 (interrupted) stop the sweep at once and are
returned; else 3 if a run hit a platform error. Runs that are not comparable (another engine
version, node count...: :mod:`chaos.analysis.fingerprint`) stop the sweep with a UsageError.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chaos.analysis import fingerprint_of, load_result
from chaos.analysis.fingerprint import Fingerprint
from chaos.errors import ChaosError, UsageError
from chaos.experiment import catalogue
from chaos.experiment.runner import REPORTS, RunOptions, run_experiment
from chaos.experiment.schedule import Schedule
from chaos.experiment.spec import Experiment, canonical_key
from chaos.fmt import seconds, text_estimate
from chaos.repeats import RunOne, repeat_seed, run_repeat, stopped_after
from chaos.sweep.files import (
    LOG_FILE,
    MARKDOWN_FILE,
    PLAN_FILE,
    RESULT_FILE,
    SUMMARY_FILE,
    AutoRepeat,
    LoggedRun,
    SweepLog,
    SweepPlan,
    write_json,
)
from chaos.sweep.markdown import markdown
from chaos.sweep.matrix import Axis, Cell, expand
from chaos.sweep.model import SweepSummary
from chaos.sweep.page import write_sweep_page
from chaos.sweep.recommend import fewest_to_be_sure
from chaos.sweep.summary import check_sweep_runs, summarise
from chaos.ui.progress import Series
from chaos.verdict import ExitCode

Clock = Callable[[], float]

AUTO_MAX_REPEAT = 10  # runs per setting: past 10 against 10, more runs rarely change a verdict


def auto_repeat(budget_s: float | None, max_repeat: int = AUTO_MAX_REPEAT) -> AutoRepeat:
    """``--repeat auto``: from the fewest runs that can be sure at 95% (3) up to the cap."""
    return AutoRepeat(min_repeat=fewest_to_be_sure(), max_repeat=max_repeat, budget_s=budget_s)


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
    base = {canonical_key(k): v for k, v in sets.items()}
    exps: dict[str, Experiment] = {}
    for cell in cells:
        try:
            exps[cell.slug] = catalogue.load(experiment, {**base, **cell.overrides})
        except UsageError as exc:
            raise UsageError(f"sweep cell {cell.label}: {exc}") from None
    return cells, exps


class _Stop(Exception):
    """A run ended the sweep (its exit code is the sweep's)."""

    def __init__(self, code: int) -> None:
        self.code = code


@dataclass
class _Session:
    """The runs of one sweep so far (mutable: the loop's state, kept in one place)."""

    sweep_dir: Path
    exps: dict[str, Experiment]
    opts: RunOptions
    run_one: RunOne
    clock: Clock
    log: Callable[[str], None]
    swept: list[str]
    started: float
    record: SweepLog = field(default_factory=SweepLog)
    code: int = 0
    first: tuple[str, Fingerprint] | None = None
    series: Series | None = None  # a fixed sweep's runs: [i/N], elapsed and time left
    budget_s: float | None = None  # --repeat auto's budget

    def reps(self, cell: Cell) -> int:
        return sum(r.slug == cell.slug for r in self.record.runs)

    def elapsed(self) -> float:
        return self.clock() - self.started

    def estimate(self, cell: Cell) -> float:
        """The next run of ``cell`` takes about as long as its longest so far (any cell's
        before its first); 0 before any run."""
        own = [r.seconds for r in self.record.runs if r.slug == cell.slug]
        return max(own or [r.seconds for r in self.record.runs] or [0.0])

    def save(self, stopped: str | None = None) -> None:
        if stopped is not None:
            self.record = self.record.model_copy(update={"stopped": stopped})
        write_json(self.sweep_dir / LOG_FILE, self.record)

    def run(self, cell: Cell, n: int, progress: str) -> None:
        """Repeat ``n`` of ``cell``; :class:`_Stop` when it ends the sweep."""
        rel = f"{cell.slug}/rep-{n}"
        rep_dir = self.sweep_dir / rel
        seed = repeat_seed(self.opts.seed, n)
        if self.series is not None:
            self.series.start(f"{cell.label}, repeat {n}")
        else:
            left = "" if self.budget_s is None else (
                f", {text_estimate(max(0.0, self.budget_s - self.elapsed()))} of the budget left"
            )  # fmt: skip
            self.log(f"{progress} {cell.label}, repeat {n}  "
                     f"({text_estimate(self.elapsed())} elapsed{left})")  # fmt: skip
        t0 = self.clock()
        outcome = run_repeat(self.run_one, self.exps[cell.slug], self.opts, seed, rep_dir)
        took = self.clock() - t0
        said = f"verdict: {outcome.verdict} (exit {outcome.exit_code}) -> {rep_dir}"
        if self.series is not None:
            self.series.done(said)
        else:
            self.log(f"  {said} ({seconds(took)})")
        done = LoggedRun(
            slug=cell.slug, rep=n, seed=seed, seconds=round(took, 3),
            exit_code=outcome.exit_code, verdict=str(outcome.verdict),
        )  # fmt: skip
        self.record = self.record.model_copy(update={"runs": [*self.record.runs, done]})
        self.save()
        stopped = stopped_after(rel, outcome)
        if stopped:
            why = "; ".join(outcome.lines[2:]) or "see the run above"
            self.log(f"sweep stopped: {why}")
            self.save(stopped)
            raise _Stop(outcome.exit_code)
        if outcome.exit_code == ExitCode.PLATFORM:
            self.code = ExitCode.PLATFORM
        self.check(rel)

    def check(self, rel: str) -> None:
        """The new run against the sweep's first: the same ground, only the swept keys
        differ (else UsageError, the sweep stops: its comparison would mean nothing)."""
        try:
            result = load_result(self.sweep_dir / rel / RESULT_FILE)
        except ChaosError:
            return  # no result: shown as missing, nothing to compare
        fp = fingerprint_of(result, str(self.sweep_dir / rel))
        if self.first is None:
            self.first = (rel, fp)
            return
        try:
            check_sweep_runs(self.sweep_dir, self.swept, [self.first, (rel, fp)])
        except UsageError as exc:
            self.save(f"runs not comparable: {exc}")
            raise


def run_sweep(
    experiment: str,
    sets: dict[str, Any],
    axes: Sequence[Axis],
    repeat: int | AutoRepeat,
    opts: RunOptions,
    log: Callable[[str], None] = print,
    run_one: RunOne | None = None,
    clock: Clock = time.monotonic,
) -> SweepOutcome:
    """Run the sweep (module docstring) into ``opts.out_dir`` (default
    ``reports/sweep-<date>-<name>``), then summarise. ``run_one`` runs one cell's experiment
    (default :func:`chaos.experiment.runner.run_experiment`); ``clock`` measures the budget."""
    auto = repeat if isinstance(repeat, AutoRepeat) else None
    first_round = repeat.min_repeat if isinstance(repeat, AutoRepeat) else repeat
    cells, exps = prepare(experiment, sets, axes, first_round)
    name = next(iter(exps.values())).name
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    sweep_dir = opts.out_dir or (REPORTS / f"sweep-{stamp}-{name}")
    sweep_dir.mkdir(parents=True, exist_ok=True)
    plan = SweepPlan(
        experiment=experiment,
        sets={canonical_key(k): v for k, v in sets.items()},
        axes=[(a.key, list(a.values)) for a in axes],
        repeat=first_round,
        cells=[(c.slug, c.overrides) for c in cells],
        started_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        auto=auto,
    )
    write_json(sweep_dir / PLAN_FILE, plan)
    session = _Session(
        sweep_dir, exps, opts, run_one or run_experiment, clock, log,
        [a.key for a in axes], clock(),
    )  # fmt: skip
    session.save()
    try:
        if auto is None:
            _fixed(session, cells, first_round)
        else:
            session.save(_auto(session, cells, auto))
    except _Stop as stop:
        return SweepOutcome(sweep_dir, stop.code, finish(sweep_dir, log))
    return SweepOutcome(sweep_dir, session.code, finish(sweep_dir, log))


def _fixed(session: _Session, cells: Sequence[Cell], repeat: int) -> None:
    total = len(cells) * repeat
    session.log(
        f"sweep {session.sweep_dir}: {len(cells)} settings x {repeat} repeats = {total} runs"
    )
    expected = [
        Schedule.of(session.exps[c.slug]).expected_s() for c in cells for _ in range(repeat)
    ]
    with Series(
        f"sweep {session.sweep_dir.name}", expected, out=session.log, clock=session.clock
    ) as series:
        session.series = series
        for cell in cells:
            for n in range(1, repeat + 1):
                session.run(cell, n, "")


def _auto(session: _Session, cells: Sequence[Cell], auto: AutoRepeat) -> str:
    """The ``--repeat auto`` rounds; returns why they stopped."""
    budget = "" if auto.budget_s is None else f", within {seconds(auto.budget_s)}"
    session.log(
        f"sweep {session.sweep_dir}: {len(cells)} settings, --repeat auto: {auto.min_repeat} "
        f"runs each, then more of the settings not yet sure at {auto.level:.0%}, up to "
        f"{auto.max_repeat} each{budget}"
    )
    session.budget_s = auto.budget_s
    wanted = list(cells)
    while True:
        todo = [c for c in wanted if session.reps(c) < auto.max_repeat]
        if not todo:
            return f"the cap of {auto.max_repeat} runs per setting is reached{_unsure(session)}"
        for cell in todo:
            if auto.budget_s is not None and session.record.runs:
                left = auto.budget_s - session.elapsed()
                need = session.estimate(cell)
                if need > left:
                    return (
                        f"the time budget of {seconds(auto.budget_s)} is spent: the next run "
                        f"({cell.label}) takes about {seconds(need)}, "
                        f"{seconds(max(left, 0.0))} is left{_unsure(session)}"
                    )
            n = session.reps(cell) + 1
            session.run(cell, n, f"[run {len(session.record.runs) + 1}]")
        if min(session.reps(c) for c in cells) < auto.min_repeat:
            continue  # the first rounds: every setting
        rec = summarise(session.sweep_dir).recommendation
        runs = len(session.record.runs)
        if rec.confidence == "confident":
            return f"sure at {auto.level:.0%} against every other setting after {runs} runs"
        if rec.confidence == "none":
            wanted = list(cells)
            continue
        unsure = {v.other for v in rec.versus if not v.sure}
        wanted = [c for c in cells if c.slug == rec.slug or c.slug in unsure]
        session.log(
            f"  not sure yet against {len(unsure)} setting(s): one more run of "
            + ", ".join(c.label for c in wanted)
        )


def _unsure(session: _Session) -> str:
    rec = summarise(session.sweep_dir).recommendation
    if rec.confidence == "confident":
        return f"; sure at {rec.level:.0%} against every other setting"
    unsure = [v.other_label for v in rec.versus if not v.sure]
    return f"; still not sure against {', '.join(unsure)}" if unsure else "; not sure"


def write_summary(sweep_dir: Path, summary: SweepSummary) -> None:
    write_json(sweep_dir / SUMMARY_FILE, summary)
    (sweep_dir / MARKDOWN_FILE).write_text(markdown(summary), encoding="utf-8")


def finish(sweep_dir: Path, log: Callable[[str], None]) -> list[str]:
    """Summarise the saved runs, write ``sweep.json``, ``sweep.md`` and the page; the lines
    to print."""
    summary = summarise(sweep_dir)
    write_summary(sweep_dir, summary)
    lines = [f"sweep summary: {sweep_dir / MARKDOWN_FILE}"]
    page = write_sweep_page(sweep_dir, summary)
    lines.append(f"sweep page: {page}")
    if summary.stopped:
        lines.append(f"sweep stopped: {summary.stopped}")
    lines.append(summary.recommendation.text)
    return lines
