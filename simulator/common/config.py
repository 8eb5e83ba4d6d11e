"""Config files at the CLI edge: one YAML reader and one YAML-to-dataclass loader for every block.

Why here: every block's config is a frozen, validated dataclass; YAML is parsed only at the edge,
and a bad file must give one line naming the file, the line and the problem.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import yaml

from simulator.common.errors import SparsimInputError

__all__ = ["read_yaml", "dataclass_from_yaml"]


def read_yaml(path: str | Path) -> Any:
    """``yaml.safe_load`` of a user file; unreadable files and syntax errors become one
    :class:`SparsimInputError` naming the file, the line and the problem."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as err:
        raise SparsimInputError(str(path), "file", str(path), f"cannot be read ({err.strerror})") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        lines = text.splitlines()
        shown = lines[mark.line] if mark is not None and mark.line < len(lines) else ""
        problem = getattr(err, "problem", None) or "syntax error"
        raise SparsimInputError(where, "<yaml>", shown, f"valid YAML needed ({problem})") from None


def dataclass_from_yaml(path: str | Path, cls: type, what: str):
    """A validated config dataclass from a YAML mapping of its field names (``what`` names the
    kind of keys in messages); the dataclass's own errors are re-sourced to the file."""
    source = str(path)
    data = read_yaml(path)
    if not isinstance(data, dict):
        raise SparsimInputError(source, "<document>", type(data).__name__, f"a mapping of {what} keys")
    names = {f.name for f in dataclasses.fields(cls)}
    for k in data:
        if k not in names:
            raise SparsimInputError(source, str(k), data[k], f"unknown key; allowed: {', '.join(sorted(names))}")
    try:
        return cls(**data)
    except SparsimInputError as err:
        raise SparsimInputError(source, err.field, err.value, err.allowed) from None
    except TypeError as err:
        raise SparsimInputError(source, "<keys>", str(err), f"valid {what} keys") from None
