"""The N:M array's independent twins: the numpy per-cycle twins of the numba kernels, and the
word-by-word twin of the banked-SRAM stall model.

Why twins: every cycle model has an independently written twin and a test that they agree
exactly. The per-cycle kernels (:mod:`simulator.nm_array.cl_load` for WS and IS,
:mod:`simulator.nm_array.cl_os` for OS) keep each stream as a delay line; their twins here keep
explicit shift registers and step them with numpy (:func:`run_load_twin`, :func:`run_os_twin`;
``run_nm_array_cycles(..., engine="numpy")`` runs them). The fold model's twin is the per-cycle
model itself (``fold = CL`` on every dataflow, tests).

The banked-SRAM stalls (:mod:`simulator.nm_array.sram_banks`): the fast form folds a layer's
accesses into residue tables and prefix sums along arithmetic progressions; an error there (a
wrong step, a coset off by one, a short last group) would give plausible but wrong stalls.
:func:`twin_fold_stalls` follows that module docstring's table literally: for every fold, it
lists each access's words from the dataflow's description, puts each word in its line and bank,
and counts. It shares nothing with the fast form but the config. Slow (Python loops over words):
tests run it on small GEMMs.
"""

from __future__ import annotations

import numpy as np

from dataflow.nm_array.schedule import FoldSchedule
from simulator.common.bits import wrap_signed
from simulator.nm_array.cl_load import HAZARD_PSUM, HAZARD_SWAP, MODE_WS, OK
from simulator.nm_array.cl_os import HAZARD_ACC, HAZARD_BUS, HAZARD_STREAMS

__all__ = ["twin_fold_stalls", "run_load_twin", "run_os_twin"]


def _addr(layout_first: bool, rows: int, cols: int):
    """Address of element (i, j) of a ``rows x cols`` matrix whose columns are contiguous
    (``layout_first``) or whose rows are."""
    if layout_first:
        return lambda i, j: i * cols + j
    return lambda i, j: j * rows + i


def _cost(words: list[int], width: int, banks: int, ports: int) -> int:
    per_bank: dict[int, set[int]] = {}
    for a in words:
        line = a // width
        per_bank.setdefault(line % banks, set()).add(line)
    worst = max(len(s) for s in per_bank.values())
    return (worst + ports - 1) // ports


