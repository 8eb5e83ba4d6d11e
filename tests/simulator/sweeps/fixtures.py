"""Specs and helpers shared by the sweep tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import yaml

from simulator.sweeps.store import read_points

#: columns that depend on where and when a point ran, not on what it computed
VOLATILE = ["point_seconds", "worker"]


def array_spec(tmp: Path, rows=(8, 16, 32, 64), cols=(8, 16, 32, 64), sram=(32, 64, 128), name="arr") -> Path:
    """rows x cols x N:M x SRAM over ResNet-18: ``len(rows)*len(cols)*3*len(sram)`` points + a baseline."""
    data = {
        "name": name,
        "block": "nm_array",
        "base": {"memory.bw_bytes_per_cycle": 32},
        "axes": {
            "pe.rows": list(rows),
            "pe.cols": list(cols),
            "nm": ["1:1", "2:4", "1:4"],
            "buffers.ifmap_kb": list(sram),
        },
        "workloads": [{"zoo": "resnet18"}],
        "baselines": {"dense16": {"pe.rows": 16, "pe.cols": 16, "nm": "1:1", "buffers.ifmap_kb": 64}},
        "derived": {"speedup": "dense16", "perf_per_area": True, "energy": True},
    }
    p = tmp / f"{name}.yaml"
    p.write_text(yaml.safe_dump(data, sort_keys=False))
    return p


def canonical(results: Path) -> pd.DataFrame:
    """The stored points without volatile columns, in key order (for equality across runs)."""
    df = read_points(results).drop(columns=VOLATILE)
    return df.sort_values("key").reset_index(drop=True)


def journal_points(results: Path) -> int:
    """Finished points so far (journal lines + part rows); files may vanish while a driver compacts."""
    import pyarrow.parquet as pq

    pts = results / "points"
    n = 0
    for f in pts.glob("*") if pts.exists() else ():
        try:
            if f.name.startswith(".journal-"):
                n += f.read_bytes().count(b"\n")
            elif f.name.startswith("part-"):
                n += pq.read_metadata(f).num_rows
        except (FileNotFoundError, OSError):
            return journal_points(results)
    return n


SPARSIM = (sys.executable, "-m", "simulator.cli")


def sparsim(*args, timeout: float | None = None) -> subprocess.CompletedProcess:
    """Run the ``sparsim`` CLI to the end, capturing its output as text."""
    return subprocess.run([*SPARSIM, *map(str, args)], capture_output=True, text=True, timeout=timeout)


def start_sweep(spec: Path, out: Path, *args: str) -> subprocess.Popen:
    """The CLI driver in its own process group (so a test can clean up after killing it)."""
    return subprocess.Popen(
        [*SPARSIM, "sweep", str(spec), "--out", str(out), "--progress", "off", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def wait_for_points(out: Path, n: int, proc: subprocess.Popen, timeout: float = 120) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        have = journal_points(out)
        if have >= n:
            return have
        if proc.poll() is not None:
            raise AssertionError(f"sweep ended early: {proc.returncode} {proc.stderr.read()}")
        time.sleep(0.02)
    raise AssertionError("sweep made no progress")


def kill_group(proc: subprocess.Popen) -> None:
    """Remove whatever a killed driver left behind (pool or cluster processes)."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.communicate(timeout=30)  # reaps it and closes the pipes


def group_alive(pgid: int) -> int:
    """How many processes are left in a process group."""
    r = subprocess.run(["pgrep", "-g", str(pgid)], capture_output=True, text=True)
    return len(r.stdout.split())


def wait_group_gone(pgid: int, timeout: float = 30) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if group_alive(pgid) == 0:
            return True
        time.sleep(0.1)
    return False
