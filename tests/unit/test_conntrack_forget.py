"""``network.forget_connections`` against the real ``conntrack`` in a namespace of its own:
every tracked connection to the backend goes, even while others to it close and expire
during the deletion (conntrack 1.4.7 gives up at the first entry that vanished under it and
leaves the rest; in the lab those survivors later sent a reused source port to a task that
was gone). Loopback only, inside the test's own namespace."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator

import pytest

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("conntrack") is None or shutil.which("ip") is None,
    reason="needs root, ip and conntrack",
)

PORT = 9000
TRIALS = 10
# Inside the namespace, per trial: a listener holds 200 established connections from
# 127.0.0.3 (the entries that must go) beside 2000 reset ones from 127.0.0.4 to the same
# address and port (matched by the same filter); while the deletion walks them, another
# conntrack deletes the reset ones, so entries vanish under it, as closing and expiring ones
# do in the lab. One JSON line per trial.
SCRIPT = r"""
import json, socket, struct, subprocess, sys, threading, time
from chaos.lab import network
netns, port, trials = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
HELD, DOOMED = "127.0.0.3", "127.0.0.4"
RESET = struct.pack("ii", 1, 0)  # SO_LINGER on, 0 s: close() sends a reset
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", port))
srv.listen(4096)
kept = []

def accept():
    while True:
        conn, peer = srv.accept()
        if peer[0] == HELD:
            kept.append(conn)
        else:
            conn.close()

def connect(source, reset):
    c = socket.socket()
    c.bind((source, 0))
    c.connect(("127.0.0.1", port))
    if reset:
        c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, RESET)
        c.close()
    return c

def established():
    out = subprocess.run(["conntrack", "-L", "-p", "tcp", "--state", "ESTABLISHED"],
                         capture_output=True, text=True).stdout
    return sum(1 for line in out.splitlines() if f"src={HELD} " in line)

passes = {"vanished": 0}
real_run = network.run
def counting_run(args, **kw):
    proc = real_run(args, **kw)
    if network.VANISHED in proc.stderr:
        passes["vanished"] += 1
    return proc
network.run = counting_run

threading.Thread(target=accept, daemon=True).start()
for trial in range(trials):
    for _ in range(2000):
        connect(DOOMED, reset=True)
    held = [connect(HELD, reset=False) for _ in range(200)]
    while len(kept) < len(held):
        time.sleep(0.01)
    before = established()
    other = subprocess.Popen(["conntrack", "-D", "-p", "tcp", "-s", DOOMED],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    network.forget_connections(netns, "127.0.0.1", port)
    other.wait()
    print(json.dumps({"before": before, "after": established(), **passes}), flush=True)
    for c in held + kept:
        c.close()
    kept.clear()
"""


@pytest.fixture()
def netns() -> Iterator[str]:
    name = f"chaos-cttest-{os.getpid()}"
    subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        subprocess.run(["ip", "-n", name, "link", "set", "lo", "up"], check=True)
        # conntrack tracks a namespace's packets once a rule there asks for it
        subprocess.run(
            ["ip", "netns", "exec", name, "iptables", "-A", "INPUT", "-m", "conntrack",
             "--ctstate", "NEW", "-j", "ACCEPT"],
            check=True,
        )  # fmt: skip
        yield name
    finally:
        subprocess.run(["ip", "netns", "del", name], check=False)


def test_every_connection_to_the_backend_goes_though_others_vanish_meanwhile(netns: str) -> None:
    done = subprocess.run(
        ["ip", "netns", "exec", netns, sys.executable, "-c", SCRIPT, netns, str(PORT), str(TRIALS)],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    trials = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(trials) == TRIALS
    assert all(t["before"] >= 200 for t in trials), trials  # the held ones were tracked
    assert [t["after"] for t in trials] == [0] * TRIALS, trials
    # the race this is about happened (else the test proved nothing)
    assert trials[-1]["vanished"] > 0, trials
