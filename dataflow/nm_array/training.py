"""Mapping one training step onto the N:M array: SAT's interleave mapping and offline pass order.

Both are our readings of the SAT paper's dataflow optimisations (it names them without defining
them; see :mod:`simulator.sat.cl` for the model that uses them):

- :func:`interleave`: independent GEMMs of one layer (depthwise and grouped convs, attention
  heads) are packed block-diagonally into one fold when each is small: ``p = min(copies, R // Kc,
  C // N)`` copies share the array, each on its own rows and columns (off-diagonal PEs hold zero
  weights, so partial sums pass through unchanged).
- :func:`offline_order`: FF(1..L), then BP(l), WU(l) back to back for l = L..1, so WU(l) can reuse
  the output gradient dY(l) that BP(l) just streamed (:func:`dy_reuse`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from dataflow.nm_array.schedule import condensed_rows
from simulator.nm_array.config import ArrayConfig

__all__ = ["interleave", "offline_order", "dy_reuse"]


def interleave(gemms: pd.DataFrame, cfg: ArrayConfig) -> pd.DataFrame:
    """Block-diagonal packing of each row's independent copies (see the module docstring)."""
    out = gemms.copy()
    for i, r in enumerate(gemms.itertuples(index=False)):
        if r.count < 2:
            continue
        n, m = (1, 1) if r.nm_n == r.nm_m else (int(r.nm_n), int(r.nm_m))
        kc = condensed_rows(int(r.gemm_k), n, m, r.compat)
        p = min(int(r.count), cfg.rows // kc if kc else 1, cfg.cols // int(r.gemm_n))
        if p < 2:
            continue
        kpad = -(-int(r.gemm_k) // m) * m
        out.iloc[i, out.columns.get_loc("count")] = -(-int(r.count) // p)
        out.iloc[i, out.columns.get_loc("gemm_k")] = p * kpad
        out.iloc[i, out.columns.get_loc("gemm_n")] = p * int(r.gemm_n)
        out.iloc[i, out.columns.get_loc("ifmap_elems")] = p * int(r.ifmap_elems)
    return out


def offline_order(passes: pd.DataFrame) -> np.ndarray:
    """Row order: FF in layer order, then for each layer from the last its BP rows, then its WU."""
    idx = np.arange(len(passes))
    kind = passes["pass"].to_numpy()
    layer = passes["layer"].to_numpy()
    back = []
    for lay in sorted(passes["layer"].unique(), reverse=True):
        sel = layer == lay
        back += list(idx[sel & (kind == "BP")])
        back += list(idx[sel & (kind == "WU")])
    return np.array(list(idx[kind == "FF"]) + back, dtype=np.int64)


def dy_reuse(passes: pd.DataFrame, cfg: ArrayConfig) -> np.ndarray:
    """WU rows whose dY (their stationary operand) the same layer's BP has just streamed and that
    fits in half the input buffer, so it is not fetched from DRAM again."""
    p = passes["pass"].to_numpy()
    layer = passes["layer"].to_numpy()
    half = cfg.buffers.ifmap_kb * 1024 / 2
    keep = np.zeros(len(passes), dtype=bool)
    for i in range(1, len(passes)):
        if p[i] == "WU" and p[i - 1] == "BP" and layer[i] == layer[i - 1]:
            dy_bytes = passes["weight_elems"].iloc[i] * passes["count"].iloc[i] * cfg.pe.word_bytes
            keep[i] = dy_bytes <= half
    return keep
