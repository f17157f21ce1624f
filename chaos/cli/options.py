"""Options shared by the commands that act on a cluster."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from chaos.errors import UsageError
from chaos.platform import PLATFORMS
from chaos.platform.ssh import load_inventory

_platform = click.option(
    "--platform", type=click.Choice(PLATFORMS), default="lab", show_default=True,
    help="Where the swarm runs.",
)  # fmt: skip


def _inventory(ctx: click.Context, param: click.Parameter, value: Path | None) -> Path | None:
    if value is not None:
        load_inventory(value)  # validated up front: one line, exit 2
    return value


_inventory_option = click.option(
    "--inventory", type=click.Path(path_type=Path), default=None, callback=_inventory,
    help="Nodes of an existing swarm (with --platform ssh).",
)  # fmt: skip


def platform_option(fn: Callable[..., None]) -> Callable[..., None]:
    """``--platform`` and ``--inventory`` (the ssh platform's node list), checked together
    before the command does anything: a suite must not find out at its first run."""

    @functools.wraps(fn)
    def checked(*args: Any, **kwargs: Any) -> None:
        platform, inventory = kwargs["platform"], kwargs["inventory"]
        if platform == "ssh" and inventory is None:
            raise UsageError("--platform ssh needs --inventory FILE (see inventory.example.yaml)")
        if platform != "ssh" and inventory is not None:
            raise UsageError(f"--inventory is for --platform ssh, not --platform {platform}")
        fn(*args, **kwargs)

    return _platform(_inventory_option(checked))
