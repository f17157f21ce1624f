"""Stopping a run at random moments, as a hostile user would: does every way of stopping
restore the cluster (or leave it to `chaos recover`)?

    .venv/bin/python scripts/trial_stops.py --per-signal 10 --seed 1 [--out DIR]

For each of SIGKILL, SIGINT and SIGTERM, ``--per-signal`` runs of the fault experiments
(leader-kill, leader-isolate, follower-kill, in turn) get that signal at a random moment: a
third of them while the run is restoring (after its ``end`` phase), the rest anywhere from the
set-up to the restore. A signal the run handles must end it with 130 and a restored cluster
(or with its verdict's code if it had just finished); after a SIGKILL, ``chaos recover`` must
restore it. After every trial the cluster must be healthy: every node powered, Ready and
connected, one leader, no service, nothing pending in the journal. At the end a `baseline`
run must pass with no error. Writes ``trial.json`` and prints a Markdown summary (the numbers
in BENCHMARKS.md come from it). Needs root and the lab.
"""

from __future__ import annotations

import argparse
import json
import random
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from chaos.errors import ChaosError
from chaos.journal import Journal
from chaos.lab import Lab

CHAOS = str(Path(sys.executable).with_name("chaos"))
EXPERIMENTS = ("leader-kill", "leader-isolate", "follower-kill")
SHORT = ("phases.warmup=1s", "phases.baseline=3s", "phases.observe=3s")
RUN_TIMEOUT = 420.0


@dataclass
class Trial:
    index: int
    signal: str
    experiment: str
    moment: str  # "restore" or "anywhere"
    delay_s: float
    exit_code: int
    result_written: bool
    verdict: str
    recovered_by: str  # "the run" | "chaos recover" | "nothing to do"
    healthy: bool
    problems: list[str] = field(default_factory=list)


def events(out: Path) -> list[dict[str, object]]:
    path = out / "events.jsonl"
    if not path.exists():
        return []
    found = []
    for line in path.read_text().splitlines():
        try:
            found.append(json.loads(line))
        except ValueError:
            continue  # the line being written
    return found


def restoring(out: Path) -> bool:
    return any(
        e["kind"] == "phase" and isinstance(e["data"], dict) and e["data"].get("name") == "end"
        for e in events(out)
    )


def health() -> list[str]:
    """What is wrong with the lab now (empty: healthy)."""
    problems = []
    lab = Lab.attach()
    for node in lab.nodes:
        if lab.power(node.name) != "running":
            problems.append(f"{node.name} is {lab.power(node.name)}")
        if lab.isolated(node.name):
            problems.append(f"{node.name} is isolated")
    try:
        views = lab.swarm_nodes()
        if sum(v.leader for v in views) != 1:
            problems.append(f"{sum(v.leader for v in views)} leaders")
        problems += [f"{v.hostname} is {v.state}" for v in views if v.state != "ready"]
        services = lab.manager_engines()[0].services()
        problems += [f"service {s.name} left" for s in services]
    except ChaosError as exc:
        problems.append(f"swarm: {exc}")
    pending = Journal().pending(platform="lab")
    problems += [f"journal: {f.describe()} pending" for f in pending]
    return problems


def settle(timeout: float = 240.0) -> list[str]:
    """Wait until the lab is healthy (a restarted node takes seconds to be Ready)."""
    deadline = time.monotonic() + timeout
    problems = health()
    while problems and time.monotonic() < deadline:
        time.sleep(1.0)
        problems = health()
    return problems


