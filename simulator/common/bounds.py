"""What bounds a run (compute, the memory or operand-buffer bank conflicts) and how busy it keeps
its PEs (:func:`utilization`).

Why in the common floor: a layer table with ``compute_cycles``, ``stall_cycles`` and
``sram_stall_cycles`` is what every array block returns, and a sweep report classifies points of
any block that reports the two shares; neither should import a block to do it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["layer_bounds", "BOUND_FROM", "point_bound", "dram_bound_share", "sram_bound_share", "utilization"]


def utilization(macs, pes, cycles):
    """Share of the PEs' cycles spent on multiply-accumulates: ``macs / (pes * cycles)``, NaN for
    no cycles; scalars or arrays (element-wise). With dense-equivalent MACs it is the array's
    utilisation, with the MACs it issued the PEs' (N:M skips the rest)."""
    if np.ndim(macs) == 0 and np.ndim(pes) == 0 and np.ndim(cycles) == 0:
        return float(macs) / (float(pes) * float(cycles)) if cycles else float("nan")
    den = np.asarray(pes, dtype=np.float64) * np.asarray(cycles, dtype=np.float64)
    num = np.broadcast_to(np.asarray(macs, dtype=np.float64), den.shape)
    return np.divide(num, den, out=np.full(den.shape, np.nan), where=den > 0)


def layer_bounds(table: pd.DataFrame) -> pd.Series:
    """What bounds each layer: ``"DRAM"`` when its memory stalls are at least its compute cycles
    and its SRAM bank-conflict stalls, ``"SRAM"`` when its bank-conflict stalls are at least its
    compute cycles and more than its memory stalls, else ``"compute"``."""
    sram = table["sram_stall_cycles"] if "sram_stall_cycles" in table.columns else 0 * table["stall_cycles"]
    dram = table["stall_cycles"] - sram
    compute = table["compute_cycles"]
    out = pd.Series("compute", index=table.index, dtype=object)
    out[(dram > 0) & (dram >= compute) & (dram >= sram)] = "DRAM"
    out[(sram > 0) & (sram >= compute) & (sram > dram)] = "SRAM"
    return out


#: a run is DRAM- (SRAM-) bound when at least this share of its cycles is in layers bound by the
#: memory (by operand-buffer bank conflicts)
BOUND_FROM = 0.5


def point_bound(dram_share, sram_share) -> np.ndarray:
    """What bounds each run, from its :func:`dram_bound_share` and :func:`sram_bound_share`:
    ``"DRAM"`` from :data:`BOUND_FROM` (and at least its SRAM share), else ``"SRAM"`` from
    :data:`BOUND_FROM`, else ``"compute"``."""
    dram, sram = np.asarray(dram_share, dtype=np.float64), np.asarray(sram_share, dtype=np.float64)
    return np.where((dram >= BOUND_FROM) & (dram >= sram), "DRAM", np.where(sram >= BOUND_FROM, "SRAM", "compute"))


def _bound_share(table: pd.DataFrame, what: str) -> float:
    cycles = int(table["cycles"].sum())
    if not cycles:
        return 0.0
    return float(table.loc[layer_bounds(table) == what, "cycles"].sum() / cycles)


def dram_bound_share(table: pd.DataFrame) -> float:
    """Share of the cycles spent in memory-bound layers (:func:`layer_bounds`): those whose stall
    cycles waiting on the memory (the ``simple`` channel or the DRAM model) are at least their
    compute cycles. Why a share and not a label: a network is a mix, and the sweep report's label
    (DRAM-bound from 0.5) should say how much of it is which."""
    return _bound_share(table, "DRAM")


def sram_bound_share(table: pd.DataFrame) -> float:
    """Share of the cycles spent in layers bound by operand-buffer bank conflicts
    (:func:`layer_bounds`, :mod:`simulator.nm_array.sram_banks`)."""
    return _bound_share(table, "SRAM")
