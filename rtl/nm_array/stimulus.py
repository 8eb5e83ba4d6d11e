"""Per-cycle port values that drive the N:M array through a fold schedule (the feeder's job).

Why here and not in the test bench: the same stimulus drives the RTL (cocotb) and can be checked
against the per-cycle model's own feeding rules; it is pure numpy, packed with the bit layout of
:mod:`rtl.nm_array.iface`.

For fold ``f`` (``k0``, ``k_used``, ``n0``, ``n_used``, load start ``ld``, stream start ``s``):

- cycles ``ld .. ld+R-1``: ``w_load = 1``; the top row receives the weights of array row
  ``R-1-(c-ld)`` (bottom row first), zeros outside the fold's used rows and columns;
- for array row ``i`` and streamed row ``t``: at cycle ``s + t + i``, ``a_valid[i] = 1``,
  ``a_first[i] = (t == 0)``, and lanes ``0..M-1`` carry ``X[t, g*M : (g+1)*M]`` with
  ``g = (k0 + i) // N`` (zeros for unused rows; higher lanes of a wider array stay zero).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dataflow.nm_array.schedule import FoldSchedule as WSFoldSchedule
from rtl.nm_array.iface import NMArrayPorts, pack_lanes

__all__ = ["Stimulus", "build_stimulus"]


@dataclass(frozen=True, slots=True)
class Stimulus:
    """Packed integer per port per cycle (lists of Python ints, lane 0 in the low bits)."""

    cycles: int
    w_load: list[int]
    w_val: list[int]
    w_idx: list[int]
    a_valid: list[int]
    a_first: list[int]
    a_val: list[int]


def _pack_rows(arr: np.ndarray, bits: int) -> list[int]:
    """Pack each row of a 2-D integer array into one int (lane k = column k)."""
    if bits == 8:
        raw = arr.astype(np.int64).astype(np.uint8)
        return [int.from_bytes(row.tobytes(), "little") for row in raw]
    return [pack_lanes(row, bits) for row in arr]


def build_stimulus(
    x: np.ndarray,
    values: np.ndarray,
    indices: np.ndarray,
    n: int,
    m: int,
    sched: WSFoldSchedule,
    ports: NMArrayPorts,
    tail: int = 2,
) -> Stimulus:
    """Stimulus for one GEMM (``x`` is ``[T, K]``; ``values``/``indices`` are ``[Kc, Ncol]``)."""
    r, c, mh = ports.cfg.rows, ports.cfg.cols, ports.m
    if m > mh:
        raise ValueError(f"group size M = {m} exceeds the array's {mh} activation lanes")
    if (n, m) != (1, 1) and n == m:
        raise ValueError("N = M is dense: pass n = m = 1")
    t_rows = sched.t
    total = sched.total_cycles + tail
    kpad = values.shape[0] // n * m
    xp = np.zeros((t_rows, kpad), dtype=np.int64)
    xp[:, : x.shape[1]] = x
    w_load = np.zeros(total, dtype=np.int64)
    w_val = np.zeros((total, c), dtype=np.int64)
    w_idx = np.zeros((total, c), dtype=np.int64)
    a_valid = np.zeros((total, r), dtype=np.int64)
    a_first = np.zeros((total, r), dtype=np.int64)
    a_val = np.zeros((total, r, mh), dtype=np.int64)
    for f in range(sched.folds):
        k0, ku, n0, nu = int(sched.k0[f]), int(sched.k_used[f]), int(sched.n0[f]), int(sched.n_used[f])
        ld, s = int(sched.load_start[f]), int(sched.stream_start[f])
        for step in range(r):
            rr = r - 1 - step
            w_load[ld + step] = 1
            if rr < ku:
                w_val[ld + step, :nu] = values[k0 + rr, n0 : n0 + nu]
                w_idx[ld + step, :nu] = indices[k0 + rr, n0 : n0 + nu]
        for i in range(r):
            cyc = s + i + np.arange(t_rows)
            a_valid[cyc, i] = 1
            a_first[s + i, i] = 1
            if i < ku:
                g = (k0 + i) // n
                a_val[cyc, i, :m] = xp[:, g * m : (g + 1) * m]
    ob, ib = ports.ob, ports.ib
    return Stimulus(
        cycles=total,
        w_load=w_load.tolist(),
        w_val=_pack_rows(w_val, ob),
        w_idx=_pack_rows(w_idx, ib),
        a_valid=_pack_rows(a_valid, 1),
        a_first=_pack_rows(a_first, 1),
        a_val=_pack_rows(a_val.reshape(total, r * mh), ob),
    )
