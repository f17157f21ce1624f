"""The headline numbers of a run and their definitions (the same text as ``docs/metrics.md``,
shortened), shown on hover and as footnotes on the page."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from chaos import fmt
from chaos.analysis import RunResult, client
from chaos.report.model import Headline, Tone

DEFINITIONS: dict[str, str] = {
    "failed": "Server-side failed requests over the whole run, every node IP (refused, "
    "timeouts, 5xx...). Generator-side outcomes (dropped, pool) are not server errors.",
    "error_rate": "Server errors / sent on the live node IPs during the fault and observe "
    "phases (the error_rate check).",
    "p99": "Success latency p99 on the live node IPs during the fault and observe phases, "
    "from the exact merge of the HdrHistograms (the p99 check).",
    "leader_elected_s": "Seconds from the fault start to the first leader event naming a node "
    "other than the leader before the fault.",
    "node_down_detected_s": "Seconds from the fault start to the first node_status -> down of "
    "a faulted node.",
    "tasks_rescheduled_s": "Seconds from the fault start to the first tasks event with running "
    "== desired and no running task on a faulted node.",
    "service_converged_s": "Update/rollback: update start -> update completed. Otherwise the "
    "fault start -> the tasks event from which running == desired held to the end.",
    "api_unavailable_s": "Total seconds the manager API was failing: each api_error to the "
    "next api_ok, summed over the run.",
    "client_recovered_s": "Seconds from the fault start until the live IPs serve like the "
    f"baseline again ({client.BUCKET_S:g} s buckets within max({client.ERROR_RATIO:g}x "
    f"baseline error rate, {client.ERROR_FLOOR:.1%}) and max({client.P99_RATIO:g}x baseline "
    f"p99, +{client.P99_SLACK_MS:g} ms) plus the send lag), sustained for "
    f"{client.SUSTAIN_BUCKETS} buckets.",
    "guard": "The run's guard stopped it: seconds from the fault start to the trip; below, "
    "from the end of the window that broke the guard's threshold to the trip, and from the "
    "trip to the restore's start.",
    "outage_s": "Live IPs: end of the last bad 1 s bucket - start of the first bad bucket.",
    "dead_ip_errors": "Server-side failed requests on the faulted nodes' IPs from the fault "
    "start to the end.",
    "live_ip_errors": "Server-side failed requests on the other nodes' IPs from the fault "
    "start to the end.",
}


@dataclass(frozen=True, slots=True)
class RecoveryMetric:
    """One recovery number: ``key`` in :class:`chaos.analysis.Recovery`, its label."""

    key: str
    label: str


RECOVERY: tuple[RecoveryMetric, ...] = (
    RecoveryMetric("client_recovered_s", "Client recovered"),
    RecoveryMetric("outage_s", "Client outage"),
    RecoveryMetric("leader_elected_s", "Leader elected"),
    RecoveryMetric("node_down_detected_s", "Node down detected"),
    RecoveryMetric("tasks_rescheduled_s", "Tasks rescheduled"),
    RecoveryMetric("service_converged_s", "Service converged"),
    RecoveryMetric("api_unavailable_s", "API unavailable"),
)


def failed_requests(result: RunResult) -> tuple[int, int]:
    """(server-side failed, sent) over the whole run, from the phases."""
    failed = sum(p.requests.error_count for p in result.phases)
    sent = sum(p.requests.sent for p in result.phases)
    return failed, sent


def judged_p99_ms(result: RunResult) -> float | None:
    lat = result.judged_latency_ms
    return None if lat is None else lat.p99


def check_tone(result: RunResult, name: str) -> Tone:
    """``good``/``bad`` for a passed/failed check, ``neutral`` when unknown or not set."""
    c = next((c for c in result.checks if c.name == name), None)
    if c is None or c.status == "unknown":
        return "neutral"
    return "good" if c.status == "pass" else "bad"


def limit(result: RunResult, name: str, show: Callable[[float], str]) -> str:
    """``limit 60 s`` for a check's threshold, empty when the check is not set."""
    c = next((c for c in result.checks if c.name == name), None)
    return "" if c is None or c.threshold is None else f"limit {show(c.threshold)}"


def headlines(result: RunResult) -> list[Headline]:
    """The verdict banner's numbers: failed requests, error rate, p99, recovery times."""
    failed, sent = failed_requests(result)
    judged = result.judged
    out = [
        Headline(
            "failed",
            "Failed requests",
            fmt.count(failed),
            DEFINITIONS["failed"],
            sub=f"of {fmt.count(sent)} sent",
            tone="bad" if failed else "good",
        ),
        Headline(
            "error_rate",
            "Error rate (live IPs)",
            fmt.pct(None if judged is None else judged.error_rate),
            DEFINITIONS["error_rate"],
            sub=limit(result, "error_rate", fmt.pct),
            tone=check_tone(result, "error_rate"),
        ),
        Headline(
            "p99",
            "p99 latency (live IPs)",
            fmt.ms(judged_p99_ms(result)),
            DEFINITIONS["p99"],
            sub=limit(result, "p99", lambda s: fmt.ms(s * 1e3)),
            tone=check_tone(result, "p99"),
        ),
    ]
    if result.guard is not None:
        g = result.guard
        fault = next((p.start for p in result.phases if p.name == "fault"), None)
        out.append(
            Headline(
                "guard",
                "Guard tripped",
                fmt.seconds(None if fault is None else g.tripped - fault),
                DEFINITIONS["guard"],
                sub=f"+{fmt.seconds(g.detect_latency_s)} to trip, "
                f"+{fmt.seconds(g.restore_latency_s)} to restore",
                tone="bad",
            )
        )
    rec = result.recovery
    for m in RECOVERY:
        text = fmt.seconds(getattr(rec, m.key))
        sub = ""
        tone: Tone = "neutral"
        if m.key == "client_recovered_s":
            sub = limit(result, "recovery", fmt.seconds)
            if rec.client_status == "not_recovered":
                text, tone = "not recovered", "bad"
            elif rec.client_status == "not_applicable":
                text = "n/a"
            else:  # recovered: judged by the recovery check when the experiment sets one
                tone = check_tone(result, "recovery") if sub else "good"
        elif m.key == "leader_elected_s":
            sub = limit(result, "leader_election", fmt.seconds)
            tone = check_tone(result, "leader_election")
        out.append(Headline(m.key, m.label, text, DEFINITIONS[m.key], sub=sub, tone=tone))
    return out
