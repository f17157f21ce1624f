"""Unit parsing at the edge and the lab's naming/addressing (no cluster, no clock)."""

from __future__ import annotations

import pytest

from chaos.errors import MissingBinaryError, UsageError
from chaos.lab.config import LabConfig
from chaos.lab.system import which
from chaos.units import parse_duration, parse_fraction, parse_rate


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30s", 30.0), ("250ms", 0.25), ("1.5m", 90.0), ("2h", 7200.0), ("5", 5.0), (3, 3.0)],
)
def test_parse_duration(text: str | int, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "abc", "5 parsecs", "-1s"])
def test_parse_duration_rejects(text: str) -> None:
    with pytest.raises(UsageError, match="duration"):
        parse_duration(text)


@pytest.mark.parametrize(("text", "rate"), [("300/s", 300.0), ("300", 300.0), ("600/m", 10.0)])
def test_parse_rate(text: str, rate: float) -> None:
    assert parse_rate(text) == pytest.approx(rate)


@pytest.mark.parametrize("text", ["0/s", "fast", "-3"])
def test_parse_rate_rejects(text: str) -> None:
    with pytest.raises(UsageError, match="rate"):
        parse_rate(text)


@pytest.mark.parametrize(("text", "value"), [("0.1%", 0.001), ("0.02", 0.02), ("100%", 1.0)])
def test_parse_fraction(text: str, value: float) -> None:
    assert parse_fraction(text) == pytest.approx(value)


@pytest.mark.parametrize("text", ["150%", "x%", "-0.1"])
def test_parse_fraction_rejects(text: str) -> None:
    with pytest.raises(UsageError):
        parse_fraction(text)


def test_lab_nodes_are_the_tutorials() -> None:
    nodes = LabConfig(nodes=4, managers=3, subnet="10.9.8.0/24").lab_nodes()
    assert [(n.name, n.ip, n.manager) for n in nodes] == [
        ("node-001", "10.9.8.11", True),
        ("node-002", "10.9.8.12", True),
        ("node-003", "10.9.8.13", True),
        ("node-004", "10.9.8.14", False),
    ]
    assert nodes[0].docker_host == "unix:///run/swarm-chaos/lab/node-001/docker.sock"
    assert len(nodes[0].veth) <= 15


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"nodes": 0}, "--nodes"),
        ({"nodes": 3, "managers": 4}, "--managers"),
        ({"subnet": "10.1.2.3/24"}, "--subnet"),
        ({"subnet": "10.1.2.0/29"}, "too small"),
        ({"subnet": "nonsense"}, "--subnet"),
    ],
)
def test_lab_config_rejects(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        LabConfig(**kwargs)  # type: ignore[arg-type]


def test_missing_binary_says_how_to_install() -> None:
    with pytest.raises(MissingBinaryError, match=r"setup\.sh"):
        which("no-such-binary-chaos")
