"""Files that another process may read while they are written: never seen half written.

The text goes to a temporary file beside the target (same directory, so the same file
system), which then replaces the target in one ``os.replace``: a reader finds the old file,
or no file, or the whole new one. The run waits for the load process's ``run.json`` and reads
it the moment it exists; written in place, it was sometimes read empty.
"""

from __future__ import annotations

import os
from pathlib import Path


def write_text(path: Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically; the temporary name carries the pid, so
    two writers never share one."""
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
