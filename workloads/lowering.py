"""Lowering layers to GEMMs.

Why: the array only runs GEMMs ``Y[M, N] = X[M, K] x W[K, N]``, with the weight ``W`` stationary.

- conv (im2col): ``M = B*Ho*Wo``, ``K = Cin/groups * kh * kw``, ``N = Cout/groups``, and ``groups``
  independent GEMMs (``count``). Depthwise (``groups = Cin = Cout``) is therefore ``Cin`` GEMMs of
  ``K = kh*kw``, ``N = 1``: the honest cost of a depthwise layer on a WS array, unlike SCALE-Sim's
  ``Num Filter = 1`` shortcut, which runs one channel and drops the rest.
- gemm / linear: ``M = B*m``, ``K = k``, ``N = n``, ``groups`` independent weights (usually 1).
- matmul (two activations, e.g. attention): ``B * groups`` GEMMs of ``M = m``; the right operand
  plays the stationary role.

The N:M annotation lowers unchanged: its groups run along ``K`` of the weight operand.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from workloads.layers import conv_output_size, validate_layer_table

__all__ = ["GEMM_COLUMNS", "lower_to_gemms"]

GEMM_COLUMNS = (
    "layer",
    "name",
    "op",
    "count",
    "gemm_m",
    "gemm_k",
    "gemm_n",
    "nm_n",
    "nm_m",
    "compat",
    "out_h",
    "out_w",
    "ifmap_elems",
    "weight_elems",
    "ofmap_elems",
    "dense_macs",
)


def lower_to_gemms(layers: pd.DataFrame, *, validate: bool = True) -> pd.DataFrame:
    """One row per layer: the GEMM it lowers to (``count`` identical independent copies).

    ``ifmap_elems`` is the size of the real input tensor of one GEMM copy (not the im2col matrix:
    im2col is an address pattern, the buffer holds the tensor); ``dense_macs`` covers all copies.
    """
    if validate:
        layers = validate_layer_table(layers)
    rows = []
    for i, r in enumerate(layers.itertuples(index=False)):
        if r.op == "conv":
            ho = conv_output_size(r.in_h, r.k_h, r.stride_h, r.pad_h, r.dil_h, r.compat)
            wo = conv_output_size(r.in_w, r.k_w, r.stride_w, r.pad_w, r.dil_w, r.compat)
            count = r.groups
            m = r.batch * ho * wo
            k = (r.in_c // r.groups) * r.k_h * r.k_w
            n = r.out_c // r.groups
            ifmap = r.batch * r.in_h * r.in_w * (r.in_c // r.groups)
        elif r.op == "gemm":
            ho = wo = 0
            count = r.groups
            m, k, n = r.batch * r.gemm_m, r.gemm_k, r.gemm_n
            ifmap = m * k
        else:  # matmul
            ho = wo = 0
            count = r.batch * r.groups
            m, k, n = r.gemm_m, r.gemm_k, r.gemm_n
            ifmap = m * k
        rows.append(
            dict(
                layer=i,
                name=r.name,
                op=r.op,
                count=count,
                gemm_m=m,
                gemm_k=k,
                gemm_n=n,
                nm_n=r.nm_n,
                nm_m=r.nm_m,
                compat=r.compat,
                out_h=ho,
                out_w=wo,
                ifmap_elems=ifmap,
                weight_elems=k * n,
                ofmap_elems=m * n,
                dense_macs=count * m * k * n,
            )
        )
    out = pd.DataFrame(rows, columns=list(GEMM_COLUMNS))
    for col in GEMM_COLUMNS:
        if col not in ("name", "op", "compat"):
            out[col] = out[col].astype(np.int64)
    return out
