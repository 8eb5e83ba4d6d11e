"""Shared output of the benchmark scripts: an aligned table on stdout and the same rows as CSV."""

from __future__ import annotations

import csv
import os
import subprocess
import tempfile
import time
from pathlib import Path


def run_measured(cmd: list[str], cwd: str | Path | None = None) -> tuple[float, float, int, str]:
    """Run one child process: wall seconds, its peak RSS in MB (``os.wait4``), exit code, output.

    The output goes to a temporary file, not a pipe: a chatty child (SCALE-Sim's progress bars)
    would otherwise block on a full pipe that nobody reads until it exits.
    """
    with tempfile.TemporaryFile() as log:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=log, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        log.seek(0)
        text = log.read().decode(errors="replace")
    return wall, usage.ru_maxrss / 1024.0, os.waitstatus_to_exitcode(status), text


def _shown(value) -> str:
    if isinstance(value, float):
        return f"{value:,.3f}" if value < 1000 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def report(rows: list[tuple], header: tuple[str, ...], out: str | Path) -> None:
    """Print ``rows`` (first column a label, second a value) and write them to ``out`` as CSV."""
    width = max(len(str(r[0])) for r in rows)
    print(f"{header[0].ljust(width)}  {header[1]:>16}  " + "  ".join(header[2:]))
    for r in rows:
        print(f"{str(r[0]).ljust(width)}  {_shown(r[1]):>16}  " + "  ".join(str(c) for c in r[2:]))
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    print(f"wrote {path}")
