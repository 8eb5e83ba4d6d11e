"""Host SpGEMM: row-wise hash (Nagasaka et al.), numba, parallel over rows. Real speed on this CPU.

Why: SMASH's premise is that hash accumulation beats the alternatives; before modelling it on a
simulated PIUMA we show it on the host, against ``scipy.sparse``'s Gustavson (SMMP) on the same
matrices (``benchmarks/bench_spgemm.py``).

Two phases, as Nagasaka's: symbolic, then numeric. The symbolic phase counts each output row's
distinct columns; ours uses a marker array per chunk (one access per partial product) instead of
a hash set, which took R-MAT scale 16 from 1.3x to 1.8x scipy's speed on this 2-core machine.
The numeric phase accumulates into a hash table and writes the row out in insertion order (rows
are not sorted, like scipy's result). Rows are split into chunks of equal flops, several per
thread, so a few heavy R-MAT rows do not serialise the run; each chunk owns one table sized for
its heaviest row, and each row uses only its first ``2^ceil(log2(2 x flops))`` slots (capped at
the column count), hash ``(j * 107) & (size - 1)``, linear probing.
"""

from __future__ import annotations

import numba
import numpy as np
import scipy.sparse as sp

from dataflow.spgemm.chunks import flop_chunks
from simulator.spgemm.fl import _check, _row_flops
from simulator.spgemm.hashing import slot as _slot

__all__ = ["spgemm_host", "huge_empty", "row_nnz"]


def huge_empty(n: int, dtype) -> np.ndarray:
    """``np.empty`` backed by an anonymous mapping advised for transparent huge pages.

    Why: C of R-MAT scale 16 is ~2 GB; with 4 KiB pages, first-touch page faults cost more than a
    second of kernel time. Where the kernel ignores the advice this is an ordinary allocation.
    """
    import mmap

    nbytes = max(1, int(n) * np.dtype(dtype).itemsize)
    if nbytes < (64 << 20):
        return np.empty(n, dtype=dtype)
    buf = mmap.mmap(-1, nbytes, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    if hasattr(buf, "madvise") and hasattr(mmap, "MADV_HUGEPAGE"):
        try:
            buf.madvise(mmap.MADV_HUGEPAGE)
        except OSError:
            pass
    return np.frombuffer(buf, dtype=dtype, count=n)


@numba.njit(cache=True)
def _table_size(flops, lo, hi, cap):
    m = 1
    for i in range(lo, hi):
        m = max(m, flops[i])
    return _row_mask(m, cap) + 1


@numba.njit(cache=True, inline="always")
def _row_mask(f, cap):
    """A row uses the first ``min(2^ceil(log2(2 f)), cap)`` slots of its chunk's table.

    ``cap`` is the power of two at or above the column count: a row cannot have more distinct
    columns than that, so a bigger table would only spread the row over more cache lines.
    """
    s = 1
    while s < 2 * f and s < cap:
        s *= 2
    return s - 1


@numba.njit(parallel=True, cache=True)
def _symbolic(a_ptr, a_idx, b_ptr, b_idx, flops, bounds, ncols, row_nnz):
    """Distinct columns per row, counted with a per-chunk marker array (the row id that last
    touched each column): one access per partial product, no probing. Only the count is needed
    here; the accumulation itself is hashed in :func:`_numeric`."""
    for c in numba.prange(bounds.shape[0] - 1):
        lo, hi = bounds[c], bounds[c + 1]
        mark = np.full(ncols, -1, dtype=np.int32)
        for i in range(lo, hi):
            nu = 0
            for p in range(a_ptr[i], a_ptr[i + 1]):
                k = a_idx[p]
                for q in range(b_ptr[k], b_ptr[k + 1]):
                    j = b_idx[q]
                    if mark[j] != i:
                        mark[j] = i
                        nu += 1
            row_nnz[i] = nu


@numba.njit(parallel=True, cache=True)
def _numeric(a_ptr, a_idx, a_val, b_ptr, b_idx, b_val, flops, bounds, cap, c_ptr, c_idx, c_val):
    for c in numba.prange(bounds.shape[0] - 1):
        lo, hi = bounds[c], bounds[c + 1]
        size = _table_size(flops, lo, hi, cap)
        keys = np.full(size, -1, dtype=np.int32)
        vals = np.zeros(size, dtype=np.float64)
        used = np.empty(size, dtype=np.int64)
        for i in range(lo, hi):
            mask = _row_mask(flops[i], cap)
            nu = 0
            for p in range(a_ptr[i], a_ptr[i + 1]):
                k = a_idx[p]
                av = a_val[p]
                for q in range(b_ptr[k], b_ptr[k + 1]):
                    j = b_idx[q]
                    h = _slot(j, mask, 0)
                    while keys[h] != -1 and keys[h] != j:
                        h = (h + 1) & mask
                    if keys[h] == -1:
                        keys[h] = j
                        vals[h] = av * b_val[q]
                        used[nu] = h
                        nu += 1
                    else:
                        vals[h] += av * b_val[q]
            base = c_ptr[i]
            for t in range(nu):
                h = used[t]
                c_idx[base + t] = keys[h]
                c_val[base + t] = vals[h]
                keys[h] = -1


def spgemm_host(a, b, *, threads: int | None = None, chunks_per_thread: int = 8, sort: bool = False) -> sp.csr_matrix:
    """``A @ B`` with the parallel hash kernel; rows unsorted unless ``sort``."""
    a, b = _check(a, b)
    ap, ai, av = a.indptr.astype(np.int64), a.indices.astype(np.int64), a.data
    bp, bv = b.indptr.astype(np.int64), b.data
    bi32 = b.indices.astype(np.int32)
    flops = _row_flops(ap, ai, bp)
    nthreads = numba.get_num_threads() if threads is None else threads
    bounds = flop_chunks(flops, max(1, nthreads * chunks_per_thread))
    row_nnz = np.zeros(a.shape[0], dtype=np.int64)
    old = numba.get_num_threads()
    numba.set_num_threads(nthreads)
    try:
        cap = 1 << int(max(1, b.shape[1]) - 1).bit_length()
        _symbolic(ap, ai, bp, bi32, flops, bounds, b.shape[1], row_nnz)
        c_ptr = np.zeros(a.shape[0] + 1, dtype=np.int64)
        np.cumsum(row_nnz, out=c_ptr[1:])
        idx_dtype = np.int32
        c_idx = huge_empty(int(c_ptr[-1]), idx_dtype)
        c_val = huge_empty(int(c_ptr[-1]), np.float64)
        _numeric(ap, ai, av, bp, bi32, bv, flops, bounds, cap, c_ptr, c_idx, c_val)
    finally:
        numba.set_num_threads(old)
    ptr_dtype = np.int32 if c_ptr[-1] < 2**31 else np.int64
    c = sp.csr_matrix((c_val, c_idx, c_ptr.astype(ptr_dtype, copy=False)), shape=(a.shape[0], b.shape[1]))
    if sort:
        c.sort_indices()
    return c


def row_nnz(a, b) -> np.ndarray:
    """Non-zeros of every row of ``A @ B`` (the symbolic phase alone)."""
    a, b = _check(a, b)
    ap, ai = a.indptr.astype(np.int64), a.indices.astype(np.int64)
    bp, bi32 = b.indptr.astype(np.int64), b.indices.astype(np.int32)
    flops = _row_flops(ap, ai, bp)
    bounds = flop_chunks(flops, max(1, numba.get_num_threads() * 8))
    out = np.zeros(a.shape[0], dtype=np.int64)
    _symbolic(ap, ai, bp, bi32, flops, bounds, b.shape[1], out)
    return out
