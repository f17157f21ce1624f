"""Report tests: the two stored runs copied to a temp dir (never written in place), and one
headless Chromium for the session."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from chaos.report import refresh_index, render_compare, render_run
from tests.report.browser import CHROMIUM, Chromium

FIXTURE_RUNS = Path(__file__).resolve().parents[1] / "fixtures" / "runs"
RUN_NAMES = ("leader-kill", "rolling-update")


@pytest.fixture(scope="session")
def runs_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A reports dir holding copies of the stored runs, each page, the index and a compare."""
    out = tmp_path_factory.mktemp("reports")
    for name in RUN_NAMES:
        shutil.copytree(FIXTURE_RUNS / name, out / name)
        render_run(out / name)
    refresh_index(out)
    render_compare([out / "rolling-update", out / "leader-kill"], out / "compare.html")
    return out


@pytest.fixture(scope="session")
def chromium(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chromium]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} missing: run scripts/setup.sh (it installs chromium)")
    browser = Chromium(tmp_path_factory.mktemp("chromium"))
    yield browser
    browser.close()
