"""The gate's data: its thresholds, one check, and every check of a gate with its outcome."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

Status = Literal["pass", "fail", "unknown", "skipped"]
Kind = Literal["absolute", "baseline"]


@dataclass(frozen=True, slots=True)
class Thresholds:
    """Overrides of the experiments' SLO (``None``: use the file's) and the baseline
    tolerance. Units: fraction, seconds, seconds, fraction."""

    max_error_rate: float | None = None
    max_p99: float | None = None
    max_recovery: float | None = None
    tolerance: float = 0.2


@dataclass(frozen=True, slots=True)
class GateCheck:
    """One check of the gate. ``subject``: the run or group; ``value`` and ``limit`` in the
    metric's unit (fraction or seconds)."""

    experiment: str
    subject: str
    metric: str
    kind: Kind
    status: Status
    message: str
    value: float | None = None
    limit: float | None = None

    @property
    def what(self) -> str:
        """The metric, and whether it was compared with the baseline."""
        return self.metric if self.kind == "absolute" else f"{self.metric} vs baseline"

    @property
    def name(self) -> str:
        """The check's name (a JUnit testcase's): the metric first."""
        return f"{self.what}: {self.subject}"


@dataclass(frozen=True, slots=True)
class GateReport:
    checks: tuple[GateCheck, ...]
    baseline: Path | None
    tolerance: float

    @property
    def failed(self) -> int:
        return sum(c.status == "fail" for c in self.checks)

    @property
    def unknown(self) -> int:
        return sum(c.status == "unknown" for c in self.checks)

    @property
    def skipped(self) -> int:
        return sum(c.status == "skipped" for c in self.checks)

    @property
    def judged(self) -> bool:
        """Some run was judged (a gate of interrupted runs only vouches for nothing)."""
        return self.skipped < len(self.checks)

    @property
    def passed(self) -> bool:
        return self.failed == 0 and self.unknown == 0 and self.judged

    @property
    def exit_code(self) -> int:
        return 0 if self.passed else 1
