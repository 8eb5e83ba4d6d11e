"""Simulated cycles per second of the three timing levels of the N:M array, same GEMM, one run.

Levels: the RTL under Verilator (driven cycle by cycle by the cocotb bench, scoreboard included),
the per-cycle model (numba) and the fold-level model. The RTL figure is given raw (whole simulator
launch) and net of the launch overhead (a second, tiny GEMM on the same build measures it).
Prints a table and writes ``benchmarks/results/bench_rtl.csv``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from _report import report

REPO = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=8)
    ap.add_argument("--cols", type=int, default=8)
    ap.add_argument("--t", type=int, default=256)
    ap.add_argument("--k", type=int, default=128)
    ap.add_argument("--ncol", type=int, default=32)
    ap.add_argument("--nm", default="2:4")
    ap.add_argument("--out", default=str(REPO / "benchmarks/results/bench_rtl.csv"))
    args = ap.parse_args(argv)

    from rtl.tools.runner import Problem, run_nm_array_batch
    from simulator.nm_array.cl import run_nm_array_cycles
    from simulator.nm_array.config import ArrayConfig, PEArray
    from simulator.nm_array.fold import simulate_gemms
    from workloads.nm import nm_compress, nm_topn_mask

    n, m = (int(v) for v in args.nm.split(":"))
    cfg = ArrayConfig(pe=PEArray(rows=args.rows, cols=args.cols, supported_m=tuple(sorted({1, m}))))
    rng = np.random.default_rng(0)
    x = rng.integers(-128, 128, (args.t, args.k))
    w = rng.integers(-128, 128, (args.k, args.ncol))
    values, idx = nm_compress(w * nm_topn_mask(w, n, m), n, m)

    run_nm_array_cycles(x[:2], values, idx, n, m, cfg)  # JIT warm-up
    t0 = time.perf_counter()
    cl = run_nm_array_cycles(x, values, idx, n, m, cfg)
    cl_s = time.perf_counter() - t0
    cycles = cl.total_cycles

    gemm = pd.DataFrame(
        [
            dict(
                layer=0,
                name="bench",
                op="gemm",
                count=1,
                gemm_m=args.t,
                gemm_k=args.k,
                gemm_n=args.ncol,
                nm_n=n,
                nm_m=m,
                compat="native",
                out_h=0,
                out_w=0,
                ifmap_elems=args.t * args.k,
                weight_elems=args.k * args.ncol,
                ofmap_elems=args.t * args.ncol,
                dense_macs=args.t * args.k * args.ncol,
            )
        ]
    )
    simulate_gemms(gemm, cfg)
    times = []
    for _ in range(50):
        t0 = time.perf_counter()
        stats = simulate_gemms(gemm, cfg)
        times.append(time.perf_counter() - t0)
    fold_s = statistics.median(times)
    assert int(stats["compute_cycles"].iloc[0]) == cycles

    with tempfile.TemporaryDirectory() as tmp:
        tiny_x = x[:1, : min(args.k, 4)]
        tiny_w = w[: tiny_x.shape[1], :1]
        tv, ti = nm_compress(tiny_w * nm_topn_mask(tiny_w, n, m), n, m)
        probs = [Problem("tiny", tiny_x, tv, ti, n, m)]
        run_nm_array_batch(probs, cfg, lanes=m, build_root=Path(tmp), tag="warm")  # build + numba cache
        tiny = run_nm_array_batch(probs, cfg, lanes=m, build_root=Path(tmp), tag="tiny")["tiny"]
        big = run_nm_array_batch([Problem("big", x, values, idx, n, m)], cfg, lanes=m, build_root=Path(tmp), tag="big")[
            "big"
        ]
    if not big.passed:
        print("RTL cross-check FAILED:", big.summary, file=sys.stderr)
        return 1
    rtl_raw = cycles / big.sim_seconds
    rtl_net = (big.cycles - tiny.cycles) / max(big.sim_seconds - tiny.sim_seconds, 1e-9)

    rows = [
        ("GEMM", f"{args.t}x{args.k}x{args.ncol} {args.nm} on {args.rows}x{args.cols}", ""),
        ("simulated cycles", cycles, ""),
        ("RTL (Verilator + cocotb) cycles/s, whole launch", rtl_raw, f"{big.sim_seconds:.2f} s"),
        ("RTL (Verilator + cocotb) cycles/s, net of launch", rtl_net, f"launch {tiny.sim_seconds:.2f} s"),
        ("per-cycle model (numba) cycles/s", cycles / cl_s, f"{cl_s * 1e3:.1f} ms"),
        ("fold-level model cycles/s", cycles / fold_s, f"{fold_s * 1e6:.0f} us"),
        ("RTL outputs checked / mismatches", big.outputs_checked, big.summary),
    ]
    report(rows, ("measure", "value", "note"), args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
