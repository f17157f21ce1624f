"""Choosing what to break: pure, seeded selection of nodes from a cluster view.

The same view, target and seed always give the same nodes (jepsen's ``bisect`` /
``majorities-ring`` spirit): only the step that acts touches the cluster.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence

from chaos.errors import UsageError
from chaos.experiment.spec import Target
from chaos.platform.base import NodeInfo


class SelectionError(UsageError):
    """No node matches a target in the current cluster."""


def _sorted(nodes: Sequence[NodeInfo]) -> list[NodeInfo]:
    return sorted(nodes, key=lambda n: n.name)


def _leader(
    t: Target, managers: list[NodeInfo], _p: list[NodeInfo], _r: random.Random
) -> tuple[str, ...]:
    leaders = [n.name for n in managers if n.leader]
    if not leaders:
        raise SelectionError("target leader: the swarm has no leader now")
    return (leaders[0],)


def _follower(
    t: Target, managers: list[NodeInfo], _p: list[NodeInfo], rng: random.Random
) -> tuple[str, ...]:
    followers = [n.name for n in managers if not n.leader and n.power == "running"]
    if not followers:
        raise SelectionError("target follower: no powered manager other than the leader")
    return (rng.choice(followers),)


def _worker(
    t: Target, _m: list[NodeInfo], powered: list[NodeInfo], rng: random.Random
) -> tuple[str, ...]:
    workers = [n.name for n in powered if n.role == "worker"]
    if not workers:
        raise SelectionError("target worker: the swarm has no powered worker")
    return (rng.choice(workers),)


def _any(
    t: Target, _m: list[NodeInfo], powered: list[NodeInfo], rng: random.Random
) -> tuple[str, ...]:
    if not powered:
        raise SelectionError("target any: no node is powered")
    return (rng.choice([n.name for n in powered]),)


def _managers(
    t: Target, managers: list[NodeInfo], _p: list[NodeInfo], rng: random.Random
) -> tuple[str, ...]:
    """N managers, the leader first (breaking quorum means the leader is among the dead)."""
    if t.count > len(managers):
        raise SelectionError(
            f"target {{managers: {t.count}}}: the swarm has only {len(managers)} managers"
        )
    leader = [n.name for n in managers if n.leader]
    others = [n.name for n in managers if not n.leader]
    rng.shuffle(others)
    return tuple((leader + others)[: t.count])


_BY_ROLE = {
    "leader": _leader,
    "follower": _follower,
    "worker": _worker,
    "any": _any,
    "managers": _managers,
}


def select(
    target: Target,
    nodes: Sequence[NodeInfo],
    refs: Mapping[str, tuple[str, ...]],
    rng: random.Random,
) -> tuple[str, ...]:
    """The node names ``target`` means in this cluster. Raises SelectionError if none."""
    if target.kind == "name":
        if target.value not in {n.name for n in nodes}:
            known = ", ".join(n.name for n in _sorted(nodes))
            raise SelectionError(f"target {target.value}: no such node (nodes: {known})")
        return (target.value,)
    if target.kind == "label":
        key, _, value = target.value.partition("=")
        matched = tuple(n.name for n in _sorted(nodes) if n.labels.get(key) == value)
        if not matched:
            raise SelectionError(f"target label:{target.value}: no node has that label")
        return matched
    if target.kind == "ref":
        if target.value not in refs:
            raise SelectionError(f"target @{target.value}: no earlier step named it")
        return refs[target.value]
    managers = [n for n in _sorted(nodes) if n.role == "manager"]
    powered = [n for n in _sorted(nodes) if n.power == "running"]
    return _BY_ROLE[target.kind](target, managers, powered, rng)
