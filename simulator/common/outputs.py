"""Output paths: checked before any work, written all-or-nothing, locked while written, and never
someone else's.

Why: a run that fails half-way (bad layer 17 of 21, a full disk, Ctrl-C, SIGTERM from a batch
scheduler) must not leave a directory that looks like a finished result; ``--out`` pointing at a
user's own folder must never cost them a file; and two runs started at once into one folder must
not both write it. The rules, for every command:

- **The path** is checked first (:func:`check_output_path`): not empty, not the current directory
  or one of its parents, not an existing file, not a symbolic link, and its nearest existing
  ancestor is a writable directory (missing parents are created).
- **One writer per path.** A run holds an exclusive lock (``flock``) on ``.NAME.sparsim-lock``
  beside the target from its first check to its last rename (:func:`output_lock`); a second run
  into the same folder is refused with one line (exit 2), never half-written over.
- **A manifest, not a name.** Every output directory carries :data:`MARKER`, a JSON manifest of
  what sparsim wrote there: the command, every file's relative path, size and SHA-256, and the
  SHA-256 of the whole manifest. An existing directory is replaced only when it holds exactly the
  files its manifest lists, with those sizes and contents, and the manifest verifies
  (:func:`verify_output`). A file a user added, a file a user changed, or a marker someone else
  made: one line naming the first such file, exit 2, nothing touched. An empty directory is used.
- **All or nothing.** Files are written into a hidden sibling (``.NAME.tmp-PID``) that replaces the
  target only when everything is written; on any error or signal the sibling is removed, and a
  sibling left by a run killed with SIGKILL is removed by the next run into that folder (it holds
  the lock, so no live run owns the sibling).

A sweep's results directory grows while the sweep runs (:mod:`simulator.sweeps.store`), so its
manifest cannot list its files in advance: it declares the sweep layout instead, and
:func:`verify_output` checks that every file there belongs to that layout (a report written into
``RESULTS/report`` is checked by its own manifest).
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import os
import re
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
    "mark_sweep_dir",
    "output_lock",
    "verify_output",
    "write_file_atomic",
]

#: the manifest in every output directory: what lets sparsim replace the directory later
MARKER = ".sparsim-output"
_FORMAT = "sparsim-output/2"
#: a manifest lists at most this many files and is at most this big (a forged one is not read whole)
_MAX_MANIFEST_BYTES = 4 << 20
#: the files a sweep's results directory may hold (see simulator.sweeps.store)
_SWEEP_LAYOUT = (
    re.compile(r"sweep\.json"),
    re.compile(r"spec\.yaml"),
    re.compile(r"\.lock"),
    re.compile(r"\.tmp-sweep\.json"),
    re.compile(r"points/part-[\w.-]+\.parquet"),
    re.compile(r"points/\.journal-[\w.-]+\.jsonl"),
    re.compile(r"points/\.tmp-part-[\w.-]+\.parquet"),
    re.compile(r"points/"),
    # a report being written into RESULTS/report, or left by a killed one (the next report cleans it)
    re.compile(r"\.report\.sparsim-lock"),
    re.compile(r"\.report\.(tmp|old)-\d+/.*"),
)


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _files(root: Path) -> list[str]:
    """Every file below ``root`` as a relative POSIX path, the marker left out, and every empty
    directory as ``path/``; a symbolic link counts as a file (it is not ours to follow)."""
    out = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        here = Path(dirpath)
        rel = here.relative_to(root)
        links = [d for d in dirnames if (here / d).is_symlink()]
        for name in filenames + links:
            p = (rel / name).as_posix()
            if p != MARKER:
                out.append(p)
        if not filenames and not dirnames and here != root:
            out.append(rel.as_posix() + "/")
    return sorted(out)


def _digest(manifest: dict) -> str:
    body = {k: v for k, v in manifest.items() if k != "sha256"}
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def _read_manifest(path: Path) -> dict | None:
    """The marker of ``path`` as a dict, or None when there is none or it is not ours."""
    marker = path / MARKER
    try:
        if marker.is_symlink() or not marker.is_file() or marker.stat().st_size > _MAX_MANIFEST_BYTES:
            return None
        m = json.loads(marker.read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError):
        return None
    if not isinstance(m, dict) or m.get("format") != _FORMAT or not isinstance(m.get("writer"), str):
        return None
    return m if m.get("sha256") == _digest(m) else None


def verify_output(path: Path, kind: str | None = None) -> str | None:
    """Why sparsim (the command ``kind``, when given) may *not* replace ``path``: None when it
    holds exactly what its verified manifest lists; otherwise one phrase naming the first foreign
    file or the problem."""
    m = _read_manifest(path)
    if m is None:
        if (path / MARKER).exists():
            return f"its {MARKER} is not a manifest sparsim wrote (made by hand, by another tool or an older sparsim)"
        return "not written by sparsim"
    if kind is not None and m["writer"] != kind:
        return f"written by `sparsim {m['writer']}`, not `sparsim {kind}`"
    present = _files(path)
    if m.get("layout") == "sweep":
        for f in present:
            if f == "report" or f.startswith("report/"):
                continue
            if not any(rx.fullmatch(f) for rx in _SWEEP_LAYOUT):
                return f"holds {f}, which the sweep did not write"
        report = path / "report"
        if report.exists() and not report.is_symlink() and report.is_dir() and any(report.iterdir()):
            why = verify_output(report, "report")
            if why is not None:
                return f"its report/ folder is {why}"
        elif report.exists() and (report.is_symlink() or not report.is_dir()):
            return "holds report, which the sweep did not write"
        return None
    listed = m.get("files")
    if not isinstance(listed, dict):
        return f"its {MARKER} lists no files"
    for f in present:
        if f not in listed:
            return f"holds {f}, which sparsim did not write"
    for f, (size, sha) in sorted(listed.items()):
        p = path / f
        if f.endswith("/"):
            if not p.is_dir() or p.is_symlink():
                return f"lacks {f}, which sparsim wrote (changed since)"
            continue
        if not p.is_file() or p.is_symlink():
            return f"lacks {f}, which sparsim wrote (changed since)"
        if p.stat().st_size != size or _sha256_file(p) != sha:
            return f"{f} changed since sparsim wrote it"
    return None


def is_sparsim_output(path: Path, kind: str | None = None) -> bool:
    """Whether ``path`` is an output sparsim (the command ``kind``) wrote and may replace."""
    return verify_output(path, kind) is None


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
    if p.is_symlink():
        raise SparsimInputError(option, "out", text, f"a directory, not a symbolic link (it links to {resolved}): "
                                "give the real path (nothing changed)")  # fmt: skip
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
    if p.is_dir() and any(p.iterdir()):
        why = verify_output(p, kind)
        if why is not None:
            raise SparsimInputError(option, "out", str(out), f"exists and {why}: choose a new directory or empty it "
                                    "yourself (nothing changed)")  # fmt: skip
    return p


def _lock_path(target: Path) -> Path:
    return target.parent / f".{target.name}.sparsim-lock"


@contextmanager
def output_lock(target: str | Path, option: str = "--out") -> Iterator[None]:
    """Hold the one lock of an output path (see the module docstring). A second holder is
    refused at once with one line; the lock file is removed when the holder is done."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    lock = _lock_path(target)
    for _ in range(8):  # the file may be unlinked by a finishing holder between our open and lock
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as err:
            os.close(fd)
            if err.errno in (errno.EAGAIN, errno.EACCES):
                raise SparsimInputError(option, "out", str(target), "another sparsim run is writing this folder now: "
                                        "wait for it or choose another (nothing changed)") from None  # fmt: skip
            raise
        try:
            same = os.fstat(fd).st_ino == os.stat(lock).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)
    else:  # pragma: no cover - a lock file replaced eight times in a row
        raise SparsimInputError(option, "out", str(target), "its lock keeps changing: another run is writing it")
    try:
        yield
    finally:
        try:
            os.unlink(lock)
        except OSError:
            pass
        os.close(fd)


