"""Cycle-level engine of the PIUMA-like machine, running row-wise SpGEMM algorithms.

Each core issues one instruction per cycle from the next ready thread in round-robin order (fine-
grained multithreading); a thread becomes ready when its previous instruction's result is back.
Every thread runs the algorithm's loop nest as a small state machine that emits instructions:

====================  ==========================================================================
instruction           cost
====================  ==========================================================================
ALU                   ``alu_cycles``
LD (cache)            hit: ``cache_hit_cycles``; miss: the line is fetched over the shared DRAM
                      channel (queueing + ``line / bw`` + ``dram_latency``); later hits on a line in
                      flight wait for it (merged miss)
ST to C               posted to the core's DMA engine (``dma_bytes_per_cycle``), which streams it
                      over the shared DRAM channel; the thread goes on next cycle
SP access / atomic    bank queueing (one access per cycle per bank, an atomic occupies it
                      ``sp_atomic_cycles``) + ``sp_latency_cycles``
====================  ==========================================================================

Algorithms (the loops are Gustavson's for all of them; only the accumulator differs):

- ``spa``: a dense accumulator per thread in (cached) DRAM: per partial product LD + ALU + ST.
- ``hash``: a software hash table per thread in (cached) DRAM, Nagasaka's probes: per probe a LD.
- ``smash_v1/v2/v3``: the core's scratchpad table, per partial product atomic hash-add
  (V1: a key word and a value word, two atomics; V2/V3: one token, one atomic; V3 hashes a row into
  its bank's fragment), rows handed out in windows; at the end of a window all the core's threads
  drain their share of the table (one SP access per slot, a posted store per entry).

Static assignment for spa/hash: row ``i`` goes to global thread ``i mod (cores * threads)``.
SMASH: rows are cut into per-core blocks of equal flops, windows within a block, and a window's
rows are handed to the core's threads on demand.
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = ["run_rowwise", "cache_load", "memory_params"]


def memory_params(m) -> tuple:
    """The engines' shared machine arguments, in their order: cores, threads per core, cache sets,
    ways, log2(line bytes), hit cycles, DRAM latency, cycles per line on the DRAM channel, DRAM
    bytes per cycle."""
    return (
        m.cores,
        m.threads_per_core,
        m.cache_sets,
        m.cache_ways,
        m.line_bytes.bit_length() - 1,
        m.cache_hit_cycles,
        m.dram_latency_cycles,
        m.line_bytes / m.dram_bytes_per_cycle,
        m.dram_bytes_per_cycle,
    )


ALG_SPA, ALG_HASH, ALG_V1, ALG_V2, ALG_V3 = 0, 1, 2, 3, 4

# address regions (byte addresses), far apart so they never share a line
_A_PTR, _A_IDX, _A_VAL = 0, 1 << 40, 2 << 40
_B_PTR, _B_IDX, _B_VAL = 3 << 40, 4 << 40, 5 << 40
_PRIV = 8 << 40
_PRIV_STRIDE = 1 << 32


_DEBRUIJN = np.array(
    [
        0,
        1,
        48,
        2,
        57,
        49,
        28,
        3,
        61,
        58,
        50,
        42,
        38,
        29,
        17,
        4,
        62,
        55,
        59,
        36,
        53,
        51,
        43,
        22,
        45,
        39,
        33,
        30,
        24,
        18,
        12,
        5,
        63,
        47,
        56,
        27,
        60,
        41,
        37,
        16,
        54,
        35,
        52,
        21,
        44,
        32,
        23,
        11,
        46,
        26,
        40,
        15,
        34,
        20,
        31,
        10,
        25,
        14,
        19,
        9,
        13,
        8,
        7,
        6,
    ],
    dtype=np.int64,
)


@numba.njit(cache=True, inline="always")
def _ctz(x):
    """Index of the lowest set bit of a non-zero uint64 (de Bruijn multiplication)."""
    low = x & (~x + np.uint64(1))
    return _DEBRUIJN[np.int64((low * np.uint64(0x03F79D71B4CB0A89)) >> np.uint64(58))]


@numba.njit(cache=True, inline="always")
def _next_ready(bits, c, start, threads):
    """Round-robin: the first set bit after ``start`` (wrapping) in core c's ready mask."""
    words = (threads + 63) >> 6
    s = start + 1
    if s >= threads:
        s = 0
    w0 = s >> 6
    for k in range(words + 1):
        w = (w0 + k) % words
        word = bits[c, w]
        if k == 0:
            word &= ~np.uint64(0) << np.uint64(s & 63)
        elif k == words:
            word &= (np.uint64(1) << np.uint64(s & 63)) - np.uint64(1) if (s & 63) else np.uint64(0)
        if word != np.uint64(0):
            return w * 64 + _ctz(word)
    return -1


