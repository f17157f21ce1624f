"""The typed events: the on-disk shape of saved runs reads into them and is written back the
same; kinds this version does not know stay readable; the log stamps and appends."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chaos.analysis import load_result, write_result
from chaos.timeline import (
    Clock,
    EventLog,
    LeaderChange,
    PhaseStart,
    StepEnd,
    TasksChange,
    UnknownEvent,
    load_events,
    parse_event,
)
from chaos.timeline.events import KnownEvent

RUNS = Path(__file__).parent.parent / "fixtures" / "runs"
SAVED = sorted(RUNS.glob("*/result.json"))


@pytest.mark.parametrize("path", SAVED, ids=[p.parent.name for p in SAVED])
def test_saved_runs_read_typed_and_write_back_the_same(path: Path, tmp_path: Path) -> None:
    raw = json.loads(path.read_text())["events"]
    result = load_result(path)
    assert not [e for e in result.events if isinstance(e, UnknownEvent)]
    assert json.loads(result.model_dump_json())["events"] == raw
    write_result(tmp_path / "result.json", result)
    assert load_result(tmp_path / "result.json").events == result.events


@pytest.mark.parametrize("path", SAVED, ids=[p.parent.name for p in SAVED])
def test_saved_events_jsonl_reads_typed(path: Path) -> None:
    events = load_events(path.parent / "events.jsonl")
    assert events and not [e for e in events if isinstance(e, UnknownEvent)]


def test_the_record_shape() -> None:
    e = LeaderChange(t=1.5, detail="leader a -> b", old="a", new="b")
    assert json.loads(e.model_dump_json()) == {
        "t": 1.5, "kind": "leader", "detail": "leader a -> b", "data": {"old": "a", "new": "b"},
    }  # fmt: skip
    assert parse_event(json.loads(e.model_dump_json())) == e


def test_optional_fields_are_written_only_when_given() -> None:
    failed = StepEnd(index=2, action="halt", ok=False, error="boom")
    assert json.loads(failed.model_dump_json())["data"] == {
        "index": 2, "action": "halt", "ok": False, "error": "boom",
    }  # fmt: skip
    old_phase = parse_event({"t": 0.1, "kind": "phase", "detail": "warmup",
                             "data": {"name": "warmup"}})  # fmt: skip
    assert isinstance(old_phase, PhaseStart) and old_phase.at is None
    assert json.loads(old_phase.model_dump_json())["data"] == {"name": "warmup"}


@pytest.mark.parametrize(
    "record",
    [
        {"t": 3.0, "kind": "gossip", "detail": "from a newer version", "data": {"x": [1]}},
        # a known kind whose data do not fit it (an older or foreign writer)
        {"t": 3.0, "kind": "tasks", "detail": "", "data": {"by_node": {"n1": ["t1"]}}},
    ],
)
def test_what_cannot_be_typed_stays_an_unknown_event(record: dict[str, object]) -> None:
    e = parse_event(record)
    assert isinstance(e, UnknownEvent)
    assert json.loads(e.model_dump_json()) == record


def test_a_result_with_an_unknown_kind_loads(tmp_path: Path) -> None:
    raw = json.loads(SAVED[0].read_text())
    raw["events"].append({"t": 99.0, "kind": "gossip", "detail": "?", "data": {}})
    (tmp_path / "result.json").write_text(json.dumps(raw))
    assert isinstance(load_result(tmp_path / "result.json").events[-1], UnknownEvent)


def test_the_log_stamps_appends_and_reads_back(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    log = EventLog(path, Clock())
    emitted: list[KnownEvent] = [
        log.emit(PhaseStart(detail="warmup", name="warmup", at=0.0)),
        log.emit(TasksChange(service="web", running=1, desired=1, by_node={"n1": 1}, images={})),
    ]
    log.close()
    assert [e.t for e in emitted] == sorted(e.t for e in emitted)
    assert log.events == emitted
    with path.open("a") as fh:
        fh.write('{"t": 1.0, "kind": "le')  # torn by a crash mid-write
    assert load_events(path) == emitted
