"""``chaos load``: placeholder until the load generator lands (issue 3)."""

from __future__ import annotations

import click


@click.command()
def load() -> None:
    """Open-loop constant-rate HTTP load (not built yet)."""
    raise click.ClickException("chaos load is not built yet")
