"""The runs a gate reads, and which of them are repeats of each other."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chaos.analysis import RunResult, load_result
from chaos.errors import UsageError

RESULT_FILE = "result.json"
IDENTITY_EXCLUDES = ("slo", "description", "expect")


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


def judged_p99_s(result: RunResult) -> float | None:
    """The judged requests' success p99 in seconds (``None`` without one)."""
    lat = result.judged_latency_ms
    return None if lat is None or lat.p99 is None else lat.p99 / 1000.0
