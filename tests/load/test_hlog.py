"""The interval log: our writer, our reader, and the hdrhistogram package's standard reader."""

from __future__ import annotations

import io
from pathlib import Path

from hdrh.log import HistogramLogReader

from chaos.load.hlog import HlogWriter, read_hlog
from chaos.load.windows import new_histogram

START = 1_732_560_000.25


def _write(path: Path) -> None:
    buf = io.StringIO()
    writer = HlogWriter(buf, START)
    for k in range(3):
        for tag, base in (("http://127.0.0.1:8080/", 100), ("http://127.0.0.2:8080/", 1000)):
            hist = new_histogram()
            for v in range(k + 1):
                hist.record_value(base + v)
            writer.write(hist, k * 0.1, 0.1, tag)
        writer.write(new_histogram(), k * 0.1, 0.1, None)
    path.write_text(buf.getvalue())


def test_header_has_a_real_start_time(tmp_path: Path) -> None:
    path = tmp_path / "x.hlog"
    _write(path)
    lines = path.read_text().splitlines()
    assert lines[0] == "#[Histogram log format version 1.3]"
    assert lines[1].startswith("#[StartTime: 1732560000.250 (seconds since epoch), ")
    assert lines[1].endswith("UTC 2024]")
    assert lines[4].startswith("Tag=http://127.0.0.1:8080/,0.000,0.100,0.100,HISTF")


def test_our_reader_round_trips(tmp_path: Path) -> None:
    path = tmp_path / "x.hlog"
    _write(path)
    log = read_hlog(path)
    assert log.start_epoch == START
    assert len(log.intervals) == 9
    merged = log.merged("http://127.0.0.2:8080/")
    assert merged.get_total_count() == 1 + 2 + 3
    assert merged.get_max_value() == 1002
    assert log.merged("http://127.0.0.1:8080/", start=0.05, end=0.15).get_total_count() == 2


def test_standard_reader_reads_tags_and_times(tmp_path: Path) -> None:
    path = tmp_path / "x.hlog"
    _write(path)
    reader = HistogramLogReader(str(path), new_histogram())
    seen = []
    while (hist := reader.get_next_interval_histogram()) is not None:
        seen.append((hist.get_tag(), hist.get_total_count(), hist.get_start_time_stamp()))
    reader.close()
    assert reader.get_start_time_sec() == START
    assert seen[0] == ("http://127.0.0.1:8080/", 1, START * 1000.0)
    assert seen[4] == ("http://127.0.0.2:8080/", 2, (START + 0.1) * 1000.0)
    assert sum(n for tag, n, _ in seen if tag is not None) == 2 * (1 + 2 + 3)
