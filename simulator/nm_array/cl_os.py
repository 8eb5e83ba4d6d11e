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
column's stream as a delay line; :func:`run_numpy` keeps explicit shift registers. Both check the
hazards a wrong schedule would cause: streams out of step at a PE, an accumulator taken over by the
next fold before it finished, two outputs on one column bus in one cycle.
"""

from __future__ import annotations

import numba
import numpy as np

from simulator.common.bits import wrap_signed
from simulator.nm_array.cl_ops import acc_add

__all__ = ["OK", "HAZARD_STREAMS", "HAZARD_ACC", "HAZARD_BUS", "run_numba", "run_numpy"]

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
            f = row_fold[i]
            while f < folds and cyc >= st[f] + i + ku[f]:
                f += 1
            row_fold[i] = f
            if f < folds and cyc >= st[f] + i:
                t = cyc - st[f] - i
                rcyc[i, rs] = cyc
                rf[i, rs] = f
                rt[i, rs] = t
                g = (k0[f] + t) // n
                for q in range(m):
                    rx[i, rs, q] = x[p0[f] + i, g * m + q] if i < pu[f] else 0
            else:
                rcyc[i, rs] = -1
        cs = cyc % r
        for j in range(c):
            f = col_fold[j]
            while f < folds and cyc >= st[f] + j + ku[f]:
                f += 1
            col_fold[j] = f
            if f < folds and cyc >= st[f] + j:
                t = cyc - st[f] - j
                ccyc[j, cs] = cyc
                cf[j, cs] = f
                ct[j, cs] = t
                if j < nu[f]:
                    cv[j, cs] = wv[k0[f] + t, n0[f] + j]
                    ci[j, cs] = wi[k0[f] + t, n0[f] + j]
                else:
                    cv[j, cs] = zero
                    ci[j, cs] = 0
            else:
                ccyc[j, cs] = -1
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


def run_numpy(x, wv, wi, n, m, r, c, k0, ku, p0, pu, n0, nu, st, total, acc_bits, out_val, out_cyc):
    """Numpy twin of :func:`run_numba` with explicit shift registers (slow; for tests)."""
    integer = np.issubdtype(out_val.dtype, np.integer)
    rows, cols = np.arange(r), np.arange(c)
    a_x = np.zeros((r, c, m), dtype=x.dtype)  # activation lanes at PE(i, j), moving right
    a_ok = np.zeros((r, c), dtype=bool)
    a_f = np.zeros((r, c), dtype=np.int64)
    a_t = np.zeros((r, c), dtype=np.int64)
    b_v = np.zeros((r, c), dtype=wv.dtype)  # weights at PE(i, j), moving down
    b_i = np.zeros((r, c), dtype=np.int64)
    b_ok = np.zeros((r, c), dtype=bool)
    b_f = np.zeros((r, c), dtype=np.int64)
    b_t = np.zeros((r, c), dtype=np.int64)
    acc = np.zeros((r, c), dtype=out_val.dtype)
    acc_f = np.full((r, c), -1, dtype=np.int64)
    acc_t = np.full((r, c), -1, dtype=np.int64)
    last = -1

    def entering(cyc, lanes):  # (ok, fold, t) of the element entering each of ``lanes`` rows/cols
        d = cyc - st[None, :] - lanes[:, None]
        live = (d >= 0) & (d < ku[None, :])
        ok = live.any(axis=1)
        f = np.argmax(live, axis=1)
        return ok, f, np.where(ok, d[lanes, f], 0)

    for cyc in range(total):
        for reg in (a_x, a_ok, a_f, a_t):
            reg[:, 1:] = reg[:, :-1].copy()
        for reg in (b_v, b_i, b_ok, b_f, b_t):
            reg[1:] = reg[:-1].copy()
        ok, f, t = entering(cyc, rows)
        a_ok[:, 0], a_f[:, 0], a_t[:, 0] = ok, f, t
        for i in range(r):
            a_x[i, 0] = 0
            if ok[i] and i < pu[f[i]]:
                g = (k0[f[i]] + t[i]) // n
                a_x[i, 0] = x[p0[f[i]] + i, g * m : (g + 1) * m]
        ok, f, t = entering(cyc, cols)
        b_ok[0], b_f[0], b_t[0] = ok, f, t
        b_v[0], b_i[0] = 0, 0
        for j in range(c):
            if ok[j] and j < nu[f[j]]:
                b_v[0, j] = wv[k0[f[j]] + t[j], n0[f[j]] + j]
                b_i[0, j] = wi[k0[f[j]] + t[j], n0[f[j]] + j]
        work = a_ok | b_ok
        if (work & ((a_ok != b_ok) | (a_f != b_f) | (a_t != b_t))).any():
            return HAZARD_STREAMS, cyc
        sel = np.take_along_axis(a_x, b_i[:, :, None], axis=2)[:, :, 0]
        if integer:
            prod = b_v.astype(np.int64) * sel.astype(np.int64)
        else:
            prod = b_v * sel
        first = work & (a_t == 0)
        prev_done = (acc_f < 0) | (acc_t == ku[np.maximum(acc_f, 0)] - 1)
        if (first & ~prev_done).any() or (work & ~first & ((acc_f != a_f) | (acc_t != a_t - 1))).any():
            return HAZARD_ACC, cyc
        new = np.where(first, prod, acc + prod)
        if integer:
            new = wrap_signed(new, acc_bits)
        acc = np.where(work, new, acc).astype(out_val.dtype)
        acc_f = np.where(work, a_f, acc_f)
        acc_t = np.where(work, a_t, acc_t)
        done = work & (a_t == ku[a_f] - 1)
        if (done.sum(axis=0) > 1).any():
            return HAZARD_BUS, cyc
        for i, j in zip(*np.nonzero(done), strict=True):
            out_val[a_f[i, j], i, j] = acc[i, j]
            out_cyc[a_f[i, j], i, j] = cyc
            last = cyc
    return OK, last + 1
