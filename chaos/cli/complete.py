"""Shell completion beyond what click knows from the commands themselves.

Completing runs ``chaos`` once per Tab (click's protocol: ``_CHAOS_COMPLETE=bash_complete``),
so these read only the catalogue folder, never a cluster.
"""

from __future__ import annotations

import os

import click
from click.shell_completion import CompletionItem

from chaos.experiment import catalogue


def experiment(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """A catalogue name, or a file once what is typed looks like a path (as
    :func:`chaos.experiment.catalogue.find` tells them apart)."""
    if os.sep in incomplete or incomplete.startswith("."):
        return [CompletionItem(incomplete, type="file")]
    names = [p.stem for p in catalogue.experiment_files()]
    return [CompletionItem(n) for n in names if n.startswith(incomplete)]
