"""Per-cycle kernels of the dataflows that load a stationary operand, then stream: weight
stationary (WS) and input stationary (IS). The reference the RTL is held to.

Every cycle they step every PE register of an ``R x C`` array following a fold schedule
(:mod:`dataflow.nm_array.schedule`, timing in :mod:`dataflow.nm_array.weight_stationary` and
:mod:`dataflow.nm_array.input_stationary`):

- load: a row of ``C`` stationary entries enters the top row's shadow registers and the shadow
  registers shift down one row per cycle, for ``R`` cycles (bottom row first). WS loads weights
  ``(value, index)`` of condensed rows ``k0 + i``; IS loads the ``M`` activation lanes of group
  ``(k0 + i) // N`` of X's rows ``p0 + j``;
- stream: PE row ``i`` receives element ``t`` of the fold's stream at ``s + t + i``, which moves
  right one column per cycle. WS streams X's rows ``p0 + t`` as the ``M`` lanes of row ``i``'s
  group; IS streams the weights ``(value, index)`` of condensed row ``k0 + i``, column ``n0 + t``;
- a PE copies shadow -> active when its fold's first element (``t = 0``) arrives; its M:1
  multiplexer selects a lane by the weight's index (WS: ``active value * lanes[active index]``,
  IS: ``streamed value * active lanes[streamed index]``) and adds the product to the partial sum
  arriving from above (0 at the top row), wrapping at ``acc_bits``; partial sums move down;
- the bottom row emits, per column, one partial sum per streamed element: ``(fold, t, col)`` with
  its value and the cycle it leaves the array.

Two implementations that must agree exactly (tested): :func:`run_numba`, the fast kernel, which
models each row's stream shift register as a delay line (a shift register *is* one), and
:func:`simulator.nm_array.twin.run_load_twin`, a slow twin that keeps explicit shift registers and
steps them with numpy.
Both check the schedule's hazards (a PE swapping in an operand not loaded yet, partial sums of
different elements colliding).
"""

from __future__ import annotations

import numba
import numpy as np

from simulator.nm_array.cl_ops import acc_add, stream_enter

__all__ = ["MODE_WS", "MODE_IS", "OK", "HAZARD_SWAP", "HAZARD_PSUM", "run_numba"]

MODE_WS, MODE_IS = 0, 1
# error codes reported by the kernels (0 = fine)
OK, HAZARD_SWAP, HAZARD_PSUM = 0, 1, 2


