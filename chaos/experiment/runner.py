"""``chaos run``: one experiment from set-up to verdict, always restoring the cluster.

    checks      the result directory (fresh, or --replace), the cluster's lock (one actor
                per cluster), the plan and the images (before anything acts)
    set-up      node labels, the service under test (journaled), wait until it is converged
                and answers on every node IP
    load        open-loop load on every node IP, from here to the end (one t axis: its t0),
                sent from the platform's client namespace
    phases      warmup -> baseline -> fault (the steps, as long as they take) -> observe,
                each starting on the load's window grid
    restore     always (success, error, a signal, the cluster's own failure), shielded:
                undo every journaled fault, nodes powered and Ready, the service removed
                unless --keep
    analysis    phases, recovery times, SLO checks -> one verdict (chaos.verdict) ->
                result.json

How a run stops early: :mod:`chaos.experiment.stopping`. Exit codes: :mod:`chaos.verdict`.
"""

from __future__ import annotations

import datetime as dt
import math
import random
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import anyio
import yaml

from chaos import faults, lock
from chaos.errors import ChaosError, PlatformError, UsageError
from chaos.experiment import actions, rate
from chaos.experiment.actions import Context
from chaos.experiment.apiprobe import ApiProber
from chaos.experiment.guard import Guard, Trip
from chaos.experiment.live import LiveView
from chaos.experiment.loadproc import LoadProcess
from chaos.experiment.observer import Observer
from chaos.experiment.outdir import check_out_dir, claim_out_dir
from chaos.experiment.plan import describe_step
from chaos.experiment.preflight import preflight
from chaos.experiment.restore import recover, restore, wait_ready
from chaos.experiment.schedule import Schedule
from chaos.experiment.spec import Experiment, ServiceUpdateStep, SleepStep, Step
from chaos.experiment.state import RunState
from chaos.experiment.steps import Aborted, StepRunner, StepTimeout
from chaos.experiment.stopping import Interrupted, RestoreAbandoned, Stopper
from chaos.journal import Journal
from chaos.load import Connection, LoadConfig, TimelineEntry
from chaos.platform import Platform, cluster_id, get_platform
from chaos.platform.probe import wait_http
from chaos.platform.view import CALL_TIMEOUT, Managers
from chaos.timeline import (
    Clock,
    EventLog,
    GuardTripped,
    PhaseStart,
    RestoreStart,
    RestoreStep,
    StepEnd,
    StepStart,
)
from chaos.verdict import Verdict, exit_code

REPORTS = Path("reports")
SETUP_TIMEOUT = 90.0
WATCH_INTERVAL = 0.05  # how often the phases look for a stop request, seconds
PRESENT_INTERVAL = 0.25  # how often they check that the cluster's network is still there


@dataclass
class RunOptions:
    platform: str = "lab"
    seed: int | None = None
    out_dir: Path | None = None
    keep: bool = False
    live: bool = True
    inventory: Path | None = None  # the ssh platform's node list
    replace: bool = False  # --replace: an earlier run's --out directory may be replaced


@dataclass
class RunOutcome:
    out_dir: Path
    verdict: Verdict
    exit_code: int
    lines: list[str]


def new_run_id(exp: Experiment) -> str:
    return dt.datetime.now().strftime("%Y%m%d-%H%M%S") + f"-{exp.name}"


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def run_experiment(exp: Experiment, opts: RunOptions) -> RunOutcome:
    """Run ``exp`` holding its cluster's lock. Bad input (the result directory, the plan, an
    image) is refused before anything acts; from the first act on, the cluster is restored
    and ``result.json`` written whatever happens."""
    seed = opts.seed if opts.seed is not None else random.SystemRandom().randrange(1, 2**31)
    run_id = new_run_id(exp)
    out_dir = opts.out_dir or (REPORTS / run_id)
    check_out_dir(out_dir, replace=opts.replace)
    cluster = cluster_id(opts.platform, opts.inventory)
    with lock.holding(cluster, run_id) as dead, Stopper() as stopper:
        if dead is not None:
            _stderr(f"took over the {cluster} cluster from {dead.describe()}, which died "
                    "holding it: its faults are recovered first")  # fmt: skip
        platform = get_platform(opts.platform, inventory=opts.inventory)
        exp, fitted = rate.for_platform(exp, platform)  # guests under TCG: tens per second
        journal = Journal()
        if journal.pending(platform=platform.name):
            recover(platform, journal, log=lambda m: _stderr(f"recover: {m}"))
        the_plan = preflight(exp, platform, seed)
        claim_out_dir(out_dir, replace=opts.replace)
        (out_dir / "experiment.yaml").write_text(
            yaml.safe_dump(exp.model_dump(mode="json", by_alias=True), sort_keys=False)
        )
        (out_dir / "plan.txt").write_text("\n".join(the_plan.lines()) + "\n")
        st = RunState(run_id, out_dir, seed, dt.datetime.now(dt.UTC).isoformat(timespec="seconds"))
        said = fitted + the_plan.lines()[1:]
        return _run(exp, opts, platform, journal, st, stopper, said)