def _manifest(root: Path, kind: str) -> dict:
    files = {f: ([0, "directory"] if f.endswith("/") else [(root / f).stat().st_size, _sha256_file(root / f)])
             for f in _files(root)}  # fmt: skip
    m = {"format": _FORMAT, "writer": kind, "note": f"written by `sparsim {kind}`, which may replace this "
         "directory while it holds exactly these files", "files": files}  # fmt: skip
    m["sha256"] = _digest(m)
    return m


def mark_output_dir(path: Path, kind: str) -> None:
    """Write the manifest of everything now in ``path`` (the command ``kind`` wrote it all)."""
    m = _manifest(path, kind)
    (path / MARKER).write_text(json.dumps(m, indent=1, sort_keys=True) + "\n")


def mark_sweep_dir(path: Path) -> None:
    """Write a sweep's marker: the sweep layout (its files grow as points finish)."""
    note = "a sweep's results: sparsim may replace this directory while it holds only the sweep's files"
    m = {"format": _FORMAT, "writer": "sweep", "layout": "sweep", "note": note}
    m["sha256"] = _digest(m)
    (path / MARKER).write_text(json.dumps(m, indent=1, sort_keys=True) + "\n")


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


_WRITING = "sparsim-writing\n"


def _clean_stale(target: Path) -> None:
    """Remove what runs into ``target`` killed with SIGKILL left beside it: their hidden temp
    and old siblings, each recognised by the in-progress marker it got first (or empty).
    Called with the lock held, so no live run owns them."""
    for sib in target.parent.glob(f".{glob_escape(target.name)}.*-*"):
        if not re.fullmatch(rf"\.{re.escape(target.name)}\.(tmp|old)-\d+", sib.name):
            continue
        if sib.is_symlink() or not sib.is_dir():
            continue
        try:
            ours = (sib / MARKER).read_text(errors="replace") == _WRITING or _read_manifest(sib) is not None
        except OSError:
            ours = False
        if ours or not any(sib.iterdir()):
            shutil.rmtree(sib, ignore_errors=True)


def glob_escape(name: str) -> str:
    return re.sub(r"([*?\[])", r"[\1]", name)


@contextmanager
def atomic_output_dir(out: str | Path, kind: str, option: str = "--out") -> Iterator[Path]:
    """Yield a temporary directory; on success it becomes ``out`` (replacing an older output of
    the command ``kind`` that verifies, never anything else). The path is locked throughout."""
    target = check_output_dir(out, kind, option)
    with output_lock(target, option):
        _clean_stale(target)
        tmp = target.parent / f".{target.name}.tmp-{os.getpid()}"
        if tmp.exists():
            shutil.rmtree(tmp)
        tmp.mkdir()
        old = target.parent / f".{target.name}.old-{os.getpid()}"
        try:
            (tmp / MARKER).write_text(_WRITING)  # first: a killed run's sibling is recognisable
            yield tmp
            (tmp / MARKER).unlink()
            mark_output_dir(tmp, kind)
            check_output_dir(target, kind, option)  # the target may have changed while we worked
            if target.exists():
                target.rename(old)
            tmp.rename(target)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        if old.exists():
            shutil.rmtree(old, ignore_errors=True)
