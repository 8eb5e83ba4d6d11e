"""SpGEMM on the PIUMA-like many-threaded graph processor: what each algorithm feeds the engine,
and the statistics that come back.

Why a machine model: SMASH's claim is about a machine (many threads hiding latency, a banked
scratchpad with atomics, little cache); the algorithms only differ in what they make that machine
do. The machine is :class:`simulator.spgemm.config.PiumaConfig`; the one cycle-level engine is
:mod:`simulator.spgemm.cl` (twin: :mod:`simulator.spgemm.twin`); SMASH's windows come
from :mod:`dataflow.spgemm.windows`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from simulator.spgemm.config import ENGINE_MAX_FLOPS, PiumaConfig, SmashConfig, algorithm, check_work

__all__ = ["EngineInputs", "engine_inputs", "machine_stats", "simulate_spgemm", "STAT_COLUMNS"]

#: the statistics row of one run, in this order (``merge_steps``: the inner product's merge loop)
STAT_COLUMNS = (
    "algorithm",
    "cycles",
    "seconds",
    "instructions",
    "issue_utilization",
    "dram_read_bytes",
    "dram_write_bytes",
    "dram_bytes",
    "cache_hit_rate",
    "sp_accesses",
    "sp_atomics",
    "probes",
    "merge_steps",
    "bank_wait_cycles",
    "flops",
    "nnz_c",
    "windows",
    "table_overflows",
)


@dataclass(frozen=True, slots=True)
class EngineInputs:
    """Everything an algorithm's instruction streams read, for both engines.

    ``rowwise``: (A CSR ptr, idx, B CSR ptr, idx, nnz of every row of C, first partial product of
    every row, columns of B), read by every algorithm; ``inner``: (B CSC ptr, idx, B's non-empty
    columns); ``outer``: A's CSC ptr; ``win``: SMASH's windows (bounds, masks, split, per-core start,
    fragments); ``hash_probes``: per partial product, the probes of a thread-private table.
    """

    code: int
    rowwise: tuple
    inner: tuple
    outer: np.ndarray
    win: tuple
    hash_probes: np.ndarray
    table_slots: int
    passes: int
    n_partial: int
    n_out: int
    flops: int
    nnz_c: int


def _i64(x) -> np.ndarray:
    return np.ascontiguousarray(x, dtype=np.int64)


def engine_inputs(a, b, name: str, machine: PiumaConfig, smash: SmashConfig | None = None, passes: int = 3):
    """The :class:`EngineInputs` of ``C = A x B`` with algorithm ``name`` on ``machine``.

    The output row sizes come from the symbolic phase (distinct columns per row), the SMASH
    windows from :func:`dataflow.spgemm.windows.distribute_windows`.
    """
    from dataflow.spgemm.windows import distribute_windows
    from simulator.spgemm.cl import hash_probe_counts
    from simulator.spgemm.fl import _check, row_flops
    from simulator.spgemm.host import row_nnz

    alg = algorithm(name)
    a, b = _check(a, b)
    flops = row_flops(a, b)
    pairs = None
    if alg.dataflow == "inner":
        pairs = int((np.diff(a.indptr) > 0).sum()) * int((np.diff(b.tocsc().indptr) > 0).sum())
    check_work(int(flops.sum()), ENGINE_MAX_FLOPS, "the cycle engine", pairs=pairs)
    c_rows = row_nnz(a, b)
    pp_off = np.zeros(a.shape[0] + 1, dtype=np.int64)
    np.cumsum(flops, out=pp_off[1:])
    z = np.zeros(1, dtype=np.int64)
    ap, ai, bp, bi = _i64(a.indptr), _i64(a.indices), _i64(b.indptr), _i64(b.indices)
    rowwise = (ap, ai, bp, bi, c_rows, pp_off, int(b.shape[1]))
    inner = (z, z, z)
    outer = z
    win = (z, z, np.zeros(1, dtype=np.bool_), np.zeros(machine.cores + 1, dtype=np.int64), 1)
    probes = np.zeros(1, dtype=np.uint8)
    slots = 1
    if alg.dataflow == "inner":
        bt = b.tocsc()
        nz = np.flatnonzero(np.diff(bt.indptr)).astype(np.int64)
        inner = (_i64(bt.indptr), _i64(bt.indices), nz)
    elif alg.dataflow == "outer":
        outer = _i64(a.tocsc().indptr)
    elif alg.accumulator == "hash":
        probes = hash_probe_counts(ap, ai, bp, bi, flops, int(flops.sum()))
    elif alg.smash:
        cfg = smash or SmashConfig.for_machine(machine)
        plan = distribute_windows(flops, b.shape[1], cfg, alg.version, machine.cores)
        win = (plan.bounds, plan.masks, plan.split, plan.core_start, cfg.fragments)
        slots = plan.table_slots
    return EngineInputs(
        code=alg.code,
        rowwise=rowwise,
        inner=inner,
        outer=outer,
        win=win,
        hash_probes=probes,
        table_slots=slots,
        passes=passes,
        n_partial=int(flops.sum()),
        n_out=int(c_rows.sum()),
        flops=int(flops.sum()),
        nnz_c=int(c_rows.sum()),
    )


def machine_stats(name: str, raw: dict[str, Any], inputs: EngineInputs, m: PiumaConfig) -> dict[str, Any]:
    """One statistics row (:data:`STAT_COLUMNS`) from an engine's named statistics."""
    cycles = int(raw["cycles"])
    hits, misses = int(raw["cache_hits"]), int(raw["cache_misses"])
    row = {
        "algorithm": name,
        "cycles": cycles,
        "seconds": cycles / (m.clock_ghz * 1e9),
        "instructions": int(raw["instructions"]),
        "issue_utilization": int(raw["instructions"]) / (m.cores * max(cycles, 1)),
        "dram_read_bytes": int(raw["dram_read_bytes"]),
        "dram_write_bytes": int(raw["dram_write_bytes"]),
        "dram_bytes": int(raw["dram_read_bytes"]) + int(raw["dram_write_bytes"]),
        "cache_hit_rate": hits / max(hits + misses, 1),
        "sp_accesses": int(raw["sp_accesses"]),
        "sp_atomics": int(raw["sp_atomics"]),
        "probes": int(raw["probes"]),
        "merge_steps": int(raw["merge_steps"]),
        "bank_wait_cycles": int(raw["bank_wait_cycles"]),
        "flops": inputs.flops,
        "nnz_c": inputs.nnz_c,
        "windows": int(inputs.win[3][-1]),
        "table_overflows": int(raw["table_overflows"]),
    }
    return row


