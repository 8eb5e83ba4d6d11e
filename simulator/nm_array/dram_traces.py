"""The array's own DRAM request streams for the cross-check against Ramulator 2: several
ResNet-18 layers under each dataflow, on the 32x32 array of ``examples/arch/nm_ws32x32_ddr4.yaml``
(the array ``sparsim dram trace`` exports), with its memory swapped for the DRAM under test.

Why the array's streams beside the synthetic ones (:mod:`simulator.dram.traces`): they are what
the DRAM model is used for, and each dataflow mixes reads and writes differently (output
stationary writes its outputs in bursts; the stem's writes are most of its traffic).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["layer_traces", "golden_traces", "trace_digest", "ramulator_comparison", "GOLDEN_DRAMS", "LAYERS",
           "DATAFLOWS"]

#: ResNet-18 GEMMs (lowered order): the stem, a downsample, a stage-2 and a stage-3 convolution
LAYERS = (0, 7, 11, 16)
DATAFLOWS = ("ws", "os", "is")
#: a layer's stream is cut to its first requests: enough for steady state, small enough to commit
MAX_REQUESTS = 49152

_ARCH = {
    "name": "nm_32x32_dram_trace", "clock_ghz": 1.0,
    "pe": {"rows": 32, "cols": 32, "supported_m": [1, 2, 4, 8], "weight_double_buffer": True, "word_bytes": 1,
           "psum_bytes": 4, "operand_bits": 8, "acc_bits": 32},
    "buffers": {"ifmap_kb": 64, "filter_kb": 64, "ofmap_kb": 1024},
}  # fmt: skip


def layer_traces(dram: str) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """``"resnet18_L{layer}_{dataflow}" -> (arrive, addr, is_write)``: each layer's requests in
    issue order, all arriving at cycle 0 (the controller's queues pace them)."""
    from dataflow.nm_array.mapping import Mapping
    from simulator.common.config import dataclass_from_mapping
    from simulator.nm_array.config import ArrayConfig
    from simulator.nm_array.dram_memory import layer_requests
    from simulator.nm_array.fold import layer_schedule
    from simulator.nm_array.memory import step_traffic
    from workloads.io import load_workload
    from workloads.lowering import lower_to_gemms

    gemms = lower_to_gemms(load_workload("zoo:resnet18"))
    out = {}
    for df in DATAFLOWS:
        spec = {**_ARCH, "pe": {**_ARCH["pe"], "dataflow": df}, "memory": {"dram": dram}}
        cfg = dataclass_from_mapping(spec, ArrayConfig, "dram trace array", "array config")
        dcfg = cfg.memory.dram_config()
        for i in LAYERS:
            r = next(gemms.iloc[[i]].itertuples(index=False))
            _, tiling, sched, _, m, _ = layer_schedule(r, cfg, Mapping(df))
            tr = step_traffic(sched, cfg, tiling, ifmap_elems=int(r.ifmap_elems), nm_m=m)
            addr, wr, _ = layer_requests(tr, dcfg)
            addr, wr = addr[:MAX_REQUESTS], wr[:MAX_REQUESTS]
            out[f"resnet18_L{i}_{df}"] = (np.zeros(addr.size, dtype=np.int64), addr, wr)
    return out


#: the DRAM presets with Ramulator 2 goldens
GOLDEN_DRAMS = ("ddr4-3200", "hbm2")


def golden_traces(dram: str) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Every cross-check trace on ``dram``: the synthetic streams, then the ResNet-18 layers."""
    from simulator.dram.config import load_dram
    from simulator.dram.traces import synthetic_traces

    return {**synthetic_traces(load_dram(dram)), **layer_traces(dram)}


def trace_digest(arrive: np.ndarray, addr: np.ndarray, wr: np.ndarray) -> str:
    """First 16 hex digits of the SHA-256 of a trace's three columns: the goldens' identity check."""
    import hashlib

    h = hashlib.sha256()
    for a in (np.asarray(arrive, np.int64), np.asarray(addr, np.int64), np.asarray(wr, np.bool_)):
        h.update(a.tobytes())
    return h.hexdigest()[:16]


def ramulator_comparison() -> pd.DataFrame:
    """Every committed Ramulator 2 golden beside our per-request controller on the same trace:
    one row per (dram, trace) with both cycle counts, bandwidths, row-hit rates, the error and
    both wall times. Refuses a golden whose regenerated trace is not the one Ramulator ran."""
    import time

    import pandas as pd

    from simulator.common.errors import SparsimInputError
    from simulator.common.files import package_data
    from simulator.dram.cl import DramState
    from simulator.dram.config import load_dram
    from simulator.dram.fl import row_hit_rate

    gold = pd.read_csv(package_data("simulator.dram", "data", "ramulator2_goldens.csv"))
    rows = []
    for dram in gold["dram"].unique():
        cfg = load_dram(dram)
        traces = golden_traces(dram)
        DramState(cfg).run(np.zeros(2, np.int64), np.zeros(2, np.int64), np.zeros(2, bool))  # compile
        for g in gold[gold["dram"] == dram].itertuples(index=False):
            arrive, addr, wr = traces[g.trace]
            if trace_digest(arrive, addr, wr) != g.digest:
                allowed = "the digest of the trace sparsim generates (regenerate the goldens)"
                raise SparsimInputError("ramulator2_goldens.csv", "digest", f"{dram} {g.trace}", allowed)
            t0 = time.perf_counter()
            done = DramState(cfg).run(arrive, addr, wr)
            wall = time.perf_counter() - t0
            _, log = DramState(cfg).run(arrive, addr, wr, log=True)
            cycles = int(done.max())
            ns = cfg.tck_ps * 1e-3
            accesses = g.ramulator_row_hits + g.ramulator_row_misses + g.ramulator_row_conflicts
            rows.append({
                "dram": dram, "trace": g.trace, "requests": int(addr.size), "writes": int(wr.sum()),
                "ramulator_cycles": int(g.ramulator_cycles), "cycles": cycles,
                "error_pct": 100.0 * (cycles / g.ramulator_cycles - 1.0),
                "ramulator_gbps": addr.size * cfg.burst_bytes / (g.ramulator_cycles * ns),
                "bandwidth_gbps": addr.size * cfg.burst_bytes / (cycles * ns),
                "ramulator_row_hit_rate": g.ramulator_row_hits / accesses if accesses else 0.0,
                "row_hit_rate": row_hit_rate(log),
                "ramulator_wall_s": float(g.ramulator_wall_s), "wall_s": wall,
            })  # fmt: skip
    return pd.DataFrame(rows)
