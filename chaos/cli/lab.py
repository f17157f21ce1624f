"""``chaos lab``: placeholder."""

from __future__ import annotations

import click


@click.group()
def lab() -> None:
    """The local lab swarm."""
