"""Host speed of the mobile sparse kernels against dense im2col + BLAS, on real MobileNet-v1
pointwise layer shapes (from the zoo trace), for sparsity 30-95%; and each kernel's break-even
sparsity (linear interpolation between the measured points where the speed-up crosses 1).

Single-threaded on purpose (a mobile kernel runs on one core): BLAS threads are pinned to 1 before
numpy loads. Times are medians of ``--repeats`` runs; compare ratios within one run.
"""

from __future__ import annotations

import os

for _v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import argparse  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
from _report import report  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SPARSITIES = (0.3, 0.5, 0.7, 0.8, 0.9, 0.95)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--layers", type=int, default=4, help="how many distinct pointwise shapes to use")
    ap.add_argument("--out", default=str(REPO / "benchmarks/results/bench_mobile_kernels.csv"))
    args = ap.parse_args(argv)

    from reports.sparsebytenn_report import break_even
    from simulator.mobile.fl import (
        compress_blocks,
        compress_csr,
        dense_conv,
        spmm_block,
        spmm_group,
        spmm_unstructured,
    )
    from simulator.mobile.latency import median_seconds
    from workloads.mobile_patterns import prune_mask
    from workloads.zoo import load_zoo_trace

    layers = load_zoo_trace("mobilenet_v1")
    pw = layers[(layers.op == "conv") & (layers.k_h == 1) & (layers.groups == 1)]
    shapes = sorted({(int(r.in_c), int(r.out_c), int(r.in_h)) for r in pw.itertuples()}, key=lambda s: -s[2])
    picks = shapes[:: max(1, len(shapes) // args.layers)][: args.layers]
    rng = np.random.default_rng(0)
    kernels = {
        "unstructured (XNNPACK-style)": "unstructured",
        "1x4 blocks (MNN-style)": "block4",
        "2-wide blocks (XNNPACK)": "block2",
        "group (ours)": "group",
    }

    def prepare(pattern, wm):  # compression is offline: only the kernel is timed
        if pattern == "unstructured":
            return spmm_unstructured, compress_csr(wm), ()
        if pattern == "group":
            return spmm_group, compress_blocks(wm, 4), (128,)
        return spmm_block, compress_blocks(wm, 4 if pattern == "block4" else 2), ()

    rows = []
    curves = {name: [] for name in kernels}
    for cin, cout, hw in picks:
        x = rng.standard_normal((cin, hw, hw)).astype(np.float32)
        w = rng.standard_normal((cout, cin, 1, 1)).astype(np.float32)
        t_dense = median_seconds(lambda x=x, w=w: dense_conv(x, w), args.repeats)
        x2 = x.reshape(cin, -1)
        for name, pattern in kernels.items():
            ups = []
            for s in SPARSITIES:
                wm = (w * prune_mask(w, pattern, "1x1", s))[:, :, 0, 0].astype(np.float32)
                fn, fmt, extra = prepare(pattern, wm)
                t = median_seconds(
                    lambda fn=fn, fmt=fmt, extra=extra, x2=x2, cout=cout: fn(x2, *fmt, cout, *extra), args.repeats
                )
                ups.append(t_dense / t)
            curves[name].append(ups)
            points = ", ".join(f"{int(s * 100)}%: {u:.2f}x" for s, u in zip(SPARSITIES, ups, strict=True))
            rows.append(
                (
                    f"{name} {cin}->{cout} @{hw}x{hw}",
                    max(ups),
                    f"speed-up over dense at {points}; dense {t_dense * 1e3:.2f} ms",
                )
            )
    for name, c in curves.items():
        mean = np.mean(np.array(c), axis=0).tolist()
        be = break_even(list(SPARSITIES), mean)
        rows.append(
            (
                f"{name}: break-even sparsity (mean over layers)",
                float("nan") if be is None else be,
                "never reaches dense speed in 30-95%" if be is None else "speed-up crosses 1 here",
            )
        )
    report(rows, ("measure", "value", "note"), args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
