"""Output paths: checked before any work, written all-or-nothing, and never someone else's.

Why: a run that fails half-way (bad layer 17 of 21, a full disk, Ctrl-C) must not leave a
directory that looks like a finished result, and ``--out`` pointing at a user's own folder must
never cost them a file. The rules, for every command:

- The path is checked first (:func:`check_output_dir`): not empty, not the current directory or
  one of its parents, not an existing file, and its nearest existing ancestor is a writable
  directory (missing parents are created).
- An existing directory is replaced only by the command that wrote it: every output directory
  carries a marker file, :data:`MARKER`, naming its writer (``simulate``, ``spgemm``, ``mobile``,
  ``reproduce``, ``report``, ``sweep``, ...). An empty directory is used; any other non-empty one
  is refused (a sweep's results are not replaced by a ``simulate`` that was pointed at them).
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

__all__ = [
    "MARKER",
    "check_output_path",
    "check_output_dir",
    "check_output_file",
    "atomic_output_dir",
    "is_sparsim_output",
    "mark_output_dir",
    "write_file_atomic",
]

#: written into every output directory; its presence is what lets sparsim replace the directory
MARKER = ".sparsim-output"


def _writer(path: Path) -> str | None:
    """The command named in ``path``'s marker, or None (no marker: not ours)."""
    try:
        return (path / MARKER).read_text(errors="replace").split("\n", 1)[0].strip()
    except OSError:
        return None


def is_sparsim_output(path: Path, kind: str | None = None) -> bool:
    """Whether sparsim (the command ``kind``, when given) wrote ``path``."""
    writer = _writer(path)
    return writer is not None and (kind is None or writer == kind)


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


def check_output_path(out: str | Path, option: str = "--out") -> Path:
    """The path rules of every output directory (see the module docstring), without the rule on
    what an existing directory may hold."""
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
    _writable_ancestor(p, option)
    return p


def check_output_dir(out: str | Path, kind: str, option: str = "--out") -> Path:
    """Validate an output directory of the command ``kind`` before any work is done (see the
    module docstring)."""
    p = check_output_path(out, option)
    if p.is_dir() and any(p.iterdir()) and not is_sparsim_output(p, kind):
        writer = _writer(p)
        why = f"written by `sparsim {writer}`, not `sparsim {kind}`" if writer else "not written by sparsim"
        allowed = f"exists and was {why}: choose a new directory (nothing changed)"
        raise SparsimInputError(option, "out", str(out), allowed)
    return p


def mark_output_dir(path: Path, kind: str) -> None:
    """Write the marker that lets the command ``kind`` replace ``path`` later."""
    (path / MARKER).write_text(f"{kind}\nwritten by `sparsim {kind}`, which may replace this directory\n")


def check_output_file(
    out: str | Path, option: str = "--out", suffixes: tuple[str, ...] = (), force: bool = False
) -> Path:
    """Validate an output file path before any work: its suffix, not a directory, a writable
    parent, and an existing file only with ``force`` (it may be the user's). A file is written
    atomically (:func:`write_file_atomic`)."""
    text = str(out)
    if not text.strip():
        raise SparsimInputError(option, "out", text, "a file path (it is empty)")
    p = Path(out)
    if suffixes and p.suffix.lower() not in suffixes:
        raise SparsimInputError(option, "extension", p.suffix, f"allowed: {', '.join(suffixes)}")
    if p.is_dir():
        raise SparsimInputError(option, "out", text, "a file name (it is a directory)")
    if p.exists() and not force:
        raise SparsimInputError(option, "out", text, "exists: pass --force to replace it (nothing changed)")
    _writable_ancestor(p, option)
    return p


def write_file_atomic(path: str | Path, data: bytes) -> None:
    """Write ``data`` to a hidden sibling, then rename it over ``path``; the sibling never stays."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_name(f".{p.name}.tmp-{os.getpid()}")
    try:
        tmp.write_bytes(data)
        tmp.replace(p)
    finally:
        tmp.unlink(missing_ok=True)


@contextmanager
def atomic_output_dir(out: str | Path, kind: str, option: str = "--out") -> Iterator[Path]:
    """Yield a temporary directory; on success it becomes ``out`` (replacing an older output of
    the command ``kind``, never anything else)."""
    target = check_output_dir(out, kind, option)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.parent / f".{target.name}.tmp-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    try:
        mark_output_dir(tmp, kind)
        yield tmp
        check_output_dir(target, kind, option)  # the target may have changed while we worked
        old = target.parent / f".{target.name}.old-{os.getpid()}"
        if target.exists():
            target.rename(old)
        tmp.rename(target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if old.exists():
        shutil.rmtree(old, ignore_errors=True)
