"""The matrix of a sweep: ``--sweep KEY=V1,V2`` axes and their product, the cells (pure).

Keys are the dotted keys of ``--set`` in canonical form (``update.parallelism`` is
``service.update.parallelism``: :func:`chaos.experiment.spec.canonical_key`). Values are
YAML-typed like ``--set`` values and split on commas, so a value cannot itself contain a comma.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import yaml

from chaos.errors import UsageError
from chaos.experiment.spec import canonical_key


@dataclass(frozen=True, slots=True)
class Axis:
    """One swept key (canonical dotted form) and its values (YAML-typed), in order."""

    key: str
    values: tuple[Any, ...]


def parse_axis(text: str) -> Axis:
    """``update.parallelism=1,2,3`` -> ``Axis("service.update.parallelism", (1, 2, 3))``."""
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise UsageError(f"--sweep {text!r}: use KEY=V1,V2,..., e.g. update.parallelism=1,2,3")
    parts = [p.strip() for p in raw.split(",")]
    if not raw.strip() or any(not p for p in parts):
        raise UsageError(f"--sweep {text!r}: an empty value; use KEY=V1,V2,...")
    try:
        values = tuple(yaml.safe_load(p) for p in parts)
    except yaml.YAMLError:
        raise UsageError(f"--sweep {text!r}: a value is not valid YAML") from None
    if len({json.dumps(v, sort_keys=True, default=str) for v in values}) != len(values):
        raise UsageError(f"--sweep {text!r}: a value is repeated")
    return Axis(canonical_key(key), values)


def check_axes(axes: Sequence[Axis]) -> None:
    """A key swept twice, or one key under another (``service.update`` and
    ``service.update.order``), is ambiguous."""
    keys = [a.key for a in axes]
    for i, a in enumerate(keys):
        for b in keys[i + 1 :]:
            if a == b or a.startswith(b + ".") or b.startswith(a + "."):
                raise UsageError(f"--sweep: {a} and {b} overlap; sweep each key once")


def short_key(key: str) -> str:
    return key.removeprefix("service.")


def show(value: Any) -> str:
    """A swept value as the user typed it: strings bare, everything else as JSON."""
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True)


_UNSAFE = re.compile(r"[^A-Za-z0-9._=-]+")


def cell_slug(settings: Sequence[tuple[str, Any]]) -> str:
    """A directory name: ``update.parallelism=1,update.order=start-first``; characters other
    than letters, digits, ``._=-`` become ``-`` (``chaoslab/web:2`` -> ``chaoslab-web-2``);
    ``default`` for no settings."""
    if not settings:
        return "default"
    parts = [_UNSAFE.sub("-", f"{short_key(k)}={show(v)}").strip("-") for k, v in settings]
    return ",".join(parts)


@dataclass(frozen=True, slots=True)
class Cell:
    """One combination of swept values: ``settings`` as (canonical key, value) pairs, in the
    order of the axes."""

    settings: tuple[tuple[str, Any], ...]

    @property
    def slug(self) -> str:
        return cell_slug(self.settings)

    @property
    def overrides(self) -> dict[str, Any]:
        return dict(self.settings)

    @property
    def label(self) -> str:
        if not self.settings:
            return "as configured"
        return ", ".join(f"{short_key(k)}={show(v)}" for k, v in self.settings)


def expand(axes: Sequence[Axis]) -> list[Cell]:
    """The matrix: every combination, the first axis varying slowest; no axes -> one cell."""
    check_axes(axes)
    combos = itertools.product(*[[(a.key, v) for v in a.values] for a in axes])
    return [Cell(tuple(c)) for c in combos]
