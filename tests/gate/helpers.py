"""Run dirs derived from the two real stored runs: the same result rewritten through the
pydantic model (a regression, noise, repeats, another setting), numbers kept realistic."""

from __future__ import annotations

import copy
import shutil
from pathlib import Path
from typing import Any

from chaos.analysis import RunResult, load_result, write_result
from chaos.verdict import Verdict

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "runs"
ROLLING = FIXTURES / "rolling-update"
LEADER = FIXTURES / "leader-kill"


def derive(
    src: Path,
    dst: Path,
    *,
    failed: int | None = None,
    p99_ms: float | None = None,
    converged_s: float | None = None,
    settings: dict[str, Any] | None = None,
    no_judged: bool = False,
    errors: list[str] | None = None,
    verdict: tuple[str, list[str]] | None = None,
    full: bool = False,
) -> Path:
    """Copy ``src`` (``result.json`` only unless ``full``) to ``dst`` with numbers changed.
    ``failed``: the judged failed requests (error rate follows, sent unchanged); ``settings``:
    merged into ``experiment.settings`` (nested mappings merged)."""
    if full:
        shutil.copytree(src, dst)
    else:
        dst.mkdir(parents=True)
    r = load_result(src / "result.json")
    update: dict[str, Any] = {}
    if failed is not None:
        assert r.judged is not None
        judged = r.judged.model_copy(
            update={
                "error_count": failed,
                "errors": {"refused": failed} if failed else {},
                "ok": r.judged.sent - failed,
                "error_rate": failed / r.judged.sent,
            }
        )
        update["judged"] = judged
    if p99_ms is not None:
        assert r.judged_latency_ms is not None
        update["judged_latency_ms"] = r.judged_latency_ms.model_copy(update={"p99": p99_ms})
    if converged_s is not None:
        update["recovery"] = r.recovery.model_copy(update={"service_converged_s": converged_s})
    if settings is not None:
        merged = _merge(copy.deepcopy(r.experiment.settings), settings)
        update["experiment"] = r.experiment.model_copy(update={"settings": merged})
    if no_judged:
        update["judged"] = None
        update["judged_latency_ms"] = None
    if errors is not None:
        update["errors"] = errors
    if verdict is not None:
        update["verdict"], update["verdict_reasons"] = Verdict(verdict[0]), verdict[1]
    out: RunResult = r.model_copy(update=update)
    write_result(dst / "result.json", out)
    return dst


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            _merge(base[key], value)
        else:
            base[key] = value
    return base