def _run(
    exp: Experiment,
    opts: RunOptions,
    platform: Platform,
    journal: Journal,
    st: RunState,
    stopper: Stopper,
    plan_lines: list[str],
) -> RunOutcome:
    # an emulated guest's manager takes seconds over one call (a service update: 4 s)
    managers = Managers(platform, timeout=rate.scaled(CALL_TIMEOUT, platform))
    ctx = Context(platform, managers, journal, st.run_id, exp.service.name,
                  Path(exp.source).parent if exp.source else Path("."))  # fmt: skip
    targets = {
        f"http://{platform.node_ip(n)}:{exp.service.port}{exp.load.path}": n
        for n in platform.node_names()
    }
    live = LiveView(targets, enabled=opts.live, schedule=Schedule.of(exp))
    live.say(f"run {st.run_id}: {exp.description} (seed {st.seed}, {platform.mesh} mesh)")
    for line in plan_lines:
        live.say(line)
    clock = Clock()
    log = EventLog(st.out_dir / "events.jsonl", clock)
    observer = Observer(platform, log, exp.service.name, cut_off=managers.cut_off)
    try:
        setup(ctx, exp, targets, live)
        stopper.stage = "phases"
        execution = Execution(exp, ctx, st, log, observer, live, targets, stopper)
        anyio.run(execution.phases, backend="asyncio", backend_options=_backend_options())
    except Interrupted as exc:
        stopper.request(exc.reason)
    except ChaosError as exc:
        st.errors.append(str(exc))
    except Exception as exc:  # a bug of ours: still restore and keep the results
        st.errors.append(f"internal error: {exc!r}")
    finally:
        stopper.stage = "restore"
        observer.stop()
        st.t_end = clock.now()
        _restore(ctx, exp, opts, st, live, log, stopper)
        live.close()  # the panel goes before the end-of-run summary is printed
        log.close()
    stopper.stage = "finish"
    return finish(exp, platform, st, targets)


def _restore(
    ctx: Context,
    exp: Experiment,
    opts: RunOptions,
    st: RunState,
    live: LiveView,
    log: EventLog,
    stopper: Stopper,
) -> None:
    """The shielded restore (see :mod:`chaos.experiment.stopping`)."""
    if stopper.requested and not st.guard_tripped:  # an operator's stop, or the cluster gone
        st.interrupted = stopper.reason
    live.phase = "restore"
    if st.vanished:
        st.errors.append(
            "the cluster's network disappeared during the run (torn down by another process?): "
            "the load was stopped at once; there is nothing left to restore"
        )
        return
    live.say("restoring the cluster")
    log.emit(RestoreStart(detail="restoring the cluster"))
    try:
        restore(ctx, exp, opts.keep, _noted(live.say, log), log)
        st.restored = True
    except ChaosError as exc:
        st.errors.append(f"restore: {exc}")
    except RestoreAbandoned as exc:
        left = ", ".join(f.describe() for f in ctx.journal.pending(ctx.run)) or "nothing"
        st.errors.append(f"restore given up ({exc}): left as it is: {left}; run `chaos recover`")


