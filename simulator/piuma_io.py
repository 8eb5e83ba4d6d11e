"""Inner- and outer-product SpGEMM on the PIUMA-like machine (same instruction costs as
:mod:`simulator.piuma_cl`, whose timing primitives this engine shares in spirit but keeps its
own loop: these dataflows are not row-wise).

- ``inner``: output rows are dealt round-robin to all threads; for each non-empty column j of B a
  thread merge-intersects row i of A with column j of B (B in CSC): one load per merge step (the
  redundant fetches SMASH's thesis points at: row i is re-read for every j), an FMA per match, a
  posted store per non-zero result.
- ``outer``: phase 1, each thread takes columns k of A / rows k of B (round-robin) and writes every
  partial product ``(i, j, value)`` (16 bytes) to DRAM with a posted store; phase 2, the partial
  products are radix-sorted by (i, j) in ``passes`` passes, each pass a load, an ALU op and a
  scattered posted store per partial product, the partial products split evenly over all threads;
  phase 3, one load and one ALU op per partial product and a posted store per output. Phases and
  passes are separated by a global barrier over every thread of every core.
"""

from __future__ import annotations

import numba
import numpy as np

from simulator.piuma_cl import _heap_pop, _heap_push, _next_ready, cache_load, memory_params

__all__ = ["run_inner", "run_outer"]

_A_IDX, _B_IDX, _BT_PTR, _BT_IDX, _A_PTR = 1 << 40, 4 << 40, 6 << 40, 7 << 40, 0
_PART = 9 << 40


