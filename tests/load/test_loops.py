"""Choosing and naming the event loop."""

from __future__ import annotations

import asyncio

import pytest

from chaos.load import loops


def test_default_is_uvloop_when_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    assert loops.uvloop_available()  # a project dependency
    assert loops.default_loop() == loops.UVLOOP
    monkeypatch.setattr(loops, "uvloop_available", lambda: False)
    assert loops.default_loop() == loops.ASYNCIO


@pytest.mark.parametrize("name", loops.LOOP_NAMES)
def test_factory_runs_the_named_loop(name: str) -> None:
    async def which() -> str:
        return loops.running_loop_name()

    with asyncio.Runner(loop_factory=loops.loop_factory(name)) as runner:
        assert runner.run(which()) == name


def test_unknown_loop_name_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown event loop"):
        loops.loop_factory("trio")
