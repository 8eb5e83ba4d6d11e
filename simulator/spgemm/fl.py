"""Functional SpGEMM algorithms, C = A x B on CSR: values plus the operation counts a machine pays.

Why several algorithms in one oracle module: the SMASH study compares dataflows, not just results.
Each function returns ``(C, counts)``; ``C`` equals ``scipy.sparse`` ``A @ B`` (values to float
tolerance, same sparsity pattern; tested), and ``counts`` are what the cycle model of the
PIUMA-like machine charges:

- ``inner``: for every (non-empty row i of A, non-empty column j of B), merge-intersect the two
  fibres. Counts: pairs tried, elements fetched (redundant fetches: row i is re-read for every j),
  MACs, outputs. O(rows x cols): for small matrices only.
- ``outer``: for every k, the outer product of column k of A and row k of B, then a merge of all
  partial products (sort by (i, j), sum). Counts: partial products, merge compares (P log2 P).
- ``gustavson_spa``: row by row, a dense accumulator (SPA) and a list of touched columns.
- ``hash`` (Nagasaka et al.): row by row, a power-of-two table of at least 2 x the row's flops,
  hash ``(j * 107) & (size - 1)`` (the hash unit's, :func:`simulator.hash_unit.config.slot_of`),
  linear probing. Counts: probes.
- ``smash_v1/v2/v3`` (our reading of SMASH, papers.md): rows are handed out in windows whose
  flops fit one scratchpad hash table; every partial product is an atomic add into the table keyed
  by (row in window r, column j), hash ``(r * 2654435761 + j * 107) & (size - 1)`` (Knuth's
  multiplier spreads the rows; 107 is Nagasaka's for columns), linear probing; then the table is
  drained (write-back) into C.
  V1 stores a two-word key (row, column) + value per entry; V2 "tokenization" packs row and column
  into one word (one token per atomic), so an entry is 2 words instead of 3 and windows hold 1.5x
  the flops; V3 "fragmenting memory" splits the table into fragments, one per scratchpad bank
  (a row hashes only into its fragment), which removes bank conflicts in the cycle model.

All kernels are numba; the reference they are tested against is ``scipy.sparse`` (numpy-based),
and each kernel's pure-Python body (``.py_func``) on tiny inputs.
"""

from __future__ import annotations

import numba
import numpy as np
import scipy.sparse as sp

from dataflow.spgemm.windows import smash_limits, smash_windows
from simulator.common.errors import SparsimInputError
from simulator.spgemm.config import (
    ALGORITHMS,
    FL_MAX_FLOPS,
    FL_MAX_FLOPS_OUTER,
    SmashConfig,
    check_work,
)
from simulator.spgemm.hashing import slot as _slot

__all__ = ["spgemm", "row_flops"]


@numba.njit(cache=True)
def _row_flops(a_ptr, a_idx, b_ptr):
    n = a_ptr.shape[0] - 1
    out = np.zeros(n, dtype=np.int64)
    for i in range(n):
        s = 0
        for p in range(a_ptr[i], a_ptr[i + 1]):
            k = a_idx[p]
            s += b_ptr[k + 1] - b_ptr[k]
        out[i] = s
    return out


def row_flops(a: sp.csr_matrix, b: sp.csr_matrix) -> np.ndarray:
    """Multiplications each row of C needs (the partial products it receives)."""
    return _row_flops(a.indptr.astype(np.int64), a.indices.astype(np.int64), b.indptr.astype(np.int64))


# ---------------------------------------------------------------------------------------------
# Gustavson with a dense accumulator


@numba.njit(cache=True)
def _spa(a_ptr, a_idx, a_val, b_ptr, b_idx, b_val, ncols):
    n = a_ptr.shape[0] - 1
    acc = np.zeros(ncols, dtype=np.float64)
    mark = np.full(ncols, -1, dtype=np.int64)
    touched = np.empty(ncols, dtype=np.int64)
    c_ptr = np.zeros(n + 1, dtype=np.int64)
    cap = 1024
    c_idx = np.empty(cap, dtype=np.int64)
    c_val = np.empty(cap, dtype=np.float64)
    macs = 0
    for i in range(n):
        nt = 0
        for p in range(a_ptr[i], a_ptr[i + 1]):
            k = a_idx[p]
            av = a_val[p]
            for q in range(b_ptr[k], b_ptr[k + 1]):
                j = b_idx[q]
                if mark[j] != i:
                    mark[j] = i
                    acc[j] = 0.0
                    touched[nt] = j
                    nt += 1
                acc[j] += av * b_val[q]
                macs += 1
        cols = np.sort(touched[:nt])
        base = c_ptr[i]
        if base + nt > cap:
            while base + nt > cap:
                cap *= 2
            c_idx = _grow_i(c_idx, cap)
            c_val = _grow_f(c_val, cap)
        for t in range(nt):
            c_idx[base + t] = cols[t]
            c_val[base + t] = acc[cols[t]]
        c_ptr[i + 1] = base + nt
    return c_ptr, c_idx[: c_ptr[n]], c_val[: c_ptr[n]], macs


