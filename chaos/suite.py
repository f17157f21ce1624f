"""``chaos suite FILE``: a list of experiments run in sequence, one result dir each, one summary.

A suite file is a YAML list; each entry::

    - experiment: rolling-update        # a catalogue name or an experiment file
      set: {phases.observe: 4s, update.delay: 1s}   # dotted keys as --set (short forms too)
      seed: 3                           # optional; random when absent
      repeat: 1                         # optional; >1 gives rep-<n> dirs (the gate's repeats)
      name: ru-fast                     # optional; the entry's dir name (default: experiment)

Every entry is validated (and its experiment loaded with its overrides) before anything runs;
an error names the file, the entry and the field. Results:
``SUITE_DIR/<NN>-<name>/result.json`` (or ``.../rep-<n>/result.json``) and
``SUITE_DIR/suite.json``.

Exit code: the worst of the runs, in this order: 4 (cluster not restored, stops the suite),
130 (interrupted, stops the suite), 3 (platform error), 1 (an SLO failed), 5 (unknown), 0.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from chaos.errors import UsageError
from chaos.experiment import catalogue
from chaos.experiment.runner import REPORTS, RunOptions, run_experiment
from chaos.experiment.schedule import Schedule
from chaos.experiment.spec import Experiment
from chaos.repeats import repeat_seed, run_repeat, stopped_after
from chaos.ui.progress import Series
from chaos.verdict import worst
from chaos.yamlfile import read_yaml

SUMMARY_FILE = "suite.json"


class SuiteEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    experiment: str = Field(min_length=1)
    set_: dict[str, Any] = Field(default_factory=dict, alias="set")
    seed: int | None = None
    repeat: int = Field(default=1, ge=1)
    name: str | None = Field(default=None, pattern=r"^[a-zA-Z0-9][a-zA-Z0-9_.-]*$")


@dataclass(frozen=True, slots=True)
class Planned:
    index: int  # 1-based
    entry: SuiteEntry
    experiment: Experiment

    @property
    def dir_name(self) -> str:
        return f"{self.index:02d}-{self.entry.name or self.experiment.name}"


def load_suite(path: Path) -> list[Planned]:
    """Read and validate the suite file and every experiment it names (UsageError naming the
    file, the 1-based entry and the field)."""
    data = read_yaml(path)
    if not isinstance(data, list) or not data:
        raise UsageError(
            f"{path}: a suite file is a non-empty YAML list of "
            "{experiment: NAME, set: {KEY: VALUE}, seed: N}"
        )
    planned = []
    for i, raw in enumerate(data, start=1):
        if not isinstance(raw, dict):
            raise UsageError(f"{path}: entry {i}: a mapping like {{experiment: leader-kill}}")
        try:
            entry = SuiteEntry.model_validate(raw)
        except ValidationError as exc:
            err = exc.errors()[0]
            field = ".".join(str(p) for p in err["loc"])
            raise UsageError(f"{path}: entry {i}: {field}: {err['msg']}") from None
        try:
            exp = catalogue.load(entry.experiment, entry.set_)
        except UsageError as exc:
            raise UsageError(f"{path}: entry {i} ({entry.experiment}): {exc}") from None
        planned.append(Planned(i, entry, exp))
    return planned


class SuiteRun(BaseModel):
    model_config = ConfigDict(frozen=True)

    entry: int
    experiment: str
    dir: str  # relative to the suite dir
    seed: int | None
    verdict: str
    exit_code: int


class SuiteSummary(BaseModel):
    """``suite.json``."""

    model_config = ConfigDict(frozen=True)

    suite: str
    started_at: str
    runs: list[SuiteRun]
    exit_code: int
    stopped: str | None = None


@dataclass(frozen=True, slots=True)
class SuiteOutcome:
    out_dir: Path
    exit_code: int
    lines: list[str]


def run_suite(
    path: Path,
    opts: RunOptions,
    log: Callable[[str], None] = print,
) -> SuiteOutcome:
    """Run every entry in order (``opts.out_dir``: the suite dir, default
    ``reports/suite-<date>-<file stem>``; ``opts.seed`` is unused: seeds come from the
    entries)."""
    planned = load_suite(path)
    started = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "-", path.stem)
    suite_dir = opts.out_dir or (
        REPORTS / f"suite-{dt.datetime.now().strftime('%Y%m%d-%H%M%S')}-{stem}"
    )
    suite_dir.mkdir(parents=True, exist_ok=True)
    total = sum(p.entry.repeat for p in planned)
    log(f"suite {path}: {len(planned)} entries, {total} runs -> {suite_dir}")
    expected = [
        Schedule.of(p.experiment).expected_s() for p in planned for _ in range(p.entry.repeat)
    ]
    series = Series(f"suite {path.name}", expected, out=log)
    runs: list[SuiteRun] = []
    stopped = None
    for p in planned:
        for n in range(1, p.entry.repeat + 1):
            rel = p.dir_name if p.entry.repeat == 1 else f"{p.dir_name}/rep-{n}"
            seed = repeat_seed(p.entry.seed, n)
            series.start(f"{p.experiment.name} -> {suite_dir / rel}")
            outcome = run_repeat(run_experiment, p.experiment, opts, seed, suite_dir / rel)
            series.done(f"verdict: {outcome.verdict} (exit {outcome.exit_code})")
            runs.append(
                SuiteRun(
                    entry=p.index,
                    experiment=p.experiment.name,
                    dir=rel,
                    seed=seed,
                    verdict=outcome.verdict,
                    exit_code=outcome.exit_code,
                )
            )
            stopped = stopped_after(rel, outcome)
            if stopped:
                break
        if stopped:
            break
    series.close()
    code = worst([r.exit_code for r in runs])
    summary = SuiteSummary(
        suite=str(path), started_at=started, runs=runs, exit_code=code, stopped=stopped
    )
    (suite_dir / SUMMARY_FILE).write_text(summary.model_dump_json(indent=2) + "\n")
    lines = [f"{r.verdict:<8} {r.experiment:<18} {suite_dir / r.dir}" for r in runs]
    if stopped:
        lines.append(f"suite {stopped}; the remaining entries did not run")
    lines.append(f"suite summary: {suite_dir / SUMMARY_FILE} (exit {code})")
    return SuiteOutcome(suite_dir, code, lines)
