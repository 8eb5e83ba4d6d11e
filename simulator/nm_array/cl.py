"""Per-cycle model of the N:M systolic array, every dataflow: the reference the RTL is held to.

Runs one GEMM ``Y = X x W`` (``W`` N:M-compressed) through a fold schedule
(:func:`dataflow.nm_array.dataflows.build_schedule`), stepping every PE register every cycle:
weight- and input-stationary schedules through :mod:`simulator.nm_array.cl_load`,
output-stationary ones through :mod:`simulator.nm_array.cl_os`. Each has a numba kernel and an
independently structured numpy twin (:mod:`simulator.nm_array.twin`) that must agree exactly
(tested), and both refuse a schedule that would make the hardware collide (a hazard).

What the array emits, per fold ``f``:

- ``ws``: ``psum[f, t, j]``, the partial sum of X's row ``p0 + t`` and W's column ``n0 + j``
  leaving the bottom of column ``j``;
- ``is``: ``psum[f, n, j]``, the partial sum of X's row ``p0 + j`` and W's column ``n0 + n``;
- ``os``: ``psum[f, i, j]``, the output of X's row ``p0 + i`` and W's column ``n0 + j`` on
  column ``j``'s output bus (complete: OS folds hold the whole reduction).

Rows and columns beyond a fold's used extent carry zeros and emit 0: they are recorded too,
because the RTL emits them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dataflow.nm_array.dataflows import build_schedule
from dataflow.nm_array.schedule import FoldSchedule
from simulator.common.bits import wrap_signed
from simulator.common.errors import SparsimInputError
from simulator.nm_array import cl_load, cl_os, twin
from simulator.nm_array.config import ArrayConfig, check_conflict_free

__all__ = ["CycleResult", "run_nm_array_cycles", "accumulate_folds"]

_HAZARDS = {
    cl_load.HAZARD_SWAP: "a PE swapped in an operand that was not loaded",
    cl_load.HAZARD_PSUM: "partial sums of different elements collided",
    cl_os.HAZARD_STREAMS: "the row and column streams reached a PE out of step",
    cl_os.HAZARD_ACC: "a fold took over an accumulator before the previous one finished",
    cl_os.HAZARD_BUS: "two outputs on one column bus in one cycle",
}


@dataclass(frozen=True, slots=True)
class CycleResult:
    """Everything the array emitted (see the module docstring): ``psum_value[f, a, j]`` and the
    cycle it left, ``psum_cycle[f, a, j]`` (-1: nothing); ``total_cycles``: the cycle after the
    last output left."""

    schedule: FoldSchedule
    psum_value: np.ndarray
    psum_cycle: np.ndarray
    total_cycles: int


def run_nm_array_cycles(
    x: np.ndarray,
    values: np.ndarray,
    indices: np.ndarray,
    n: int,
    m: int,
    cfg: ArrayConfig,
    *,
    schedule: FoldSchedule | None = None,
    engine: str = "numba",
) -> CycleResult:
    """Run one GEMM through the per-cycle model.

    ``x`` is ``[P, K]``; ``values``/``indices`` the ``[Kc, Ncol]`` compressed weight. Integer
    inputs use the integer datapath (wrapping at ``cfg.pe.acc_bits``), float inputs float64.
    ``schedule`` defaults to the plain schedule of ``cfg.pe.dataflow``.
    """
    if engine not in ("numba", "numpy"):
        raise SparsimInputError("run_nm_array_cycles", "engine", engine, "allowed: numba, numpy")
    check_conflict_free(cfg, "run_nm_array_cycles")
    if m not in cfg.pe.supported_m:
        raise SparsimInputError("run_nm_array_cycles", "m", m, f"supported by this array: {cfg.pe.supported_m}")
    values = np.asarray(values)
    indices = np.asarray(indices).astype(np.int64)
    kc, ncol = values.shape
    if kc % n:
        raise SparsimInputError("run_nm_array_cycles", "values.shape[0]", kc, f"a multiple of N = {n}")
    kpad = kc // n * m
    x = np.asarray(x)
    p = x.shape[0]
    if x.shape[1] > kpad:
        raise SparsimInputError("run_nm_array_cycles", "x.shape[1]", x.shape[1], f"at most {kpad}")
    integer = np.issubdtype(x.dtype, np.integer) and np.issubdtype(values.dtype, np.integer)
    dtype = np.int64 if integer else np.float64
    xp = np.zeros((p, kpad), dtype=dtype)
    xp[:, : x.shape[1]] = x
    wv = np.ascontiguousarray(values, dtype=dtype)
    sched = build_schedule(cfg.pe.dataflow, p, kc, ncol, cfg) if schedule is None else schedule
    folds, r, c = sched.folds, cfg.rows, cfg.cols
    a = r if sched.dataflow == "os" else int(sched.stream_length().max())
    out_val = np.zeros((folds, a, c), dtype=dtype)
    out_cyc = np.full((folds, a, c), -1, dtype=np.int64)
    ranges = (sched.k0, sched.k_used, sched.p0, sched.p_used, sched.n0, sched.n_used)
    if sched.dataflow == "os":
        run = cl_os.run_numba if engine == "numba" else twin.run_os_twin
        args = (xp, wv, indices, n, m, r, c, *ranges, sched.stream_start)
    else:
        run = cl_load.run_numba if engine == "numba" else twin.run_load_twin
        mode = cl_load.MODE_WS if sched.dataflow == "ws" else cl_load.MODE_IS
        args = (mode, xp, wv, indices, n, m, r, c, *ranges, sched.load_start, sched.stream_start)
    code, cyc = run(*args, sched.total_cycles, cfg.pe.acc_bits, out_val, out_cyc)
    if code != cl_load.OK:
        raise RuntimeError(f"schedule hazard at cycle {cyc}: {_HAZARDS[code]}")
    return CycleResult(schedule=sched, psum_value=out_val, psum_cycle=out_cyc, total_cycles=int(cyc))


def accumulate_folds(res: CycleResult, acc_bits: int) -> tuple[np.ndarray, np.ndarray]:
    """Output-buffer view: ``Y[P, Ncol]`` (partial sums added over the folds of the reduction,
    wrapped) and, per output, the cycle its last partial sum left the array."""
    s = res.schedule
    integer = np.issubdtype(res.psum_value.dtype, np.integer)
    y = np.zeros((s.t, s.ncol), dtype=res.psum_value.dtype)
    done = np.full((s.t, s.ncol), -1, dtype=np.int64)
    for f in range(s.folds):
        p0, pu, n0, nu = int(s.p0[f]), int(s.p_used[f]), int(s.n0[f]), int(s.n_used[f])
        val, cyc = res.psum_value[f], res.psum_cycle[f]
        if s.dataflow == "ws":  # [t, j]: X row p0 + t, W column n0 + j
            block, when = val[:pu, :nu], cyc[:pu, :nu]
        elif s.dataflow == "is":  # [n, j]: W column n0 + n, X row p0 + j
            block, when = val[:nu, :pu].T, cyc[:nu, :pu].T
        else:  # [i, j]: X row p0 + i, W column n0 + j
            block, when = val[:pu, :nu], cyc[:pu, :nu]
        y[p0 : p0 + pu, n0 : n0 + nu] += block
        done[p0 : p0 + pu, n0 : n0 + nu] = np.maximum(done[p0 : p0 + pu, n0 : n0 + nu], when)
    if integer:
        y = wrap_signed(y, acc_bits)
    return y, done
