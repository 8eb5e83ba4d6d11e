"""Output paths: checked before any work, written all-or-nothing, and never someone else's.

Why: a run that fails half-way (bad layer 17 of 21, a full disk, Ctrl-C) must not leave a
directory that looks like a finished result, and ``--out`` pointing at a user's own folder must
never cost them a file. The rules, for every command:

- The path is checked first (:func:`check_output_dir`): not empty, not the current directory or
  one of its parents, not an existing file, and its nearest existing ancestor is a writable
  directory (missing parents are created).
- An existing directory is replaced only when sparsim wrote it: every output directory carries a
  marker file, :data:`MARKER`. An empty directory is used; a non-empty one without the marker is
  refused.
- Files are written into a hidden sibling directory that replaces the target only when everything
  is written; on any error the sibling is removed.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from simulator.common.errors import SparsimInputError

__all__ = ["MARKER", "check_output_dir", "check_output_file", "atomic_output_dir", "is_sparsim_output"]

#: written into every output directory; its presence is what lets sparsim replace the directory
MARKER = ".sparsim-output"


def is_sparsim_output(path: Path) -> bool:
    return (path / MARKER).is_file()


def _writable_ancestor(p: Path, option: str) -> None:
    anc = p.parent
    while not anc.exists():
        if anc == anc.parent:
            break
        anc = anc.parent
    if not anc.is_dir():
        raise SparsimInputError(option, "out", str(p), f"its parent {anc} is not a directory")
    if not os.access(anc, os.W_OK | os.X_OK):
        raise SparsimInputError(option, "out", str(p), f"cannot write in {anc} (permission denied)")


def check_output_dir(out: str | Path, option: str = "--out") -> Path:
    """Validate an output directory before any work is done (see the module docstring)."""
    text = str(out)
    if not text.strip():
        raise SparsimInputError(option, "out", text, "a directory path (it is empty)")
    p = Path(out)
    try:
        resolved = p.resolve()
        cwd = Path.cwd().resolve()
    except (OSError, RuntimeError) as err:
        raise SparsimInputError(option, "out", text, f"not a usable path ({err})") from None
    if resolved == cwd or resolved in cwd.parents:
        raise SparsimInputError(option, "out", text, "a new directory, not the current directory or one of its parents")
    if p.exists() and not p.is_dir():
        raise SparsimInputError(option, "out", text, "must be a directory (it exists as a file)")
    if p.is_dir() and any(p.iterdir()) and not is_sparsim_output(p):
        raise SparsimInputError(
            option, "out", text, "exists and was not written by sparsim: choose a new directory (nothing was changed)"
        )
    _writable_ancestor(p, option)
    return p


def check_output_file(out: str | Path, option: str = "--out", suffixes: tuple[str, ...] = ()) -> Path:
    """Validate an output file path before any work: its suffix, not a directory, a writable parent.
    A file is replaced atomically (write to a sibling, then rename)."""
    text = str(out)
    if not text.strip():
        raise SparsimInputError(option, "out", text, "a file path (it is empty)")
    p = Path(out)
    if suffixes and p.suffix.lower() not in suffixes:
        raise SparsimInputError(option, "extension", p.suffix, f"allowed: {', '.join(suffixes)}")
    if p.is_dir():
        raise SparsimInputError(option, "out", text, "a file name (it is a directory)")
    _writable_ancestor(p, option)
    return p


@contextmanager
def atomic_output_dir(out: str | Path, option: str = "--out") -> Iterator[Path]:
    """Yield a temporary directory; on success it becomes ``out`` (replacing an older sparsim
    output, never anything else)."""
    target = check_output_dir(out, option)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.parent / f".{target.name}.tmp-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    try:
        (tmp / MARKER).write_text("written by sparsim; sparsim may replace this directory\n")
        yield tmp
        check_output_dir(target, option)  # the target may have changed while we worked
        old = target.parent / f".{target.name}.old-{os.getpid()}"
        if target.exists():
            target.rename(old)
        tmp.rename(target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if old.exists():
        shutil.rmtree(old, ignore_errors=True)
