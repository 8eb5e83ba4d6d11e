"""A one-row lowered GEMM table for a :class:`~dataflow.nm_array.cost.Gemm` (shared by the cost and
mapper tests)."""

from __future__ import annotations

import pandas as pd

from dataflow.nm_array.cost import Gemm


def gemm_row(g: Gemm) -> pd.DataFrame:
    return pd.DataFrame([dict(layer=0, name="g", op="gemm", count=g.copies, gemm_m=g.p, gemm_k=g.k, gemm_n=g.ncol,
                              nm_n=g.n, nm_m=g.m, compat=g.compat, out_h=0, out_w=0, ifmap_elems=g.ifmap_elems,
                              weight_elems=g.k * g.ncol, ofmap_elems=g.p * g.ncol,
                              dense_macs=g.copies * g.p * g.k * g.ncol)])  # fmt: skip