def _noted(say: Callable[[str], None], log: EventLog) -> Callable[[str], None]:
    """Say it, and keep it on the timeline (what the restore did is part of the run)."""

    def both(message: str) -> None:
        say(message)
        log.emit(RestoreStep(detail=message))

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
        faults.kind("create_service").inject(ctx, req.name, req)

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
    """The load, the observer and the steps of one run, on one clock.

    Phases start on the load's window grid (``LoadConfig.window``, 100 ms): a request belongs
    to the phase its *intended* send time falls in, and since no window straddles a phase
    boundary, the per-window counts split into phases exactly (docs/metrics.md)."""

    exp: Experiment
    ctx: Context
    st: RunState
    log: EventLog
    observer: Observer
    live: LiveView
    targets: dict[str, str]
    stopper: Stopper
    grid: float = 0.1  # the load's window width, seconds (set from its config)

    def __post_init__(self) -> None:
        observer = self.observer
        self.prober = ApiProber(
            self.ctx.platform, self.log.clock, self.st.out_dir,
            managers=lambda: [n for n, v in observer.snapshot.nodes.items() if v.role == "manager"],
        )  # fmt: skip

    async def phases(self) -> None:
        exp, st = self.exp, self.st
        load_dir = st.out_dir / "load"
        config = LoadConfig(
            targets=tuple(self.targets),
            rate=exp.load.rate,
            duration=None,
            timeout=exp.load.timeout,
            connection=Connection(exp.load.connection),
            engine=exp.load.engine,
            spin=exp.load.spin,
            cluster=tuple(self.ctx.platform.node_ip(n) for n in self.ctx.platform.node_names()),
        )
        self.grid = config.window
        guard = self._guard()
        feeds = [self.live.on_window] + ([guard.on_window] if guard is not None else [])

        def on_window(entries: Sequence[TimelineEntry]) -> None:
            for feed in feeds:
                feed(entries)

        loader = LoadProcess(config, load_dir, on_window, netns=self.ctx.platform.client_netns)
        info = await anyio.to_thread.run_sync(loader.start)
        self.log.clock.t0 = info.t0_monotonic  # one clock for requests and events: the load's t0
        try:
            await anyio.to_thread.run_sync(self.observer.start)
            self.live.observer = self.observer
            st.leader_before = self.observer.snapshot.leader
            self.prober.start()
            try:
                async with anyio.create_task_group() as tg:
                    tg.start_soon(self._watch, loader, tg.cancel_scope)
                    await self._schedule()
                    tg.cancel_scope.cancel()
            except BaseExceptionGroup as group:
                raise _sole(group) from None
        finally:
            self.observer.signal_stop()  # winds down while the load does: restore sooner
            self.prober.stop()
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(loader.stop)
                if st.phases and st.phases[-1][0] != "end":
                    await self.phase("end", snap=False)

    def _guard(self) -> Guard | None:
        spec = self.exp.guard
        if spec is None:
            return None

        def tripped(trip: Trip) -> None:
            self.st.guard_tripped = trip.reason
            self.log.emit(GuardTripped(
                detail=trip.reason, data_end=round(trip.data_end, 4),
                error_rate=trip.error_rate, p99_ms=trip.p99_ms, span_s=round(trip.span_s, 3),
            ))  # fmt: skip
            self.stopper.request(f"guard tripped: {trip.reason}")
            self.live.say(f"guard tripped: {trip.reason}: stopping the fault, restoring now")

        return Guard(
            spec, self.targets, faulted=lambda: set(self.st.faulted_nodes),
            armed_at=lambda: self.st.fault_start, on_trip=tripped,
        )  # fmt: skip

    async def _schedule(self) -> None:
        exp, st = self.exp, self.st
        runner = StepRunner(
            self.ctx, self.observer, st.seed, self.stopper.event,
            stop_grace=exp.service.stop_grace or 10.0, port=exp.service.port,
        )  # fmt: skip
        await self.phase("warmup")
        await anyio.sleep(exp.phases.warmup)
        await self.phase("baseline")
        await anyio.sleep(exp.phases.baseline)
        await self.phase("fault")
        st.fault_start = st.phases[-1][1]
        for i, step in enumerate(exp.steps):
            await self.step(i, step, runner)
        await self.phase("observe")
        await anyio.sleep(exp.phases.observe)
        await self.phase("end")

    async def _watch(self, loader: LoadProcess, scope: anyio.CancelScope) -> None:
        """Cancel the phases when a stop is requested, when the cluster's network is gone
        (the load must not outlive it) or when the load generator died."""
        platform = self.ctx.platform
        checked = 0.0
        while not self.stopper.requested:
            now = time.monotonic()
            if now - checked >= PRESENT_INTERVAL:
                checked = now
                if not platform.present():
                    self.st.vanished = True
                    self.stopper.request("the cluster's network disappeared")
                    break
                if not loader.alive():
                    self.st.errors.append(f"the load generator stopped: {loader.failure()}")
                    break
            await anyio.sleep(WATCH_INTERVAL)
        scope.cancel()

    async def phase(self, name: str, *, snap: bool = True) -> None:
        """Start phase ``name`` at the next boundary of the load's window grid (the first
        phase at the load's t0: every request belongs to a phase)."""
        now = self.log.clock.now()
        at = math.ceil(now / self.grid - 1e-9) * self.grid if snap else now
        if not self.st.phases:
            at = 0.0
        if at > now:
            await anyio.sleep(at - now)
        at = round(at, 6)
        self.st.phases.append((name, at))
        self.log.emit(PhaseStart(detail=name, name=name, at=at))
        self.live.phase = name
        if name != "end":
            self.live.say(f"-- {name}")

    async def step(self, i: int, step: Step, runner: StepRunner) -> None:
        st, log, say = self.st, self.log, self.live.say
        text = describe_step(step)
        log.emit(StepStart(detail=text, index=i, action=step.action))
        if isinstance(step, ServiceUpdateStep) and st.update_start is None:
            st.update_start = log.clock.now()
        try:
            if isinstance(step, SleepStep):
                await anyio.sleep(step.duration)
                nodes: tuple[str, ...] = ()
                what = f"slept {step.duration:g}s"
            else:
                # never abandoned: a stop waits for a step that acts on the cluster, so the
                # restore cannot race it (waits return at once when a stop is requested)
                nodes, what = await anyio.to_thread.run_sync(runner.run, step)
            if step.action in faults.FAULTS and faults.kind(step.action).on_node:
                st.faulted_nodes.update(nodes)
            healed = getattr(step, "duration", None) is not None and step.action in faults.FAULTS
            log.emit(StepEnd(detail=what, index=i, action=step.action, nodes=nodes, ok=True,
                             healed=healed))  # fmt: skip
            say(f"   {i + 1}. {text}: {what}")
        except StepTimeout as exc:
            st.deviations.append(f"step {i + 1} ({text}): {exc}")
            log.emit(_failed(i, step, exc))
            say(f"   {i + 1}. {text}: {exc}")
        except Aborted as exc:
            log.emit(_failed(i, step, exc))
            say(f"   {i + 1}. {text}: stopped ({self.stopper.reason})")
        except ChaosError as exc:
            log.emit(_failed(i, step, exc))
            say(f"   {i + 1}. {text}: FAILED: {exc}")
            raise PlatformError(f"step {i + 1} ({text}) failed: {exc}") from exc


