"""All-or-nothing output directories.

Why: a run that fails half-way (bad layer 17 of 21, a full disk, Ctrl-C) must not leave a directory
that looks like a finished result. Files are written into a hidden sibling directory that replaces
the target only when everything is written.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from simulator.errors import SparsimInputError

__all__ = ["check_output_dir", "atomic_output_dir"]


def check_output_dir(out: str | Path) -> Path:
    """Validate an output path before any work is done."""
    p = Path(out)
    if p.exists() and not p.is_dir():
        raise SparsimInputError("--out", "out", str(p), "must be a directory (it exists as a file)")
    return p


@contextmanager
def atomic_output_dir(out: str | Path) -> Iterator[Path]:
    """Yield a temporary directory; on success it becomes ``out`` (replacing an older one)."""
    target = check_output_dir(out)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.parent / f".{target.name}.tmp-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    old = target.parent / f".{target.name}.old-{os.getpid()}"
    if target.exists():
        target.rename(old)
    tmp.rename(target)
    if old.exists():
        shutil.rmtree(old, ignore_errors=True)
