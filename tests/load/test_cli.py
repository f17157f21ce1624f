"""``chaos load`` end to end through the CLI root (exit codes, stdout/stderr split)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from chaos.cli import cli
from chaos.cli import load as cli_load
from chaos.load import loops

from .conftest import TestServer

PUBLIC_SUMMARY_KEYS = {
    "requests",
    "latency_ms",
    "achieved_rate",
    "send_lag_ms",
    "targets",
    "timeline",
}


def test_json_prints_only_the_summary(server: TestServer, tmp_path: Path) -> None:
    out = tmp_path / "run"
    result = CliRunner().invoke(
        cli,
        [
            "load",
            server.url("/ok"),
            server.url("/status/503"),
            "--rate",
            "100/s",
            "--duration",
            "500ms",
            "--timeout",
            "1s",
            "--out",
            str(out),
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    assert result.stderr == ""  # the live line is silent with --json
    data = json.loads(result.stdout)
    assert set(data) >= PUBLIC_SUMMARY_KEYS
    assert set(data["requests"]) >= {"total", "ok", "dropped", "errors"}
    assert data["requests"]["total"] == 50
    assert data["requests"]["errors"] == {"http_5xx": 25}
    assert set(data["latency_ms"]) >= {"p50", "p90", "p99", "p999", "max"}
    assert set(data["send_lag_ms"]) >= {"p50", "p99"}
    target = data["targets"][server.url("/ok")]
    assert set(target) >= {"requests", "latency_ms", "achieved_rate", "send_lag_ms"}
    assert target["requests"]["ok"] == 25
    entry = data["timeline"][0]
    assert set(entry) >= {"t", "target", "ok", "errors", "p99_ms"}
    assert len(data["timeline"]) == 5 * 2
    assert json.loads((out / "summary.json").read_text()) == data
    for name in ("run.json", "timeline.jsonl", "latency.hlog", "latency-all.hlog"):
        assert (out / name).stat().st_size > 0


def test_human_output_and_live_line(server: TestServer) -> None:
    result = CliRunner().invoke(cli, ["load", server.url(), "--rate", "100", "--duration", "1.2s"])
    assert result.exit_code == 0, result.output
    assert "requests 120  ok 120  dropped 0" in result.stdout
    assert "rate=" in result.stderr and "p99=" in result.stderr


def test_warns_above_the_benchmarked_rate(server: TestServer) -> None:
    result = CliRunner().invoke(
        cli, ["load", server.url(), "--rate", "15000/s", "--duration", "10ms", "--json"]
    )
    assert result.exit_code == 0, result.output
    assert result.stderr.count("\n") == 1 and "warning" in result.stderr
    assert "BENCHMARKS.md" in result.stderr


def test_usage_errors_exit_2_with_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    cases = [
        (["http://127.0.0.1:1/", "--rate", "fast", "--duration", "1s"], "invalid rate"),
        (["http://127.0.0.1:1/", "--rate", "0/s", "--duration", "1s"], "greater than zero"),
        (["ftp://127.0.0.1/", "--rate", "1/s", "--duration", "1s"], "invalid target URL"),
        (["http://8.8.8.8/", "--rate", "1/s", "--duration", "1s"], "neither loopback nor a node"),
        # private and documentation ranges are not the cluster under test either
        (["http://10.1.2.3/", "--rate", "1/s", "--duration", "1s"], "neither loopback nor a node"),
        (["http://192.0.2.7/", "--rate", "1/s", "--duration", "1s"], "neither loopback nor a node"),
        (["http://example.com/", "--rate", "1/s", "--duration", "1s"], "names a host"),
        # a rate the generator cannot schedule: refused, not attempted (it grew to 4 GB)
        (["http://127.0.0.1:1/", "--rate", "1000000000000/s", "--duration", "1s"], "20,000"),
        (["http://127.0.0.1:1/", "--rate", "20001/s", "--duration", "1s"], "cannot schedule"),
        (
            [
                "http://127.0.0.1:1/",
                "--rate",
                "1/s",
                "--duration",
                "1s",
                "--out",
                str(blocker / "sub"),
            ],
            "pick another --out",
        ),
        (["http://127.0.0.1:1/", "--rate", "1/s", "--duration", "1s", "--engine", "curl"], "curl"),
    ]
    for args, message in cases:
        result = CliRunner().invoke(cli, ["load", *args])
        assert result.exit_code == 2, (args, result.output)
        assert message in result.stderr, (args, result.stderr)


def test_runs_on_uvloop_by_default_and_records_the_loop(server: TestServer, tmp_path: Path) -> None:
    for extra, expected in (([], "uvloop"), (["--loop", "asyncio"], "asyncio")):
        out = tmp_path / expected
        result = CliRunner().invoke(
            cli,
            [
                *("load", server.url(), "--rate", "50/s", "--duration", "200ms"),
                *("--out", str(out), "--json", *extra),
            ],
        )
        assert result.exit_code == 0, result.output
        assert json.loads(result.stdout)["run"]["loop"] == expected
        assert json.loads((out / "run.json").read_text())["loop"] == expected


def test_falls_back_to_asyncio_without_uvloop(
    server: TestServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(loops, "uvloop_available", lambda: False)
    monkeypatch.setattr(cli_load, "uvloop_available", lambda: False)
    args = ["load", server.url(), "--rate", "50/s", "--duration", "200ms", "--json"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["run"]["loop"] == "asyncio"
    result = CliRunner().invoke(cli, [*args, "--loop", "uvloop"])
    assert result.exit_code == 2 and "uvloop is not installed" in result.stderr
