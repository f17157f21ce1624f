"""Nothing leaves the machine, nothing acts on a run that is not its own, mistakes are refused
before anything acts: the real CLI against the real lab."""

from __future__ import annotations

import json
import os
import socket
import struct
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from chaos import lock
from chaos.analysis import load_result
from chaos.journal import Journal
from chaos.lab import Lab, down
from chaos.lab.config import CLIENT_VETH
from tests.experiments.helpers import CHAOS, assert_slo_holds
from tests.experiments.test_recover_lab import start_run
from tests.lab.helpers import poll

pytestmark = pytest.mark.lab

ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4


def chaos(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CHAOS, *args], capture_output=True, text=True, timeout=timeout, check=False
    )


def in_phase(out: Path, name: str) -> bool:
    path = out / "events.jsonl"
    if not path.exists():
        return False
    events = [json.loads(line) for line in path.read_text().splitlines()]
    return any(e["kind"] == "phase" and e["data"].get("name") == name for e in events)


def default_route_device() -> str:
    routes = json.loads(
        subprocess.run(["ip", "-j", "route", "show", "default"], capture_output=True,
                       text=True, check=True).stdout or "[]"
    )  # fmt: skip
    if not routes:
        pytest.skip("this host has no default route: nothing could leave through it anyway")
    return str(routes[0]["dev"])


class Capture:
    """Counts the IPv4 packets to ``prefix`` on ``device`` (an AF_PACKET socket: it sees every
    frame on that device, whatever made it); ``outgoing``: only those the host transmits."""

    def __init__(self, device: str, prefix: bytes, *, outgoing: bool = True) -> None:
        self.device, self.prefix, self.outgoing = device, prefix, outgoing
        self.count = 0
        self._stop = threading.Event()
        self._sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        self._sock.bind((device, 0))
        self._sock.settimeout(0.1)
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                frame, addr = self._sock.recvfrom(65535)
            except TimeoutError:
                continue
            if (self.outgoing and addr[2] != PACKET_OUTGOING) or len(frame) < 34:
                continue
            (ethertype,) = struct.unpack("!H", frame[12:14])
            if ethertype == 0x0800 and frame[30:33] == self.prefix:
                self.count += 1

    def close(self) -> int:
        self._stop.set()
        self._thread.join()
        self._sock.close()
        return self.count


@contextmanager
def captured(device: str, prefix: bytes, *, outgoing: bool = True) -> Iterator[Capture]:
    cap = Capture(device, prefix, outgoing=outgoing)
    try:
        yield cap
    finally:
        cap.close()


def test_the_lab_torn_down_under_a_run_sends_nothing_through_the_default_route(
    lab: Lab, tmp_path: Path
) -> None:
    prefix = bytes(int(x) for x in lab.config.subnet.split(".")[:3])
    uplink = default_route_device()
    proc = start_run(tmp_path, "phases.observe=60s", experiment="baseline")
    try:
        poll(lambda: in_phase(tmp_path, "baseline"), 120, "the run's baseline phase")
        # the capture works: the load is seen leaving the client namespace while the lab is up
        with captured(CLIENT_VETH, prefix, outgoing=False) as client:
            poll(lambda: client.count > 20, 10, "load packets from the client namespace")
        with captured(uplink, prefix) as out:
            down()  # what a forced teardown does (the lab's own `lab down` is refused now)
            started = time.monotonic()
            stdout, stderr = proc.communicate(timeout=120)
            stopped_in = time.monotonic() - started
            time.sleep(2.0)  # anything still sending would show by now
        leaked = out.count
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert leaked == 0, f"{leaked} packets to the lab's subnet left through {uplink}"
    assert proc.returncode == 3, stdout + stderr
    assert stopped_in < 30, f"the run took {stopped_in:.0f}s to stop after its lab vanished"
    result = json.loads((tmp_path / "result.json").read_text())
    assert any("disappeared" in e for e in result["errors"]), result["errors"]
    # stopped before its end: not judged (its errors are the teardown's, not swarm's)
    assert result["verdict"] == "interrupted"
    # the load stopped with the lab: nothing was sent in the 60 s observe phase it skipped
    load = result["load"]
    assert load is None or load["duration_s"] < result["duration_s"]


def test_one_actor_per_cluster_and_chaos_stop(lab: Lab, tmp_path: Path) -> None:
    first = tmp_path / "first"
    proc = start_run(first, "phases.observe=60s", experiment="baseline")
    try:
        poll(lambda: in_phase(first, "baseline"), 120, "the first run's baseline phase")
        holder = lock.holder("lab")
        assert holder is not None and holder.pid == proc.pid and holder.run.endswith("baseline")
        for args in (
            ["run", "leader-kill", "--out", str(tmp_path / "second")],
            ["recover"],
            ["lab", "down"],
            ["lab", "up"],
            ["lab", "halt", "node-002"],
            ["lab", "web"],
        ):
            done = chaos(*args)
            assert done.returncode == 3, (args, done.stdout, done.stderr)
            lines = done.stderr.strip().splitlines()
            assert len(lines) == 1 and holder.run in lines[0] and str(proc.pid) in lines[0], lines
        assert not (tmp_path / "second").exists()
        assert in_phase(first, "baseline") and proc.poll() is None  # untouched
        assert lab.power("node-002") == "running"
        stop = chaos("stop")
        assert stop.returncode == 0 and holder.run in stop.stdout, stop.stdout + stop.stderr
        stdout, stderr = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 130, stdout + stderr
    result = json.loads((first / "result.json").read_text())
    assert result["verdict"] == "interrupted" and result["restored"]
    assert result["verdict_reasons"] == ["stopped by `chaos stop`: not judged"]
    assert lock.holder("lab") is None
    assert chaos("stop").stdout.startswith("nothing to stop")


