"""The journal of faults applied, so every one is undone: at the end of a run, on Ctrl-C,
and after a SIGKILL through ``chaos recover``.

An append-only JSONL file, flushed and fsynced per line (a crash keeps what was applied):
``{"op": "apply", "id": …, "run": …, "platform": …, "action": "halt", "node": "node-001",
"undo": "start", "arg": …}`` and ``{"op": "undo", "id": …}``. Each fault's undo action is
its kind's heal in the fault registry (:mod:`chaos.faults`; jepsen's faults heal in teardown,
healing twice is harmless).
"""

from __future__ import annotations

import json
import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEFAULT_JOURNAL = "/var/lib/swarm-chaos/journal.jsonl"


def journal_path() -> Path:
    """``$CHAOS_JOURNAL``, else the host's one journal (read at each use, so a test or a
    second tool can keep its own)."""
    return Path(os.environ.get("CHAOS_JOURNAL", DEFAULT_JOURNAL))


@dataclass(frozen=True, slots=True)
class Fault:
    id: str
    run: str
    platform: str
    action: str
    node: str  # node name, or service/stack name for service faults
    undo: str
    arg: Any = None  # e.g. the label's previous value

    def describe(self) -> str:
        return f"{self.action} {self.node} (undo: {self.undo})"


class Journal:
    def __init__(self, path: Path | None = None) -> None:
        self.path = path if path is not None else journal_path()

    def _append(self, record: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(record, sort_keys=True) + "\n")
            fh.flush()
            os.fsync(fh.fileno())

    def applied(
        self, run: str, platform: str, action: str, node: str, undo: str, arg: Any = None
    ) -> Fault:
        """Record a fault *before* acting, so a crash mid-action is still undone; ``undo`` is
        the action that heals it (its kind's heal in :mod:`chaos.faults`)."""
        fault = Fault(uuid.uuid4().hex[:12], run, platform, action, node, undo, arg)
        self._append({"op": "apply", **_fields(fault)})
        return fault

    def undone(self, fault: Fault) -> None:
        self._append({"op": "undo", "id": fault.id})

    def forget(self, platform: str) -> int:
        """Close every pending fault of a platform whose cluster is gone (a lab torn down or
        rebuilt: its faults died with it). Returns how many were closed."""
        stale = [f for f in self.pending() if f.platform == platform]
        for fault in stale:
            self.undone(fault)
        return len(stale)

    def pending(self, run: str | None = None, platform: str | None = None) -> list[Fault]:
        """Faults applied and not yet undone (of one run, or of one platform's runs, or all),
        oldest first."""
        faults: dict[str, Fault] = {}
        try:
            lines = self.path.read_text(encoding="utf-8").splitlines()
        except OSError:
            return []
        for line in lines:
            try:
                rec = json.loads(line)
            except ValueError:
                continue  # a torn last line after a crash
            if rec.get("op") == "apply":
                fields = {
                    k: rec.get(k) for k in ("id", "run", "platform", "action", "node", "undo")
                }
                faults[rec["id"]] = Fault(**fields, arg=rec.get("arg"))
            elif rec.get("op") == "undo":
                faults.pop(rec.get("id", ""), None)
        return [
            f
            for f in faults.values()
            if (run is None or f.run == run) and (platform is None or f.platform == platform)
        ]


def _fields(fault: Fault) -> dict[str, Any]:
    return {
        "id": fault.id,
        "run": fault.run,
        "platform": fault.platform,
        "action": fault.action,
        "node": fault.node,
        "undo": fault.undo,
        "arg": fault.arg,
    }