@numba.njit(cache=True)
def _grow_i(a, cap):
    out = np.empty(cap, dtype=a.dtype)
    out[: a.shape[0]] = a
    return out


@numba.njit(cache=True)
def _grow_f(a, cap):
    out = np.empty(cap, dtype=a.dtype)
    out[: a.shape[0]] = a
    return out


# ---------------------------------------------------------------------------------------------
# Row-wise hash (Nagasaka): sequential, with probe counts


@numba.njit(cache=True)
def _hash_rows(a_ptr, a_idx, a_val, b_ptr, b_idx, b_val, flops):
    n = a_ptr.shape[0] - 1
    total = 0
    for i in range(n):
        total += flops[i]
    c_ptr = np.zeros(n + 1, dtype=np.int64)
    c_idx = np.empty(total, dtype=np.int64)
    c_val = np.empty(total, dtype=np.float64)
    maxf = 1
    for i in range(n):
        maxf = max(maxf, flops[i])
    size_max = 1
    while size_max < 2 * maxf:
        size_max *= 2
    keys = np.full(size_max, -1, dtype=np.int64)
    vals = np.zeros(size_max, dtype=np.float64)
    probes = 0
    table_words = 0
    for i in range(n):
        size = 1
        while size < 2 * flops[i]:
            size *= 2
        mask = size - 1
        table_words += size
        for s in range(size):
            keys[s] = -1
        for p in range(a_ptr[i], a_ptr[i + 1]):
            k = a_idx[p]
            av = a_val[p]
            for q in range(b_ptr[k], b_ptr[k + 1]):
                j = b_idx[q]
                h = _slot(j, mask, 0)
                while True:
                    probes += 1
                    if keys[h] == j:
                        vals[h] += av * b_val[q]
                        break
                    if keys[h] == -1:
                        keys[h] = j
                        vals[h] = av * b_val[q]
                        break
                    h = (h + 1) & mask
        nt = 0
        base = c_ptr[i]
        for s in range(size):
            if keys[s] != -1:
                c_idx[base + nt] = keys[s]
                c_val[base + nt] = vals[s]
                nt += 1
        order = np.argsort(c_idx[base : base + nt])
        c_idx[base : base + nt] = c_idx[base : base + nt][order]
        c_val[base : base + nt] = c_val[base : base + nt][order]
        c_ptr[i + 1] = base + nt
    return c_ptr, c_idx[: c_ptr[n]].copy(), c_val[: c_ptr[n]].copy(), probes, table_words


# ---------------------------------------------------------------------------------------------
# Outer product with merge


@numba.njit(cache=True)
def _outer(a_csc_ptr, a_csc_idx, a_csc_val, b_ptr, b_idx, b_val, nrows, ncols, flops_total):
    rows = np.empty(flops_total, dtype=np.int64)
    cols = np.empty(flops_total, dtype=np.int64)
    vals = np.empty(flops_total, dtype=np.float64)
    t = 0
    kdim = a_csc_ptr.shape[0] - 1
    for k in range(kdim):
        for p in range(a_csc_ptr[k], a_csc_ptr[k + 1]):
            i = a_csc_idx[p]
            av = a_csc_val[p]
            for q in range(b_ptr[k], b_ptr[k + 1]):
                rows[t] = i
                cols[t] = b_idx[q]
                vals[t] = av * b_val[q]
                t += 1
    key = rows * ncols + cols
    order = np.argsort(key, kind="mergesort")
    c_ptr = np.zeros(nrows + 1, dtype=np.int64)
    c_idx = np.empty(t, dtype=np.int64)
    c_val = np.empty(t, dtype=np.float64)
    out = 0
    last = -1
    for s in range(t):
        o = order[s]
        if key[o] != last:
            c_idx[out] = cols[o]
            c_val[out] = vals[o]
            c_ptr[rows[o] + 1] += 1
            out += 1
            last = key[o]
        else:
            c_val[out - 1] += vals[o]
    for i in range(nrows):
        c_ptr[i + 1] += c_ptr[i]
    return c_ptr, c_idx[:out].copy(), c_val[:out].copy(), t


# ---------------------------------------------------------------------------------------------
# Inner product


