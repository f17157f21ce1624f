"""Bad input, as a hostile user gives it: each is refused with one line and exit 2, never a
traceback or exit 70 (internal error), and nothing acts or sends."""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

CHAOS = str(Path(sys.executable).with_name("chaos"))
EXP = "name: t\ndescription: d\n"


def _bomb() -> list[str]:
    """Nine levels of nine aliases: 9**9 nodes if anything expanded them."""
    levels = "abcdefghi"
    lines = ["a: &a [" + ",".join(['"x"'] * 9) + "]"]
    for prev, name in itertools.pairwise(levels):
        lines.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]")
    return lines


FILES = {
    "a list as a rate": (EXP + "load: {rate: [1, 2]}\nsteps: [{sleep: 1s}]\n", "load.rate"),
    "a list as a sleep": (EXP + "steps: [{sleep: [1]}]\n", "steps.0.sleep"),
    "yes as a duration": (EXP + "phases: {warmup: yes}\nsteps: [{sleep: 1s}]\n", "warmup"),
    "a duplicate key": ("name: t\nname: u\ndescription: d\nsteps: [{sleep: 1s}]\n", "twice"),
    "no replicas": (EXP + "service: {replicas: 0}\nsteps: [{sleep: 1s}]\n", "replicas"),
    "a NaN fraction": (EXP + "slo: {max_error_rate: .nan}\nsteps: [{sleep: 1s}]\n", "slo"),
    "a YAML bomb": (EXP + "\n".join(_bomb()) + "\nsteps: [{sleep: 1s}]\n", "Extra inputs"),
}


def chaos(*args: str, netns_less: bool = False) -> subprocess.CompletedProcess[str]:
    argv = [CHAOS, *args]
    if netns_less:  # an empty network namespace: were the refusal to fail, nothing could leave
        argv = [shutil.which("unshare") or "unshare", "--net", *argv]
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)


def assert_one_line_exit_2(done: subprocess.CompletedProcess[str], *needles: str) -> None:
    out = done.stdout + done.stderr
    assert done.returncode == 2, out
    assert "Traceback" not in out, out
    lines = [ln for ln in out.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("chaos: error: "), out
    assert all(n in lines[0] for n in needles), out


@pytest.mark.parametrize("case", sorted(FILES))
def test_a_malformed_experiment_is_one_line(case: str, tmp_path: Path) -> None:
    text, needle = FILES[case]
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    for command in ("validate", "plan"):
        assert_one_line_exit_2(chaos(command, str(path)), "bad.yaml", needle)


def test_random_bytes_are_one_line(tmp_path: Path) -> None:
    """12 KB of noise wherever a command reads a file: an experiment, a suite, an inventory,
    a run's result.json (report, gate, compare)."""
    path = tmp_path / "noise.yaml"
    path.write_bytes(os.urandom(12_000))
    run_dir = tmp_path / "20261201-000000-noise"
    run_dir.mkdir()
    (run_dir / "result.json").write_bytes(os.urandom(12_000))
    for args, needle in (
        (("validate", str(path)), "noise.yaml"),
        (("plan", str(path)), "noise.yaml"),
        (("run", str(path), "--out", str(tmp_path / "out")), "noise.yaml"),
        (("suite", str(path)), "noise.yaml"),
        (("run", "baseline", "--platform", "ssh", "--inventory", str(path)), "noise.yaml"),
        (("report", str(run_dir)), "result.json"),
        (("gate", str(run_dir)), "result.json"),
        (("compare", str(run_dir), str(run_dir)), "result.json"),
    ):
        assert_one_line_exit_2(chaos(*args), needle)
    assert not (tmp_path / "out").exists()  # nothing of a run began


def test_a_file_as_out_is_one_line() -> None:
    assert_one_line_exit_2(chaos("run", "baseline", "--out", "/etc/hostname"), "/etc/hostname")


needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="an empty network namespace needs root")


@needs_root
def test_a_rate_the_generator_cannot_schedule_is_refused() -> None:
    done = chaos("load", "http://127.0.0.1:1/", "--rate", "1000000000000/s", "--duration", "1s",
                 netns_less=True)  # fmt: skip
    assert_one_line_exit_2(done, "20,000 req/s")


@needs_root
@pytest.mark.parametrize(
    "target",
    ["http://192.0.2.1/", "http://10.0.0.1/", "http://[2001:db8::1]/", "http://example.org/"],
)
def test_load_goes_only_to_loopback_or_the_cluster(target: str) -> None:
    done = chaos("load", target, "--rate", "10/s", "--duration", "1s", netns_less=True)
    assert_one_line_exit_2(done, "loopback")