@numba.njit(cache=True)
def _engine(
    mode,
    a_ptr,
    a_idx,
    b_ptr,
    b_idx,
    bt_ptr,
    bt_idx,
    nz_cols,
    a_cptr,
    a_cidx,
    n_partial,
    n_out,
    passes,
    cores,
    threads,
    cache_sets,
    ways,
    line_shift,
    hit_cyc,
    dram_lat,
    line_cycles,
    dram_bpc,
    alu,
):
    """mode 0: inner, 1: outer. Returns stats (cycles, instructions, dram read, dram write, hits,
    misses, merge steps)."""
    nthreads = cores * threads
    n = a_ptr.shape[0] - 1
    tags = np.full((cores, cache_sets, ways), -1, dtype=np.int64)
    lru = np.zeros((cores, cache_sets, ways), dtype=np.int64)
    lready = np.zeros((cores, cache_sets, ways), dtype=np.float64)
    dram = np.zeros(1, dtype=np.float64)
    counters = np.zeros(4, dtype=np.int64)  # hits, misses, dram read bytes, merge steps
    dram_write = 0
    now = np.zeros(cores, dtype=np.float64)
    ht = np.zeros((cores, threads), dtype=np.float64)
    hid = np.zeros((cores, threads), dtype=np.int64)
    hn = np.zeros(cores, dtype=np.int64)
    rbits = np.zeros((cores, (threads + 63) >> 6), dtype=np.uint64)
    for cc in range(cores):
        for tt in range(threads):
            rbits[cc, tt >> 6] |= np.uint64(1) << np.uint64(tt & 63)
    nready = np.full(cores, threads, dtype=np.int64)
    rr = np.zeros(cores, dtype=np.int64)
    phase = np.zeros(nthreads, dtype=np.int64)
    item = np.zeros(nthreads, dtype=np.int64)  # row (inner) / k (outer phase 1) / position (2, 3)
    sub = np.zeros(nthreads, dtype=np.int64)  # column cursor (inner) / a cursor (outer)
    p = np.zeros(nthreads, dtype=np.int64)
    q = np.zeros(nthreads, dtype=np.int64)
    hit = np.zeros(nthreads, dtype=np.bool_)
    lim = np.zeros(nthreads, dtype=np.int64)
    for g in range(nthreads):
        item[g] = g
        lim[g] = -1
    parked = 0
    stage = 0  # outer: 0 multiply, 1..passes sort, passes+1 combine
    issued = 0
    stamp = 0
    while True:
        c = -1
        best = 1e300
        for cc in range(cores):
            if (nready[cc] > 0 or hn[cc] > 0) and now[cc] < best:
                best = now[cc]
                c = cc
        if c < 0:
            if parked == nthreads and mode == 1 and stage < passes + 1:
                stage += 1
                parked = 0
                t_rel = 0.0
                for cc in range(cores):
                    t_rel = max(t_rel, now[cc])
                total = n_partial
                per = -(-total // nthreads)
                for g in range(nthreads):
                    cc = g // threads
                    tt = g % threads
                    item[g] = g * per
                    lim[g] = min(total, (g + 1) * per)
                    phase[g] = 10
                    now[cc] = t_rel
                    _heap_push(ht, hid, hn, cc, t_rel + 1.0, tt)
                continue
            break
        t_now = now[c]
        while hn[c] > 0 and ht[c, 0] <= t_now:
            tid = _heap_pop(ht, hid, hn, c)
            rbits[c, tid >> 6] |= np.uint64(1) << np.uint64(tid & 63)
            nready[c] += 1
        if nready[c] == 0:
            now[c] = ht[c, 0]
            continue
        t = _next_ready(rbits, c, rr[c], threads)
        rr[c] = t
        rbits[c, t >> 6] &= ~(np.uint64(1) << np.uint64(t & 63))
        nready[c] -= 1
        g = c * threads + t
        issued += 1
        stamp += 1
        comp = t_now + alu
        addr = -1
        park = False
        ph = phase[g]
        if mode == 0:  # ------------------------------------------------------ inner product
            if ph == 0:  # next row
                if item[g] >= n:
                    park = True
                else:
                    if a_ptr[item[g]] == a_ptr[item[g] + 1]:
                        item[g] += nthreads
                    else:
                        addr = _A_PTR + item[g] * 8
                        sub[g] = 0
                        phase[g] = 1
            elif ph == 1:  # next column of B
                if sub[g] < nz_cols.shape[0]:
                    j = nz_cols[sub[g]]
                    addr = _BT_PTR + j * 8
                    p[g] = a_ptr[item[g]]
                    q[g] = bt_ptr[j]
                    hit[g] = False
                    phase[g] = 2
                else:
                    item[g] += nthreads
                    phase[g] = 0
            else:  # one merge step: load the next index of whichever side is behind
                j = nz_cols[sub[g]]
                if p[g] < a_ptr[item[g] + 1] and q[g] < bt_ptr[j + 1]:
                    counters[3] += 1
                    ai = a_idx[p[g]]
                    bi = bt_idx[q[g]]
                    if ai == bi:
                        addr = _A_IDX + p[g] * 4
                        hit[g] = True
                        p[g] += 1
                        q[g] += 1
                    elif ai < bi:
                        addr = _A_IDX + p[g] * 4
                        p[g] += 1
                    else:
                        addr = _BT_IDX + q[g] * 4
                        q[g] += 1
                else:
                    if hit[g]:
                        dram_write += 12
                        dram[0] = max(dram[0], t_now) + 12.0 / dram_bpc
                    sub[g] += 1
                    phase[g] = 1
        else:  # ------------------------------------------------------------ outer product
            if ph == 0:  # next k
                kdim = a_cptr.shape[0] - 1
                if item[g] >= kdim:
                    park = True
                else:
                    k = item[g]
                    addr = _B_IDX + b_ptr[k] * 4
                    p[g] = a_cptr[k]
                    q[g] = b_ptr[k]
                    phase[g] = 1
            elif ph == 1:  # multiply a_ik by every b_kj, posting each partial product
                k = item[g]
                if p[g] < a_cptr[k + 1]:
                    if q[g] < b_ptr[k + 1]:
                        addr = _B_IDX + q[g] * 4
                        dram_write += 16
                        dram[0] = max(dram[0], t_now) + 16.0 / dram_bpc
                        q[g] += 1
                    else:
                        addr = _A_IDX + p[g] * 4
                        p[g] += 1
                        q[g] = b_ptr[k]
                else:
                    item[g] += nthreads
                    phase[g] = 0
            else:  # sort passes and the final combine: stream this thread's slice
                if item[g] < lim[g]:
                    addr = _PART + item[g] * 16
                    if stage == passes + 1:
                        if item[g] % max(1, n_partial // max(n_out, 1)) == 0:
                            dram_write += 12
                            dram[0] = max(dram[0], t_now) + 12.0 / dram_bpc
                    else:
                        dram_write += 16
                        dram[0] = max(dram[0], t_now) + 16.0 / dram_bpc
                    item[g] += 1
                else:
                    park = True
        if addr >= 0:
            comp = cache_load(
                c,
                addr,
                t_now,
                tags,
                lru,
                lready,
                stamp,
                cache_sets,
                ways,
                line_shift,
                hit_cyc,
                dram,
                line_cycles,
                dram_lat,
                counters,
            )
        now[c] = t_now + 1.0
        if park:
            parked += 1
            continue
        _heap_push(ht, hid, hn, c, comp, t)
    cycles = dram[0]
    for c in range(cores):
        cycles = max(cycles, now[c])
    out = np.zeros(7, dtype=np.int64)
    out[0] = int(np.ceil(cycles))
    out[1] = issued
    out[2] = counters[2]
    out[3] = dram_write
    out[4] = counters[0]
    out[5] = counters[1]
    out[6] = counters[3]
    return out


def run_inner(a, b, m):
    bt = b.tocsc()
    nz = np.flatnonzero(np.diff(bt.indptr)).astype(np.int64)
    z = np.zeros(1, dtype=np.int64)
    return _engine(
        0,
        a.indptr.astype(np.int64),
        a.indices.astype(np.int64),
        b.indptr.astype(np.int64),
        b.indices.astype(np.int64),
        bt.indptr.astype(np.int64),
        bt.indices.astype(np.int64),
        nz,
        z,
        z,
        0,
        0,
        0,
        *memory_params(m),
        m.alu_cycles,
    )


def run_outer(a, b, m, n_partial: int, n_out: int, passes: int = 3):
    ac = a.tocsc()
    z = np.zeros(1, dtype=np.int64)
    return _engine(
        1,
        a.indptr.astype(np.int64),
        a.indices.astype(np.int64),
        b.indptr.astype(np.int64),
        b.indices.astype(np.int64),
        z,
        z,
        z,
        ac.indptr.astype(np.int64),
        ac.indices.astype(np.int64),
        n_partial,
        n_out,
        passes,
        *memory_params(m),
        m.alu_cycles,
    )
