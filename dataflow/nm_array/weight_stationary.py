"""Weight-stationary (WS) dataflow: weights sit in the PEs, rows of X stream through.

A GEMM ``Y[T, N] = X[T, K] x W[K, N]`` whose weight is condensed to ``Kc`` rows (``Kc = K`` dense,
``ceil(K/M)*N`` in N:M mode) is cut into folds of at most ``R`` condensed rows by ``C`` columns,
column folds outermost (``for fc: for fr:``, SCALE-Sim's order). Each fold:

1. loads its weights: ``R`` cycles, one array row per cycle shifted down from the top, bottom row
   first, into each PE's shadow register;
2. streams ``T`` activation rows, skewed: row ``t`` enters PE row ``i`` at ``s + t + i`` and
   moves right one column per cycle; a PE takes its fold's weight from the shadow register when
   the fold's first activation (``t = 0``) reaches it;
3. drains: partial sums move down one row per cycle; output ``(t, j)`` leaves the bottom of
   column ``j`` at cycle ``s + t + (R - 1) + j``.

Timing diagram, R = C = 2, T = 3, one fold (``W`` load, ``a``/``b``/``c`` activation rows t=0..2
at each PE, ``y`` outputs leaving the bottom row)::

    cycle        0   1   2   3   4   5   6
    load        W1  W0                          (row 1's weights enter first)
    PE(0,0)             a   b   c
    PE(0,1)                 a   b   c
    PE(1,0)                 a   b   c
    PE(1,1)                     a   b   c
    out col 0               y0  y1  y2          (s + t + R - 1 + 0, s = 2)
    out col 1                   y0  y1  y2      last output at cycle 6 = 2R + C + T - 3

So a fold lasts ``L = 2R + C + T - 2`` cycles whatever its occupancy: the controller's counters are
set by the array, not by the fold (unused rows and columns carry zeros). The two controller
policies and their start rules are :meth:`dataflow.nm_array.dataflows.Dataflow.timing`'s.

N:M: the stationary weight is condensed, ``(value, index)`` per PE; each PE row of a group shares
one broadcast bus of the group's ``M`` activations, which move right with the row's stream, and the
PE's M:1 multiplexer picks lane ``index``.
"""

from __future__ import annotations

import numpy as np

from dataflow.nm_array.dataflows import Dataflow, build_schedule, delivered_activations
from dataflow.nm_array.schedule import FoldSchedule, Tiling
from simulator.nm_array.config import ArrayConfig

__all__ = ["WeightStationary", "ws_schedule", "ws_total_cycles", "ws_fold_counts"]


class WeightStationary(Dataflow):
    name = "ws"
    stationary = "weights"
    dims = ("K", "N", "P")
    loads = True
    scalesim_nm = True

    def plain_tiling(self, p: int, kc: int, ncol: int, cfg: ArrayConfig) -> Tiling:
        """One array fold per tile (R condensed rows x C columns), all of X streamed; columns
        outermost: SCALE-Sim's WS schedule."""
        return Tiling(pt=p, kt=cfg.rows, nt=cfg.cols, order="NKP")

    def sram_accesses(self, sched: FoldSchedule, compat: str, k: int, n: int, m: int) -> tuple[float, int, int]:
        """Ifmap reads: activations delivered to the array, per streamed row the ``M`` of every
        group a fold touches (dense: one per used row); SCALE-Sim reads a group once per kept row
        (``T * k_used * M / N``, no broadcast). Filter reads: one per weight per fold. Ofmap
        writes: one partial sum per streamed row and used column per fold."""
        pu, ku = sched.p_used.astype(np.float64), sched.k_used
        if n == m:
            ifmap = float((pu * ku).sum())
        elif compat == "scalesim":
            ifmap = float((pu * ku).sum() * m / n)
        else:
            ifmap = float((pu * delivered_activations(sched.k0, ku, k, n, m)).sum())
        return ifmap, int((ku * sched.n_used).sum()), int((sched.p_used * sched.n_used).sum())

    def scalesim_compute_util(self, sched: FoldSchedule) -> float:
        r, c = sched.rows, sched.cols
        pu = sched.p_used.astype(np.float64)
        return float((sched.k_used * sched.n_used * pu / (r * c * (2 * r + 2 * c + pu - 3))).mean())


def ws_schedule(t: int, kc: int, ncol: int, cfg: ArrayConfig, copies: int = 1) -> FoldSchedule:
    """The plain WS fold schedule of ``copies`` back-to-back GEMMs (``for copy: for fc: for fr:``)."""
    return build_schedule("ws", t, kc, ncol, cfg, copies=copies)


def ws_fold_counts(kc: int, ncol: int, cfg: ArrayConfig) -> tuple[int, int]:
    """``(row_folds, col_folds)`` for a ``[kc, ncol]`` condensed weight."""
    return -(-kc // cfg.rows), -(-ncol // cfg.cols)


def ws_total_cycles(t: int, kc: int, ncol: int, cfg: ArrayConfig, copies: int = 1) -> int:
    """Compute cycles of ``copies`` back-to-back GEMMs in closed form (no per-fold loop): equal,
    by construction and by test, to the plain schedule's and the per-cycle model's."""
    r, c = cfg.rows, cfg.cols
    rf, cf = ws_fold_counts(kc, ncol, cfg)
    folds = copies * rf * cf
    if not cfg.pe.weight_double_buffer:
        return folds * (2 * r + c + t - 2)
    return r + (folds - 1) * max(t, 2 * r + c - 1) + t + r + c - 2
