"""Platform drivers: where the swarm runs and how its nodes are powered.

One small interface (:class:`chaos.platform.base.Platform`) with one driver per kind of
cluster: ``lab`` (the local lab), ``vagrant`` (the tutorial's VMs through python-vagrant) and
``ssh`` (an existing swarm described by an inventory file). See docs/platforms.md.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import TYPE_CHECKING

from chaos.errors import UsageError
from chaos.platform.base import NodeInfo, Platform

if TYPE_CHECKING:
    from chaos.platform.vagrant import VagrantPlatform

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
        return vagrant_platform()
    if name == "ssh":
        from chaos.platform.ssh import SshPlatform

        return SshPlatform.connect(inventory)
    if name == "fake":  # in-process only (tests): chaos.platform.fake
        from chaos.platform.fake import installed

        return installed()
    raise UsageError(f"unknown platform {name!r}: use one of {', '.join(PLATFORMS)}")


def vagrant_platform() -> VagrantPlatform:
    """The vagrant driver for the provider in use (:func:`chaos.platform.vagrant.provider`):
    libvirt's own (power through libvirtd, the guests in the tool's namespace) or Vagrant's
    CLI for the others."""
    from chaos.platform.vagrant import VagrantPlatform, provider

    if provider() == "libvirt":
        from chaos.platform.vagrant_libvirt import LibvirtVagrantPlatform

        return LibvirtVagrantPlatform.connect()
    return VagrantPlatform.connect()


def cluster_id(name: str, inventory: Path | None = None) -> str:
    """The name of the cluster ``--platform NAME`` acts on, for its lock (:mod:`chaos.lock`),
    known before connecting: one lab per host; one cluster per Vagrantfile directory; one
    per inventory file."""
    if name == "vagrant":
        root = Path(os.environ.get("CHAOS_VAGRANT_ROOT", ".")).resolve()
        return f"vagrant-{hashlib.sha1(str(root).encode()).hexdigest()[:10]}"
    if name == "ssh" and inventory is not None:
        path = inventory.expanduser().resolve()
        return f"ssh-{hashlib.sha1(str(path).encode()).hexdigest()[:10]}"
    return name


__all__ = ["PLATFORMS", "NodeInfo", "Platform", "cluster_id", "get_platform"]
