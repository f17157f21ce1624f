"""Reading result.json back: clear UsageErrors for missing, malformed or newer files."""

from __future__ import annotations

from pathlib import Path

import pytest

from chaos.analysis import load_result
from chaos.errors import UsageError


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no such result file"),
        ("{not json", "invalid JSON"),
        ("[1, 2]", "expected a JSON object"),
        ('{"verdict": "pass"}', "no integer schema_version"),
        ('{"schema_version": "1"}', "no integer schema_version"),
        ('{"schema_version": 2}', "newer than this swarm-chaos reads (1); upgrade"),
        ('{"schema_version": 1, "verdict": "pass"}', "malformed result file: experiment"),
        (b"\xff\xfe", "invalid JSON"),
    ],
)
def test_bad_result_files(tmp_path: Path, content: str | bytes | None, message: str) -> None:
    path = tmp_path / "result.json"
    if isinstance(content, str):
        path.write_text(content)
    elif isinstance(content, bytes):
        path.write_bytes(content)
    with pytest.raises(UsageError, match="result") as info:
        load_result(path)
    assert message in str(info.value)
    assert str(path) in str(info.value)