def test_a_dead_holder_is_taken_over_and_its_faults_recovered(lab: Lab, tmp_path: Path) -> None:
    proc = start_run(tmp_path / "killed", "steps.1.timeout=300s")
    try:
        poll(lambda: in_phase(tmp_path / "killed", "fault"), 120, "the fault phase")
        poll(lambda: Journal().pending(platform="lab") and _halted(lab), 60, "the halt")
        proc.kill()  # SIGKILL: no restore, the lock is left with its record
    finally:
        proc.wait()
        proc.communicate()
    out = tmp_path / "next"
    done = subprocess.run(
        [CHAOS, "run", "baseline", "--quiet", "--out", str(out), "--set", "phases.warmup=1s",
         "--set", "phases.baseline=2s", "--set", "phases.observe=2s"],
        capture_output=True, text=True, timeout=400, check=False,
    )  # fmt: skip
    assert "took over the lab cluster from run" in done.stderr, done.stderr
    assert f"pid {proc.pid}" in done.stderr
    assert "recover:" in done.stderr
    # the next run starts from a recovered, healthy swarm: its baseline sees no error
    assert_slo_holds(load_result(out / "result.json"), done.returncode)
    assert Journal().pending(platform="lab") == []
    assert all(lab.power(n.name) == "running" for n in lab.nodes)


def _halted(lab: Lab) -> bool:
    return any(lab.power(n.name) == "halted" for n in lab.nodes)


def test_reusing_out_is_refused_unless_replaced(lab: Lab, tmp_path: Path) -> None:
    short = ["--set", "phases.warmup=1s", "--set", "phases.baseline=2s", "--set",
             "phases.observe=1s", "--quiet"]  # fmt: skip
    first = chaos("run", "baseline", "--out", str(tmp_path), *short, timeout=300)
    # a run of four seconds on two busy cores may find its own send lag: then it is unknown
    # (exit 5), never a failure; what is tested here is the directory, not the verdict
    assert first.returncode in (0, 5), first.stdout + first.stderr
    assert_slo_holds(load_result(tmp_path / "result.json"), first.returncode)
    before = (tmp_path / "result.json").read_text()
    again = chaos("run", "baseline", "--out", str(tmp_path), *short)
    assert again.returncode == 2 and "not empty" in again.stderr and "--replace" in again.stderr
    assert (tmp_path / "result.json").read_text() == before  # the first result is untouched
    other = tmp_path.parent / f"{tmp_path.name}-other"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    refused = chaos("run", "baseline", "--out", str(other), "--replace", *short)
    assert refused.returncode == 2 and "not a run's" in refused.stderr
    assert (other / "notes.txt").read_text() == "mine"
    replaced = chaos("run", "baseline", "--out", str(tmp_path), "--replace", *short, timeout=300)
    assert replaced.returncode in (0, 5), replaced.stdout + replaced.stderr
    assert_slo_holds(load_result(tmp_path / "result.json"), replaced.returncode)
    result = json.loads((tmp_path / "result.json").read_text())
    events = [json.loads(x) for x in (tmp_path / "events.jsonl").read_text().splitlines()]
    starts = [e for e in events if e["kind"] == "phase" and e["data"]["name"] == "warmup"]
    assert len(starts) == 1  # one run's events, not two
    assert result["load"]["requests"]["ok"] > 0


def test_an_unknown_image_is_refused_before_anything_acts(lab: Lab, tmp_path: Path) -> None:
    for command in ("plan", "run"):
        started = time.monotonic()
        extra = ["--out", str(tmp_path / command)] if command == "run" else []
        done = chaos(command, "leader-kill", "--set", "service.image=chaoslab/web:9", *extra)
        took = time.monotonic() - started
        assert done.returncode == 2, (command, done.stdout, done.stderr)
        line = done.stderr.strip()
        assert "chaoslab/web:9" in line and "node-001" in line and "no registry" in line, line
        assert took < 30, f"{command} took {took:.0f}s to see a missing image"
    assert not (tmp_path / "run").exists()
    update = chaos("plan", "rolling-update", "--set", "steps.0.update.image=chaoslab/web:7")
    assert update.returncode == 2 and "chaoslab/web:7" in update.stderr, update.stderr
    assert os.listdir(tmp_path) == []
