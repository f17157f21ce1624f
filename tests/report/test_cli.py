"""``chaos report`` and ``chaos compare`` on stored runs (the cluster that made them is gone),
and bad input: one line on stderr and exit 2."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from chaos.cli import cli
from tests.report.conftest import FIXTURE_RUNS, RUN_NAMES


@pytest.fixture()
def reports(tmp_path: Path) -> Path:
    for name in RUN_NAMES:
        shutil.copytree(FIXTURE_RUNS / name, tmp_path / name)
    return tmp_path


def run(*args: str) -> tuple[int, str, str]:
    res = CliRunner().invoke(cli, list(args))
    return res.exit_code, res.stdout, res.stderr


def test_report_writes_the_page(reports: Path) -> None:
    code, out, _ = run("report", str(reports / "leader-kill"))
    assert code == 0, out
    page = reports / "leader-kill" / "report.html"
    assert f"report: {page}" in out
    html = page.read_text()
    assert html.count("var uPlot=") == 1  # the library, embedded once
    assert "<script src" not in html and "<link" not in html  # nothing fetched from elsewhere
    assert not (reports / "index.html").exists()


def test_report_index(reports: Path) -> None:
    code, out, _ = run("report", str(reports / "rolling-update"), "--index", str(reports))
    assert code == 0, out
    html = (reports / "index.html").read_text()
    assert "rolling-update/report.html" in html
    assert "leader-kill/result.json" in html  # no page yet: links the result
    code, out, _ = run("report", "--index", str(reports))
    assert code == 0 and "index:" in out


def test_report_index_default_dir(reports: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (reports / "reports").mkdir()
    shutil.move(reports / "leader-kill", reports / "reports" / "leader-kill")
    monkeypatch.chdir(reports)
    code, out, _ = run("report", "--index")
    assert code == 0, out
    assert "leader-kill" in (reports / "reports" / "index.html").read_text()


def test_index_lists_unreadable_runs(reports: Path) -> None:
    (reports / "broken").mkdir()
    (reports / "broken" / "result.json").write_text("{not json")
    (reports / "running").mkdir()
    (reports / "running" / "plan.txt").write_text("plan")
    code, out, _ = run("report", "--index", str(reports))
    assert code == 0, out
    html = (reports / "index.html").read_text()
    assert "invalid JSON" in html and "no result.json" in html


def test_compare(reports: Path) -> None:
    out_file = reports / "cmp" / "p1-vs-p3.html"
    code, out, _ = run(
        "compare", str(reports / "rolling-update"), str(reports / "leader-kill"),
        "--out", str(out_file),
    )  # fmt: skip
    assert code == 0, out
    html = out_file.read_text()
    assert "Settings that differ" in html and "service.update.parallelism" in html


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["report"], "give a run directory"),
        (["report", "/nonexistent/run"], "no such run directory"),
        (["report", "--index", "/nonexistent/reports"], "no such reports directory"),
        (["compare", "RUN"], "at least two"),
        (["compare", "/nonexistent/a", "/nonexistent/b"], "no such run directory"),
    ],
)
def test_bad_input_exits_2(args: list[str], message: str, reports: Path) -> None:
    code, _out, err = run(*[a.replace("RUN", str(reports / "leader-kill")) for a in args])
    assert code == 2
    assert message in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{oops", "invalid JSON"),
        ('{"schema_version": 1}', "malformed result file"),
        ('{"schema_version": 99}', "newer"),
        (None, "no such result file"),
    ],
)
def test_malformed_result_exits_2(tmp_path: Path, content: str | None, message: str) -> None:
    if content is not None:
        (tmp_path / "result.json").write_text(content)
    code, _out, err = run("report", str(tmp_path))
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1


def test_broken_load_dir_exits_2(reports: Path) -> None:
    (reports / "leader-kill" / "load" / "run.json").write_text("[]")
    code, _out, err = run("report", str(reports / "leader-kill"))
    assert code == 2 and "cannot read the load results" in err


def test_renders_with_the_cluster_gone(reports: Path) -> None:
    """No docker, no vagrant, no network: rendering needs only the saved files."""
    script = textwrap.dedent(
        f"""
        import sys
        sys.modules["docker"] = None  # any import of the docker SDK would fail
        sys.modules["vagrant"] = None
        from pathlib import Path
        from chaos.report import render_run
        print(render_run(Path({str(reports / "leader-kill")!r})))
        assert not any(m.startswith(("chaos.lab", "chaos.swarm", "chaos.platform"))
                       for m in sys.modules), "a cluster module was imported"
        """
    )
    env = {**os.environ, "DOCKER_HOST": "unix:///nonexistent.sock"}
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, check=False,
        cwd=Path(__file__).resolve().parents[2],
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert (reports / "leader-kill" / "report.html").stat().st_size > 50_000
    assert json.loads((reports / "leader-kill" / "result.json").read_text())["verdict"] == "fail"
