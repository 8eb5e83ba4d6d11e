"""Weight-stationary fold schedule for the N:M systolic array: a pure function of (GEMM, config).

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
set by the array, not by the fold (unused rows and columns carry zeros).

Two controller policies (our design; both exact in the per-cycle model):

- ``weight_double_buffer = False``: the next load starts when the last output has left
  (``ld[f+1] = s[f] + T + R + C - 2``), so layers take ``F * L`` cycles; SCALE-Sim's WS timing,
  whose "Total Cycles" is the index of the last cycle, ``F * L - 1``.
- ``weight_double_buffer = True``: the next fold's weights shift into the shadow registers while
  the current fold streams. A load shifts *every* row's shadow register each cycle, so it may
  start only once every PE has taken the current fold's weights, i.e. after the swap wavefront
  reaches PE(R-1, C-1) at ``s[f] + R + C - 2``: ``ld[f+1] = s[f] + R + C - 1``. Streaming starts
  when both the load is done and the previous fold's activations have all entered:
  ``s[f+1] = max(s[f] + T, ld[f+1] + R)``, so folds are ``max(T, 2R + C - 1)`` apart instead of
  ``T + 2R + C - 2``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simulator.nm_array.config import ArrayConfig

__all__ = ["condensed_rows", "WSFoldSchedule", "ws_schedule", "ws_total_cycles", "ws_fold_counts"]


def condensed_rows(k: int, n: int, m: int, compat: str = "native") -> int:
    """Rows of the weight operand after N:M condensing along K.

    ``native``: K zero-padded to a multiple of M, ``ceil(K/M) * N``.
    ``scalesim``: SCALE-Sim's layer-wise condensing keeps the first N positions of every group and
    strips the all-zero padding of the last, partial group: ``(K//M)*N + min(N, K % M)``.
    """
    if n == m:
        return k
    if compat == "scalesim":
        return (k // m) * n + min(n, k % m)
    return -(-k // m) * n


def ws_fold_counts(kc: int, ncol: int, cfg: ArrayConfig) -> tuple[int, int]:
    """``(row_folds, col_folds)`` for a ``[kc, ncol]`` condensed weight."""
    return -(-kc // cfg.rows), -(-ncol // cfg.cols)


def ws_total_cycles(t: int, kc: int, ncol: int, cfg: ArrayConfig, copies: int = 1) -> int:
    """Compute cycles of ``copies`` back-to-back GEMMs, in closed form (no per-fold loop).

    Equal, by construction and by test, to the last output's exit cycle + 1 in the per-cycle model.
    """
    r, c = cfg.rows, cfg.cols
    rf, cf = ws_fold_counts(kc, ncol, cfg)
    folds = copies * rf * cf
    if not cfg.weight_double_buffer:
        return folds * (2 * r + c + t - 2)
    return r + (folds - 1) * max(t, 2 * r + c - 1) + t + r + c - 2


@dataclass(frozen=True, slots=True)
class WSFoldSchedule:
    """Per-fold schedule of one GEMM (arrays of length ``folds``, in execution order).

    A layer of ``copies`` independent GEMMs of the same shape (a grouped or depthwise conv) runs
    them back to back: the fold list repeats ``copies`` times.
    ``k0``/``k_used``: first condensed weight row and rows used; ``n0``/``n_used``: first output
    column and columns used; ``load_start``: first weight-load cycle; ``stream_start``: cycle the
    fold's first activation enters PE row 0. ``total_cycles``: last output exit cycle + 1.
    """

    rows: int
    cols: int
    t: int
    kc: int
    ncol: int
    copies: int
    k0: np.ndarray
    k_used: np.ndarray
    n0: np.ndarray
    n_used: np.ndarray
    load_start: np.ndarray
    stream_start: np.ndarray
    total_cycles: int

    @property
    def folds(self) -> int:
        return int(self.k0.size)

    def exit_cycle(self, fold: int, t: int, col: int) -> int:
        """Cycle at which output row ``t`` of column ``col`` of ``fold`` leaves the array."""
        return int(self.stream_start[fold]) + t + self.rows - 1 + col


def ws_schedule(t: int, kc: int, ncol: int, cfg: ArrayConfig, copies: int = 1) -> WSFoldSchedule:
    """Fold-by-fold schedule (``for copy: for fc: for fr:``) under the config's controller policy."""
    r, c = cfg.rows, cfg.cols
    rf, cf = ws_fold_counts(kc, ncol, cfg)
    fr = np.tile(np.arange(rf, dtype=np.int64), cf * copies)
    fc = np.tile(np.repeat(np.arange(cf, dtype=np.int64), rf), copies)
    k0 = fr * r
    n0 = fc * c
    k_used = np.minimum(r, kc - k0)
    n_used = np.minimum(c, ncol - n0)
    folds = rf * cf * copies
    idx = np.arange(folds, dtype=np.int64)
    if not cfg.weight_double_buffer:
        period = 2 * r + c + t - 2
        load = idx * period
        stream = load + r
    else:
        step = max(t, 2 * r + c - 1)
        stream = r + idx * step
        load = np.empty(folds, dtype=np.int64)
        load[0] = 0
        load[1:] = stream[:-1] + r + c - 1
        # s[f+1] - ld[f+1] = step - (R + C - 1) >= R: the load is done before streaming starts.
    total = int(stream[-1]) + t + r + c - 2
    return WSFoldSchedule(
        rows=r,
        cols=c,
        t=t,
        kc=kc,
        ncol=ncol,
        copies=copies,
        k0=k0,
        k_used=k_used,
        n0=n0,
        n_used=n_used,
        load_start=load,
        stream_start=stream,
        total_cycles=total,
    )
