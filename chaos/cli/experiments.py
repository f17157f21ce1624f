"""``chaos list|validate|plan|run|recover``: experiments on a swarm."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

import click

from chaos import lock
from chaos.cli import complete
from chaos.cli.options import platform_option
from chaos.cli.runend import print_run_end
from chaos.cli.types import Duration, Repeat, SweepAxis
from chaos.errors import ChaosError, UsageError
from chaos.experiment import catalogue
from chaos.experiment.preflight import preflight
from chaos.experiment.restore import recover
from chaos.experiment.runner import RunOptions, run_experiment
from chaos.experiment.spec import load_experiment, parse_set
from chaos.journal import Journal
from chaos.platform import cluster_id, get_platform
from chaos.sweep import AutoRepeat, Axis, auto_repeat, prepare, run_sweep
from chaos.verdict import exit_table


@click.command(name="list")
def list_cmd() -> None:
    """The experiments of the catalogue, with one-line descriptions."""
    for path in catalogue.experiment_files():
        try:
            exp = load_experiment(path)
            click.echo(f"{exp.name:<18} {exp.description}")
        except ChaosError as exc:
            click.echo(f"{path.stem:<18} INVALID: {exc}")


@click.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
def validate(files: tuple[Path, ...]) -> None:
    """Check experiment files without touching a cluster (exit 2 on the first bad one)."""
    bad = 0
    for path in files:
        try:
            exp = load_experiment(path)
            click.echo(f"{path}: ok ({exp.name}, {len(exp.steps)} steps)")
        except ChaosError as exc:
            click.echo(f"chaos: error: {exc}", err=True)
            bad += 1
    if bad:
        sys.exit(2)


@click.command()
@click.argument("experiment", shell_complete=complete.experiment)
@platform_option
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of target selection.")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE", help="Override a field.")
def plan(
    experiment: str, platform: str, inventory: Path | None, seed: int, sets: tuple[str, ...]
) -> None:
    """The steps resolved against the live cluster, with their quorum effect."""
    exp = catalogue.load(experiment, parse_set(sets))
    the_plan = preflight(exp, get_platform(platform, start=False, inventory=inventory), seed)
    for line in the_plan.lines():
        click.echo(line)


@click.command(epilog=f"Exit codes: {exit_table()}.")
@click.argument("experiment", shell_complete=complete.experiment)
@platform_option
@click.option(
    "--set",
    "sets",
    multiple=True,
    metavar="KEY=VALUE",
    help="Override a field, e.g. --set phases.observe=10s --set service.replicas=2.",
)
@click.option("--seed", type=int, default=None, help="Seed of target selection (default: random).")
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=None,
    help="Result directory (default: reports/<date>-<name>).",
)
@click.option(
    "--replace",
    is_flag=True,
    help="Replace an earlier run's results in --out (a non-empty --out is refused otherwise).",
)
@click.option("--keep", is_flag=True, help="Leave the service running afterwards.")
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="The result's headline as one JSON object on stdout; everything else on stderr.",
)
@click.option("--quiet", is_flag=True, help="No live view.")
@click.option(
    "--sweep",
    "axes",
    multiple=True,
    type=SweepAxis(),
    help="Run every combination, e.g. --sweep update.parallelism=1,2,3 (any --set key; "
    "update.X, rollback.X, replicas, image are short for service.*).",
)
@click.option(
    "--repeat",
    type=Repeat(),
    default=1,
    show_default=True,
    help="Runs per setting (a sweep's spread), or auto: 3 each, then more of the settings "
    "whose ranking is not yet sure at 95%, up to 10 each.",
)
@click.option(
    "--budget",
    type=Duration(),
    default=None,
    help="With --repeat auto: the sweep's time, e.g. 30m (no run starts that would end "
    "after it, judged by the runs so far).",
)
def run(
    experiment: str,
    platform: str,
    inventory: Path | None,
    sets: tuple[str, ...],
    seed: int | None,
    out: Path | None,
    replace: bool,
    keep: bool,
    as_json: bool,
    quiet: bool,
    axes: tuple[Axis, ...],
    repeat: int | str,
    budget: float | None,
) -> None:
    """Run an experiment under load (exit codes below; interrupted means Ctrl-C, SIGTERM,
    SIGHUP or `chaos stop`, restored first). With --sweep or --repeat: every setting
    into reports/sweep-<date>-<name>/ and a comparison (sweep.md); exit 0 when every run
    finished, else 3, 4 or 130 as for one run; runs that are not comparable, 2."""
    if budget is not None and repeat != "auto":
        raise UsageError("--budget applies to --repeat auto")
    runs: int | AutoRepeat = auto_repeat(budget) if repeat == "auto" else int(repeat)
    if axes or runs != 1:
        if keep:
            raise UsageError("--keep applies to one run, not to a sweep")
        opts = RunOptions(platform, seed, out, False, not quiet, inventory, replace)
        first = runs.min_repeat if isinstance(runs, AutoRepeat) else runs
        prepare(experiment, parse_set(sets), axes, first)  # bad input: exit 2, lock untouched
        with lock.holding(cluster_id(platform, inventory)):  # the whole sweep is one actor
            swept = run_sweep(experiment, parse_set(sets), axes, runs, opts, log=click.echo)
        for line in swept.lines:
            click.echo(line)
        sys.exit(swept.exit_code)
    exp = catalogue.load(experiment, parse_set(sets))
    opts = RunOptions(platform, seed, out, keep, not quiet, inventory, replace)
    outcome = run_experiment(exp, opts)
    sys.exit(
        print_run_end(outcome.out_dir, outcome.exit_code, as_json=as_json, fallback=outcome.lines)
    )


@click.command(name="recover")
@platform_option
def recover_cmd(platform: str, inventory: Path | None) -> None:
    """Undo every fault left by an interrupted run (reads the fault journal). Refused while a
    run holds the cluster (its faults are its own to undo)."""
    with lock.holding(cluster_id(platform, inventory)) as dead:
        if dead is not None:
            click.echo(f"{dead.describe()} died holding the cluster: undoing its faults")
        journal = Journal()
        if not journal.pending(platform=platform):
            click.echo("nothing to recover: every journaled fault is undone")
            return
        target = get_platform(platform, start=False, inventory=inventory)
        done = recover(target, journal, log=click.echo)
        click.echo(f"recovered: {len(done)} faults undone, cluster Ready")


@click.command(name="stop")
@platform_option
def stop_cmd(platform: str, inventory: Path | None) -> None:
    """The kill switch: make the run that holds the cluster stop now (it stops its steps and
    load, restores the cluster and writes its result, then exits 130). Any terminal may use
    it; the run is not killed."""
    cluster = cluster_id(platform, inventory)
    holder = lock.holder(cluster)
    if holder is None:
        click.echo(f"nothing to stop: no chaos command holds the {cluster} cluster")
        return
    if not holder.run:
        raise UsageError(
            f"{holder.describe()} is not an experiment run: let it finish (nothing to stop)"
        )
    try:
        os.kill(holder.pid, signal.SIGUSR1)
    except ProcessLookupError:
        click.echo(f"nothing to stop: {holder.describe()} has just ended")
        return
    except PermissionError:
        raise UsageError(
            f"{holder.describe()} belongs to another user: run `chaos stop` as that user"
        ) from None
    click.echo(f"asked {holder.describe()} to stop; it restores the cluster before it exits")
