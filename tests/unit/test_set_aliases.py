"""The short ``--set`` keys (``replicas``, ``image``, ``update.X``, ``rollback.X``) belong to
the experiment spec: ``chaos plan`` takes them as ``chaos run``, suites and sweeps do."""

from __future__ import annotations

from typing import Any

import pytest
from click.testing import CliRunner

from chaos.cli import cli
from chaos.experiment import catalogue
from chaos.experiment.spec import Experiment, apply_overrides, canonical_key


@pytest.mark.parametrize(
    ("key", "canonical"),
    [
        ("replicas", "service.replicas"),
        ("image", "service.image"),
        ("update.parallelism", "service.update.parallelism"),
        ("rollback.order", "service.rollback.order"),
        ("service.replicas", "service.replicas"),
        ("load.rate", "load.rate"),
        ("updates.x", "updates.x"),
    ],
)
def test_canonical_key(key: str, canonical: str) -> None:
    assert canonical_key(key) == canonical


def test_apply_overrides_takes_the_short_keys() -> None:
    data: dict[str, Any] = {
        "service": {"replicas": 3, "update": {"delay": 1}},
        "phases": {"observe": 5},
    }
    got = apply_overrides(data, {"replicas": 2, "update.order": "start-first", "image": "x:2"})
    assert got["service"] == {
        "replicas": 2,
        "image": "x:2",
        "update": {"delay": 1, "order": "start-first"},
    }
    assert data["service"]["replicas"] == 3  # the input is not changed


def test_catalogue_load_with_short_keys() -> None:
    exp = catalogue.load("rolling-update", {"replicas": 2, "update.parallelism": 2})
    assert exp.service.replicas == 2 and exp.service.update.parallelism == 2


class _Plan:
    def lines(self) -> list[str]:
        return ["planned"]


def test_plan_takes_the_short_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[Experiment] = []

    def preflight(exp: Experiment, platform: Any, seed: int) -> _Plan:
        seen.append(exp)
        return _Plan()

    # the plan needs a live cluster; what is tested is the experiment it is handed
    monkeypatch.setattr("chaos.cli.experiments.preflight", preflight)
    monkeypatch.setattr("chaos.cli.experiments.get_platform", lambda *a, **k: None)
    got = CliRunner().invoke(cli, ["plan", "rolling-update", "--set", "replicas=2"])
    assert got.exit_code == 0, got.output
    assert got.output == "planned\n"
    (exp,) = seen
    assert exp.service.replicas == 2
