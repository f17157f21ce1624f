"""``chaos doctor``: preflight of a platform (engines, swarm, ports, mesh, clock)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from chaos.cli.options import platform_option
from chaos.doctor import diagnose
from chaos.platform import get_platform


@click.command()
@platform_option
def doctor(platform: str, inventory: Path | None) -> None:
    """Check that experiments can run on a platform, and say what to fix.
    Exit 0 ready, 1 something to fix, 2 bad input, 3 platform unreachable."""
    report = diagnose(get_platform(platform, start=False, inventory=inventory))
    for line in report.lines():
        click.echo(line)
    sys.exit(0 if report.healthy else 1)
