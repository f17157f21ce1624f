"""``chaos suite`` and ``chaos gate``: experiments in sequence, and saved runs judged for CI."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from chaos import gate as gate_lib
from chaos import lock
from chaos import suite as suite_lib
from chaos.cli.options import platform_option
from chaos.cli.types import Duration, Ratio
from chaos.experiment.runner import RunOptions
from chaos.platform import cluster_id


@click.command()
@click.argument("file", type=click.Path(path_type=Path))
@platform_option
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=None,
    help="Suite directory (default: reports/suite-<date>-<file>).",
)
@click.option("--quiet", is_flag=True, help="No live view.")
def suite(file: Path, platform: str, inventory: Path | None, out: Path | None, quiet: bool) -> None:
    """Run the experiments of a suite FILE in sequence (one result dir each, one suite.json);
    exit with the worst run's code (4, 130, 3, 1, 5, 0 in that order). Holds the cluster
    for the whole suite: no other command acts on it between two runs."""
    opts = RunOptions(platform, None, out, False, not quiet, inventory)
    suite_lib.load_suite(file)  # bad input is refused before the cluster is taken
    with lock.holding(cluster_id(platform, inventory)):
        outcome = suite_lib.run_suite(file, opts)
    for line in outcome.lines:
        click.echo(line)
    sys.exit(outcome.exit_code)


@click.command()
@click.argument("run_dirs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--baseline",
    type=click.Path(path_type=Path),
    default=None,
    help="A run, suite or sweep dir to compare with (repeats compared by median and spread).",
)
@click.option("--max-error-rate", type=Ratio(), default=None, help="e.g. 0.1% (default: slo).")
@click.option("--max-p99", type=Duration(), default=None, help="e.g. 250ms (default: slo).")
@click.option("--max-recovery", type=Duration(), default=None, help="e.g. 30s (default: slo).")
@click.option(
    "--tolerance",
    type=Ratio(),
    default="20%",
    show_default=True,
    help="Allowed worsening against the baseline's median.",
)
@click.option("--junit", type=click.Path(path_type=Path), default=None, help="Write JUnit XML.")
@click.option(
    "--markdown",
    type=click.Path(path_type=Path),
    default=None,
    help="Append a Markdown summary (e.g. $GITHUB_STEP_SUMMARY).",
)
def gate(
    run_dirs: tuple[Path, ...],
    baseline: Path | None,
    max_error_rate: float | None,
    max_p99: float | None,
    max_recovery: float | None,
    tolerance: float,
    junit: Path | None,
    markdown: Path | None,
) -> None:
    """Judge saved runs (run, suite or sweep dirs) against thresholds and a baseline; one line
    per check; exit 0 pass, 1 a check failed or is unknown, 2 invalid input. The rule:
    docs/gate.md."""
    thresholds = gate_lib.Thresholds(max_error_rate, max_p99, max_recovery, tolerance)
    report = gate_lib.gate(list(run_dirs), baseline, thresholds)
    if junit is not None:
        junit.parent.mkdir(parents=True, exist_ok=True)
        junit.write_text(gate_lib.junit(report), encoding="utf-8")
    if markdown is not None:
        markdown.parent.mkdir(parents=True, exist_ok=True)
        with markdown.open("a", encoding="utf-8") as f:
            f.write(gate_lib.markdown(report))
    for line in gate_lib.lines(report):
        click.echo(line)
    sys.exit(report.exit_code)
