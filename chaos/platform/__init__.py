"""Platform drivers: where the swarm runs and how its nodes are powered.

One small interface (:class:`chaos.platform.base.Platform`) with one driver per kind of
cluster: ``lab`` (the local lab), ``vagrant`` (the tutorial's VMs through python-vagrant) and
``ssh`` (an existing swarm described by an inventory file). See docs/platforms.md.
"""

from __future__ import annotations

from pathlib import Path

from chaos.errors import UsageError
from chaos.platform.base import NodeInfo, Platform

PLATFORMS = ("lab", "vagrant", "ssh")


def get_platform(name: str, *, start: bool = True, inventory: Path | None = None) -> Platform:
    """The driver for ``--platform NAME``; ``start`` brings the lab up when none is.

    ``inventory`` is the ``ssh`` platform's node list (``--inventory``); the other platforms
    refuse one, so that a mistyped ``--platform`` is not silently run somewhere else.
    """
    if inventory is not None and name != "ssh":
        raise UsageError(f"--inventory is for --platform ssh, not --platform {name}")
    if name == "lab":
        from chaos.platform.lab import LabPlatform

        return LabPlatform.connect(start=start)
    if name == "vagrant":
        from chaos.platform.vagrant import VagrantPlatform

        return VagrantPlatform.connect()
    if name == "ssh":
        from chaos.platform.ssh import SshPlatform

        return SshPlatform.connect(inventory)
    raise UsageError(f"unknown platform {name!r}: use one of {', '.join(PLATFORMS)}")


__all__ = ["PLATFORMS", "NodeInfo", "Platform", "get_platform"]
