"""A PIUMA-like many-threaded graph processor: configuration and the SpGEMM runs on it.

Why a machine model: SMASH's claim is about a machine (many threads hiding latency, a banked
scratchpad with atomics, little cache); the algorithms only differ in what they make that machine
do. This module holds the validated machine configuration and the entry point; the cycle-level
engine is :mod:`simulator.piuma_cl`.

Defaults (ours, from the published PIUMA silicon, Hot Chips 2023, where it gives numbers): 8 cores,
66 hardware threads per core, 4 MB scratchpad and 192 KB cache per core. Latencies and bandwidths
are our assumptions for a 1 GHz core clock and are all configurable.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from simulator.errors import SparsimInputError

__all__ = ["PiumaConfig", "load_machine"]


@dataclass(frozen=True, slots=True, kw_only=True)
class PiumaConfig:
    """The machine. Times in core cycles, sizes in bytes unless named ``_kb``.

    Parameters
    ----------
    cores, threads_per_core : fine-grained multithreaded cores; each cycle a core issues one
        instruction from the next ready thread in round-robin order.
    cache_kb, cache_ways, line_bytes, cache_hit_cycles : per-core set-associative LRU data cache
        (it caches DRAM; stores write through, write-allocate).
    dram_latency_cycles, dram_bytes_per_cycle : one DRAM channel shared by all cores; a line
        transfer occupies it ``line_bytes / dram_bytes_per_cycle`` cycles.
    scratchpad_kb, scratchpad_banks, sp_latency_cycles, sp_atomic_cycles : per-core scratchpad;
        a bank serves one access per cycle, an atomic read-modify-write occupies it
        ``sp_atomic_cycles``; the result returns ``sp_latency_cycles`` after the access starts.
    alu_cycles : latency of an ALU/compare instruction.
    dma_bytes_per_cycle : per-core DMA engine that carries posted stores (results, write-back)
        to the DRAM channel without holding a thread.
    clock_ghz : only to turn cycles into seconds in reports.
    """

    cores: int = 8
    threads_per_core: int = 66
    cache_kb: int = 192
    cache_ways: int = 4
    line_bytes: int = 64
    cache_hit_cycles: int = 4
    dram_latency_cycles: int = 120
    dram_bytes_per_cycle: float = 64.0
    scratchpad_kb: int = 4096
    scratchpad_banks: int = 16
    sp_latency_cycles: int = 3
    sp_atomic_cycles: int = 2
    alu_cycles: int = 1
    dma_bytes_per_cycle: float = 32.0
    clock_ghz: float = 1.0

    def __post_init__(self) -> None:
        src = "PiumaConfig"
        ints = {
            "cores": (1, 1024),
            "threads_per_core": (1, 128),
            "cache_kb": (1, 1 << 20),
            "cache_ways": (1, 64),
            "line_bytes": (8, 4096),
            "cache_hit_cycles": (1, 1000),
            "dram_latency_cycles": (1, 100_000),
            "scratchpad_kb": (1, 1 << 22),
            "scratchpad_banks": (1, 1024),
            "sp_latency_cycles": (1, 1000),
            "sp_atomic_cycles": (1, 1000),
            "alu_cycles": (1, 1000),
        }
        for key, (lo, hi) in ints.items():
            v = getattr(self, key)
            if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
                raise SparsimInputError(src, key, v, f"an integer from {lo} to {hi}")
        for key in ("line_bytes", "scratchpad_banks"):
            v = getattr(self, key)
            if v & (v - 1):
                raise SparsimInputError(src, key, v, "a power of two")
        for key in ("dram_bytes_per_cycle", "dma_bytes_per_cycle", "clock_ghz"):
            v = getattr(self, key)
            if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v) or v <= 0:
                raise SparsimInputError(src, key, v, "a positive number")
        if (self.cache_kb * 1024) % (self.line_bytes * self.cache_ways):
            raise SparsimInputError(
                src,
                "cache_kb",
                self.cache_kb,
                "must hold a whole number of sets (cache_kb * 1024 / (line_bytes * cache_ways))",
            )

    @property
    def cache_sets(self) -> int:
        return self.cache_kb * 1024 // (self.line_bytes * self.cache_ways)


def load_machine(path: str | Path | None) -> PiumaConfig:
    """YAML machine config (keys are :class:`PiumaConfig` fields); ``None`` gives the defaults."""
    if path is None:
        return PiumaConfig()
    from simulator.config import dataclass_from_yaml

    return dataclass_from_yaml(path, PiumaConfig, "machine")


# --------------------------------------------------------------------------------------------
# SpGEMM on the machine

CYCLE_ALGORITHMS = {
    "inner": -1,
    "outer": -2,
    "gustavson_spa": 0,
    "hash": 1,
    "smash_v1": 2,
    "smash_v2": 3,
    "smash_v3": 4,
}


def _hash_probe_counts(a, b, flops):
    """Per partial product, the probes a thread-private Nagasaka table needs (row order)."""
    import numpy as np

    from simulator.piuma_cl import hash_probe_counts

    return hash_probe_counts(
        a.indptr.astype(np.int64),
        a.indices.astype(np.int64),
        b.indptr.astype(np.int64),
        b.indices.astype(np.int64),
        flops,
        int(flops.sum()),
    )


def _stats(
    algorithm: str,
    out,
    m: PiumaConfig,
    flops: int,
    nnz_c: int,
    *,
    windows: int,
    overflows: int,
    probes: int,
    sp: tuple[int, int, int] = (0, 0, 0),
) -> dict:
    """One tidy statistics row from an engine's output vector (cycles, instructions, DRAM read,
    DRAM write, cache hits, cache misses, ...)."""
    cycles = int(out[0])
    return {
        "algorithm": algorithm,
        "cycles": cycles,
        "seconds": cycles / (m.clock_ghz * 1e9),
        "instructions": int(out[1]),
        "issue_utilization": out[1] / (m.cores * max(cycles, 1)),
        "dram_read_bytes": int(out[2]),
        "dram_write_bytes": int(out[3]),
        "cache_hit_rate": out[4] / max(out[4] + out[5], 1),
        "sp_accesses": sp[0],
        "sp_atomics": sp[1],
        "probes": probes,
        "bank_wait_cycles": sp[2],
        "flops": flops,
        "nnz_c": nnz_c,
        "windows": windows,
        "table_overflows": overflows,
    }


def simulate_spgemm(
    a, b, algorithm: str, machine: PiumaConfig | None = None, smash=None, compute_c: bool = True
) -> tuple[Any, dict]:
    """Run ``C = A x B`` with ``algorithm`` on the machine; return (C, statistics).

    C comes from the functional model (:mod:`simulator.spgemm_fl`); the statistics from the
    cycle-level engine (:mod:`simulator.piuma_cl`). With ``compute_c=False`` only the machine
    model runs (C is ``None``; the output row sizes it needs come from a symbolic pass).
    """
    import numpy as np

    from simulator.piuma_cl import memory_params, run_rowwise
    from simulator.spgemm_fl import SmashConfig, _check, row_flops, smash_limits, smash_windows, spgemm
    from simulator.spgemm_host import flop_chunks

    if algorithm not in CYCLE_ALGORITHMS:
        raise SparsimInputError(
            "--algorithm", "algorithm", algorithm, f"the machine model runs: {', '.join(CYCLE_ALGORITHMS)}"
        )
    m = machine or PiumaConfig()
    scfg = smash or SmashConfig(table_bytes=m.scratchpad_kb * 1024, fragments=min(m.scratchpad_banks, 64))
    a, b = _check(a, b)
    if compute_c:
        c, _ = spgemm(a, b, algorithm, smash=scfg)
        c_rows = np.diff(c.indptr).astype(np.int64)
    else:
        from simulator.spgemm_host import row_nnz

        c = None
        c_rows = row_nnz(a, b)
    nnz_c = int(c_rows.sum())
    flops = row_flops(a, b)
    pp_off = np.zeros(a.shape[0] + 1, dtype=np.int64)
    np.cumsum(flops, out=pp_off[1:])
    alg = CYCLE_ALGORITHMS[algorithm]
    if alg < 0:
        from simulator.piuma_io import run_inner, run_outer

        if alg == -1:
            out = run_inner(a, b, m)
        else:
            out = run_outer(a, b, m, int(flops.sum()), nnz_c)
        return c, _stats(
            algorithm, out, m, int(flops.sum()), nnz_c, windows=0, overflows=0, probes=int(out[6]) if alg == -1 else 0
        )
    hash_probes = _hash_probe_counts(a, b, flops) if algorithm == "hash" else np.zeros(1, dtype=np.uint8)
    win_bounds = np.zeros(1, dtype=np.int64)
    win_masks = np.zeros(1, dtype=np.int64)
    win_split = np.zeros(1, dtype=np.bool_)
    core_win = np.zeros(m.cores + 1, dtype=np.int64)
    size = 1
    if algorithm.startswith("smash"):
        version = int(algorithm[-1])
        size, limit, _ = smash_limits(scfg, version)
        blocks = flop_chunks(flops, m.cores)
        blocks = np.concatenate([blocks, np.full(m.cores + 1 - len(blocks), a.shape[0], dtype=np.int64)])
        starts, ends, splits = [], [], []
        for ci in range(m.cores):
            core_win[ci] = len(starts)
            s, e, sp_ = smash_windows(flops, b.shape[1], scfg, version, int(blocks[ci]), int(blocks[ci + 1]))
            if len(e) and e[-1] == s[-1]:
                raise SparsimInputError(
                    "smash",
                    "table_bytes",
                    scfg.table_bytes,
                    f"too small for a window: row {int(s[-1])} alone can create "
                    f"{int(min(flops[s[-1]], b.shape[1])):,} entries, more than the table takes "
                    f"at load factor {scfg.load_factor}",
                )
            starts += s.tolist()
            ends += e.tolist()
            splits += sp_.tolist()
        core_win[m.cores] = len(starts)
        win_bounds = np.array(starts + [a.shape[0]], dtype=np.int64)
        bound = np.minimum(flops, b.shape[1])
        bound_off = np.zeros(len(bound) + 1, dtype=np.int64)
        np.cumsum(bound, out=bound_off[1:])
        masks = []
        for s_, e_, sp_ in zip(starts, ends, splits, strict=True):
            # the part of the table a window uses: room for twice its partial products (per
            # fragment in a split V3 window), never more than the table
            if sp_:
                per = np.zeros(scfg.fragments, dtype=np.int64)
                np.add.at(per, np.arange(e_ - s_) % scfg.fragments, bound[s_:e_])
                t = scfg.fragments * (1 << max(1, (2 * int(per.max()) - 1).bit_length()))
            else:
                t = 1 << max(1, (2 * int(bound_off[e_] - bound_off[s_]) - 1).bit_length())
            masks.append(min(size, t) - 1)
        win_masks = np.array(masks or [0], dtype=np.int64)
        win_split = np.array(splits or [False], dtype=np.bool_)
    out = run_rowwise(
        alg,
        a.indptr.astype(np.int64),
        a.indices.astype(np.int64),
        b.indptr.astype(np.int64),
        b.indices.astype(np.int64),
        c_rows,
        hash_probes,
        pp_off,
        win_bounds,
        win_masks,
        win_split,
        core_win,
        size,
        scfg.fragments,
        *memory_params(m),
        m.dma_bytes_per_cycle,
        m.scratchpad_banks,
        m.sp_latency_cycles,
        m.sp_atomic_cycles,
        m.alu_cycles,
    )
    return c, _stats(
        algorithm,
        out,
        m,
        int(flops.sum()),
        nnz_c,
        windows=int(core_win[m.cores]),
        overflows=int(out[10]),
        probes=int(out[8]),
        sp=(int(out[6]), int(out[7]), int(out[9])),
    )
