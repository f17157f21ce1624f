"""Platform drivers: where the swarm runs and how its nodes are powered.

One small interface (:class:`chaos.platform.base.Platform`) with one driver per kind of
cluster: ``lab`` (the local lab, real), later ``vagrant`` and ``ssh``.
"""

from __future__ import annotations

from chaos.errors import UsageError
from chaos.platform.base import NodeInfo, Platform

PLATFORMS = ("lab",)


def get_platform(name: str, *, start: bool = True) -> Platform:
    """The driver for ``--platform NAME``; ``start`` brings the lab up when none is."""
    if name == "lab":
        from chaos.platform.lab import LabPlatform

        return LabPlatform.connect(start=start)
    raise UsageError(f"unknown platform {name!r}: use one of {', '.join(PLATFORMS)}")


__all__ = ["PLATFORMS", "NodeInfo", "Platform", "get_platform"]
