"""The lab's state file: what ``up`` built, so every later command finds the same lab."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from chaos import atomic
from chaos.lab.config import STATE_DIR, LabConfig

STATE_FILE = STATE_DIR / "state.json"
MESH_STATUS_FILE = STATE_DIR / "mesh.json"
MESH_LOG = STATE_DIR / "meshd.log"
# a node whose engine stopped gracefully said goodbye to gossip (memberlist's leave): the
# others drop it at once, not after a suspicion (chaos.lab.meshd); one file per node
GOSSIP_LEFT_DIR = STATE_DIR / "left"
MeshKind = Literal["ingress", "emulated"]


class LabState(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    schema_version: int = 1
    nodes: int
    managers: int
    subnet: str
    mesh: MeshKind
    meshd_pid: int | None = None
    created: float

    @property
    def config(self) -> LabConfig:
        return LabConfig(nodes=self.nodes, managers=self.managers, subnet=self.subnet)


def write_json_atomic(path: Path, data: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic.write_text(path, json.dumps(data, indent=2, sort_keys=True) + "\n")


def load() -> LabState | None:
    try:
        return LabState.model_validate_json(STATE_FILE.read_text())
    except (OSError, ValidationError, ValueError):
        return None


def save(state: LabState) -> None:
    write_json_atomic(STATE_FILE, state.model_dump())


def new_state(config: LabConfig, mesh: MeshKind) -> LabState:
    return LabState(
        nodes=config.nodes,
        managers=config.managers,
        subnet=config.subnet,
        mesh=mesh,
        created=time.time(),
    )


def mesh_status() -> dict[str, Any]:
    """What the mesh supervisor last wrote (``chaos.lab.meshd``); empty when nothing is there."""
    try:
        data = json.loads(MESH_STATUS_FILE.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def mark_goodbye(node: str, said: bool) -> None:
    """Record that ``node``'s engine said goodbye to gossip (``said``), or that it will join
    again (a boot): the mesh supervisor drops a node that said goodbye at once."""
    if said:
        GOSSIP_LEFT_DIR.mkdir(parents=True, exist_ok=True)
        (GOSSIP_LEFT_DIR / node).touch()
    else:
        (GOSSIP_LEFT_DIR / node).unlink(missing_ok=True)


def said_goodbye(node: str) -> bool:
    return (GOSSIP_LEFT_DIR / node).exists()