@numba.njit(cache=True)
def _inner(a_ptr, a_idx, a_val, bt_ptr, bt_idx, bt_val, nrows, ncols):
    c_ptr = np.zeros(nrows + 1, dtype=np.int64)
    cap = 1024
    c_idx = np.empty(cap, dtype=np.int64)
    c_val = np.empty(cap, dtype=np.float64)
    pairs = 0
    fetched = 0
    macs = 0
    out = 0
    for i in range(nrows):
        if a_ptr[i] == a_ptr[i + 1]:
            c_ptr[i + 1] = out
            continue
        for j in range(ncols):
            if bt_ptr[j] == bt_ptr[j + 1]:
                continue
            pairs += 1
            p, pe = a_ptr[i], a_ptr[i + 1]
            q, qe = bt_ptr[j], bt_ptr[j + 1]
            fetched += (pe - p) + (qe - q)
            s = 0.0
            hit = False
            while p < pe and q < qe:
                if a_idx[p] == bt_idx[q]:
                    s += a_val[p] * bt_val[q]
                    macs += 1
                    hit = True
                    p += 1
                    q += 1
                elif a_idx[p] < bt_idx[q]:
                    p += 1
                else:
                    q += 1
            if hit:
                if out == cap:
                    cap *= 2
                    c_idx = _grow_i(c_idx, cap)
                    c_val = _grow_f(c_val, cap)
                c_idx[out] = j
                c_val[out] = s
                out += 1
        c_ptr[i + 1] = out
    return c_ptr, c_idx[:out].copy(), c_val[:out].copy(), pairs, fetched, macs


# ---------------------------------------------------------------------------------------------
# SMASH: windows of rows, bounded scratchpad hash table, atomic adds, write-back


