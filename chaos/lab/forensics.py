"""The lab's routing state at one moment, written to a directory for a failed test or run:
the mesh supervisor's status and log, and each node's nat rules and tracked TCP connections
(the two places a stray refusal or timeout on one node's IP can come from)."""

from __future__ import annotations

from pathlib import Path

from chaos.lab import network
from chaos.lab import state as lab_state

LOG_LINES = 400  # the supervisor's last lines: a few minutes of route changes


def snapshot(out: Path) -> Path | None:
    """Write the snapshot into ``out``; None when no lab is up."""
    st = lab_state.load()
    if st is None:
        return None
    out.mkdir(parents=True, exist_ok=True)
    status = lab_state.MESH_STATUS_FILE
    if status.exists():
        (out / status.name).write_text(status.read_text(errors="replace"))
    if lab_state.MESH_LOG.exists():
        lines = lab_state.MESH_LOG.read_text(errors="replace").splitlines()[-LOG_LINES:]
        (out / lab_state.MESH_LOG.name).write_text("\n".join(lines) + "\n")
    for node in st.config.lab_nodes():
        (out / f"{node.name}.nat").write_text(network.nat_rules(node.netns))
        (out / f"{node.name}.conntrack").write_text(network.tracked_tcp(node.netns))
    return out
