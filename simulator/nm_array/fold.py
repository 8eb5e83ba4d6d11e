"""Fold-level model of the N:M systolic array: whole networks, per-layer statistics, memory stalls.

Why a second cycle model: the per-cycle model (:mod:`simulator.nm_array.cl`) steps every register
and is the RTL's reference, but a ResNet takes millions of cycles. This model computes the same
compute cycles from the fold schedule (tested equal to the per-cycle model), and adds what the
per-cycle model leaves out: SRAM access counts, DRAM traffic and stall cycles
(:mod:`simulator.nm_array.memory`). It runs ResNet-18 in milliseconds.

Counting rules (ours unless marked SCALE-Sim):

- ``sram_ifmap_reads``: activations delivered to the array. Dense: ``T`` per used PE row per fold.
  N:M: each streamed row delivers the ``M`` activations of every group the fold touches, once per
  group (the group's ``N`` PE rows share one broadcast bus), clipped to the real ``K``.
  SCALE-Sim compatibility: ``T * k_used * M / N`` per fold (it reads a group once per kept weight
  row, "assume absence of any broadcast"), which can be fractional.
- ``sram_filter_reads``: one read per condensed weight (``Kc * N`` per GEMM copy).
- ``sram_ofmap_writes``: ``T`` partial sums per used column per fold (row folds write partials).
- ``cycles``: compute + stall cycles of the layer; ``stall_cycles``: every stall, of which
  ``sram_stall_cycles`` wait on operand-buffer bank conflicts (:mod:`simulator.nm_array.sram_banks`,
  0 with conflict-free buffers) and the rest on the memory; ``dram_bytes``: every byte it moves to or
  from DRAM (the four operand columns summed).
- ``utilization``: dense-equivalent MACs / (PEs x total cycles); above 1 means N:M skipped work.
- ``pe_utilization``: MACs actually issued / (PEs x total cycles), at most 1.
- ``mapping_efficiency``: mean over folds of the fraction of PEs holding a weight.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import pandas as pd

from dataflow.nm_array.cost import Gemm
from dataflow.nm_array.dataflows import build_schedule, get_dataflow
from dataflow.nm_array.mapping import Mapping
from dataflow.nm_array.schedule import MAX_FOLDS, condensed_rows, fold_count
from simulator.common.bounds import utilization
from simulator.common.errors import SparsimInputError
from simulator.common.work import advance
from simulator.nm_array.config import ArrayConfig
from simulator.nm_array.memory import simulate_memory
from simulator.nm_array.sram_banks import sram_stalls, stretched
from workloads.lowering import lower_to_gemms

__all__ = ["STAT_COLUMNS", "MAX_FOLDS", "simulate_gemms", "simulate_layers", "check_supported", "layer_schedule",
           "gemm_of"]  # fmt: skip


STAT_COLUMNS = (
    "layer",
    "name",
    "op",
    "count",
    "gemm_m",
    "gemm_k",
    "gemm_n",
    "nm",
    "compat",
    "kc",
    "dataflow",
    "tile_p",
    "tile_k",
    "tile_n",
    "loop_order",
    "row_folds",
    "col_folds",
    "folds",
    "compute_cycles",
    "stall_cycles",
    "sram_stall_cycles",
    "cycles",
    "prefetch_cycles",
    "drain_cycles",
    "dense_macs",
    "macs",
    "utilization",
    "pe_utilization",
    "mapping_efficiency",
    "scalesim_compute_util",
    "sram_ifmap_reads",
    "sram_filter_reads",
    "sram_ofmap_writes",
    "dram_ifmap_bytes",
    "dram_filter_bytes",
    "dram_ofmap_bytes",
    "dram_psum_read_bytes",
    "dram_bytes",
    "dram_bw_required",
)


def check_supported(gemms: pd.DataFrame, cfg: ArrayConfig, source: str = "workload") -> None:
    """Reject layers whose N:M group size M the array does not support (N = M is dense)."""
    for r in gemms.itertuples(index=False):
        if r.nm_n != r.nm_m and r.nm_m not in cfg.pe.supported_m:
            raise SparsimInputError(
                f"{source} layer {r.layer} ({r.name})",
                "Sparsity",
                f"{r.nm_n}:{r.nm_m}",
                f"M = {r.nm_m} is not supported by the array config (supported M: "
                f"{', '.join(map(str, cfg.pe.supported_m))})",
            )


def gemm_of(r) -> Gemm:
    """What a schedule and its costs depend on, of one lowered GEMM row (N:M with N = M is dense)."""
    n, m = (1, 1) if r.nm_n == r.nm_m else (int(r.nm_n), int(r.nm_m))
    k = int(r.gemm_k)
    return Gemm(p=int(r.gemm_m), k=k, kc=condensed_rows(k, n, m, r.compat), ncol=int(r.gemm_n), copies=int(r.count),
                n=n, m=m, compat=str(r.compat), ifmap_elems=int(r.ifmap_elems))  # fmt: skip


def layer_schedule(r, cfg: ArrayConfig, mapping: Mapping, source: str = "workload"):
    """``(dataflow, tiling, schedule, n, m, kc)`` of one lowered GEMM row under ``mapping``."""
    g = gemm_of(r)
    n, m, kc = g.n, g.m, g.kc
    t, ncol, copies = g.p, g.ncol, g.copies
    where = f"{source} layer {r.layer} ({r.name})"
    df = get_dataflow(mapping.dataflow, where)
    df.check(n, m, r.compat, where)
    tiling = (mapping.tiling or df.plain_tiling(t, kc, ncol, cfg)).clipped(t, kc, ncol)
    folds = fold_count(df, t, kc, ncol, cfg, tiling, copies)
    if folds > MAX_FOLDS:
        raise SparsimInputError(
            where, "folds", f"{folds:,}",
            f"at most {MAX_FOLDS:,} per layer on a {cfg.rows}x{cfg.cols} array (each fold is kept in memory)",
        )  # fmt: skip
    return df, tiling, build_schedule(df, t, kc, ncol, cfg, tiling, copies), n, m, kc


def layer_stalls(sched, cfg: ArrayConfig, tiling, r, k: int, n: int, m: int, share: int = 1,
                 limit: float = math.inf, limit_prefetch: bool = False):  # fmt: skip
    """``(SRAM stall cycles, MemoryResult)`` of one layer's schedule: bank conflicts stretch the
    folds (:mod:`simulator.nm_array.sram_banks`), and the memory model sees the stretched windows
    (``share``: arrays streaming through the memory at once, :mod:`simulator.nm_array.system`);
    ``limit``: the mapper's cut-off on SRAM plus memory stalls (:func:`simulate_memory`)."""
    per_fold = sram_stalls(sched, cfg, k, n, m)
    sram = int(per_fold.sum())
    mem = simulate_memory(stretched(sched, per_fold), cfg, tiling, ifmap_elems=int(r.ifmap_elems), nm_m=m,
                          share=share, limit=limit - sram, limit_prefetch=limit_prefetch)  # fmt: skip
    return sram, mem


