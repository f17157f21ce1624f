"""``chaos run``: one experiment from set-up to verdict, always restoring the cluster.

    set-up      node labels, the service under test (journaled), wait until it is converged
                and answers on every node IP
    load        open-loop load on every node IP, from here to the end (one t axis: its t0)
    phases      warmup -> baseline -> fault (the steps, as long as they take) -> observe
    restore     always (success, error, Ctrl-C): undo every journaled fault, nodes powered
                and Ready, the service removed unless --keep
    analysis    phases, recovery times, SLO checks -> result.json (see chaos.analysis)

Exit codes: 0 pass, 1 SLO violated, 2 invalid input, 3 platform error, 4 cluster not
restored, 5 verdict unknown (a check could not be computed or the run measured itself).
"""

from __future__ import annotations

import datetime as dt
import random
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import anyio
import yaml

from chaos.errors import ChaosError, PlatformError, UsageError
from chaos.experiment import actions, rate
from chaos.experiment.actions import FAULTS, Context
from chaos.experiment.live import LiveView
from chaos.experiment.loadproc import LoadProcess
from chaos.experiment.observer import Observer
from chaos.experiment.plan import Plan, describe_step, plan
from chaos.experiment.restore import recover, restore, wait_ready
from chaos.experiment.spec import Experiment, PowerStep, ServiceUpdateStep, SleepStep, Step
from chaos.experiment.steps import Aborted, StepRunner, StepTimeout
from chaos.journal import Journal
from chaos.load import Connection, LoadConfig, LoadSummary, load_summary
from chaos.platform import Platform, get_platform
from chaos.platform.base import POWER_ACTIONS
from chaos.platform.probe import wait_http
from chaos.platform.view import Managers, cluster_view
from chaos.timeline import Clock, EventLog

REPORTS = Path("reports")
SETUP_TIMEOUT = 90.0
EXIT = {"pass": 0, "fail": 1, "unknown": 5}


@dataclass
class RunOptions:
    platform: str = "lab"
    seed: int | None = None
    out_dir: Path | None = None
    keep: bool = False
    live: bool = True
    inventory: Path | None = None  # the ssh platform's node list


@dataclass
class RunState:
    """What the run learned as it went; the analysis reads it at the end."""

    run_id: str
    out_dir: Path
    seed: int
    started_at: str
    started: float = field(default_factory=time.monotonic)
    phases: list[tuple[str, float]] = field(default_factory=list)
    fault_start: float | None = None
    update_start: float | None = None
    faulted_nodes: set[str] = field(default_factory=set)
    leader_before: str | None = None
    errors: list[str] = field(default_factory=list)
    deviations: list[str] = field(default_factory=list)  # wait_for timeouts: the system deviated
    interrupted: bool = False
    restored: bool = False
    load_summary: LoadSummary | None = None
    t_end: float = 0.0


@dataclass
class RunOutcome:
    out_dir: Path
    verdict: str
    exit_code: int
    lines: list[str]


def new_run_id(exp: Experiment) -> str:
    return dt.datetime.now().strftime("%Y%m%d-%H%M%S") + f"-{exp.name}"


def preflight(exp: Experiment, platform: Platform, seed: int) -> Plan:
    """The plan against the live cluster; refuses an unexpected quorum loss before acting."""
    supported = frozenset(a for a in POWER_ACTIONS if platform.supports(a))
    return plan(exp, cluster_view(platform), seed, supported)