@numba.njit(cache=True)
def _heap_push(ht, hid, hn, c, t, tid):
    i = hn[c]
    hn[c] += 1
    ht[c, i] = t
    hid[c, i] = tid
    while i > 0:
        p = (i - 1) >> 1
        if ht[c, p] < ht[c, i] or (ht[c, p] == ht[c, i] and hid[c, p] <= hid[c, i]):
            break
        ht[c, p], ht[c, i] = ht[c, i], ht[c, p]
        hid[c, p], hid[c, i] = hid[c, i], hid[c, p]
        i = p


@numba.njit(cache=True)
def _heap_pop(ht, hid, hn, c):
    tid = hid[c, 0]
    hn[c] -= 1
    n = hn[c]
    ht[c, 0] = ht[c, n]
    hid[c, 0] = hid[c, n]
    i = 0
    while True:
        l_ = 2 * i + 1
        r = l_ + 1
        m = i
        if l_ < n and (ht[c, l_] < ht[c, m] or (ht[c, l_] == ht[c, m] and hid[c, l_] < hid[c, m])):
            m = l_
        if r < n and (ht[c, r] < ht[c, m] or (ht[c, r] == ht[c, m] and hid[c, r] < hid[c, m])):
            m = r
        if m == i:
            break
        ht[c, m], ht[c, i] = ht[c, i], ht[c, m]
        hid[c, m], hid[c, i] = hid[c, i], hid[c, m]
        i = m
    return tid


@numba.njit(cache=True)
def cache_load(
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
):
    """One load through core ``c``'s set-associative LRU cache; a miss fetches the line over the
    shared DRAM channel (``dram[0]``: when it is next free) and later hits wait for the line in
    flight. ``counters``: hits, misses, DRAM bytes read. Returns the completion time."""
    line = addr >> line_shift
    st = line % cache_sets
    for w in range(ways):
        if tags[c, st, w] == line:
            counters[0] += 1
            lru[c, st, w] = stamp
            return max(t_now + hit_cyc, lready[c, st, w])
    counters[1] += 1
    victim = 0
    for w in range(1, ways):
        if lru[c, st, w] < lru[c, st, victim]:
            victim = w
    start = max(t_now + hit_cyc, dram[0])
    dram[0] = start + line_cycles
    counters[2] += 1 << line_shift
    comp = start + line_cycles + dram_lat
    tags[c, st, victim] = line
    lru[c, st, victim] = stamp
    lready[c, st, victim] = comp
    return comp


