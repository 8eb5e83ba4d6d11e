"""The SAT block's cycle model: one training iteration (FF, BP, WU of every layer) on the N:M
array, a SAT-like accelerator (its options: :mod:`simulator.sat.config`).

The SAT paper names three dataflow optimisations but, in what is available to us, does not define
them; these are our documented readings, each a switch (:class:`simulator.sat.config.SATOptions`):

``interleave`` (interleave mapping)
    Independent GEMMs of one layer (depthwise and grouped convs, attention heads) are interleaved
    block-diagonally in one fold when each is small: ``p = min(copies, R // Kc, C // N)`` copies
    share the array, each on its own rows and columns (off-diagonal PEs hold zero weights, so
    partial sums pass through unchanged). Without it every copy gets its own folds.
``pregen`` (pre-generation of N:M sparse weights)
    The pruning unit (top-N-of-M selection and compression, :class:`PruningUnit`) builds a pass's
    compressed weights while the previous pass computes; only what does not fit behind it is
    exposed. Without it, every sparse pass waits for its pruning.
``offline`` (offline scheduling)
    Passes are ordered FF(1..L), then BP(l), WU(l) back to back for l = L..1. (a) WU(l) reuses the
    output gradient dY(l) that BP(l) just streamed, from the on-chip buffer when it fits in half
    of it, instead of reading it from DRAM again; (b) the weight load of a pass's first fold is
    issued during the previous pass's drain, so only the step's first prefetch and last drain are
    exposed. Without it, every pass pays its own exposed prefetch and drain.

The mapping pieces (interleave packing, offline pass order, dY reuse) are in
:mod:`dataflow.nm_array.training`; energy per step uses :mod:`simulator.nm_array.energy`.

The result is one row per (layer, pass): ``cycles`` is what the pass adds to the step
(``busy_cycles`` = compute + stalls, plus its exposed pruning and I/O), and
:func:`training_summary` gives the step's totals.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from dataflow.nm_array.schedule import condensed_rows
from dataflow.nm_array.training import dy_reuse, interleave, offline_order
from simulator.common.errors import SparsimInputError
from simulator.nm_array.config import ArrayConfig
from simulator.nm_array.energy import EnergyTable, energy_pj
from simulator.nm_array.fold import simulate_gemms
from simulator.nm_array.map_layers import resolve_mappings
from simulator.sat.config import PruningUnit, SATOptions
from workloads.training import training_passes

__all__ = ["simulate_training_step", "training_summary"]

def simulate_training_step(
    layers: pd.DataFrame,
    cfg: ArrayConfig,
    *,
    scheme: str = "bdwp",
    nm: tuple[int, int] = (2, 4),
    options: SATOptions = SATOptions(),
    pruning: PruningUnit = PruningUnit(),
    energy: EnergyTable = EnergyTable(),
    mapping: str = "plain",
    objective: str = "cycles",
) -> pd.DataFrame:
    """One row per (layer, pass) of one training iteration; see the module docstring.

    ``mapping``/``objective``: as :func:`simulator.nm_array.map_layers.resolve_mappings`, applied to
    the GEMMs as the array runs them (after interleaving); the mapper's ``objective_value`` is
    the GEMM's own, before the step's pruning, exposed I/O and dY reuse."""
    passes = training_passes(layers, scheme, nm)
    order = offline_order(passes) if options.offline else np.arange(len(passes))
    passes = passes.iloc[order].reset_index(drop=True)
    useful_macs = passes["count"] * passes["gemm_m"] * passes["gemm_k"] * passes["gemm_n"]
    if cfg.is_system:
        stats, mapped, mapper_cols = _on_system(passes, cfg, options, mapping, objective, energy)
    else:
        mapped = interleave(passes, cfg) if options.interleave else passes
        mappings, mapper_cols = resolve_mappings(mapped, cfg, mapping, objective, energy=energy)
        stats = simulate_gemms(mapped, cfg, mappings=mappings)
    # MACs the array issued: the real GEMM's (interleaving adds only zero-weight PEs)
    nm_ratio = np.array(
        [
            condensed_rows(int(k), int(a), int(b), c) / int(k) if a != b else 1.0
            for k, a, b, c in zip(passes.gemm_k, passes.nm_n, passes.nm_m, passes.compat, strict=True)
        ]
    )
    stats["macs"] = np.rint(useful_macs * nm_ratio).astype(np.int64)
    stats["dense_macs"] = passes["dense_macs"].to_numpy()
    for col in ("gemm_k", "gemm_n", "count"):
        stats[col] = passes[col].to_numpy()

    # pruning unit: FF weights compressed along K, BP weights along N (its reduced dim)
    groups = np.where(
        passes["nm_n"] != passes["nm_m"],
        passes["count"] * np.ceil(passes["gemm_k"] / passes["nm_m"]) * passes["gemm_n"],
        0,
    ).astype(np.int64)
    prune = np.array([pruning.cycles(int(g), int(m)) for g, m in zip(groups, passes["nm_m"], strict=True)])
    busy = stats["compute_cycles"].to_numpy() + stats["stall_cycles"].to_numpy()
    if options.pregen:
        prev = np.concatenate([[0], busy[:-1]])
        exposed_prune = np.maximum(prune - prev, 0)
    else:
        exposed_prune = prune

    # dY reuse between BP(l) and WU(l) under offline scheduling
    if options.offline:
        stats.loc[dy_reuse(passes, cfg), "dram_filter_bytes"] = 0
    prefetch, drain = stats["prefetch_cycles"].to_numpy(), stats["drain_cycles"].to_numpy()
    if options.offline:
        exposed_io = np.zeros(len(stats), dtype=np.int64)
        exposed_io[0] += prefetch[0]
        exposed_io[-1] += drain[-1]
    else:
        exposed_io = prefetch + drain
    stats["prune_cycles"] = prune
    stats["exposed_prune_cycles"] = exposed_prune
    stats["exposed_io_cycles"] = exposed_io
    stats["busy_cycles"] = busy
    stats["cycles"] = busy + exposed_prune + exposed_io
    stats["dram_bytes"] = stats[["dram_ifmap_bytes", "dram_filter_bytes", "dram_ofmap_bytes",
                                 "dram_psum_read_bytes"]].sum(axis=1)  # fmt: skip
    e = energy_pj(stats, cfg, energy)
    stats = pd.concat([stats, e], axis=1)
    stats["energy_prune_pj"] = [
        int(g) * energy.prune_group_pj(int(m)) for g, m in zip(groups, passes["nm_m"], strict=True)
    ]
    stats["energy_pj"] = stats["energy_pj"] + stats["energy_prune_pj"]
    if mapper_cols is not None:
        stats = pd.concat([stats, mapper_cols], axis=1)
    return stats


def _on_system(passes: pd.DataFrame, cfg: ArrayConfig, options: SATOptions, mapping: str, objective: str,
               energy: EnergyTable):
    """The step's GEMMs on a system of arrays (:mod:`simulator.nm_array.system`), each pass split
    over the arrays by the partition mapper. Ours: interleaving packs for the smallest array (the
    packed GEMM then fits each array's rows and columns); a layer pipeline is refused, since the
    passes of one step depend on each other (BP(l) needs BP(l+1)'s output, WU(l) needs both)."""
    from simulator.nm_array.system import simulate_system

    if cfg.system.partition == "pipeline":
        raise SparsimInputError("config", "partition", cfg.system.partition,
                                "auto, split_m or split_n for a training step (its passes are dependent)")
    arrays = cfg.system_arrays()
    smallest = arrays[0].replace({"pe.rows": min(a.rows for a in arrays), "pe.cols": min(a.cols for a in arrays)})
    mapped = interleave(passes, smallest) if options.interleave else passes
    result = simulate_system(mapped, cfg, mapping=mapping, objective=objective, energy=energy, source="config")
    return result.layers, mapped, None


def training_summary(table: pd.DataFrame, clock_ghz: float) -> dict:
    """The step's totals: cycles (also per pass), seconds at the array's ``clock_ghz``,
    dense-equivalent GOPS, energy and GOPS/W."""
    cycles = int(table["cycles"].sum())
    seconds = cycles / (clock_ghz * 1e9)
    joules = float(table["energy_pj"].sum()) * 1e-12
    dense_ops = 2.0 * float(table["dense_macs"].sum())
    by_pass = table.groupby("pass")["cycles"].sum()
    return {
        "cycles": cycles,
        **{f"cycles_{p.lower()}": int(by_pass.get(p, 0)) for p in ("FF", "BP", "WU")},
        "seconds": seconds,
        "dense_macs": int(table["dense_macs"].sum()),
        "macs": int(table["macs"].sum()),
        "dram_bytes": int(table["dram_bytes"].sum()),
        "dense_equivalent_gops": dense_ops / seconds / 1e9 if seconds else float("nan"),
        "energy_pj": float(table["energy_pj"].sum()),
        "gops_per_watt": dense_ops / joules / 1e9 if joules else float("nan"),
    }
