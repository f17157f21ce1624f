"""``chaos run leader-kill --platform vagrant`` end to end: the real CLI, runner, python-vagrant
and driver, with the stand-in ``vagrant`` acting on the lab nodes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from chaos.lab import Lab

pytestmark = [pytest.mark.lab, pytest.mark.timeout(240)]

CHAOS = Path(sys.executable).parent / "chaos"


def test_leader_kill_on_vagrant(lab: Lab, standin_env: dict[str, str], tmp_path: Path) -> None:
    out = tmp_path / "run"
    done = subprocess.run(
        [str(CHAOS), "run", "leader-kill", "--platform", "vagrant", "--seed", "1", "--quiet",
         "--set", "phases.baseline=3s", "--set", "phases.observe=3s", "--out", str(out)],
        env={**os.environ, **standin_env}, cwd=tmp_path, capture_output=True, text=True,
        timeout=220, check=False,
    )  # fmt: skip
    assert done.returncode in (0, 1), done.stdout[-2000:] + done.stderr[-2000:]
    result = json.loads((out / "result.json").read_text())
    assert result["environment"]["platform"] == "vagrant"
    assert result["leader_before"] and result["leader_after"]
    assert result["leader_after"] != result["leader_before"]
