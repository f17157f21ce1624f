"""What a run learned as it went: the runner fills it, the analysis reads it at the end."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class RunState:
    """What the run learned as it went; the analysis reads it at the end."""

    run_id: str
    out_dir: Path
    seed: int
    started_at: str
    started: float = field(default_factory=time.monotonic)
    phases: list[tuple[str, float]] = field(default_factory=list)
    fault_start: float | None = None
    update_start: float | None = None
    faulted_nodes: set[str] = field(default_factory=set)
    leader_before: str | None = None
    errors: list[str] = field(default_factory=list)
    deviations: list[str] = field(default_factory=list)  # wait_for timeouts: the system deviated
    interrupted: str = ""  # why an operator stopped it early ('' when it ran to its end)
    guard_tripped: str = ""  # why its guard stopped it ('')
    vanished: bool = False  # the cluster's network disappeared under the run
    restored: bool = False
    t_end: float = 0.0