@numba.njit(cache=True)
def run_rowwise(
    alg,
    a_ptr,
    a_idx,
    b_ptr,
    b_idx,
    c_nnz,
    hash_probes,
    pp_off,
    win_bounds,
    win_masks,
    win_split,
    core_win,
    table_entries,
    fragments,
    cores,
    threads,
    cache_sets,
    ways,
    line_shift,
    hit_cyc,
    dram_lat,
    line_cycles,
    dram_bpc,
    dma_bpc,
    sp_banks,
    sp_lat,
    sp_atomic,
    alu,
):
    """Simulate; returns an int64 stats vector (see :func:`simulator.piuma.simulate_rowwise`)."""
    n = a_ptr.shape[0] - 1
    nthreads = cores * threads
    # --- cache and DRAM
    tags = np.full((cores, cache_sets, ways), -1, dtype=np.int64)
    lru = np.zeros((cores, cache_sets, ways), dtype=np.int64)
    lready = np.zeros((cores, cache_sets, ways), dtype=np.float64)
    dram = np.zeros(1, dtype=np.float64)  # when the shared DRAM channel is next free
    counters = np.zeros(3, dtype=np.int64)  # cache hits, misses, DRAM bytes read
    dma_free = np.zeros(cores, dtype=np.float64)
    overflows = 0
    dram_write = 0
    # --- scratchpad
    bank_free = np.zeros((cores, sp_banks), dtype=np.float64)
    sp_ops = 0
    sp_atomics = 0
    bank_wait = 0.0
    probes = 0
    size = 1
    while size * 2 <= table_entries:
        size *= 2
    smash = alg >= ALG_V1
    keys = np.full((cores, size if smash else 1), -1, dtype=np.int64)
    # --- threads
    phase = np.zeros(nthreads, dtype=np.int64)
    row = np.full(nthreads, -1, dtype=np.int64)
    pp = np.zeros(nthreads, dtype=np.int64)
    pa = np.zeros(nthreads, dtype=np.int64)
    pe = np.zeros(nthreads, dtype=np.int64)
    qa = np.zeros(nthreads, dtype=np.int64)
    qe = np.zeros(nthreads, dtype=np.int64)
    jj = np.zeros(nthreads, dtype=np.int64)
    slot = np.zeros(nthreads, dtype=np.int64)
    left = np.zeros(nthreads, dtype=np.int64)
    # --- per-core scheduling
    now = np.zeros(cores, dtype=np.float64)
    done = np.zeros(cores, dtype=np.bool_)
    ht = np.zeros((cores, threads), dtype=np.float64)
    hid = np.zeros((cores, threads), dtype=np.int64)
    hn = np.zeros(cores, dtype=np.int64)
    rbits = np.zeros((cores, (threads + 63) >> 6), dtype=np.uint64)
    nready = np.zeros(cores, dtype=np.int64)
    rr = np.zeros(cores, dtype=np.int64)
    parked = np.zeros(cores, dtype=np.int64)  # threads waiting at the window barrier
    # SMASH windows
    cur_win = np.zeros(cores, dtype=np.int64)
    next_row = np.zeros(cores, dtype=np.int64)
    win_mask = np.zeros(cores, dtype=np.int64)
    in_writeback = np.zeros(cores, dtype=np.bool_)
    for c in range(cores):
        if smash:
            w = core_win[c]
            cur_win[c] = w
            if w < core_win[c + 1]:
                next_row[c] = win_bounds[w]
                win_mask[c] = win_masks[w]
        for t in range(threads):
            g = c * threads + t
            if not smash:
                row[g] = g - nthreads  # first increment lands on row g
            rbits[c, t >> 6] |= np.uint64(1) << np.uint64(t & 63)
        nready[c] = threads

    total_issued = 0
    while True:
        # the core with the earliest clock goes next (keeps the shared DRAM channel in time order)
        c = -1
        best = 1e300
        for cc in range(cores):
            if not done[cc] and now[cc] < best:
                best = now[cc]
                c = cc
        if c < 0:
            break
        t_now = now[c]
        while hn[c] > 0 and ht[c, 0] <= t_now:
            tid = _heap_pop(ht, hid, hn, c)
            rbits[c, tid >> 6] |= np.uint64(1) << np.uint64(tid & 63)
            nready[c] += 1
        if nready[c] == 0:
            if hn[c] > 0:
                now[c] = ht[c, 0]
            else:
                done[c] = True  # every thread finished (or parked with nothing left)
            continue
        # round-robin among ready threads
        t = _next_ready(rbits, c, rr[c], threads)
        rr[c] = t
        rbits[c, t >> 6] &= ~(np.uint64(1) << np.uint64(t & 63))
        nready[c] -= 1
        g = c * threads + t
        total_issued += 1
        comp = t_now + alu  # default completion
        ph = phase[g]
        addr = -1  # cache load address of this instruction, if any
        sp_bank = -1
        sp_occ = 1
        park = False
        # ------------------------------------------------------------------ state machine
        if ph == 0:  # next row
            if smash:
                if cur_win[c] < core_win[c + 1] and next_row[c] < win_bounds[cur_win[c] + 1]:
                    row[g] = next_row[c]
                    next_row[c] += 1
                    addr = _A_PTR + row[g] * 8
                    phase[g] = 1
                else:
                    park = True
            else:
                row[g] += nthreads
                if row[g] >= n:
                    park = True
                else:
                    addr = _A_PTR + row[g] * 8
                    phase[g] = 1
        elif ph == 1:  # row pointers arrived
            i = row[g]
            pa[g] = a_ptr[i]
            pe[g] = a_ptr[i + 1]
            pp[g] = pp_off[i]
            phase[g] = 2
            comp = t_now + alu
        elif ph == 2:  # next a_ik
            if pa[g] < pe[g]:
                addr = _A_IDX + pa[g] * 4  # idx and value: two arrays, the value line follows
                phase[g] = 3
            else:
                phase[g] = 6
                left[g] = c_nnz[row[g]] if not smash else 0
        elif ph == 3:  # B row pointer of k
            k = a_idx[pa[g]]
            addr = _B_PTR + k * 8
            qa[g] = b_ptr[k]
            qe[g] = b_ptr[k + 1]
            phase[g] = 4
        elif ph == 4:  # next b_kj
            if qa[g] < qe[g]:
                addr = _B_IDX + qa[g] * 4
                jj[g] = b_idx[qa[g]]
                phase[g] = 5
                left[g] = -1
            else:
                pa[g] += 1
                phase[g] = 2
        elif ph == 5:  # accumulate a_ik * b_kj into column j
            j = jj[g]
            if alg == ALG_SPA:
                if left[g] == -1:
                    addr = _PRIV + g * _PRIV_STRIDE + j * 8  # LD acc[j]
                    left[g] = 0
                else:  # FMA + ST acc[j] (the line is cached: posted)
                    qa[g] += 1
                    pp[g] += 1
                    phase[g] = 4
            elif alg == ALG_HASH:
                if left[g] == -1:
                    left[g] = hash_probes[pp[g]]
                    slot[g] = (j * 107) & 0xFFFFFFF
                if left[g] > 0:
                    addr = _PRIV + g * _PRIV_STRIDE + (slot[g] & 0xFFFFF) * 16  # probe: LD key
                    slot[g] += 1
                    left[g] -= 1
                    probes += 1
                else:  # FMA + ST value (posted)
                    qa[g] += 1
                    pp[g] += 1
                    phase[g] = 4
            else:  # SMASH: atomic hash-add into the core's scratchpad table
                local = row[g] - win_bounds[cur_win[c]]
                key = local * 1048576 + j
                mask = win_mask[c]
                split = alg == ALG_V3 and win_split[cur_win[c]]
                if split:
                    fsize = (mask + 1) // fragments
                    if fsize < 1:
                        fsize = 1
                    frag = local % fragments
                    base = frag * fsize
                    fmask = fsize - 1
                else:
                    base = 0
                    fmask = mask
                if left[g] == -1:
                    slot[g] = (local * 2654435761 + j * 107) & fmask
                    left[g] = 0
                s = base + (slot[g] & fmask)
                probes += 1
                sp_atomics += 1
                sp_occ = sp_atomic
                if split:
                    sp_bank = (s // (fmask + 1)) % sp_banks
                else:
                    sp_bank = s % sp_banks
                if keys[c, s] == -1 or keys[c, s] == key:
                    keys[c, s] = key
                    if alg == ALG_V1 and left[g] == 0:
                        left[g] = 1  # V1: the value word needs its own atomic add
                    else:
                        qa[g] += 1
                        pp[g] += 1
                        phase[g] = 4
                else:
                    slot[g] += 1
                    if slot[g] - ((local * 2654435761 + j * 107) & fmask) > fmask:
                        overflows += 1  # the table (fragment) is full: drop, never seen with our windows
                        qa[g] += 1
                        pp[g] += 1
                        phase[g] = 4
        elif ph == 6:  # row done: spa/hash write the row out; SMASH goes on with the next row
            if left[g] > 0:
                addr = _PRIV + g * _PRIV_STRIDE + (left[g] & 0xFFFFF) * 8  # LD the entry
                dram_write += 12  # posted ST of (column, value) to C, through the core's DMA engine
                dma_free[c] = max(dma_free[c], t_now) + 12.0 / dma_bpc
                dram[0] = max(dram[0], dma_free[c]) + 12.0 / dram_bpc
                left[g] -= 1
            else:
                phase[g] = 0
                comp = t_now + alu
        elif ph == 8:  # SMASH write-back: this thread's share of the table
            s = slot[g]
            if s <= win_mask[c]:
                sp_bank = s % sp_banks
                sp_occ = sp_atomic  # read and clear
                if keys[c, s] != -1:
                    keys[c, s] = -1
                    dram_write += 12  # the entry leaves through the core's DMA engine
                    dma_free[c] = max(dma_free[c], t_now) + 12.0 / dma_bpc
                    dram[0] = max(dram[0], dma_free[c]) + 12.0 / dram_bpc
                slot[g] = s + threads
            else:
                park = True
        # ------------------------------------------------------------------ timing
        if addr >= 0:
            comp = cache_load(
                c,
                addr,
                t_now,
                tags,
                lru,
                lready,
                total_issued,
                cache_sets,
                ways,
                line_shift,
                hit_cyc,
                dram,
                line_cycles,
                dram_lat,
                counters,
            )
        if sp_bank >= 0:
            sp_ops += 1
            start = max(t_now, bank_free[c, sp_bank])
            bank_wait += start - t_now
            bank_free[c, sp_bank] = start + sp_occ
            comp = start + sp_lat
        now[c] = t_now + 1.0
        if park:
            phase[g] = 7
            parked[c] += 1
            if smash and parked[c] == threads:
                # window barrier reached by all the core's threads
                parked[c] = 0
                if not in_writeback[c]:
                    if cur_win[c] >= core_win[c + 1]:
                        done[c] = True
                        continue
                    in_writeback[c] = True
                    for tt in range(threads):
                        gg = c * threads + tt
                        phase[gg] = 8
                        slot[gg] = tt
                        _heap_push(ht, hid, hn, c, t_now + 1.0, tt)
                else:
                    in_writeback[c] = False
                    cur_win[c] += 1
                    if cur_win[c] < core_win[c + 1]:
                        w = cur_win[c]
                        next_row[c] = win_bounds[w]
                        win_mask[c] = win_masks[w]
                        for tt in range(threads):
                            gg = c * threads + tt
                            phase[gg] = 0
                            _heap_push(ht, hid, hn, c, t_now + 1.0, tt)
                    else:
                        done[c] = True
            elif not smash and parked[c] == threads:
                done[c] = True
            continue
        _heap_push(ht, hid, hn, c, comp, t)

    cycles = 0.0
    for c in range(cores):
        cycles = max(cycles, now[c])
    cycles = max(cycles, dram[0])
    out = np.zeros(12, dtype=np.int64)
    out[0] = int(np.ceil(cycles))
    out[1] = total_issued
    out[2] = counters[2]
    out[3] = dram_write
    out[4] = counters[0]
    out[5] = counters[1]
    out[6] = sp_ops
    out[7] = sp_atomics
    out[8] = probes
    out[9] = int(bank_wait)
    out[10] = overflows
    return out


@numba.njit(cache=True)
def hash_probe_counts(a_ptr, a_idx, b_ptr, b_idx, flops, total):
    """Probes of every partial product into a per-row Nagasaka table (size: power of two >= 2 x
    the row's flops, hash ``(j * 107) & (size - 1)``), in row order; saturates at 255."""
    out = np.zeros(total, dtype=np.uint8)
    maxf = 1
    for i in range(flops.shape[0]):
        maxf = max(maxf, flops[i])
    cap = 1
    while cap < 2 * maxf:
        cap *= 2
    keys = np.full(cap, -1, dtype=np.int64)
    pos = 0
    for i in range(a_ptr.shape[0] - 1):
        size = 1
        while size < 2 * flops[i]:
            size *= 2
        mask = size - 1
        for s in range(size):
            keys[s] = -1
        for p in range(a_ptr[i], a_ptr[i + 1]):
            k = a_idx[p]
            for q in range(b_ptr[k], b_ptr[k + 1]):
                j = b_idx[q]
                h = (j * 107) & mask
                n = 1
                while keys[h] != -1 and keys[h] != j:
                    h = (h + 1) & mask
                    n += 1
                keys[h] = j
                out[pos] = min(n, 255)
                pos += 1
    return out
