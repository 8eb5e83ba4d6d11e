"""Speed and memory of the N:M array models, against the targets of the foundation issue.

Prints one table and writes ``benchmarks/results/bench_array.csv``:

1. ResNet-18 (SCALE-Sim topology, 32x32 WS): fold-level simulation time after warm-up
   (median of repeats; target < 0.2 s);
2. whole-process time of ``sparsim simulate`` on it (second run, numba cache warm; target < 5 s)
   and that process's peak resident memory (target < 300 MB);
3. the per-cycle model's speed on a 32x32 array, in simulated cycles per second (target >= 100k),
   dense and 2:4, on Conv2_1a's GEMM (T = 2916, K = 576, N = 64);
4. with ``--scalesim-python PATH`` (a Python with ``scalesim==3.0.0``, which needs ``numpy<2.4``
   in its own venv): SCALE-Sim's whole-process time and peak memory on the same input, the ratio,
   and whether its Total Cycles equal ours.

Timing on this shared machine is noisy: compare ratios within one run, not absolute numbers
across runs.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from _report import report, run_measured

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "scalesim"


def _run_measured(cmd: list[str], cwd: str | None = None) -> tuple[float, float, int]:
    """Wall seconds, peak RSS in MB and exit code of one child; its output is shown if it fails."""
    wall, rss, rc, text = run_measured(cmd, cwd)
    if rc:
        print(text[-3000:], file=sys.stderr)
    return wall, rss, rc


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cfg", default=str(SHARED / "configs/scale_ws32x32.cfg"))
    ap.add_argument("--topology", default=str(SHARED / "topologies/resnet18.csv"))
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--scalesim-python", default=None, help="python executable with scalesim installed")
    ap.add_argument("--out", default=str(REPO / "benchmarks/results/bench_array.csv"))
    args = ap.parse_args(argv)

    from simulator.nm_array.cl import run_nm_array_cycles
    from simulator.nm_array.config import ArrayConfig, PEArray, load_arch
    from simulator.nm_array.fold import simulate_layers
    from workloads.nm import nm_compress, nm_topn_mask
    from workloads.scalesim_topology import read_scalesim_topology

    rows: list[tuple[str, float, str, str]] = []

    cfg = load_arch(args.cfg)
    layers = read_scalesim_topology(args.topology)
    stats = simulate_layers(layers, cfg)  # warm-up
    times = []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        stats = simulate_layers(layers, cfg)
        times.append(time.perf_counter() - t0)
    sim_s = statistics.median(times)
    total_cycles = int(stats["cycles"].sum())
    rows.append(("resnet18 fold-model simulation [s]", sim_s, "< 0.2", "ok" if sim_s < 0.2 else "MISSED"))
    rows.append(("resnet18 simulated cycles", total_cycles, "", ""))

    with tempfile.TemporaryDirectory() as tmp:
        cmd = [
            sys.executable,
            "-m",
            "simulator.cli",
            "simulate",
            "--arch",
            args.cfg,
            "--workload",
            args.topology,
            "--out",
            f"{tmp}/out",
        ]
        _run_measured(cmd)  # warm caches (numba, bytecode, file system)
        wall, rss, rc = _run_measured(cmd)
    rows.append(("sparsim simulate whole process [s]", wall, "< 5", "ok" if wall < 5 and rc == 0 else "MISSED"))
    rows.append(("sparsim simulate peak RSS [MB]", rss, "< 300", "ok" if rss < 300 else "MISSED"))

    rng = np.random.default_rng(0)
    arr = ArrayConfig(pe=PEArray(rows=32, cols=32, supported_m=(1, 4)))
    x = rng.integers(-128, 128, (2916, 576))
    w = rng.integers(-128, 128, (576, 64))
    for n, m in ((1, 1), (2, 4)):
        values, idx = nm_compress(w * nm_topn_mask(w, n, m), n, m)
        run_nm_array_cycles(x[:4], values, idx, n, m, arr)  # JIT
        t0 = time.perf_counter()
        res = run_nm_array_cycles(x, values, idx, n, m, arr)
        dt = time.perf_counter() - t0
        speed = res.total_cycles / dt
        rows.append(
            (f"per-cycle model {n}:{m} 32x32 [cycles/s]", speed, ">= 100000", "ok" if speed >= 1e5 else "MISSED")
        )

    if args.scalesim_python:
        with tempfile.TemporaryDirectory() as tmp:
            # SCALE-Sim insists on a layout file even when custom layouts are off; a header-only one
            # describes no custom layout.
            layout = Path(tmp) / "layout.csv"
            layout.write_text("Layer name,\n")
            cmd = [
                args.scalesim_python,
                "-m",
                "scalesim.scale",
                "-c",
                args.cfg,
                "-t",
                args.topology,
                "-l",
                str(layout),
                "-p",
                tmp,
                "-s",
                "N",
            ]
            wall_ss, rss_ss, rc = _run_measured(cmd, cwd=tmp)
            reports = list(Path(tmp).rglob("COMPUTE_REPORT.csv"))
            same = "n/a (no COMPUTE_REPORT.csv: SCALE-Sim failed)"
            if reports:
                import pandas as pd

                ref = pd.read_csv(reports[0], skipinitialspace=True)
                same = "yes" if (ref["Total Cycles"].to_numpy() == stats["cycles"].to_numpy() - 1).all() else "NO"
        rows.append(("SCALE-Sim whole process [s]", wall_ss, "", f"exit {rc}"))
        rows.append(("SCALE-Sim peak RSS [MB]", rss_ss, "", ""))
        rows.append(("speed-up, whole process (SCALE-Sim / sparsim)", wall_ss / wall, ">= 1000", ""))
        rows.append(
            (
                "speed-up, simulation (SCALE-Sim process / fold model)",
                wall_ss / sim_s,
                ">= 1000",
                "ok" if wall_ss / sim_s >= 1000 else "MISSED",
            )
        )
        rows.append(("SCALE-Sim Total Cycles equal ours, all layers", float(same == "yes"), "1", same))

    report(rows, ("measure", "value", "target", "status"), args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