def run_experiment(exp: Experiment, opts: RunOptions) -> RunOutcome:
    seed = opts.seed if opts.seed is not None else random.SystemRandom().randrange(1, 2**31)
    platform = get_platform(opts.platform, inventory=opts.inventory)
    exp, capped = rate.for_platform(exp, platform)  # the guests under TCG hold tens per second
    journal = Journal()
    stale = journal.pending()
    if stale:
        recover(platform, journal, log=lambda m: print(f"recover: {m}", file=sys.stderr))
    the_plan = preflight(exp, platform, seed)
    run_id = new_run_id(exp)
    out_dir = opts.out_dir or (REPORTS / run_id)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "experiment.yaml").write_text(
        yaml.safe_dump(exp.model_dump(mode="json", by_alias=True), sort_keys=False)
    )
    (out_dir / "plan.txt").write_text("\n".join(the_plan.lines()) + "\n")
    st = RunState(run_id, out_dir, seed, dt.datetime.now(dt.UTC).isoformat(timespec="seconds"))
    managers = Managers(platform, timeout=3.0)
    ctx = Context(platform, managers, journal, run_id, exp.service.name,
                  Path(exp.source).parent if exp.source else Path("."))  # fmt: skip
    targets = {
        f"http://{platform.node_ip(n)}:{exp.service.port}{exp.load.path}": n
        for n in platform.node_names()
    }
    live = LiveView(targets, enabled=opts.live)
    live.say(f"run {run_id}: {exp.description} (seed {seed}, {platform.mesh} mesh)")
    if capped:
        live.say(capped)
    for line in the_plan.lines()[1:]:
        live.say(line)
    clock = Clock()
    log = EventLog(out_dir / "events.jsonl", clock)
    observer = Observer(platform, log, exp.service.name, cut_off=managers.cut_off)
    abort = threading.Event()
    try:
        setup(ctx, exp, targets, live)
        execution = Execution(exp, ctx, st, log, observer, live, targets, abort)
        anyio.run(
            execution.phases,
            backend="asyncio",
            backend_options=_backend_options(),
        )
    except KeyboardInterrupt:
        st.interrupted = True
        st.errors.append("interrupted (Ctrl-C): restored before exiting")
        abort.set()
    except ChaosError as exc:
        st.errors.append(str(exc))
        abort.set()
    except Exception as exc:  # a bug of ours: still restore and keep the results
        st.errors.append(f"internal error: {exc!r}")
        abort.set()
    finally:
        observer.stop()
        st.t_end = clock.now()
        live.phase = "restore"
        live.say("restoring the cluster")
        try:
            restore(ctx, exp, opts.keep, _noted(live.say, log), log)
            st.restored = True
        except (ChaosError, KeyboardInterrupt) as exc:
            st.errors.append(f"restore: {exc}")
        log.close()
    return finish(exp, platform, st, targets)


def _noted(say: Callable[[str], None], log: EventLog) -> Callable[[str], None]:
    """Say it, and keep it on the timeline (what the restore did is part of the run)."""

    def both(message: str) -> None:
        say(message)
        log.emit("restore_step", message)

    return both


def _render_pages(out_dir: Path) -> list[str]:
    """The run's report.html and the refreshed index of its reports folder (best effort: a
    page that cannot be drawn never costs the result)."""
    from chaos.report import refresh_index, render_run

    try:
        page = render_run(out_dir)
        index = refresh_index(out_dir.parent)
    except Exception as exc:  # never costs the run its result or its exit code
        return [f"report: not written ({exc!r}); retry with `chaos report {out_dir}`"]
    return [f"report: {page}", f"index: {index}"]


def _summary_or_none(load_dir: Path) -> LoadSummary | None:
    try:
        return load_summary(load_dir)
    except (OSError, ValueError, ChaosError):
        return None


def _backend_options() -> dict[str, bool]:
    try:
        import uvloop  # noqa: F401
    except ImportError:
        return {}
    return {"use_uvloop": True}


def setup(ctx: Context, exp: Experiment, targets: dict[str, str], live: LiveView) -> None:
    """Node labels, then the service under test; wait until converged and answering."""
    wait_ready(ctx, say=live.say)  # a cluster still electing or re-registering: no start line
    for node, labels in exp.node_labels.items():
        if node not in ctx.platform.node_names():
            raise UsageError(f"node_labels: no node {node!r} on this platform")
        for key, value in labels.items():
            before = {v.hostname: v for v in ctx.managers.call(lambda e: e.nodes())}[node]
            ctx.record("label_add", node, {"key": key, "old": before.labels.get(key)})
            actions.set_label(ctx, node, key, value)
    req = actions.service_request(exp.service, ctx.platform)
    patience = rate.scaled(SETUP_TIMEOUT, ctx.platform)
    deadline = time.monotonic() + patience
    ctx.managers.call(lambda e: e.remove_service(req.name))  # a leftover of a crashed run
    ctx.record("create_service", req.name)

    # Until the deadline, a failing call is retried: the removal of a leftover can still hold
    # the name, and a node reconnected just before can cost the swarm its leader for a while
    # (its raised raft term deposes the leader).
    def create() -> None:
        ctx.managers.call(lambda e: e.create_service(req))

    _until(deadline, f"create service {req.name}", create)
    live.say(f"service {req.name}: {exp.service.mode} {exp.service.image}, waiting until converged")

    def converged() -> str | None:
        service = ctx.managers.call(lambda e: e.service(req.name))
        tasks = ctx.managers.call(lambda e: e.tasks(req.name))
        running = [t for t in tasks if t.running]
        desired = (
            service.replicas
            if service.replicas is not None
            else sum(t.desired_state == "running" for t in tasks)
        )
        if desired > 0 and len(running) >= desired:
            return None
        errors = sorted({t.error for t in tasks if t.error})
        return f"{len(running)}/{desired} running{': ' + errors[0] if errors else ''}"

    _until(deadline, f"service {req.name} to converge", converged)
    wait_http(list(targets), timeout=patience, netns=ctx.platform.client_netns)


