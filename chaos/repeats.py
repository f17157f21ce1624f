"""One run of a series (a suite's entries, a sweep's cells): the seed of its repeat, its
options, and whether its end stops the series. Both series run their repeats through here."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from chaos.experiment.runner import RunOptions, RunOutcome
from chaos.experiment.spec import Experiment
from chaos.verdict import STOPS_A_SERIES

RunOne = Callable[[Experiment, RunOptions], RunOutcome]


def repeat_seed(seed: int | None, n: int) -> int | None:
    """Repeat ``n`` (1-based) of a series seeded ``seed`` uses ``seed + n - 1``, so repeats
    differ and two series with one seed pick the same targets; ``None`` stays random."""
    return None if seed is None else seed + n - 1


def run_repeat(
    run_one: RunOne, exp: Experiment, opts: RunOptions, seed: int | None, out_dir: Path
) -> RunOutcome:
    """One run of a series into ``out_dir``: never ``--keep`` (the next run deploys again)."""
    return run_one(exp, replace(opts, seed=seed, out_dir=out_dir, keep=False))


def stopped_after(rel: str, outcome: RunOutcome) -> str | None:
    """Why the series stops after the run in ``rel`` (the cluster is not fit to go on, or an
    operator asked to stop); ``None`` when it goes on."""
    if outcome.exit_code in STOPS_A_SERIES:
        return f"stopped after {rel}: exit {outcome.exit_code}"
    return None