def _sole(group: BaseExceptionGroup[BaseException]) -> BaseException:
    """The one error of a task group (anyio wraps even a lone one, and a failed step must
    reach the run as itself, a PlatformError, not as an internal error); several stay a
    group."""
    if len(group.exceptions) == 1:
        only = group.exceptions[0]
        return _sole(only) if isinstance(only, BaseExceptionGroup) else only
    return group


def _failed(i: int, step: Step, exc: Exception) -> StepEnd:
    return StepEnd(detail=str(exc), index=i, action=step.action, ok=False, error=str(exc))


def finish(
    exp: Experiment, platform: Platform, st: RunState, targets: dict[str, str]
) -> RunOutcome:
    from chaos.analysis import write_result
    from chaos.experiment.results import build_result

    result = build_result(exp=exp, platform=platform, state=st, targets=targets)
    write_result(st.out_dir / "result.json", result)
    verdict = Verdict(result.verdict)
    code = exit_code(
        verdict, restored=st.restored, platform_failed=bool(st.errors), vanished=st.vanished
    )
    lines = [f"results: {st.out_dir}/result.json", f"verdict: {verdict}"]
    lines += [f"  {r}" for r in result.verdict_reasons]
    lines += [f"  error: {e}" for e in st.errors if not any(e in r for r in result.verdict_reasons)]
    if not st.restored and not st.vanished:
        lines.append("the cluster was NOT restored: run `chaos recover`")
    elif st.interrupted:
        lines.append(f"{st.interrupted}: the cluster was restored before exiting")
    lines += _render_pages(st.out_dir)
    (st.out_dir / "verdict.txt").write_text("\n".join(lines) + "\n")
    return RunOutcome(st.out_dir, verdict, int(code), lines)
