"""Per-cycle port values that drive the N:M array through a fold schedule (the feeder's job).

Why here and not in the test bench: the same stimulus drives the RTL (cocotb) and can be checked
against the per-cycle model's own feeding rules; it is pure numpy, packed with the bit layout of
:mod:`rtl.nm_array.iface`.

Weight stationary, for fold ``f`` (``k0``, ``k_used``, ``n0``, ``n_used``, ``p0``, ``p_used``,
load start ``ld``, stream start ``s``):

- cycles ``ld .. ld+R-1``: ``w_load = 1``; the top row receives the weights of array row
  ``R-1-(c-ld)`` (bottom row first), zeros outside the fold's used rows and columns;
- for array row ``i`` and streamed row ``t``: at cycle ``s + t + i``, ``a_valid[i] = 1``,
  ``a_first[i] = (t == 0)``, and lanes ``0..M-1`` carry ``X[p0 + t, g*M : (g+1)*M]`` with
  ``g = (k0 + i) // N`` (zeros for unused rows; higher lanes of a wider array stay zero).

Output stationary, for fold ``f`` streaming ``S = k_used`` condensed rows:

- for array row ``i`` and element ``t``: at cycle ``s + t + i``, ``a_valid[i] = 1`` and the lanes
  carry ``X[p0 + i, g*M : (g+1)*M]`` with ``g = (k0 + t) // N`` (zeros for unused rows);
- for array column ``j``: at cycle ``s + t + j``, ``w_valid[j] = 1``, ``w_first[j] = (t == 0)``,
  ``w_last[j] = (t == S - 1)`` and the weight of condensed row ``k0 + t``, column ``n0 + j``
  (zero for unused columns).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dataflow.nm_array.schedule import FoldSchedule as WSFoldSchedule
from rtl.nm_array.iface import NMArrayPorts, pack_lanes

__all__ = ["Stimulus", "build_stimulus"]


@dataclass(frozen=True, slots=True)
class Stimulus:
    """Packed integer per port per cycle (``ports``: name -> list of Python ints, lane 0 in the
    low bits), for ``cycles`` cycles."""

    cycles: int
    ports: dict[str, list[int]]


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
    """Stimulus for one GEMM (``x`` is ``[P, K]``; ``values``/``indices`` are ``[Kc, Ncol]``)."""
    r, c, mh = ports.cfg.rows, ports.cfg.cols, ports.m
    if m > mh:
        raise ValueError(f"group size M = {m} exceeds the array's {mh} activation lanes")
    if (n, m) != (1, 1) and n == m:
        raise ValueError("N = M is dense: pass n = m = 1")
    if sched.dataflow not in ("ws", "os"):
        raise ValueError(f"no RTL for dataflow {sched.dataflow!r} (ws, os)")
    total = sched.total_cycles + tail
    kpad = values.shape[0] // n * m
    xp = np.zeros((x.shape[0], kpad), dtype=np.int64)
    xp[:, : x.shape[1]] = x
    w_val = np.zeros((total, c), dtype=np.int64)
    w_idx = np.zeros((total, c), dtype=np.int64)
    a_valid = np.zeros((total, r), dtype=np.int64)
    a_val = np.zeros((total, r, mh), dtype=np.int64)
    ob, ib = ports.ob, ports.ib
    if sched.dataflow == "os":
        w_valid = np.zeros((total, c), dtype=np.int64)
        w_first = np.zeros((total, c), dtype=np.int64)
        w_last = np.zeros((total, c), dtype=np.int64)
        for f in range(sched.folds):
            k0, ku, n0, nu = int(sched.k0[f]), int(sched.k_used[f]), int(sched.n0[f]), int(sched.n_used[f])
            p0, pu, s = int(sched.p0[f]), int(sched.p_used[f]), int(sched.stream_start[f])
            steps = np.arange(ku)
            groups = (k0 + steps) // n
            for i in range(r):
                cyc = s + steps + i
                a_valid[cyc, i] = 1
                if i < pu:
                    lanes = groups[:, None] * m + np.arange(m)[None, :]
                    a_val[cyc, i, :m] = xp[p0 + i][lanes]
            for j in range(c):
                cyc = s + steps + j
                w_valid[cyc, j] = 1
                w_first[s + j, j] = 1
                w_last[s + ku - 1 + j, j] = 1
                if j < nu:
                    w_val[cyc, j] = values[k0 : k0 + ku, n0 + j]
                    w_idx[cyc, j] = indices[k0 : k0 + ku, n0 + j]
        packed = {
            "w_valid": _pack_rows(w_valid, 1),
            "w_first": _pack_rows(w_first, 1),
            "w_last": _pack_rows(w_last, 1),
        }
    else:
        w_load = np.zeros(total, dtype=np.int64)
        a_first = np.zeros((total, r), dtype=np.int64)
        for f in range(sched.folds):
            k0, ku, n0, nu = int(sched.k0[f]), int(sched.k_used[f]), int(sched.n0[f]), int(sched.n_used[f])
            p0, pu = int(sched.p0[f]), int(sched.p_used[f])
            ld, s = int(sched.load_start[f]), int(sched.stream_start[f])
            for step in range(r):
                rr = r - 1 - step
                w_load[ld + step] = 1
                if rr < ku:
                    w_val[ld + step, :nu] = values[k0 + rr, n0 : n0 + nu]
                    w_idx[ld + step, :nu] = indices[k0 + rr, n0 : n0 + nu]
            for i in range(r):
                cyc = s + i + np.arange(pu)
                a_valid[cyc, i] = 1
                a_first[s + i, i] = 1
                if i < ku:
                    g = (k0 + i) // n
                    a_val[cyc, i, :m] = xp[p0 : p0 + pu, g * m : (g + 1) * m]
        packed = {"w_load": w_load.tolist(), "a_first": _pack_rows(a_first, 1)}
    packed.update(
        w_val=_pack_rows(w_val, ob),
        w_idx=_pack_rows(w_idx, ib),
        a_valid=_pack_rows(a_valid, 1),
        a_val=_pack_rows(a_val.reshape(total, r * mh), ob),
    )
    return Stimulus(cycles=total, ports=packed)
