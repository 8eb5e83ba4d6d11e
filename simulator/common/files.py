"""Files named inside other files: where they are and what they hold.

Why here: a sweep spec names workload files, and each block resolves and hashes them when it
builds a point's key. Both steps belong to the floor every block stands on, not to the sweep
above the blocks (a block importing the sweep package would be an upward import).
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from simulator.common.errors import SparsimInputError

__all__ = ["file_digest", "spec_file", "package_data"]


def file_digest(path: Path) -> str:
    """Short content hash of a file: a workload's identity in sweep keys (never its path)."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]


def spec_file(value: Any, base_dir: Path, where: str, field: str) -> Path:
    """An existing file named in a spec (relative paths start at the spec's directory)."""
    p = Path(str(value))
    p = p if p.is_absolute() else base_dir / p
    if not p.is_file():
        raise SparsimInputError(where, field, str(value), "an existing file (relative paths start at the spec)")
    return p.resolve()


def package_data(package: str, *parts: str) -> Path:
    """A folder or file shipped as package data of ``package`` (declared in pyproject.toml's
    ``[tool.setuptools.package-data]``), found through :mod:`importlib.resources` so that a wheel
    or a non-editable install reads its own copy, never the source checkout's."""
    from importlib import resources

    return Path(str(resources.files(package).joinpath(*parts)))
