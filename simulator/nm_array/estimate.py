"""The N:M array's work, estimated before it runs (see :mod:`simulator.common.work`).

Why folds: every layer's schedule is built fold by fold (:mod:`dataflow.nm_array.schedule`) and
the memory model steps through those folds, so a run's time is about its folds; a batch of 2^20
or a 4096-channel layer shows up there first. The fold count of each GEMM is closed-form
(:func:`~dataflow.nm_array.schedule.fold_count`), so the estimate costs microseconds per GEMM.
On top of the folds:

* ``mapping: auto`` costs each distinct GEMM its candidate grid and, when stalls matter (a
  finite bandwidth or banked buffers), about :data:`MAPPER_SIMULATED` candidates simulated;
* ``memory.mode: request`` sends every DRAM burst through the per-request controller: the
  plain schedule's DRAM bytes (closed form) over the burst size;
* a system of arrays (``system.arrays > 1``) costs each candidate split its parts (the
  partitioner tries every width x strategy x quantum; a part of a layer split ``w`` ways holds
  about ``1/w`` of its folds, and the parts of a candidate are mostly distinct).

The constants are seconds per unit on the calibration machine (a 2-core VM, one process), from
``benchmarks/bench_work_estimate.py``, which prints estimate and measurement side by side.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from dataflow.nm_array.cost import closed_form
from dataflow.nm_array.dataflows import get_dataflow
from dataflow.nm_array.mapper import candidate_folds
from dataflow.nm_array.partition import SPLITS, quanta, widths
from dataflow.nm_array.schedule import fold_count
from simulator.common.work import Work
from simulator.nm_array.config import ArrayConfig
from simulator.nm_array.fold import gemm_of

__all__ = ["estimate_gemms", "PER_GEMM", "PER_FOLD", "PER_REQUEST", "PER_PART", "MAPPER_SIMULATED"]

#: seconds per lowered GEMM row: its schedule's set-up, statistics and table row
PER_GEMM = 1.5e-3
#: seconds per fold: the schedule's per-fold arrays and the memory model's steps over them
PER_FOLD = 2.5e-6
#: seconds per lowered GEMM row on the DRAM model's fold-level form (``memory.mode: fold``)
PER_DRAM_GEMM = 2.5e-3
#: seconds per DRAM burst through the per-request controller (``memory.mode: request``)
PER_REQUEST = 3.5e-6
#: seconds per fold of a candidate the mapper simulates (one vectorised memory-model pass): small
#: schedules stay in cache (VGG-16 at batch 64-256: 0.2 us a fold), a schedule of millions of
#: folds does not (a 1.8 M-fold candidate of VGG-16 at batch 1024: 1.25 us a fold)
PER_SIMULATED_FOLD = 2.0e-7
PER_SIMULATED_FOLD_BIG = 1.25e-6
#: folds from which a candidate's schedule no longer fits in cache (the rate rises linearly to it)
BIG_SCHEDULE = 1_000_000
#: which quantile of a GEMM's candidate fold counts stands for the candidates the mapper
#: simulates (it takes them in lower-bound order, and big tiles, few folds, come first)
SIMULATED_QUANTILE = 0.1
#: seconds per distinct GEMM for the mapper's closed-form candidate grid
PER_MAPPED_GEMM = 2.0e-2
#: candidates the mapper simulates per distinct GEMM when stalls matter (typical, measured)
MAPPER_SIMULATED = 12
#: seconds per part a partition candidate costs (a one-row simulation of the part)
PER_PART = 2.0e-3


def _plain(g, cfg: ArrayConfig, dataflow: str) -> tuple[int, float]:
    """Folds and DRAM bytes of one lowered GEMM (:func:`gemm_of`) under ``dataflow``'s plain tiling."""
    df = get_dataflow(dataflow)
    tiling = df.plain_tiling(g.p, g.kc, g.ncol, cfg).clipped(g.p, g.kc, g.ncol)
    folds = fold_count(df, g.p, g.kc, g.ncol, cfg, tiling, g.copies)
    one = np.array([1], dtype=np.int64)
    cf = closed_form(df, g, cfg, one * tiling.pt, one * tiling.kt, one * tiling.nt, tiling.order)
    dram = float(sum(cf[k][0] for k in ("dram_ifmap_bytes", "dram_filter_bytes", "dram_ofmap_bytes",
                                        "dram_psum_read_bytes")))  # fmt: skip
    return folds, dram


def estimate_gemms(gemms: pd.DataFrame, cfg: ArrayConfig, mapping: str = "plain") -> Work:
    """The work of running lowered ``gemms`` on ``cfg`` with ``mapping`` (a choice or a file)."""
    dataflow = mapping if mapping in ("ws", "os", "is") else cfg.pe.dataflow
    rows = list(gemms.itertuples(index=False))
    folds = dram = 0.0
    distinct: set = set()
    for r in rows:
        g = gemm_of(r)
        f, d = _plain(g, cfg, dataflow)
        folds += f
        dram += d
        distinct.add(g)
    seconds = len(rows) * PER_GEMM + folds * PER_FOLD
    stalls = cfg.memory.bw_bytes_per_cycle is not None or cfg.memory.is_dram or bool(cfg.buffers.banks)
    steps = len(rows)
    mapped_seconds = 0.0  # time of the candidates the mapper simulates (every distinct GEMM)
    if mapping == "auto":
        seconds += len(distinct) * PER_MAPPED_GEMM
        if stalls:  # the mapper simulates candidates; their folds are the grid's, not the plain ones
            for g in distinct:
                cand = candidate_folds(g, cfg)
                typical = float(np.quantile(cand, SIMULATED_QUANTILE)) if cand.size else 0.0
                big = min(1.0, typical / BIG_SCHEDULE)  # how far its schedule has left the cache
                rate = PER_SIMULATED_FOLD + (PER_SIMULATED_FOLD_BIG - PER_SIMULATED_FOLD) * big
                mapped_seconds += MAPPER_SIMULATED * typical * rate
            seconds += mapped_seconds
        steps += len(rows)
    requests = 0.0
    if cfg.memory.is_dram and cfg.memory.mode == "request":
        requests = dram / cfg.memory.dram_config().burst_bytes
        seconds += requests * PER_REQUEST
    elif cfg.memory.is_dram:
        seconds += len(rows) * PER_DRAM_GEMM
    if cfg.is_system:
        arrays = cfg.system_arrays()
        shapes = [(a.rows, a.cols) for a in arrays]
        split = (cfg.system.partition,) if cfg.system.partition in SPLITS else SPLITS
        parts = sum(w * len(quanta(s, shapes[:w])) for w in widths(len(arrays)) for s in split)
        tries = sum(len(quanta(s, shapes[:w])) for w in widths(len(arrays)) for s in split)
        seconds += len(rows) * parts * PER_PART + tries * (folds * PER_FOLD + mapped_seconds)
        if cfg.system.partition in ("pipeline", "auto"):
            seconds += len(rows) * len(set(shapes)) * PER_PART
    if requests:
        return Work(requests, "DRAM requests", seconds, steps, "GEMMs")
    return Work(folds, "folds", seconds, steps, "GEMMs")
