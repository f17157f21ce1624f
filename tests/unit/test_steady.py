"""The steady-leader start line, on a controlled clock."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from chaos.swarm import steady as steady_mod
from chaos.swarm.steady import SteadyLeader


def test_same_leader_for_the_window_or_start_again(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [100.0]
    monkeypatch.setattr(steady_mod, "time", SimpleNamespace(monotonic=lambda: now[0]))
    s = SteadyLeader(2.0)
    assert not s.healthy("node-001")
    now[0] = 101.5
    assert not s.healthy("node-001")
    now[0] = 102.5
    assert not s.healthy("node-002")  # a new leader starts the window again
    now[0] = 104.4
    assert not s.healthy("node-002")
    now[0] = 104.5
    assert s.healthy("node-002")
    s.unhealthy()  # a moment without a leader starts it again too
    assert not s.healthy("node-002")
    now[0] = 106.5
    assert s.healthy("node-002")
