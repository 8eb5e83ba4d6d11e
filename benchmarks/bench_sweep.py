"""Sweep throughput: the 1,000-point N:M array sweep over ResNet-18
(``examples/sweeps/nm_array_resnet18_1000.yaml``) end to end through the CLI, with each executor.

For each executor: wall time of ``sparsim sweep`` (process start, spec validation, pool or cluster
start-up, 1,000 points, the store), the driver's peak RSS, and the per-point overhead: the worker
time not spent inside a point, ``(workers x wall - sum of point_seconds) / points``, which charges
start-up, scheduling, result transfer and storage to the points. The target of issue 7 is < 120 s
for the local executor on 2 cores. Ratios (dask-local / local) compare runs of this one invocation
on this noisy machine. Prints a table and writes ``benchmarks/results/bench_sweep.csv``.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

from _report import report, run_measured

REPO = Path(__file__).resolve().parents[1]
SPEC = REPO / "examples" / "sweeps" / "nm_array_resnet18_1000.yaml"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--executors", default="local,dask-local,serial", help="comma list: local, dask-local, serial")
    ap.add_argument("--out", default=str(REPO / "benchmarks/results/bench_sweep.csv"))
    args = ap.parse_args(argv)

    from simulator.sweeps.store import read_points

    rows = []
    walls = {}
    tmp = Path(tempfile.mkdtemp(prefix="bench_sweep_"))
    try:
        for ex in args.executors.split(","):
            out = tmp / ex
            jobs = 1 if ex == "serial" else args.jobs
            kind = "local" if ex == "serial" else ex
            cmd = [
                sys.executable,
                "-m",
                "simulator.cli",
                "sweep",
                str(SPEC),
                "--out",
                str(out),
                "--executor",
                kind,
                "--jobs",
                str(jobs),
                "--progress",
                "off",
            ]
            wall, rss, code, text = run_measured(cmd, cwd=REPO)
            if code != 0:
                print(text)
                return 1
            df = read_points(out)
            n = len(df)
            busy = float(df.point_seconds.sum())
            overhead_ms = (jobs * wall - busy) / n * 1e3
            walls[ex] = wall
            target = "target < 120 s: " + ("met" if wall < 120 else "MISSED") if ex == "local" else ""
            rows.append((f"{ex} (jobs {jobs}): wall s", round(wall, 2), f"{n} points, {n / wall:.1f} points/s", target))
            rows.append((f"{ex}: mean point compute ms", round(busy / n * 1e3, 2), "inside run_point", ""))
            rows.append(
                (f"{ex}: overhead per point ms", round(overhead_ms, 2), "(workers x wall - compute) / points", "")
            )
            rows.append((f"{ex}: driver peak RSS MB", round(rss, 1), "", ""))
        if "local" in walls and "dask-local" in walls:
            rows.append(("dask-local / local wall", round(walls["dask-local"] / walls["local"], 2), "ratio", ""))
        if "local" in walls and "serial" in walls:
            rows.append(("serial / local wall", round(walls["serial"] / walls["local"], 2), "ratio (2 cores)", ""))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    report(rows, ("measure", "value", "notes", "target"), args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
