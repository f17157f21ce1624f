"""What a sweep keeps on disk, next to its run dirs ``<cell-slug>/rep-<n>/``:

- ``sweep-plan.json`` (:class:`SweepPlan`), written before the first run;
- ``sweep-log.json`` (:class:`SweepLog`), rewritten after every run: each run's wall time and
  exit code, and why the sweep stopped;
- ``sweep.json``, ``sweep.md``, ``sweep.html``: the comparison (:mod:`chaos.sweep.summary`).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from chaos import atomic
from chaos.errors import UsageError

PLAN_FILE = "sweep-plan.json"
LOG_FILE = "sweep-log.json"
SUMMARY_FILE = "sweep.json"
MARKDOWN_FILE = "sweep.md"
HTML_FILE = "sweep.html"
RESULT_FILE = "result.json"


class AutoRepeat(BaseModel):
    """``--repeat auto``: every setting ``min_repeat`` times, then more runs of the settings
    whose comparison with the leader is not yet sure at ``level``, up to ``max_repeat`` runs
    per setting or until ``budget_s`` seconds of sweep (``None``: no time limit)."""

    model_config = ConfigDict(frozen=True)

    min_repeat: int = Field(ge=1)
    max_repeat: int = Field(ge=1)
    budget_s: float | None = None
    level: float = 0.95


class SweepPlan(BaseModel):
    """``sweep-plan.json``: what the sweep is made of. ``repeat``: runs per setting (with
    ``auto``, the first round's)."""

    model_config = ConfigDict(frozen=True)

    experiment: str
    sets: dict[str, Any]
    axes: list[tuple[str, list[Any]]]
    repeat: int
    cells: list[tuple[str, dict[str, Any]]]  # (slug, overrides)
    started_at: str
    auto: AutoRepeat | None = None


class LoggedRun(BaseModel):
    """One run of the sweep: its cell, repeat number, seed, wall seconds (set-up and restore
    included: what the budget pays) and exit code."""

    model_config = ConfigDict(frozen=True)

    slug: str
    rep: int
    seed: int | None
    seconds: float
    exit_code: int
    verdict: str


class SweepLog(BaseModel):
    """``sweep-log.json``. ``stopped``: why the sweep ended (``None`` while it runs)."""

    model_config = ConfigDict(frozen=True)

    runs: list[LoggedRun] = Field(default_factory=list)
    stopped: str | None = None


def read_plan(sweep_dir: Path) -> SweepPlan:
    try:
        return SweepPlan.model_validate_json((sweep_dir / PLAN_FILE).read_text())
    except (OSError, ValueError) as exc:
        raise UsageError(f"{sweep_dir}: not a sweep directory ({PLAN_FILE}: {exc})") from None


def read_log(sweep_dir: Path) -> SweepLog:
    """The log, or an empty one (a sweep of an older version, or none run yet)."""
    try:
        return SweepLog.model_validate_json((sweep_dir / LOG_FILE).read_text())
    except FileNotFoundError:
        return SweepLog()
    except (OSError, ValueError) as exc:
        raise UsageError(f"{sweep_dir / LOG_FILE}: unreadable ({exc})") from None


def write_json(path: Path, model: BaseModel) -> None:
    """Atomically: a half-written log must not hide the runs already done."""
    atomic.write_text(path, model.model_dump_json(indent=2) + "\n")


_REP = re.compile(r"^rep-(\d+)$")


def rep_numbers(cell_dir: Path) -> list[int]:
    """The ``rep-<n>`` dirs of a cell that exist, in order (a started run leaves its dir)."""
    if not cell_dir.is_dir():
        return []
    found = (_REP.match(p.name) for p in cell_dir.iterdir() if p.is_dir())
    return sorted(int(m.group(1)) for m in found if m)
