"""Finding experiments: a file path, or a name in the catalogue folder.

The catalogue is ``$CHAOS_EXPERIMENTS`` if set, else ``./experiments`` if it exists, else the
``experiments/`` folder of this checkout.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from chaos.errors import UsageError
from chaos.experiment.spec import Experiment, load_experiment


def catalogue_dir() -> Path:
    env = os.environ.get("CHAOS_EXPERIMENTS")
    if env:
        return Path(env)
    local = Path("experiments")
    if local.is_dir():
        return local
    return Path(__file__).resolve().parents[2] / "experiments"


def experiment_files() -> list[Path]:
    return sorted(p for p in catalogue_dir().glob("*.yaml") if p.is_file())


def find(name_or_file: str) -> Path:
    path = Path(name_or_file)
    if path.suffix in (".yaml", ".yml") or os.sep in name_or_file:
        if not path.is_file():
            raise UsageError(f"no experiment file {name_or_file}")
        return path
    candidate = catalogue_dir() / f"{name_or_file}.yaml"
    if candidate.is_file():
        return candidate
    names = ", ".join(p.stem for p in experiment_files())
    raise UsageError(f"no experiment named {name_or_file!r}; known: {names} (see `chaos list`)")


def load(name_or_file: str, overrides: dict[str, Any] | None = None) -> Experiment:
    return load_experiment(find(name_or_file), overrides)
