"""A run checks its own starting line: was the swarm quiet before anything was broken?

A fault's effect is only measurable against a clean reference. Server-side errors in the
``baseline`` phase (on any node IP) mean the swarm was not steady before the fault, so
whatever the checks say afterwards, the run cannot vouch for its numbers: the verdict is at
best ``unknown`` (:mod:`chaos.verdict`). A run without fault steps has nothing to set apart:
an error in any of its phases is unexplained.
"""

from __future__ import annotations

from collections.abc import Sequence

from chaos.analysis.phases import PhaseStats

BASELINE = "baseline"


def unsteady_start(phases: Sequence[PhaseStats], *, has_fault: bool) -> tuple[str, ...]:
    """One reason per phase with server-side errors, naming the counts per kind and node:
    only the baseline when the run has a fault, every phase when it has none."""
    watched = [p for p in phases if p.name == BASELINE] if has_fault else list(phases)
    reasons = []
    for phase in watched:
        parts = [
            f"{n} {kind} on {stats.node}"
            for stats in phase.nodes
            for kind, n in sorted(stats.requests.errors.items())
            if n
        ]
        if parts:
            where = "before the fault" if has_fault else "with no fault"
            reasons.append(
                f"the swarm was not steady {where}: {', '.join(parts)} in the {phase.name} phase"
            )
    return tuple(reasons)