def one(index: int, sig: signal.Signals, experiment: str, rng: random.Random, out: Path) -> Trial:
    run_dir = out / f"{index:02d}-{sig.name}-{experiment}"
    args = [CHAOS, "run", experiment, "--quiet", "--out", str(run_dir), "--seed", str(index)]
    for item in SHORT:
        args += ["--set", item]
    at_restore = rng.random() < 1 / 3
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    started = time.monotonic()
    if at_restore:
        while proc.poll() is None and not restoring(run_dir):
            time.sleep(0.05)
        delay = rng.uniform(0.0, 2.0)
    else:
        delay = rng.uniform(1.0, 40.0)
    time.sleep(delay)
    sent_after = time.monotonic() - started
    if proc.poll() is None:
        proc.send_signal(sig)
    try:
        proc.communicate(timeout=RUN_TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
    code = proc.returncode
    result = run_dir / "result.json"
    verdict = json.loads(result.read_text())["verdict"] if result.exists() else "-"
    recovered_by = "the run"
    problems: list[str] = []
    if Journal().pending(platform="lab"):
        if sig is not signal.SIGKILL:
            problems.append(f"{sig.name} left faults pending: {health()}")
        done = subprocess.run(
            [CHAOS, "recover"], capture_output=True, text=True, timeout=RUN_TIMEOUT, check=False
        )
        recovered_by = "chaos recover"
        if done.returncode != 0:
            problems.append(f"chaos recover exit {done.returncode}: {done.stderr.strip()}")
    elif sig is signal.SIGKILL:
        recovered_by = "nothing to do"
    if sig is not signal.SIGKILL and code not in (0, 1, 5, 130):
        problems.append(f"exit {code} after {sig.name}")
    if sig is not signal.SIGKILL and code == 130 and verdict != "interrupted":
        problems.append(f"exit 130 but verdict {verdict}")
    problems += settle()
    return Trial(index, sig.name, experiment, "restore" if at_restore else "anywhere",
                 round(sent_after, 1), code, result.exists(), verdict, recovered_by,
                 not problems, problems)  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-signal", type=int, default=10)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, default=Path("reports/trial-stops"))
    ns = parser.parse_args()
    rng = random.Random(ns.seed)
    ns.out.mkdir(parents=True, exist_ok=True)
    order = [s for s in (signal.SIGKILL, signal.SIGINT, signal.SIGTERM)
             for _ in range(ns.per_signal)]  # fmt: skip
    rng.shuffle(order)
    Lab.up(log=print)  # the running lab, or a fresh one
    if problems := settle(60):
        print(f"the lab is not healthy before the trial: {problems}", file=sys.stderr)
        return 3
    trials = []
    for i, sig in enumerate(order):
        trial = one(i, sig, EXPERIMENTS[i % len(EXPERIMENTS)], rng, ns.out)
        trials.append(trial)
        print(f"{i + 1:>2}/{len(order)} {trial.signal:<7} {trial.experiment:<15} "
              f"{trial.moment:<8} +{trial.delay_s:5.1f}s exit {trial.exit_code:>3} "
              f"{trial.verdict:<11} {trial.recovered_by:<14} "
              f"{'healthy' if trial.healthy else 'NOT HEALTHY: ' + '; '.join(trial.problems)}",
              flush=True)  # fmt: skip
    base = ns.out / "baseline-after"
    done = subprocess.run(
        [CHAOS, "run", "baseline", "--quiet", "--out", str(base), "--replace"],
        capture_output=True, text=True, timeout=RUN_TIMEOUT, check=False,
    )  # fmt: skip
    after = (
        json.loads((base / "result.json").read_text()) if (base / "result.json").exists() else {}
    )
    failed = sum(after.get("failed_by_node", {}).values()) if after else -1
    summary = {
        "trials": [asdict(t) for t in trials],
        "baseline_after": {"exit": done.returncode, "verdict": after.get("verdict"),
                           "failed_requests": failed},
    }  # fmt: skip
    (ns.out / "trial.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(
        "\n| signal | trials | during restore | restored by the run | by `chaos recover` | "
        "healthy after |\n|---|---|---|---|---|---|"
    )
    for name in ("SIGKILL", "SIGINT", "SIGTERM"):
        mine = [t for t in trials if t.signal == name]
        print(f"| {name} | {len(mine)} | {sum(t.moment == 'restore' for t in mine)} | "
              f"{sum(t.recovered_by == 'the run' for t in mine)} | "
              f"{sum(t.recovered_by == 'chaos recover' for t in mine)} | "
              f"{sum(t.healthy for t in mine)}/{len(mine)} |")  # fmt: skip
    print(
        f"\nbaseline after the trial: exit {done.returncode}, verdict {after.get('verdict')}, "
        f"{failed} failed requests"
    )
    ok = all(t.healthy for t in trials) and done.returncode == 0 and failed == 0
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
