"""The result directory of a run: fresh, or an earlier run's replaced on request.

A run appends its events and streams its load as it goes, so a directory that already holds
an earlier run's files would mix two runs into one false result. It is refused (exit 2)
unless ``--replace`` is given, and then only an earlier run's directory is replaced: a
directory holding anything else is never deleted.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from chaos.errors import UsageError

# what only a run directory holds (any one of them is enough)
RUN_MARKERS = ("result.json", "experiment.yaml", "events.jsonl", "load/run.json")


def looks_like_run(path: Path) -> bool:
    return any((path / marker).exists() for marker in RUN_MARKERS)


def check_out_dir(path: Path, *, replace: bool) -> None:
    """Refuse, before anything acts, a path that cannot hold this run's result."""
    if path.exists() and not path.is_dir():
        raise UsageError(f"--out {path} is a file: give a directory for the run's results")
    if path.is_dir() and any(path.iterdir()):
        if not replace:
            raise UsageError(
                f"--out {path} is not empty: choose a new directory, or add --replace to "
                "replace the earlier run in it"
            )
        if not looks_like_run(path):
            raise UsageError(
                f"--out {path} holds files that are not a run's: --replace only replaces an "
                "earlier run's directory"
            )


def claim_out_dir(path: Path, *, replace: bool) -> Path:
    """Create the (checked) directory; an earlier run's is emptied first with ``replace``."""
    check_out_dir(path, replace=replace)
    if replace and path.is_dir() and looks_like_run(path):
        shutil.rmtree(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"--out {path}: cannot create it ({exc.strerror})") from None
    return path