@numba.njit(cache=True)
def _smash(a_ptr, a_idx, a_val, b_ptr, b_idx, b_val, flops, ncols, entries, w_start, w_end, w_split, threads):
    n = a_ptr.shape[0] - 1
    total = 0
    for i in range(n):
        total += flops[i]
    size = 1
    while size * 2 <= entries:
        size *= 2
    keys = np.full(size, -1, dtype=np.int64)
    vals = np.zeros(size, dtype=np.float64)
    c_ptr = np.zeros(n + 1, dtype=np.int64)
    c_idx = np.empty(total, dtype=np.int64)
    c_val = np.empty(total, dtype=np.float64)
    probes = 0
    atomics = 0
    windows = 0
    overflow = 0
    written = 0
    frag = 1
    while frag * 2 <= size // threads:
        frag *= 2
    for w in range(w_start.shape[0]):
        start, end, split = w_start[w], w_end[w], w_split[w]
        if end == start:
            return c_ptr, c_idx, c_val, probes, atomics, windows, -1 - start, written
        windows += 1
        for s in range(size):
            keys[s] = -1
        for i in range(start, end):
            local = i - start
            if split:
                base_slot = (local % threads) * frag
                mask = frag - 1
            else:
                base_slot = 0
                mask = size - 1
            for p in range(a_ptr[i], a_ptr[i + 1]):
                k = a_idx[p]
                av = a_val[p]
                for q in range(b_ptr[k], b_ptr[k + 1]):
                    j = b_idx[q]
                    key = local * ncols + j
                    h = _slot(j, mask, local)
                    atomics += 1
                    tries = 0
                    while True:
                        probes += 1
                        slot = base_slot + h
                        if keys[slot] == key:
                            vals[slot] += av * b_val[q]
                            break
                        if keys[slot] == -1:
                            keys[slot] = key
                            vals[slot] = av * b_val[q]
                            break
                        h = (h + 1) & mask
                        tries += 1
                        if tries > mask:
                            overflow += 1
                            break
        # write-back: drain the table, rows in order
        cnt = np.zeros(end - start, dtype=np.int64)
        for s in range(size):
            if keys[s] != -1:
                cnt[keys[s] // ncols] += 1
        for r in range(end - start):
            c_ptr[start + r + 1] = c_ptr[start + r] + cnt[r]
        fill = np.zeros(end - start, dtype=np.int64)
        for s in range(size):
            if keys[s] != -1:
                r = keys[s] // ncols
                pos = c_ptr[start + r] + fill[r]
                c_idx[pos] = keys[s] % ncols
                c_val[pos] = vals[s]
                fill[r] += 1
                written += 1
        for r in range(end - start):
            lo, hi = c_ptr[start + r], c_ptr[start + r + 1]
            order = np.argsort(c_idx[lo:hi])
            c_idx[lo:hi] = c_idx[lo:hi][order]
            c_val[lo:hi] = c_val[lo:hi][order]
    return c_ptr, c_idx[: c_ptr[n]].copy(), c_val[: c_ptr[n]].copy(), probes, atomics, windows, overflow, written


# ---------------------------------------------------------------------------------------------


def _check(a, b) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    from workloads.matrices import canonical

    if a.shape[1] != b.shape[0]:
        raise SparsimInputError(
            "spgemm",
            "shape",
            f"{a.shape} x {b.shape}",
            f"A's columns ({a.shape[1]}) must equal B's rows ({b.shape[0]})",
        )
    return canonical(a), canonical(b)


def _arrays(m: sp.csr_matrix):
    return m.indptr.astype(np.int64), m.indices.astype(np.int64), m.data.astype(np.float64)


def spgemm(
    a, b, algorithm: str = "hash", smash: SmashConfig | None = None
) -> tuple[sp.csr_matrix, dict]:
    """``C = A x B`` with one of :data:`ALGORITHMS`; returns ``(C, counts)``."""
    if algorithm not in ALGORITHMS:
        raise SparsimInputError("--algorithm", "algorithm", algorithm, f"allowed: {', '.join(ALGORITHMS)}")
    a, b = _check(a, b)
    n, m = a.shape[0], b.shape[1]
    ap, ai, av = _arrays(a)
    bp, bi, bv = _arrays(b)
    flops = _row_flops(ap, ai, bp)
    total = int(flops.sum())
    if algorithm == "outer":
        check_work(total, FL_MAX_FLOPS_OUTER, "the functional outer product (24 bytes per partial product)")
    else:
        check_work(total, FL_MAX_FLOPS, "the functional model (16 bytes per partial product)")
    counts: dict = {"flops": int(flops.sum()), "nnz_a": int(a.nnz), "nnz_b": int(b.nnz)}
    if algorithm == "gustavson_spa":
        cp, ci, cv, macs = _spa(ap, ai, av, bp, bi, bv, m)
        counts.update(macs=int(macs), spa_words=m, b_row_fetches=int(a.nnz))
    elif algorithm == "hash":
        cp, ci, cv, probes, words = _hash_rows(ap, ai, av, bp, bi, bv, flops)
        counts.update(macs=int(flops.sum()), probes=int(probes), table_words=int(words))
    elif algorithm == "outer":
        ac = a.tocsc()
        cp, ci, cv, partial = _outer(
            ac.indptr.astype(np.int64),
            ac.indices.astype(np.int64),
            ac.data.astype(np.float64),
            bp,
            bi,
            bv,
            n,
            m,
            int(flops.sum()),
        )
        counts.update(partial_products=int(partial), merge_compares=int(partial * max(1.0, np.log2(max(partial, 2)))))
    elif algorithm == "inner":
        nr = int((np.diff(ap) > 0).sum())
        bt = b.tocsc()
        nc = int((np.diff(bt.indptr) > 0).sum())
        check_work(total, FL_MAX_FLOPS, "the functional model", pairs=nr * nc)
        cp, ci, cv, pairs, fetched, macs = _inner(
            ap, ai, av, bt.indptr.astype(np.int64), bt.indices.astype(np.int64), bt.data.astype(np.float64), n, m
        )
        counts.update(pairs=int(pairs), fetched=int(fetched), macs=int(macs))
    else:
        cfg = smash or SmashConfig()
        version = ALGORITHMS[algorithm].version
        entries = cfg.entries(version)
        size, limit, frag_limit = smash_limits(cfg, version)
        worst = int(np.minimum(flops, m).max(initial=0))
        per_row_cap = limit
        if worst > per_row_cap:
            row = int(np.minimum(flops, m).argmax())
            raise SparsimInputError(
                "smash",
                "table_bytes",
                cfg.table_bytes,
                f"too small for a window: row {row} alone can create {worst:,} entries, "
                f"the table takes {per_row_cap:,} at load factor {cfg.load_factor}",
            )
        w_start, w_end, w_split = smash_windows(flops, m, cfg, version)
        cp, ci, cv, probes, atomics, windows, overflow, written = _smash(
            ap, ai, av, bp, bi, bv, flops, m, entries, w_start, w_end, w_split, cfg.fragments
        )
        if overflow:
            raise RuntimeError(f"SMASH table overflowed {overflow} times: window cutting is broken")
        counts.update(
            atomics=int(atomics),
            probes=int(probes),
            windows=int(windows),
            overflows=int(overflow),
            writeback=int(written),
            table_entries=int(size),
        )
    c = sp.csr_matrix((cv, ci, cp), shape=(n, m))
    counts["nnz_c"] = int(c.nnz)
    return c, counts