def simulate_gemms(
    gemms: pd.DataFrame,
    cfg: ArrayConfig,
    source: str = "workload",
    mappings: Sequence[Mapping] | None = None,
    share: int = 1,
) -> pd.DataFrame:
    """Per-layer statistics for a lowered GEMM table (see :func:`workloads.lowering.lower_to_gemms`);
    ``mappings``: one per row (default: the config's dataflow, plain schedule); ``share``: arrays
    streaming through the memory at once (a system's part; 1: the array has it to itself)."""
    check_supported(gemms, cfg, source)
    if mappings is not None and len(mappings) != len(gemms):
        raise SparsimInputError(source, "mappings", len(mappings), f"one per GEMM ({len(gemms)})")
    rows = []
    pes = cfg.pes
    for i, r in enumerate(gemms.itertuples(index=False)):
        mapping = mappings[i] if mappings is not None else Mapping(cfg.pe.dataflow)
        df, tiling, sched, n, m, kc = layer_schedule(r, cfg, mapping, source)
        t, k, ncol, copies = int(r.gemm_m), int(r.gemm_k), int(r.gemm_n), int(r.count)
        sram_stall, mem = layer_stalls(sched, cfg, tiling, r, k, n, m, share)
        row_dim, col_dim, _ = df.dims
        ext = {"P": t, "K": kc, "N": ncol}
        compute = sched.total_cycles
        total = compute + sram_stall + mem.stall_cycles
        macs = copies * t * kc * ncol
        ifmap, filt, ofmap = df.sram_accesses(sched, r.compat, k, n, m)
        rows.append(
            dict(
                layer=r.layer,
                name=r.name,
                op=r.op,
                count=copies,
                gemm_m=t,
                gemm_k=k,
                gemm_n=ncol,
                nm=f"{r.nm_n}:{r.nm_m}",
                compat=r.compat,
                kc=kc,
                **Mapping(df.name, mapping.tiling).describe(),
                row_folds=-(-ext[row_dim] // cfg.rows),
                col_folds=-(-ext[col_dim] // cfg.cols),
                folds=sched.folds,
                compute_cycles=compute,
                stall_cycles=sram_stall + mem.stall_cycles,
                sram_stall_cycles=sram_stall,
                cycles=total,
                prefetch_cycles=mem.prefetch_cycles,
                drain_cycles=mem.drain_cycles,
                dense_macs=int(r.dense_macs),
                macs=macs,
                utilization=utilization(r.dense_macs, pes, total),
                pe_utilization=utilization(macs, pes, total),
                mapping_efficiency=df.mapping_efficiency(sched),
                scalesim_compute_util=df.scalesim_compute_util(sched),
                sram_ifmap_reads=ifmap,
                sram_filter_reads=filt,
                sram_ofmap_writes=ofmap,
                dram_ifmap_bytes=mem.dram_ifmap_bytes,
                dram_filter_bytes=mem.dram_filter_bytes,
                dram_ofmap_bytes=mem.dram_ofmap_bytes,
                dram_psum_read_bytes=mem.dram_psum_read_bytes,
                dram_bytes=mem.dram_bytes,
                dram_bw_required=mem.dram_bw_required,
            )
        )
        advance()
    out = pd.DataFrame(rows, columns=list(STAT_COLUMNS))
    if "pass" in gemms.columns:  # training passes (workloads.training) keep their label
        out.insert(2, "pass", gemms["pass"].to_numpy())
    return out


def simulate_layers(
    layers: pd.DataFrame, cfg: ArrayConfig, source: str = "workload", mappings: Sequence[Mapping] | None = None
) -> pd.DataFrame:
    """Lower a layer table and simulate it: one row of statistics per layer."""
    return simulate_gemms(lower_to_gemms(layers), cfg, source, mappings)