@numba.njit(cache=True, nogil=True)
def run_numba(mode, x, wv, wi, n, m, r, c, k0, ku, p0, pu, n0, nu, ld, st, total, acc_bits, out_val, out_cyc):
    folds = k0.shape[0]
    zero = wv[0, 0] * 0
    slen = pu if mode == MODE_WS else nu  # elements each fold streams
    # stationary registers: shadow (being loaded) and active; WS uses value/index, IS the lanes
    shadow_v = np.zeros((r, c), dtype=wv.dtype)
    shadow_i = np.zeros((r, c), dtype=np.int64)
    shadow_x = np.zeros((r, c, m), dtype=x.dtype)
    shadow_f = np.full((r, c), -1, dtype=np.int64)
    shadow_r = np.full((r, c), -1, dtype=np.int64)
    act_v = np.zeros((r, c), dtype=wv.dtype)
    act_i = np.zeros((r, c), dtype=np.int64)
    act_x = np.zeros((r, c, m), dtype=x.dtype)
    last = -1
    # delay line per row: what entered row i at cycle e sits in slot e % c
    ring_x = np.zeros((r, c, m), dtype=x.dtype)
    ring_v = np.zeros((r, c), dtype=wv.dtype)
    ring_i = np.zeros((r, c), dtype=np.int64)
    ring_cyc = np.full((r, c), -1, dtype=np.int64)
    ring_f = np.zeros((r, c), dtype=np.int64)
    ring_t = np.zeros((r, c), dtype=np.int64)
    ps_v = np.zeros((r, c), dtype=out_val.dtype)
    ps_ok = np.zeros((r, c), dtype=np.bool_)
    ps_f = np.zeros((r, c), dtype=np.int64)
    ps_t = np.zeros((r, c), dtype=np.int64)
    row_fold = np.zeros(r, dtype=np.int64)
    lf = 0
    for cyc in range(total):
        # 1. load into shadow registers
        if lf < folds and ld[lf] <= cyc < ld[lf] + r:
            for i in range(r - 1, 0, -1):
                for j in range(c):
                    shadow_v[i, j] = shadow_v[i - 1, j]
                    shadow_i[i, j] = shadow_i[i - 1, j]
                    for q in range(m):
                        shadow_x[i, j, q] = shadow_x[i - 1, j, q]
                    shadow_f[i, j] = shadow_f[i - 1, j]
                    shadow_r[i, j] = shadow_r[i - 1, j]
            rr = r - 1 - (cyc - ld[lf])
            width = nu[lf] if mode == MODE_WS else pu[lf]
            for j in range(c):
                use = rr < ku[lf] and j < width
                shadow_v[0, j] = zero
                shadow_i[0, j] = 0
                for q in range(m):
                    shadow_x[0, j, q] = 0
                if use and mode == MODE_WS:
                    shadow_v[0, j] = wv[k0[lf] + rr, n0[lf] + j]
                    shadow_i[0, j] = wi[k0[lf] + rr, n0[lf] + j]
                elif use:
                    g = (k0[lf] + rr) // n
                    for q in range(m):
                        shadow_x[0, j, q] = x[p0[lf] + j, g * m + q]
                shadow_f[0, j] = lf
                shadow_r[0, j] = rr
            if cyc == ld[lf] + r - 1:
                lf += 1
        # 2. the stream entering each row
        slot = cyc % c
        for i in range(r):
            f, t = stream_enter(cyc, i, st, slen, folds, row_fold, ring_cyc, ring_f, ring_t, slot)
            if f >= 0:
                ring_v[i, slot] = zero
                ring_i[i, slot] = 0
                for q in range(m):
                    ring_x[i, slot, q] = 0
                if i < ku[f]:
                    if mode == MODE_WS:
                        g = (k0[f] + i) // n
                        for q in range(m):
                            ring_x[i, slot, q] = x[p0[f] + t, g * m + q]
                    else:
                        ring_v[i, slot] = wv[k0[f] + i, n0[f] + t]
                        ring_i[i, slot] = wi[k0[f] + i, n0[f] + t]
        # 3. PEs, bottom row first so the row above still holds last cycle's partial sums
        for i in range(r - 1, -1, -1):
            for j in range(c):
                e = (cyc - j) % c
                if cyc - j < 0 or ring_cyc[i, e] != cyc - j:
                    ps_ok[i, j] = False
                    continue
                f = ring_f[i, e]
                t = ring_t[i, e]
                if t == 0:
                    if shadow_f[i, j] != f or shadow_r[i, j] != i or cyc < ld[f] + r:
                        return HAZARD_SWAP, cyc
                    act_v[i, j] = shadow_v[i, j]
                    act_i[i, j] = shadow_i[i, j]
                    for q in range(m):
                        act_x[i, j, q] = shadow_x[i, j, q]
                if i == 0:
                    pin = out_val[0, 0, 0] * 0
                else:
                    if not ps_ok[i - 1, j] or ps_f[i - 1, j] != f or ps_t[i - 1, j] != t:
                        return HAZARD_PSUM, cyc
                    pin = ps_v[i - 1, j]
                if mode == MODE_WS:
                    prod = act_v[i, j] * ring_x[i, e, act_i[i, j]]
                else:
                    prod = ring_v[i, e] * act_x[i, j, ring_i[i, e]]
                ps_v[i, j] = acc_add(pin, prod, acc_bits)
                ps_ok[i, j] = True
                ps_f[i, j] = f
                ps_t[i, j] = t
                if i == r - 1:
                    last = cyc
                    out_val[f, t, j] = ps_v[i, j]
                    out_cyc[f, t, j] = cyc
    return OK, last + 1
