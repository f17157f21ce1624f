"""`chaos` on PATH and bash completion, as scripts/setup.sh installs them (into temporary
directories here: the host's /usr/local/bin and /etc/bash_completion.d are not touched)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "install-cli.sh"
CHAOS = ROOT / ".venv" / "bin" / "chaos"

pytestmark = pytest.mark.skipif(
    not CHAOS.exists() or shutil.which("bash") is None, reason="needs bash and the repo's .venv"
)


def install(tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CHAOS_BIN_DIR": str(tmp_path / "bin"),
           "CHAOS_COMPLETION_DIR": str(tmp_path / "completion")}  # fmt: skip
    return subprocess.run(["bash", str(SCRIPT)], env=env, capture_output=True, text=True,
                          check=True)  # fmt: skip


def test_link_and_completion_then_nothing_to_do(tmp_path: Path) -> None:
    first = install(tmp_path)
    link = tmp_path / "bin" / "chaos"
    assert link.is_symlink() and os.readlink(link) == str(CHAOS)
    assert "install-cli: " in first.stdout
    completion = (tmp_path / "completion" / "chaos").read_text()
    assert completion.startswith("# bash completion for chaos (swarm-chaos)")
    assert "complete -o nosort -F _chaos_completion chaos" in completion
    again = install(tmp_path)  # idempotent: nothing rewritten, nothing said
    assert again.stdout == "" and again.stderr == ""
    out = subprocess.run([str(link), "--version"], capture_output=True, text=True, check=True)
    assert out.stdout.startswith("chaos, version")


def test_a_link_of_a_removed_checkout_is_replaced(tmp_path: Path) -> None:
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "chaos").symlink_to(tmp_path / "gone" / ".venv" / "bin" / "chaos")
    install(tmp_path)
    assert os.readlink(tmp_path / "bin" / "chaos") == str(CHAOS)


def test_foreign_files_are_left_alone(tmp_path: Path) -> None:
    (tmp_path / "bin").mkdir()
    (tmp_path / "completion").mkdir()
    (tmp_path / "bin" / "chaos").write_text("#!/bin/sh\necho another chaos\n")
    (tmp_path / "completion" / "chaos").write_text("complete -F _other chaos\n")
    result = install(tmp_path)
    assert (tmp_path / "bin" / "chaos").read_text() == "#!/bin/sh\necho another chaos\n"
    assert (tmp_path / "completion" / "chaos").read_text() == "complete -F _other chaos\n"
    assert "is not swarm-chaos's: left as it is" in result.stderr
    other = tmp_path / "elsewhere"
    other.write_text("x")
    (tmp_path / "bin" / "chaos").unlink()
    (tmp_path / "bin" / "chaos").symlink_to(other)  # a symlink, but not to a venv of ours
    install(tmp_path)
    assert os.readlink(tmp_path / "bin" / "chaos") == str(other)


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    where = tmp_path_factory.mktemp("installed")
    install(where)
    return where


def complete(tmp_path: Path, words: str, cword: int) -> list[str]:
    """What bash's completion offers for ``words``, through the installed script and the
    ``chaos`` found on PATH (as in a user's shell)."""
    probe = (
        f'source "{tmp_path}/completion/chaos"\n'
        f"COMP_WORDS=({words}); COMP_CWORD={cword}; COMPREPLY=()\n"
        "_chaos_completion chaos\n"
        'printf "%s\\n" "${COMPREPLY[@]}"\n'
    )
    env = {**os.environ, "PATH": f"{tmp_path / 'bin'}:/usr/bin:/bin"}
    out = subprocess.run(["bash", "-c", probe], env=env, capture_output=True, text=True,
                         check=True)  # fmt: skip
    return out.stdout.split()


def test_completion_script_is_valid_bash(installed: Path) -> None:
    subprocess.run(["bash", "-n", str(installed / "completion" / "chaos")], check=True)


def test_completion_completes_commands_and_experiments(installed: Path) -> None:
    assert complete(installed, "chaos la", 1) == ["lab"]
    assert {"halt", "start", "up", "down"} <= set(complete(installed, "chaos lab ''", 2))
    assert complete(installed, "chaos run leader-k", 2) == ["leader-kill"]
    assert {"--seed", "--keep", "--quiet"} <= set(complete(installed, "chaos run x --", 3))