def _until(deadline: float, what: str, attempt: Callable[[], str | None]) -> None:
    """Call ``attempt`` until it returns None (a call that raises or returns a reason to wait
    is tried again every 0.3 s); past ``deadline``, fail with the last reason."""
    while True:
        try:
            reason = attempt()
            if reason is None:
                return
        except ChaosError as exc:
            reason = str(exc)
        if time.monotonic() > deadline:
            raise PlatformError(f"could not {what} by the set-up deadline ({reason})")
        time.sleep(0.3)


@dataclass
class Execution:
    """The load, the observer and the steps of one run, on one clock."""

    exp: Experiment
    ctx: Context
    st: RunState
    log: EventLog
    observer: Observer
    live: LiveView
    targets: dict[str, str]
    abort: threading.Event

    async def phases(self) -> None:
        exp, st, log = self.exp, self.st, self.log
        load_dir = st.out_dir / "load"
        config = LoadConfig(
            targets=tuple(self.targets),
            rate=exp.load.rate,
            duration=None,
            timeout=exp.load.timeout,
            connection=Connection(exp.load.connection),
            engine=exp.load.engine,
            spin=exp.load.spin,
        )
        loader = LoadProcess(
            config, load_dir, self.live.on_window, netns=self.ctx.platform.client_netns
        )
        info = await anyio.to_thread.run_sync(loader.start)
        log.clock.t0 = info.t0_monotonic  # one clock for requests and events: the load's t0
        try:
            await anyio.to_thread.run_sync(self.observer.start)
            self.live.observer = self.observer
            st.leader_before = self.observer.snapshot.leader
            runner = StepRunner(self.ctx, self.observer, st.seed, self.abort)
            self.phase("warmup")
            await anyio.sleep(exp.phases.warmup)
            self.phase("baseline")
            await anyio.sleep(exp.phases.baseline)
            self.phase("fault")
            st.fault_start = log.clock.now()
            for i, step in enumerate(exp.steps):
                await self.step(i, step, runner)
            self.phase("observe")
            await anyio.sleep(exp.phases.observe)
            self.phase("end")
        finally:
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(loader.stop)
            st.load_summary = _summary_or_none(load_dir)

    def phase(self, name: str) -> None:
        self.st.phases.append((name, self.log.clock.now()))
        self.log.emit("phase", name, name=name)
        self.live.phase = name
        if name != "end":
            self.live.say(f"-- {name}")

    async def step(self, i: int, step: Step, runner: StepRunner) -> None:
        st, log, say = self.st, self.log, self.live.say
        text = describe_step(step)
        log.emit("step_start", text, index=i, action=step.action)
        if isinstance(step, ServiceUpdateStep) and st.update_start is None:
            st.update_start = log.clock.now()
        try:
            if isinstance(step, SleepStep):
                await anyio.sleep(step.duration)
                nodes: tuple[str, ...] = ()
                what = f"slept {step.duration:g}s"
            else:
                nodes, what = await anyio.to_thread.run_sync(
                    runner.run, step, abandon_on_cancel=True
                )
            if isinstance(step, PowerStep) and step.action in FAULTS:
                st.faulted_nodes.update(nodes)
            log.emit("step_end", what, index=i, action=step.action, nodes=list(nodes), ok=True)
            say(f"   {i + 1}. {text}: {what}")
        except StepTimeout as exc:
            st.deviations.append(f"step {i + 1} ({text}): {exc}")
            log.emit("step_end", str(exc), index=i, action=step.action, ok=False, error=str(exc))
            say(f"   {i + 1}. {text}: {exc}")
        except Aborted:
            raise
        except ChaosError as exc:
            log.emit("step_end", str(exc), index=i, action=step.action, ok=False, error=str(exc))
            say(f"   {i + 1}. {text}: FAILED: {exc}")
            raise PlatformError(f"step {i + 1} ({text}) failed: {exc}") from exc


def finish(
    exp: Experiment, platform: Platform, st: RunState, targets: dict[str, str]
) -> RunOutcome:
    from chaos.analysis import write_result
    from chaos.experiment.results import build_result

    result = build_result(exp=exp, platform=platform, state=st, targets=targets)
    write_result(st.out_dir / "result.json", result)
    verdict = result.verdict
    code = EXIT.get(verdict, 5)
    if not st.restored:
        code = 4
    elif st.interrupted:
        code = 130
    elif st.errors and verdict != "fail":
        code = 3
    lines = [f"results: {st.out_dir}/result.json", f"verdict: {verdict}"]
    lines += [f"  {r}" for r in result.verdict_reasons]
    if not st.restored:
        lines.append("the cluster was NOT restored: run `chaos recover`")
    lines += _render_pages(st.out_dir)
    (st.out_dir / "verdict.txt").write_text("\n".join(lines) + "\n")
    return RunOutcome(st.out_dir, verdict, code, lines)
