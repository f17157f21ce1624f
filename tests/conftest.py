"""Shared fixtures: the real local lab (root only), restored to a healthy state per test."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

import pytest

from chaos.errors import ChaosError
from chaos.lab import Lab, down, engines
from chaos.lab import state as lab_state


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if os.geteuid() == 0:
        return
    skip = pytest.mark.skip(reason="the lab needs root (CI runs as root)")
    for item in items:
        if "lab" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def lab_session() -> Iterator[Lab]:
    """One lab for the whole session, removed at the end (``down`` leaves nothing)."""
    lab = Lab.up()
    yield lab
    if not os.environ.get("CHAOS_KEEP_LAB"):  # set it to inspect a failed run's lab
        down()


@pytest.fixture()
def lab(lab_session: Lab) -> Lab:
    """The session's lab with every node powered, connected and Ready under a steady leader,
    and no services. Restored before each test only: whatever a test leaves, the next test's
    restore (or the session's ``down``) deals with, so it is not paid twice."""
    return restore(lab_session)


def restore(lab: Lab) -> Lab:
    """Power every node back on (and reconnect it), wait for a Ready swarm, remove services;
    rebuild the lab if it is broken."""
    st = lab_state.load()
    if st is not None:
        current = Lab(st)
        for node in current.nodes:
            if current.power(node.name) == "suspended":
                current.resume(node.name)
            if not engines.alive(node):
                current.start(node.name)
            if current.isolated(node.name):
                current.reconnect(node.name)
        with contextlib.suppress(ChaosError):
            current.wait_swarm_ready()
    lab = Lab.up()  # a no-op when healthy; rebuilds a lab that a test destroyed
    for engine in lab.manager_engines():
        try:
            for svc in engine.services():
                engine.remove_service(svc.name)
            break
        except ChaosError:
            continue
    return lab
