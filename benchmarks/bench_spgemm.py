"""SpGEMM speed: (1) the host kernel, numba parallel row-wise hash, against scipy.sparse (and
python-graphblas when installed), C = A x A, on R-MAT scales and real matrices; (2) the machine
model's own speed: wall time of simulating SMASH V1 on R-MAT scales (default PIUMA-like machine),
and how it grows with the scale.

Host measures are the median of ``--repeats`` runs, alternating the two implementations so machine
noise hits both alike; the ratio is scipy time / ours. Results are checked equal once per matrix.
Prints a table and writes ``benchmarks/results/bench_spgemm.csv``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from _report import report

REPO = Path(__file__).resolve().parents[1]


def _time(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--matrices", default="rmat10,rmat12,rmat14,rmat16,bar,local_disc_galerkin_diffusion")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--model-scales", default="10,12,14,16", help="R-MAT scales for the machine-model timing")
    ap.add_argument("--out", default=str(REPO / "benchmarks/results/bench_spgemm.csv"))
    args = ap.parse_args(argv)

    from simulator.spgemm.fl import row_flops
    from simulator.spgemm.host import spgemm_host
    from workloads.matrices import load_matrix

    try:
        import graphblas as gb
    except ImportError:
        gb = None
    rows = []
    spgemm_host(load_matrix("rmat8"), load_matrix("rmat8"))  # JIT
    for name in args.matrices.split(","):
        a = load_matrix(name)
        ours_c = spgemm_host(a, a, sort=True)
        ref = (a @ a).tocsr()
        tol = 1e-12 * float(np.abs(ref.data).max(initial=1.0))
        # scipy drops entries that cancel to exactly 0 in its summation order; compare the rest
        for m in (ours_c, ref):
            m.data[np.abs(m.data) <= tol] = 0
            m.eliminate_zeros()
            m.sort_indices()
        same = bool(
            np.array_equal(ours_c.indptr, ref.indptr)
            and np.array_equal(ours_c.indices, ref.indices)
            and np.allclose(ours_c.data, ref.data, rtol=1e-9, atol=tol)
        )
        del ours_c, ref
        t_ours, t_scipy = [], []
        for _ in range(args.repeats):
            t_ours.append(_time(lambda a=a: spgemm_host(a, a)))
            t_scipy.append(_time(lambda a=a: a @ a))
        ours, scipy_s = statistics.median(t_ours), statistics.median(t_scipy)
        flops = int(row_flops(a, a).sum())
        note = f"equal to scipy: {same}; {flops / 1e6:,.0f}M multiplications; scipy {scipy_s:.3f} s, ours {ours:.3f} s"
        if gb is not None:
            ga = gb.io.from_scipy_sparse(a)
            t_gb = statistics.median(_time(lambda ga=ga: ga.mxm(ga).new()) for _ in range(args.repeats))
            note += f"; graphblas {t_gb:.3f} s"
        rows.append((f"{name}: speed-up over scipy", scipy_s / ours, note))
    from simulator.spgemm.machine import simulate_spgemm

    simulate_spgemm(load_matrix("rmat8"), load_matrix("rmat8"), "smash_v1")  # JIT
    prev = None
    for scale in (int(v) for v in args.model_scales.split(",") if v):
        a = load_matrix(f"rmat{scale}")
        t0 = time.perf_counter()
        st = simulate_spgemm(a, a, "smash_v1")
        wall = time.perf_counter() - t0
        growth = f"; x{wall / prev:.1f} over the previous scale" if prev else ""
        target = " (target < 20 s)" if scale == 14 else ""
        rows.append(
            (
                f"model only: SMASH V1 on rmat{scale} [s]{target}",
                wall,
                f"{st['cycles']:,} simulated cycles, {st['instructions']:,} instructions, "
                f"{st['instructions'] / wall / 1e6:.1f} M instructions/s{growth}",
            )
        )
        prev = wall
    report(rows, ("measure", "value", "note"), args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
