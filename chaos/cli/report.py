"""``chaos report`` and ``chaos compare``: HTML pages from saved run directories (no cluster)."""

from __future__ import annotations

from pathlib import Path

import click

from chaos import sweep
from chaos.errors import UsageError
from chaos.report import refresh_index, render_compare, render_run

REPORTS_DIR = Path("reports")


def _done(what: str, path: Path) -> None:
    click.echo(f"{what}: {path} ({path.stat().st_size / 1024:.0f} KiB)")


@click.command()
@click.argument(
    "run_dirs", nargs=-1, type=click.Path(path_type=Path), metavar="[RUN_DIR|SWEEP_DIR]..."
)
@click.option(
    "--index",
    "index_dir",
    is_flag=False,
    flag_value=str(REPORTS_DIR),
    default=None,
    type=click.Path(path_type=Path),
    metavar="[DIR]",
    help=f"Also (re)write DIR/index.html listing every run under DIR (default {REPORTS_DIR}/).",
)
def report(run_dirs: tuple[Path, ...], index_dir: Path | None) -> None:
    """Write RUN_DIR/report.html from a saved run (for a sweep dir: sweep.json, sweep.md and
    sweep.html from its saved runs); --index refreshes the list of runs."""
    if not run_dirs and index_dir is None:
        raise UsageError("give a run directory (chaos report RUN_DIR) or --index [DIR]")
    for run_dir in run_dirs:
        if (run_dir / sweep.PLAN_FILE).is_file():
            for line in sweep.finish(run_dir, click.echo):
                click.echo(line)
            continue
        _done("report", render_run(run_dir))
    if index_dir is not None:
        _done("index", refresh_index(index_dir))


@click.command()
@click.argument("run_dirs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--out",
    type=click.Path(path_type=Path, dir_okay=False),
    default=Path("compare.html"),
    show_default=True,
    help="The page to write.",
)
@click.option(
    "--across-platforms",
    is_flag=True,
    help="Allow runs of different platforms (the lab against the VMs): their platform, mesh "
    "and engine versions may differ; the node count may not.",
)
def compare(run_dirs: tuple[Path, ...], out: Path, across_platforms: bool) -> None:
    """Runs side by side: deltas against the first, timelines aligned at the first fault."""
    _done("compare", render_compare(list(run_dirs), out, across_platforms=across_platforms))
