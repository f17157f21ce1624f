"""Benchmark of ``chaos report``: page size and render time for a 5-minute run at 300 req/s.

    .venv/bin/python scripts/bench_report.py                  # 300 s at 300 req/s, 5 renders
    .venv/bin/python scripts/bench_report.py --seconds 600 --rate 1000 --keep /tmp/big-run

No cluster: the run directory is synthesized with the load generator's own writer code
(``WindowAccumulator`` -> ``OutDirSink`` -> ``SummaryBuilder``, the path ``chaos load`` takes)
fed with seeded synthetic requests to 3 node IPs: a leader halt at 60 s that makes its IP time
out (2 s connect timeouts) until it is started again at 150 s, a few refused connections and
slow requests on the live IPs meanwhile, lognormal ~2 ms latencies otherwise; events in the
shape of the stored leader-kill run (phases, steps, API outage, leader change, node down/up,
task moves). ``result.json`` comes from the real analysis (``chaos.analysis.analyze``).
Then ``render_run`` is timed end to end (reading the files included), best and median.
"""

from __future__ import annotations

import argparse
import math
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from chaos.analysis import PhaseSpan, analyze, load_result, make_result, write_result  # noqa: E402
from chaos.experiment.spec import Slo  # noqa: E402
from chaos.load.outcome import Outcome, Result  # noqa: E402
from chaos.load.sink import OutDirSink  # noqa: E402
from chaos.load.summary import RunInfo, SummaryBuilder  # noqa: E402
from chaos.load.windows import WindowAccumulator  # noqa: E402
from chaos.report import render_run  # noqa: E402
from chaos.timeline import (  # noqa: E402
    ApiError,
    ApiOk,
    KnownEvent,
    LeaderChange,
    NodePowerChange,
    NodeStatusChange,
    PhaseStart,
    StepEnd,
    StepStart,
    TasksChange,
)

FIXTURE = ROOT / "tests" / "fixtures" / "runs" / "leader-kill"
TARGETS = ["http://10.213.77.11:80/", "http://10.213.77.12:80/", "http://10.213.77.13:80/"]
NODES = ["node-001", "node-002", "node-003"]
WINDOW_S = 0.1
TIMEOUT_S = 2.0


def synth_load(out: Path, seconds: float, rate: float, halt: float, start: float) -> None:
    """Write a load dir as ``chaos load`` would: node-001's IP dead from ``halt`` to ``start``."""
    rng = random.Random(7)
    run = RunInfo(
        targets=TARGETS, rate=rate, duration_s=seconds, timeout_s=TIMEOUT_S, connection="new",
        engine="aiohttp", in_flight_cap=1000, window_s=WINDOW_S, t0_epoch=1_795_790_268.0,
        t0_monotonic=1000.0, loop="uvloop",
    )  # fmt: skip
    sink = OutDirSink(out, run)
    acc = WindowAccumulator(n_targets=len(TARGETS), width=WINDOW_S)
    summary = SummaryBuilder(run)
    n = int(seconds * rate)
    for seq in range(n):
        t = seq / rate
        target = seq % len(TARGETS)
        outcome, latency = Outcome.OK, rng.lognormvariate(math.log(0.0018), 0.45)
        if halt <= t < start and target == 0:
            outcome, latency = Outcome.CONNECT_TIMEOUT, TIMEOUT_S + rng.random() * 0.01
        elif halt <= t < halt + 12 and rng.random() < 0.1:  # the mesh still sends to the dead
            outcome, latency = Outcome.CONNECT_TIMEOUT, TIMEOUT_S
        elif halt <= t < start + 10 and rng.random() < 0.01:
            latency = 1.0 + rng.random() * 0.05  # a SYN retransmit
        elif rng.random() < 0.00002:
            outcome = Outcome.REFUSED
        acc.issue(t)
        result = Result(seq, target, t, t + 0.00002, t + latency, outcome)
        acc.record(result)
        summary.add_result(result)
        for window in acc.pop_closed(t - TIMEOUT_S - WINDOW_S):
            sink.write_window(window, summary.add_window(window))
    for window in acc.pop_all(seconds):
        sink.write_window(window, summary.add_window(window))
    sink.write_summary(summary.build(seconds))
    sink.close()


