"""The three GEMMs of training (FF, BP, WU) per layer, with their N:M sparsity under a scheme.

For a layer lowered to ``Y[M, N] = X[M, K] x W[K, N]`` (``count`` independent copies; conv via
im2col, so ``K = Cin/g * kh * kw``, ``N = Cout/g``):

======  ==============================  =========  ===========  =====================
pass    GEMM (streamed x stationary)     reduces    stationary   N:M (bdwp)
======  ==============================  =========  ===========  =====================
FF      Y[M,N]  = X[M,K]  x W[K,N]       K          W            along K (Cin*kh*kw)
BP      dX[M,K] = dY[M,N] x W^T[N,K]     N          W^T          along N (Cout)
WU      dW[K,N] = X^T[K,M] x dY[M,N]     M          dY           dense
======  ==============================  =========  ===========  =====================

BP is skipped for the network's first layer (no input gradient is needed). A ``matmul`` of two
activations (attention) has no weight: its BP is two dense GEMMs (``dA = dC B^T`` and
``dB = A^T dC``, both labelled BP) and it has no WU.

Schemes (which passes are N:M):

- ``bdwp``: FF and BP, each with its own mask (FF groups along K, BP groups along N); WU dense.
- ``forward-only`` (SR-STE style): FF only. W^T of a K-wise N:M weight is not N:M along N.
- ``transposable`` (Hubara et al.): one mask that is N:M along both K and N; FF and BP sparse.
- ``dense``: nothing sparse (the baseline of every speed-up).
"""

from __future__ import annotations

import pandas as pd

from simulator.common.errors import SparsimInputError
from workloads.lowering import GEMM_COLUMNS, lower_to_gemms

__all__ = ["SCHEMES", "PASS_COLUMNS", "training_passes"]

SCHEMES = ("bdwp", "forward-only", "transposable", "dense")
PASS_COLUMNS = ("pass", *GEMM_COLUMNS)
_SPARSE = {"bdwp": ("FF", "BP"), "forward-only": ("FF",), "transposable": ("FF", "BP"), "dense": ()}


def training_passes(
    layers: pd.DataFrame, scheme: str, nm: tuple[int, int], *, first_layer_bp: bool = False
) -> pd.DataFrame:
    """One row per (layer, pass) GEMM, columns as :data:`workloads.lowering.GEMM_COLUMNS` plus
    ``pass``; feed it to :func:`simulator.nm_array.fold.simulate_gemms`.

    ``nm`` applies to every weight layer's sparse passes (``layers``' own annotation is ignored:
    the scheme decides). ``first_layer_bp`` keeps the first layer's input gradient.
    """
    if scheme not in SCHEMES:
        raise SparsimInputError("--training", "scheme", scheme, f"allowed: {', '.join(SCHEMES)}")
    n, m = nm
    if not 1 <= n <= m:
        raise SparsimInputError("--nm", "N:M", f"{n}:{m}", "need 1 <= N <= M")
    gemms = lower_to_gemms(layers)
    sparse = _SPARSE[scheme]
    rows = []
    for i, g in enumerate(gemms.to_dict("records")):
        t, k, ncol, copies = g["gemm_m"], g["gemm_k"], g["gemm_n"], g["count"]
        base = {key: g[key] for key in ("layer", "name", "op", "compat", "out_h", "out_w")}

        def row(pass_, tt, kk, nn, nm_, ifmap, weight, ofmap, base=base, copies=copies):
            rows.append(
                dict(
                    base,
                    **{
                        "pass": pass_,
                        "count": copies,
                        "gemm_m": tt,
                        "gemm_k": kk,
                        "gemm_n": nn,
                        "nm_n": nm_[0],
                        "nm_m": nm_[1],
                        "ifmap_elems": ifmap,
                        "weight_elems": weight,
                        "ofmap_elems": ofmap,
                        "dense_macs": copies * tt * kk * nn,
                    },
                )
            )

        if g["op"] == "matmul":
            row("FF", t, k, ncol, (1, 1), t * k, k * ncol, t * ncol)
            row("BP", t, ncol, k, (1, 1), t * ncol, ncol * k, t * k)  # dA = dC B^T
            row("BP", k, t, ncol, (1, 1), k * t, t * ncol, k * ncol)  # dB = A^T dC
            continue
        ff_nm = nm if "FF" in sparse else (1, 1)
        bp_nm = nm if "BP" in sparse else (1, 1)
        row("FF", t, k, ncol, ff_nm, g["ifmap_elems"], k * ncol, t * ncol)
        if i > 0 or first_layer_bp:
            row("BP", t, ncol, k, bp_nm, t * ncol, ncol * k, t * k)
        row("WU", k, t, ncol, (1, 1), g["ifmap_elems"], t * ncol, k * ncol)
    out = pd.DataFrame(rows, columns=list(PASS_COLUMNS))
    return out
