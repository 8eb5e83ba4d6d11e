"""Per-cycle kernels of the output-stationary (OS) dataflow (timing and PE datapath in
:mod:`dataflow.nm_array.output_stationary`).

Every cycle they step every PE of an ``R x C`` array:

- row ``i`` receives streamed element ``t`` (condensed row ``k0 + t`` of W) at ``s + t + i``: the
  ``M`` activation lanes of group ``(k0 + t) // N`` of X's row ``p0 + i`` (zeros for unused rows);
  lanes move right one column per cycle;
- column ``j`` receives the weight ``(value, index)`` of condensed row ``k0 + t`` and column
  ``n0 + j`` at ``s + t + j`` (zeros for unused columns); weights move down one row per cycle;
- PE(i, j) sees both at ``s + t + i + j``: ``acc = (t == 0 ? 0 : acc) + value * lanes[index]``,
  wrapping at ``acc_bits``; at its last element the accumulator goes out on column ``j``'s output
  bus in that cycle: ``(fold, i, j)`` with its value and cycle.

Two implementations that must agree exactly (tested): :func:`run_numba` keeps each row's and each
column's stream as a delay line; :func:`simulator.nm_array.twin.run_os_twin` keeps explicit shift
registers. Both check the
hazards a wrong schedule would cause: streams out of step at a PE, an accumulator taken over by the
next fold before it finished, two outputs on one column bus in one cycle.
"""

from __future__ import annotations

import numba
import numpy as np

from simulator.nm_array.cl_ops import acc_add, stream_enter

__all__ = ["OK", "HAZARD_STREAMS", "HAZARD_ACC", "HAZARD_BUS", "run_numba"]

OK, HAZARD_STREAMS, HAZARD_ACC, HAZARD_BUS = 0, 3, 4, 5


@numba.njit(cache=True, nogil=True)
def run_numba(x, wv, wi, n, m, r, c, k0, ku, p0, pu, n0, nu, st, total, acc_bits, out_val, out_cyc):
    folds = k0.shape[0]
    zero = wv[0, 0] * 0
    # row delay lines (what entered row i at cycle e sits in slot e % c) and column delay lines
    rx = np.zeros((r, c, m), dtype=x.dtype)
    rcyc = np.full((r, c), -1, dtype=np.int64)
    rf = np.zeros((r, c), dtype=np.int64)
    rt = np.zeros((r, c), dtype=np.int64)
    cv = np.zeros((c, r), dtype=wv.dtype)
    ci = np.zeros((c, r), dtype=np.int64)
    ccyc = np.full((c, r), -1, dtype=np.int64)
    cf = np.zeros((c, r), dtype=np.int64)
    ct = np.zeros((c, r), dtype=np.int64)
    acc = np.zeros((r, c), dtype=out_val.dtype)
    acc_f = np.full((r, c), -1, dtype=np.int64)
    acc_t = np.full((r, c), -1, dtype=np.int64)
    bus = np.full(c, -1, dtype=np.int64)
    row_fold = np.zeros(r, dtype=np.int64)
    col_fold = np.zeros(c, dtype=np.int64)
    last = -1
    for cyc in range(total):
        rs = cyc % c
        for i in range(r):
            f, t = stream_enter(cyc, i, st, ku, folds, row_fold, rcyc, rf, rt, rs)
            if f >= 0:
                g = (k0[f] + t) // n
                for q in range(m):
                    rx[i, rs, q] = x[p0[f] + i, g * m + q] if i < pu[f] else 0
        cs = cyc % r
        for j in range(c):
            f, t = stream_enter(cyc, j, st, ku, folds, col_fold, ccyc, cf, ct, cs)
            if f >= 0:
                if j < nu[f]:
                    cv[j, cs] = wv[k0[f] + t, n0[f] + j]
                    ci[j, cs] = wi[k0[f] + t, n0[f] + j]
                else:
                    cv[j, cs] = zero
                    ci[j, cs] = 0
        for i in range(r):
            for j in range(c):
                er = (cyc - j) % c
                ec = (cyc - i) % r
                has_r = cyc - j >= 0 and rcyc[i, er] == cyc - j
                has_c = cyc - i >= 0 and ccyc[j, ec] == cyc - i
                if not has_r and not has_c:
                    continue
                if has_r != has_c or rf[i, er] != cf[j, ec] or rt[i, er] != ct[j, ec]:
                    return HAZARD_STREAMS, cyc
                f = rf[i, er]
                t = rt[i, er]
                prod = cv[j, ec] * rx[i, er, ci[j, ec]]
                if t == 0:
                    if acc_f[i, j] >= 0 and acc_t[i, j] != ku[acc_f[i, j]] - 1:
                        return HAZARD_ACC, cyc
                    acc[i, j] = acc_add(out_val[0, 0, 0] * 0, prod, acc_bits)
                else:
                    if acc_f[i, j] != f or acc_t[i, j] != t - 1:
                        return HAZARD_ACC, cyc
                    acc[i, j] = acc_add(acc[i, j], prod, acc_bits)
                acc_f[i, j] = f
                acc_t[i, j] = t
                if t == ku[f] - 1:
                    if bus[j] == cyc:
                        return HAZARD_BUS, cyc
                    bus[j] = cyc
                    out_val[f, i, j] = acc[i, j]
                    out_cyc[f, i, j] = cyc
                    last = cyc
    return OK, last + 1
