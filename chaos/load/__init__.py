"""Open-loop constant-rate HTTP load, laid out as a pipeline (vegeta-style):

    pacer (when is request i due)  ->  engines (send one request, return its outcome)
    ->  outcome records  ->  windows (100 ms x target accumulation, HdrHistograms)
    ->  sinks (timeline.jsonl, latency.hlog, summary.json)  +  live line

The entry point for programs is :func:`chaos.load.generator.run_load`; results written to an
out dir are read back with :func:`chaos.load.summary.load_summary` and
:func:`chaos.load.summary.load_timeline`.
"""

from __future__ import annotations

from chaos.load.config import Connection, LoadConfig
from chaos.load.generator import run_load
from chaos.load.outcome import Outcome
from chaos.load.summary import LoadSummary, TimelineEntry, load_summary, load_timeline

__all__ = [
    "Connection",
    "LoadConfig",
    "LoadSummary",
    "Outcome",
    "TimelineEntry",
    "load_summary",
    "load_timeline",
    "run_load",
]
