"""Files read while they are written (the load's run.json, result.json, a sweep's log)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from chaos import atomic


def test_a_reader_sees_the_old_file_or_the_whole_new_one(tmp_path: Path) -> None:
    path = tmp_path / "run.json"
    texts = ("a" * 1_000_000, "b" * 2_000_000)
    seen: set[int] = set()
    done = threading.Event()

    def read() -> None:
        while not done.is_set():
            try:
                seen.add(len(path.read_text(encoding="utf-8")))
            except FileNotFoundError:
                continue

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for i in range(200):
            atomic.write_text(path, texts[i % 2])
    finally:
        done.set()
        reader.join()
    assert seen and seen <= {len(t) for t in texts}, sorted(seen)[:5]
    assert [p.name for p in tmp_path.iterdir()] == ["run.json"]  # no temporary left


def test_a_failed_write_leaves_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "dir-in-the-way"
    (target / "x").mkdir(parents=True)  # os.replace cannot put a file over a directory
    with pytest.raises(OSError):
        atomic.write_text(target, "text")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dir-in-the-way"]
