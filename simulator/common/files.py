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

__all__ = ["file_digest", "spec_file", "package_data", "read_text", "MAX_TEXT_BYTES"]

#: the largest text input read whole (configs, mapping files): larger is not a config
MAX_TEXT_BYTES = 16 << 20


def read_text(path: str | Path, what: str = "text file", max_bytes: int = MAX_TEXT_BYTES) -> str:
    """A user's text file, whole: a regular file of at most ``max_bytes``, UTF-8 with or without a
    byte-order mark (Excel and Notepad write one), no NUL bytes. Anything else, binary data
    included, is one :class:`SparsimInputError` naming the file."""
    p = Path(path)
    src = str(path)
    try:
        size = p.stat().st_size  # a missing file: "cannot be read (No such file or directory)"
        if not p.is_file():
            raise SparsimInputError(src, "file", src, f"a {what} (it is not a regular file: a directory, device "
                                    "or FIFO)")  # fmt: skip
        if size > max_bytes:
            raise SparsimInputError(src, "file", f"{size:,} bytes", f"at most {max_bytes:,} bytes")
        data = p.read_bytes()
    except OSError as err:
        raise SparsimInputError(src, "file", src, f"cannot be read ({err.strerror})") from None
    if b"\x00" in data:
        raise SparsimInputError(src, "file", src, f"a UTF-8 {what}, not binary data (a NUL byte at {data.index(0)})")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise SparsimInputError(src, "file", src, f"UTF-8 text needed (byte {err.start} is not UTF-8)") from None


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
