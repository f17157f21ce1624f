"""What two runs must share for their numbers to be compared: the ground they ran on and what
they ran. ``result.json`` records it (``fingerprint``, since 0.1; older results get the same
fingerprint derived from their ``environment`` and ``experiment.settings``).

- **environment**: ``platform``, ``mesh`` (a real IPVS mesh and the lab's emulation fail
  differently), ``nodes`` (the swarm's size), ``engine_versions`` (the distinct docker engine
  versions of the nodes; a node that did not answer is left out rather than counted as a
  version of its own, and a run where none answered has no versions to compare);
- **experiment**: ``service`` (the service spec as run) and ``load`` (rate, connections,
  timeout, engine: what the users did and how it was measured).

A comparison names the fields it lets differ (a sweep its swept keys, ``chaos compare`` the
experiment, the gate nothing): any other difference refuses it with one line naming the field
and both values (:func:`check_comparable`).
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from pydantic import ValidationError

from chaos.analysis.loaddir import Frozen
from chaos.errors import UsageError
from chaos.experiment.spec import LoadSpec, ServiceSpec


class Ground(Protocol):
    """What a fingerprint reads of a result's environment (``RunResult.environment``)."""

    @property
    def platform(self) -> str: ...

    @property
    def mesh(self) -> str: ...

    @property
    def engine_versions(self) -> Mapping[str, str]: ...


class Settings(Protocol):
    @property
    def settings(self) -> Mapping[str, Any]: ...


class Fingerprinted(Protocol):
    """What :func:`fingerprint_of` reads of a result (``RunResult``)."""

    @property
    def fingerprint(self) -> Fingerprint | None: ...

    @property
    def environment(self) -> Ground: ...

    @property
    def experiment(self) -> Settings: ...


UNREACHABLE = "unreachable"
EXPERIMENT_FIELDS = ("service", "load")
# what differs between the same cluster shape on two platforms (the lab and the VMs): a
# comparison that is *about* the platforms lets these differ, and nothing else of the ground
PLATFORM_FIELDS = ("platform", "mesh", "engine_versions")


class Fingerprint(Frozen):
    """See the module docstring."""

    platform: str
    mesh: str
    nodes: int
    engine_versions: list[str]
    service: ServiceSpec
    load: LoadSpec

    @classmethod
    def of(cls, env: Ground, service: ServiceSpec, load: LoadSpec) -> Fingerprint:
        versions = sorted({v for v in env.engine_versions.values() if v != UNREACHABLE})
        return cls(
            platform=env.platform,
            mesh=env.mesh,
            nodes=len(env.engine_versions),
            engine_versions=versions,
            service=service,
            load=load,
        )


def fingerprint_of(result: Fingerprinted, where: str = "result.json") -> Fingerprint:
    """The recorded fingerprint, else the one derived from the result's environment and
    settings (a result written before fingerprints)."""
    if result.fingerprint is not None:
        return result.fingerprint
    settings = result.experiment.settings
    try:
        service = ServiceSpec.model_validate(settings.get("service") or {})
        load = LoadSpec.model_validate(settings.get("load") or {})
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(p) for p in err["loc"])
        raise UsageError(f"{where}: no fingerprint and unreadable settings: {field}") from None
    return Fingerprint.of(result.environment, service, load)


def _leaves(value: Any, prefix: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, Mapping):
        for k, v in value.items():
            yield from _leaves(v, f"{prefix}.{k}" if prefix else str(k))
    else:
        yield prefix, json.dumps(value, sort_keys=True)


def flat(fp: Fingerprint) -> dict[str, str]:
    """``{"service.update.parallelism": "1", "engine_versions": '["20.10.24"]', ...}``."""
    dumped = fp.model_dump(mode="json", by_alias=True)
    return dict(_leaves(dumped, ""))


@dataclass(frozen=True, slots=True)
class Difference:
    """One field that differs: its dotted name and the two values (JSON)."""

    field: str
    a: str
    b: str

    def __str__(self) -> str:
        return f"{self.field} {self.a} vs {self.b}"


def _allowed(field: str, allowed: Collection[str]) -> bool:
    return any(field == key or field.startswith(key + ".") for key in allowed)


def differences(a: Fingerprint, b: Fingerprint, allowed: Collection[str] = ()) -> list[Difference]:
    """The fields that differ between ``a`` and ``b`` and are not under a key of
    ``allowed`` (dotted: ``service.update.parallelism``, or ``service`` for all of it)."""
    fa, fb = flat(a), flat(b)
    if not a.engine_versions or not b.engine_versions:  # not known: nothing to hold against
        fa.pop("engine_versions", None)
        fb.pop("engine_versions", None)
    out = []
    for field in sorted(fa.keys() | fb.keys()):
        va, vb = fa.get(field, "-"), fb.get(field, "-")
        if va != vb and not _allowed(field, allowed):
            out.append(Difference(field, va, vb))
    return out


def check_comparable(
    what: str, runs: Sequence[tuple[str, Fingerprint]], allowed: Collection[str] = ()
) -> None:
    """Every run against the first; :class:`UsageError` for the first pair that differs
    outside ``allowed``: ``"<what>: A and B are not comparable: nodes 3 vs 5; ..."``."""
    if not runs:
        return
    name0, fp0 = runs[0]
    for name, fp in runs[1:]:
        diffs = differences(fp0, fp, allowed)
        if diffs:
            shown = "; ".join(str(d) for d in diffs[:3])
            more = f" (and {len(diffs) - 3} more)" if len(diffs) > 3 else ""
            raise UsageError(f"{what}: {name0} and {name} are not comparable: {shown}{more}")