def synth_events(halt: float, start: float, observe: float, end: float) -> list[KnownEvent]:
    spread = {"node-001": 1, "node-002": 1, "node-003": 1}
    moved = {"node-002": 2, "node-003": 1}

    def phase(t: float, name: str) -> PhaseStart:
        return PhaseStart(t=t, detail=name, name=name)

    def placed(t: float, by_node: dict[str, int]) -> TasksChange:
        return TasksChange(
            t=t,
            detail="web: 3/3",
            service="web",
            running=3,
            desired=3,
            by_node=by_node,
            images={"chaoslab/web:1": 3},
        )

    def started(t: float, detail: str, index: int, action: str) -> StepStart:
        return StepStart(t=t, detail=detail, index=index, action=action)

    def ended(t: float, detail: str, index: int, action: str) -> StepEnd:
        return StepEnd(t=t, detail=detail, index=index, action=action, nodes=("node-001",), ok=True)

    def status(t: float, old: str, new: str) -> NodeStatusChange:
        return NodeStatusChange(
            t=t, detail=f"node-001 {old} -> {new}", node="node-001", old=old, new=new
        )

    return [
        LeaderChange(t=0.05, detail="leader None -> node-001", old=None, new="node-001"),
        placed(0.05, spread),
        phase(0.06, "warmup"),
        phase(10.0, "baseline"),
        phase(halt, "fault"),
        started(halt, "halt leader", 0, "halt"),
        NodePowerChange(t=halt + 0.06, detail="node-001 running -> halted", node="node-001",
                        old="running", new="halted"),
        ended(halt + 0.08, "node-001 halted", 0, "halt"),
        ApiError(t=halt + 2.0, detail="node ls failed", node="node-003",
                 message="node ls failed"),
        ApiOk(t=halt + 9.3, detail="manager API answers again", node="node-003"),
        LeaderChange(t=halt + 9.3, detail="leader node-001 -> node-003", old="node-001",
                     new="node-003"),
        status(halt + 45.0, "unknown", "down"),
        placed(halt + 50.0, moved),
        started(start - 0.1, "start @victim", 1, "start"),
        ended(start, "node-001 started", 1, "start"),
        status(start + 3.0, "down", "ready"),
        phase(observe, "observe"),
        phase(end, "end"),
    ]  # fmt: skip


def synth_run(run_dir: Path, seconds: float, rate: float) -> None:
    """A complete run dir (load/, events.jsonl, result.json...) of ``seconds`` at ``rate``."""
    halt, start, observe = 60.0, 150.0, 200.0
    synth_load(run_dir / "load", seconds, rate, halt, start)
    events = synth_events(halt, start, observe, seconds)
    (run_dir / "events.jsonl").write_text("".join(ev.model_dump_json() + "\n" for ev in events))
    for name in ("experiment.yaml", "plan.txt"):
        shutil.copy(FIXTURE / name, run_dir / name)
    phases = [
        PhaseSpan("warmup", 0.06, 10.0),
        PhaseSpan("baseline", 10.0, halt),
        PhaseSpan("fault", halt, observe),
        PhaseSpan("observe", observe, seconds),
    ]
    template = load_result(FIXTURE / "result.json")
    analysis = analyze(
        run_dir / "load", events=events, phases=phases,
        targets=dict(zip(TARGETS, NODES, strict=True)),
        faulted_nodes={"node-001"}, fault_start=halt, update_start=None,
        leader_before="node-001", slo=Slo(max_error_rate=0.1, max_recovery=60,
        max_leader_election=30), service="web",
    )  # fmt: skip
    settings = {**template.experiment.settings, "load": {**template.experiment.settings["load"],
                "rate": rate}}  # fmt: skip
    result = make_result(
        analysis, experiment=template.experiment.model_copy(update={"settings": settings}),
        events=events, leader_before="node-001", leader_after="node-003",
        environment=template.environment, started_at="2026-11-27T15:00:00+00:00",
        duration_s=seconds + 2, restored=True, errors=[], load_dir="load",
    )  # fmt: skip
    write_result(run_dir / "result.json", result)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=300.0, help="Run length (s).")
    ap.add_argument("--rate", type=float, default=300.0, help="Requests per second.")
    ap.add_argument("--repeat", type=int, default=5, help="Renders to time.")
    ap.add_argument("--keep", type=Path, help="Write the run dir here and keep it.")
    args = ap.parse_args()
    tmp = None
    if args.keep is None:
        tmp = tempfile.TemporaryDirectory(prefix="bench-report-")
        run_dir = Path(tmp.name) / "run"
    else:
        run_dir = args.keep
        shutil.rmtree(run_dir, ignore_errors=True)
    run_dir.mkdir(parents=True)
    try:
        t0 = time.perf_counter()
        synth_run(run_dir, args.seconds, args.rate)
        made = time.perf_counter() - t0
        times = []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            page = render_run(run_dir)
            times.append(time.perf_counter() - t0)
        load_bytes = sum(p.stat().st_size for p in (run_dir / "load").iterdir())
        print(f"run: {args.seconds:g} s at {args.rate:g} req/s, "
              f"{int(args.seconds * args.rate):,} requests, load dir {load_bytes / 1e6:.1f} MB "
              f"(synthesized in {made:.1f} s)")  # fmt: skip
        print(f"page: {page.stat().st_size / 1e6:.2f} MB ({page.stat().st_size:,} bytes)")
        print(f"render: best {min(times):.2f} s, median {statistics.median(times):.2f} s "
              f"over {len(times)}")  # fmt: skip
        if args.keep is not None:
            print(f"kept: {page}")
    finally:
        if tmp is not None:
            tmp.cleanup()


if __name__ == "__main__":
    main()
