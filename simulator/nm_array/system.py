"""Several N:M arrays sharing one memory (scale-out): per-layer and per-array statistics.

Why a model of its own: one array's fold model (:mod:`simulator.nm_array.fold`) knows nothing of
the others. A system runs each layer's parts (:mod:`dataflow.nm_array.partition`) on its arrays
at once, each array out of its own operand SRAMs, all through one memory; the layer ends when its
slowest array does (the next layer needs all of its outputs)::

    array 0  |== part 0: compute + its stalls ==========|
    array 1  |== part 1 ======================|  idle   |
    array 2  |== part 2 ===========================|idle|
    memory   |  shared by the active arrays: each gets 1/active of it
             ^ layer l starts                           ^ layer l+1 starts (barrier)

Decisions of ours (the seed papers run one array):

- **Shared memory.** While a layer runs, its ``active`` arrays time-share the memory fairly: each
  part is simulated with ``share = active`` (the ``simple`` channel at ``1/active`` of its
  rate, a DRAM model serving each array's batches ``active`` times slower). That is exact when
  every array streams at once (the symmetric parts of a split do), and pessimistic for the part
  that ends first (its share is not handed to the others) and for latency-bound batches (a
  time-shared DRAM's latency grows less than its throughput shrinks). A pipeline's stages all
  run at once in steady state: each stage has ``share = arrays``. The share is run-time state: it
  is passed to the memory model (``simulate_gemms(..., share=)``), never written into a config.
- **Pipeline.** Whole layers, contiguous stages, samples of the batch flowing through (see
  :mod:`dataflow.nm_array.partition`). One sample's layer costs come from the layers at batch 1.
  Each layer's ``cycles`` is its share of the system's critical path: its one-sample cycles, and
  on the bottleneck stage also the ``B - 1`` samples after the first, so that the column sums
  to ``sum(t) + (B - 1) * max(t)``; its traffic and MACs are the whole batch's.
- **Statistics.** A layer's ``cycles`` is its slowest array's (the *critical* array, whose compute
  cycles are ``compute_cycles``; ``stall_cycles`` is the rest); traffic, SRAM accesses, MACs and
  folds are summed over arrays; ``utilization`` is over every PE of the system;
  ``dram_bw_required`` sums the parts' (they run at once). ``partition``, ``split_quantum``,
  ``active_arrays``, ``critical_array`` and ``balance`` (mean over active arrays of their busy
  cycles / the critical array's) say how the layer was spread.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from dataflow.nm_array.partition import SPLITS, choose_split, pipeline_cycles, pipeline_stages, widths
from simulator.common.bounds import utilization
from simulator.common.errors import SparsimInputError
from simulator.common.work import advance, quiet
from simulator.nm_array.config import ArrayConfig
from simulator.nm_array.energy import EnergyTable
from simulator.nm_array.fold import STAT_COLUMNS, check_supported, simulate_gemms
from simulator.nm_array.map_layers import MAPPING_CHOICES

__all__ = ["SystemResult", "SYSTEM_COLUMNS", "ARRAY_COLUMNS", "simulate_system"]

#: columns a system's layer table has beside :data:`simulator.nm_array.fold.STAT_COLUMNS`
SYSTEM_COLUMNS = ("partition", "split_quantum", "active_arrays", "critical_array", "balance")
#: one row per (layer, array) that worked on it
ARRAY_COLUMNS = ("layer", "name", "array", "array_rows", "array_cols", "partition", "part_lo", "part_hi", "gemm_m",
                 "gemm_n", "compute_cycles", "stall_cycles", "cycles", "busy_cycles", "macs", "dram_bytes")  # fmt: skip
_SUMMED = ("folds", "macs", "sram_ifmap_reads", "sram_filter_reads", "sram_ofmap_writes", "dram_ifmap_bytes",
           "dram_filter_bytes", "dram_ofmap_bytes", "dram_psum_read_bytes", "dram_bytes")  # fmt: skip
_FROM_CRITICAL = ("kc", "dataflow", "tile_p", "tile_k", "tile_n", "loop_order", "row_folds", "col_folds",
                  "prefetch_cycles", "drain_cycles", "mapping_efficiency", "scalesim_compute_util",
                  "sram_stall_cycles")  # fmt: skip
#: what a part's simulation depends on, of its lowered row (the memo key, beside the array)
_GEMM_KEY = ("op", "count", "gemm_m", "gemm_k", "gemm_n", "nm_n", "nm_m", "compat", "out_h", "out_w", "ifmap_elems",
             "weight_elems", "ofmap_elems", "dense_macs")  # fmt: skip


@dataclass(frozen=True)
class SystemResult:
    """``layers``: one row per lowered GEMM (the fold model's columns plus :data:`SYSTEM_COLUMNS`);
    ``arrays``: one row per (layer, array) part (:data:`ARRAY_COLUMNS`); ``partition``: ``split``
    (per-layer splits) or ``pipeline``."""

    layers: pd.DataFrame
    arrays: pd.DataFrame
    partition: str


class _Parts:
    """Runs one part on one array (memoised: a homogeneous split has at most two distinct parts)."""

    def __init__(self, mapping: str, objective: str, energy: EnergyTable, source: str,
                 pinned: dict | None = None):  # fmt: skip
        self.mapping, self.objective, self.energy, self.source = mapping, objective, energy, source
        #: a mapping file's mappings: (layer[, pass]) -> one Mapping per array
        self.pinned = pinned
        self.memo: dict = {}

    def stats(self, part: dict, acfg: ArrayConfig, share: int, array: int = 0) -> dict:
        """``share``: arrays streaming through the memory at once (run-time state of the system,
        passed to the memory model, never written into a config); ``array``: which array runs
        the part (a mapping file maps each array's part)."""
        pinned = self.pinned[_row_key(part)][array] if self.pinned is not None else None
        key = (acfg, share, pinned, tuple(part[c] for c in _GEMM_KEY))
        if key not in self.memo:
            from simulator.nm_array.map_layers import resolve_mappings

            table = pd.DataFrame([part])
            with quiet():  # the system's bar counts its layers, not its parts
                if pinned is not None:
                    mappings = [pinned]
                else:
                    mappings, _ = resolve_mappings(table, acfg, self.mapping, self.objective, energy=self.energy,
                                                   source=self.source, share=share)  # fmt: skip
                self.memo[key] = simulate_gemms(table, acfg, self.source, mappings, share=share).iloc[0].to_dict()
        return self.memo[key]


def _row_key(row: dict) -> tuple:
    return (int(row["layer"]), str(row["pass"])) if "pass" in row else (int(row["layer"]),)


def _combine(row: dict, runs: list[tuple[int, dict]], pes: int, partition: str, quantum: int) -> dict:
    """One layer's system statistics from its parts' ``(array, stats)``."""
    cyc = np.array([s["cycles"] for _, s in runs], dtype=np.int64)
    crit_i = int(np.argmax(cyc))
    crit_a, crit = runs[crit_i]
    cycles = int(cyc[crit_i])
    out = {c: row[c] for c in ("layer", "name", "op", "count", "gemm_m", "gemm_k", "gemm_n", "compat")}
    out["nm"] = f"{row['nm_n']}:{row['nm_m']}"
    out.update({c: crit[c] for c in _FROM_CRITICAL})
    out.update({c: int(sum(s[c] for _, s in runs)) for c in _SUMMED})
    out.update(
        compute_cycles=int(crit["compute_cycles"]),
        stall_cycles=cycles - int(crit["compute_cycles"]),
        cycles=cycles,
        dense_macs=int(row["dense_macs"]),
        utilization=utilization(row["dense_macs"], pes, cycles),
        pe_utilization=utilization(out["macs"], pes, cycles),
        dram_bw_required=float(sum(s["dram_bw_required"] for _, s in runs)),
        partition=partition,
        split_quantum=quantum,
        active_arrays=len(runs),
        critical_array=crit_a,
        balance=float(cyc.mean() / cycles) if cycles else 1.0,
    )
    return out


def _array_rows(row: dict, runs: list[tuple[int, dict, dict | None]], arrays, partition: str, scale: int = 1):
    out = []
    for a, s, part in runs:
        busy = int(s["cycles"]) * scale
        out.append(dict(
            layer=row["layer"], name=row["name"], array=a, array_rows=arrays[a].rows, array_cols=arrays[a].cols,
            partition=partition, part_lo=-1 if part is None else part["part_lo"],
            part_hi=-1 if part is None else part["part_hi"],
            gemm_m=int(s["gemm_m"]), gemm_n=int(s["gemm_n"]), compute_cycles=int(s["compute_cycles"]) * scale,
            stall_cycles=int(s["stall_cycles"]) * scale, cycles=busy, busy_cycles=busy, macs=int(s["macs"]) * scale,
            dram_bytes=int(s["dram_bytes"]) * scale,
        ))  # fmt: skip
    return out


def _split_run(gemms: pd.DataFrame, cfg: ArrayConfig, parts: _Parts, strategies, private: bool):
    arrays = cfg.system_arrays()
    shapes = [(a.rows, a.cols) for a in arrays]
    spread = widths(len(arrays))
    layer_rows, array_rows = [], []
    for row in gemms.to_dict("records"):

        def cost(plist, row=row):
            active = [(a, p) for a, p in enumerate(plist) if p is not None]
            share = 1 if private else len(active)
            return max(parts.stats(p, arrays[a], share, a)["cycles"] for a, p in active)

        choice = choose_split(row, shapes, cost, strategies, spread)
        active = [(a, p) for a, p in enumerate(choice.parts) if p is not None]
        share = 1 if private else len(active)
        runs = [(a, parts.stats(p, arrays[a], share, a), p) for a, p in active]
        layer_rows.append(_combine(row, [(a, s) for a, s, _ in runs], cfg.system_pes, choice.strategy,
                                   choice.quantum))  # fmt: skip
        array_rows += _array_rows(row, runs, arrays, choice.strategy)
        advance()
    return layer_rows, array_rows


def _pipeline_run(gemms: pd.DataFrame, per_sample: pd.DataFrame, samples: int, cfg: ArrayConfig, parts: _Parts,
                  private: bool):  # fmt: skip
    arrays = cfg.system_arrays()
    share = 1 if private else cfg.system.arrays  # every stage streams at once in steady state
    rows = per_sample.to_dict("records")
    stats = [[parts.stats(r, acfg, share, a) for r in rows] for a, acfg in enumerate(arrays)]
    costs = np.array([[s["cycles"] for s in per] for per in stats], dtype=np.float64)
    stages = pipeline_stages(costs, samples)
    stage_t = [int(costs[a, lo:hi].sum()) for a, (lo, hi) in enumerate(stages)]
    neck = int(np.argmax(stage_t))
    layer_rows, array_rows = [], []
    full = gemms.to_dict("records")
    for a, (lo, hi) in enumerate(stages):
        for ell in range(lo, hi):
            s = stats[a][ell]
            factor = samples if a == neck else 1  # this layer's share of the critical path
            sc = {k: (v * samples if k in _SUMMED else v) for k, v in s.items()}
            sc["cycles"] = int(s["cycles"]) * factor
            sc["compute_cycles"] = int(s["compute_cycles"]) * factor
            sc["dram_bw_required"] = float(s["dram_bw_required"])
            out = _combine(full[ell], [(a, sc)], cfg.system_pes, "pipeline", 0)
            out["balance"] = stage_t[a] / stage_t[neck] if stage_t[neck] else 1.0
            layer_rows.append(out)
            array_rows += _array_rows(full[ell], [(a, s, None)], arrays, "pipeline", samples)
    assert sum(r["cycles"] for r in layer_rows) == pipeline_cycles(stage_t, samples)
    return layer_rows, array_rows


def simulate_system(
    gemms: pd.DataFrame,
    cfg: ArrayConfig,
    *,
    mapping: str = "plain",
    objective: str = "cycles",
    energy: EnergyTable = EnergyTable(),
    source: str = "workload",
    per_sample: pd.DataFrame | None = None,
    samples: int = 1,
    private_memory: bool = False,
) -> SystemResult:
    """Run lowered GEMMs on ``cfg``'s system of arrays (see the module docstring).

    ``per_sample``/``samples``: the same GEMMs at batch 1 and the batch size, which a pipeline
    needs (None: no pipeline; ``partition: pipeline`` is then refused, ``auto`` only splits).
    ``private_memory``: every array has a memory of its own, a copy of ``cfg``'s (no contention;
    the reports' counterfactual that separates partitioning from shared-memory contention)."""
    arrays = cfg.system_arrays()
    for a in arrays:
        check_supported(gemms, a, source)
    pinned = None
    if mapping not in MAPPING_CHOICES:  # a mapping file: each array's part of each layer
        from dataflow.nm_array.mapping_file import read_system_mapping_file

        per_row = read_system_mapping_file(mapping, gemms, [a.pe.allowed_dataflows for a in arrays])
        # keyed by layer (and pass): the pipeline's per-sample rows are the same layers
        pinned = {_row_key(r): m for r, m in zip(gemms.to_dict("records"), per_row, strict=True)}
    parts = _Parts(mapping, objective, energy, source, pinned)
    want = cfg.system.partition
    can_pipe = per_sample is not None and len(per_sample) == len(gemms)
    if want == "pipeline" and not can_pipe:
        raise SparsimInputError(
            source,
            "partition",
            want,
            "split_m, split_n or auto here (a pipeline needs an inference's per-sample layers)",
        )
    result = None
    if want != "pipeline":
        strategies = SPLITS if want == "auto" else (want,)
        layers, per_array = _split_run(gemms, cfg, parts, strategies, private_memory)
        result = (layers, per_array, "split")
    if want == "pipeline" or (want == "auto" and can_pipe and samples > 1):
        layers, per_array = _pipeline_run(gemms, per_sample, samples, cfg, parts, private_memory)
        if result is None or sum(r["cycles"] for r in layers) < sum(r["cycles"] for r in result[0]):
            result = (layers, per_array, "pipeline")
    layers, per_array, kind = result
    table = pd.DataFrame(layers, columns=[*STAT_COLUMNS, *SYSTEM_COLUMNS])
    if "pass" in gemms.columns:
        table.insert(2, "pass", gemms["pass"].to_numpy())
    return SystemResult(table, pd.DataFrame(per_array, columns=list(ARRAY_COLUMNS)), kind)