def twin_fold_stalls(sched: FoldSchedule, cfg, k: int, n: int, m: int) -> list[int]:
    """Stall cycles of every fold, by enumeration."""
    if not cfg.buffers.banks:
        return [0] * sched.folds
    w, b, ports = cfg.buffers.bank_width_words, cfg.buffers.banks, cfg.buffers.bank_ports
    big_p, kc, big_n = sched.t, sched.kc, sched.ncol
    dense = n == m
    kx = kc if dense else k
    xaddr = _addr(cfg.buffers.ifmap_layout == "k", big_p, kx)
    waddr = _addr(cfg.buffers.filter_layout == "n", kc, big_n)
    yaddr = _addr(cfg.buffers.ofmap_layout == "n", big_p, big_n)
    r = sched.rows
    out = []
    for f in range(sched.folds):
        p0, pu = int(sched.p0[f]), int(sched.p_used[f])
        k0, ku = int(sched.k0[f]), int(sched.k_used[f])
        n0, nu = int(sched.n0[f]), int(sched.n_used[f])
        ps, ks, ns = range(p0, p0 + pu), range(k0, k0 + ku), range(n0, n0 + nu)
        if dense:
            groups = [[kk] for kk in ks]  # one K position per "group"
        else:
            gs = sorted({kk // n for kk in ks})
            groups = [list(range(g * m, min(g * m + m, kx))) for g in gs]
        xcols = [x for grp in groups for x in grp]
        acc: dict[str, list[list[int]]] = {}
        if sched.dataflow == "ws":
            acc["ifmap"] = [[xaddr(p, x) for x in xcols] for p in ps]
            acc["filter"] = [[waddr(kk, nn) for nn in ns] for kk in ks]
            acc["ofmap"] = [[yaddr(p, nn) for nn in ns] for p in ps]
            win = {"ifmap": pu, "filter": r, "ofmap": pu}
        else:
            acc["ifmap"] = [[xaddr(p, x) for p in ps for x in grp] for grp in groups]
            if sched.dataflow == "os":
                acc["filter"] = [[waddr(kk, nn) for nn in ns] for kk in ks]
                acc["ofmap"] = [[yaddr(p, nn) for nn in ns] for p in ps]
                win = {"ifmap": ku, "filter": ku, "ofmap": pu}
            else:
                acc["filter"] = [[waddr(kk, nn) for kk in ks] for nn in ns]
                acc["ofmap"] = [[yaddr(p, nn) for p in ps] for nn in ns]
                win = {"ifmap": r, "filter": nu, "ofmap": nu}
        stall = 0
        for op, accesses in acc.items():
            demand = sum(_cost(a, w, b, ports) for a in accesses)
            stall = max(stall, demand - win[op])
        out.append(stall)
    return out


def run_load_twin(mode, x, wv, wi, n, m, r, c, k0, ku, p0, pu, n0, nu, ld, st, total, acc_bits, out_val, out_cyc):
    """Numpy twin of :func:`simulator.nm_array.cl_load.run_numba` (WS and IS) with explicit shift
    registers (slow; for tests)."""
    integer = np.issubdtype(out_val.dtype, np.integer)
    folds = k0.shape[0]
    slen = pu if mode == MODE_WS else nu
    shadow_v = np.zeros((r, c), dtype=wv.dtype)
    shadow_i = np.zeros((r, c), dtype=np.int64)
    shadow_x = np.zeros((r, c, m), dtype=x.dtype)
    shadow_f = np.full((r, c), -1, dtype=np.int64)
    shadow_r = np.full((r, c), -1, dtype=np.int64)
    act_v = np.zeros((r, c), dtype=wv.dtype)
    act_i = np.zeros((r, c), dtype=np.int64)
    act_x = np.zeros((r, c, m), dtype=x.dtype)
    last = -1
    a_x = np.zeros((r, c, m), dtype=x.dtype)  # the stream's registers at PE(i, j)
    a_v = np.zeros((r, c), dtype=wv.dtype)
    a_i = np.zeros((r, c), dtype=np.int64)
    a_ok = np.zeros((r, c), dtype=bool)
    a_f = np.zeros((r, c), dtype=np.int64)
    a_t = np.zeros((r, c), dtype=np.int64)
    ps_v = np.zeros((r, c), dtype=out_val.dtype)
    ps_ok = np.zeros((r, c), dtype=bool)
    ps_f = np.zeros((r, c), dtype=np.int64)
    ps_t = np.zeros((r, c), dtype=np.int64)
    rows = np.arange(r)
    cols = np.arange(c)
    lf = 0
    for cyc in range(total):
        if lf < folds and ld[lf] <= cyc < ld[lf] + r:
            for reg in (shadow_v, shadow_i, shadow_x, shadow_f, shadow_r):
                reg[1:] = reg[:-1].copy()
            rr = r - 1 - (cyc - ld[lf])
            width = nu[lf] if mode == MODE_WS else pu[lf]
            take = (rr < ku[lf]) & (cols < width)
            shadow_v[0], shadow_i[0], shadow_x[0] = 0, 0, 0
            if mode == MODE_WS:
                kr = min(k0[lf] + rr, wv.shape[0] - 1)
                ncols = np.minimum(n0[lf] + cols, wv.shape[1] - 1)
                shadow_v[0] = np.where(take, wv[kr, ncols], 0)
                shadow_i[0] = np.where(take, wi[kr, ncols], 0)
            elif rr < ku[lf]:
                g = (k0[lf] + rr) // n
                for j in np.nonzero(take)[0]:
                    shadow_x[0, j] = x[p0[lf] + j, g * m : (g + 1) * m]
            shadow_f[0] = lf
            shadow_r[0] = rr
            if cyc == ld[lf] + r - 1:
                lf += 1
        # shift the stream's registers right, then feed column 0
        for reg in (a_x, a_v, a_i, a_ok, a_f, a_t):
            reg[:, 1:] = reg[:, :-1].copy()
        d = cyc - st[None, :] - rows[:, None]  # [R, F] stream position of each fold at each row
        live = (d >= 0) & (d < slen[None, :])
        a_ok[:, 0] = live.any(axis=1)
        fsel = np.argmax(live, axis=1)
        a_f[:, 0] = fsel
        a_t[:, 0] = np.where(a_ok[:, 0], d[rows, fsel], 0)
        for i in range(r):
            a_x[i, 0], a_v[i, 0], a_i[i, 0] = 0, 0, 0
            f = fsel[i]
            if a_ok[i, 0] and i < ku[f]:
                t = a_t[i, 0]
                if mode == MODE_WS:
                    g = (k0[f] + i) // n
                    a_x[i, 0] = x[p0[f] + t, g * m : (g + 1) * m]
                else:
                    a_v[i, 0] = wv[k0[f] + i, n0[f] + t]
                    a_i[i, 0] = wi[k0[f] + i, n0[f] + t]
        # swap where a fold's first element arrives
        swap = a_ok & (a_t == 0)
        if swap.any():
            bad = swap & ((shadow_f != a_f) | (shadow_r != rows[:, None]) | (cyc < ld[a_f] + r))
            if bad.any():
                return HAZARD_SWAP, cyc
            act_v = np.where(swap, shadow_v, act_v)
            act_i = np.where(swap, shadow_i, act_i)
            act_x = np.where(swap[:, :, None], shadow_x, act_x)
        # partial sums: everything moves down one row at once
        pin = np.zeros((r, c), dtype=out_val.dtype)
        pin[1:] = ps_v[:-1]
        above_ok = np.ones((r, c), dtype=bool)
        above_ok[1:] = ps_ok[:-1] & (ps_f[:-1] == a_f[1:]) & (ps_t[:-1] == a_t[1:])
        if (a_ok & ~above_ok).any():
            return HAZARD_PSUM, cyc
        if mode == MODE_WS:
            weight, lanes, pick = act_v, a_x, act_i
        else:
            weight, lanes, pick = a_v, act_x, a_i
        sel = np.take_along_axis(lanes, pick[:, :, None], axis=2)[:, :, 0]
        if integer:
            new = wrap_signed(pin.astype(np.int64) + weight.astype(np.int64) * sel.astype(np.int64), acc_bits)
        else:
            new = pin + weight * sel
        ps_v = np.where(a_ok, new, ps_v).astype(out_val.dtype)
        ps_ok = a_ok.copy()
        ps_f = a_f.copy()
        ps_t = a_t.copy()
        if ps_ok[r - 1].any():
            last = cyc
        for j in np.nonzero(ps_ok[r - 1])[0]:
            out_val[ps_f[r - 1, j], ps_t[r - 1, j], j] = ps_v[r - 1, j]
            out_cyc[ps_f[r - 1, j], ps_t[r - 1, j], j] = cyc
    return OK, last + 1


def run_os_twin(x, wv, wi, n, m, r, c, k0, ku, p0, pu, n0, nu, st, total, acc_bits, out_val, out_cyc):
    """Numpy twin of :func:`simulator.nm_array.cl_os.run_numba` (OS) with explicit shift registers
    (slow; for tests)."""
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
