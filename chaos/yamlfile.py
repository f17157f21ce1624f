"""Reading the YAML files a user writes (experiments, suites, inventories), strictly.

PyYAML's safe loader keeps the last of two equal keys without a word, so a typo'd override
(``rate`` twice) silently wins; here a repeated key is an error. A file that is not text
(random bytes) is an error too, with one line. Errors are :class:`UsageError` naming the file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from yaml.constructor import ConstructorError
from yaml.nodes import MappingNode

from chaos.errors import UsageError


class StrictLoader(yaml.SafeLoader):
    """The safe loader, refusing a key that appears twice in one mapping."""

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Any, Any]:
        if isinstance(node, MappingNode):
            seen: set[Any] = set()
            for key_node, _ in node.value:
                key = self.construct_object(key_node, deep=True)
                try:
                    duplicate = key in seen
                except TypeError:  # an unhashable key: the constructor says so below
                    continue
                if duplicate:
                    raise ConstructorError(
                        None, None, f"key {key!r} appears twice", key_node.start_mark
                    )
                seen.add(key)
        return super().construct_mapping(node, deep=deep)


def parse_yaml(text: str, source: str) -> Any:
    """The document in ``text``; UsageError (one line) when it is not valid, strict YAML."""
    try:
        return yaml.load(text, Loader=StrictLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        raise UsageError(f"{source}: not valid YAML: {exc.problem}{where}") from None
    except yaml.YAMLError as exc:
        first = " ".join(str(exc).split())
        raise UsageError(f"{source}: not valid YAML: {first[:300]}") from None
    except RecursionError:
        raise UsageError(f"{source}: not valid YAML: nested too deeply") from None


def read_yaml(path: Path) -> Any:
    """Read and parse a YAML file; UsageError for a missing, unreadable or binary file."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise UsageError(f"{path}: not a text file (it is not UTF-8): give a YAML file") from None
    except IsADirectoryError:
        raise UsageError(f"{path} is a directory: give a YAML file") from None
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None
    if "\x00" in text:
        raise UsageError(f"{path}: not a text file (it holds NUL bytes): give a YAML file")
    return parse_yaml(text, str(path))