def run_machine(inputs: EngineInputs, m: PiumaConfig, *, dma_bytes_per_cycle: float | None = None) -> dict[str, Any]:
    """Run the numba engine; its statistics by name."""
    from simulator.spgemm.cl import STATS_DTYPE, machine_record, run_engine

    stats = np.zeros(1, dtype=STATS_DTYPE)
    run_engine(
        inputs.code,
        inputs.rowwise,
        inputs.inner,
        inputs.outer,
        inputs.win,
        inputs.hash_probes,
        inputs.table_slots,
        inputs.passes,
        inputs.n_partial,
        inputs.n_out,
        machine_record(m, dma_bytes_per_cycle=dma_bytes_per_cycle),
        stats,
    )
    return {k: stats[0][k].item() for k in STATS_DTYPE.names}


def simulate_spgemm(a, b, name: str, machine: PiumaConfig | None = None, smash: SmashConfig | None = None) -> dict:
    """Time ``C = A x B`` with algorithm ``name`` on the machine: one statistics row.

    The product's values are the functional model's business (:func:`simulator.spgemm.fl.spgemm`);
    the machine only needs each output row's size, which the symbolic phase gives.
    """
    m = machine or PiumaConfig()
    inputs = engine_inputs(a, b, name, m, smash)
    return machine_stats(name, run_machine(inputs, m), inputs, m)
