"""The vagrant driver's mesh: asked of every guest's kernel, kept only once all answered."""

from __future__ import annotations

from pathlib import Path

import pytest

from chaos.errors import PlatformError
from chaos.platform.vagrant import VagrantPlatform, mesh_said

REPO = Path(__file__).resolve().parents[2]


class Guests(VagrantPlatform):
    """The driver with its ssh answered here: ``kernels`` per node, None for a guest whose
    ssh does not answer yet."""

    def __init__(self, state: Path, kernels: dict[str, str | None]) -> None:
        super().__init__(REPO, state, "10.0.0.", 11)
        self.kernels = kernels

    def _statuses(self, fresh: bool = False) -> dict[str, str]:
        return {n: "running" for n in self.kernels}

    def ssh(self, node: str, command: str) -> str:
        kernel = self.kernels[node]
        if kernel is None:
            raise PlatformError(f"ssh to {node}: connection refused")
        return "ipvs\n" if kernel == "ipvs" else "none\n"


def test_a_guest_still_booting_decides_nothing(tmp_path: Path) -> None:
    guests = Guests(tmp_path, {"node-001": "ipvs", "node-002": None, "node-003": "ipvs"})
    with pytest.raises(PlatformError, match="node-002"):
        _ = guests.mesh
    assert not (tmp_path / "mesh").exists()
    assert mesh_said(guests) == "unknown (a guest does not answer ssh yet)"
    guests.kernels["node-002"] = "ipvs"  # booted
    assert guests.mesh == "ingress" and (tmp_path / "mesh").read_text() == "ingress"


def test_one_kernel_without_ipvs_makes_the_mesh_emulated(tmp_path: Path) -> None:
    guests = Guests(tmp_path, {"node-001": "ipvs", "node-002": "none", "node-003": "ipvs"})
    assert guests.mesh == "emulated"
