"""The array's operand traffic on a DRAM model: every SRAM step's fetches and write-backs as DRAM
requests, and the stalls that follow from their latencies.

Why: the ``simple`` memory option (:mod:`simulator.nm_array.memory`) charges bytes at a fixed
rate. A real channel's rate depends on the pattern: a tile of a row-major matrix is one run of
bytes per matrix row, runs shorter than a DRAM row open a row each, many runs in one bank group
serialise on tCCD_L, refresh takes the channel away. The step structure is the simple model's
(same bytes, same double buffering); only the time a step's transfers take changes.

Our layout (a decision of ours; the papers do not give one): each operand in its own quarter of
the DRAM (X at 0, W at 1/4, Y at 1/2). Weights are stored tile-major (a compiler lays out static
weights in the order the schedule fetches them: by K tile, then N tile), and so is the ifmap
(its tile's bytes are the simple model's share of the real input tensor, im2col being an address
pattern over it, and the producing layer writes them in that order): each is one contiguous run
per fetch. Partial sums and outputs are a row-major ``[P, N]`` matrix (GEMM copies stacked along
P), a tile being one run per output row. Each run becomes the bursts covering it, so a run
ending mid-burst fetches the whole burst (the DRAM moves whole bursts; ``dram_burst_bytes``
counts them); a burst two runs of one transfer share is fetched once (a DMA engine merges them).

Timing, per step ``s`` (array cycles converted at ``clock_ghz`` to DRAM clocks)::

    array   |== step s-1 ==|== step s ======|--stall--|== step s+1 ==|
    DRAM           batch s:  inputs of s+1, outputs of s-1 ........|
                   all requested when step s starts; step s+1 starts when step s is done and the
                   batch has completed

``mode="request"`` runs the batch through the per-request controller
(:class:`simulator.dram.cl.DramState`, state kept across steps and layers of a call);
``mode="fold"`` uses the fold-level form (:func:`simulator.dram.fold.batch_cycles`), which the
tests hold within a stated bound of the per-request model on every layer of ResNet-18 and
MobileNet-v2 for every dataflow.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numba
import numpy as np

from simulator.dram.cl import DramState
from simulator.dram.config import DramConfig
from simulator.dram.fl import bursts_of_runs
from simulator.dram.fold import FoldState, batch_cycles, drain_threshold, drain_turns
from simulator.nm_array.memory import StepTraffic

__all__ = ["DramResult", "step_requests", "layer_requests", "simulate_dram", "simulate_dram_py", "MODES"]

MODES = ("fold", "request")


@dataclass(frozen=True, slots=True)
class DramResult:
    """Array-cycle stalls of one layer on the DRAM model."""

    stall_cycles: int
    prefetch_cycles: int
    drain_cycles: int
    dram_burst_bytes: int
    dram_busy_cycles: int  # sum over batches of the DRAM time a batch took, array cycles
    requests: int
    cut: bool = False  # left at the caller's limit (simulate_dram): the figures are partial


def _offset_of(tr: StepTraffic, op: str, copy, p0, p1, k0, k1, n0):
    """Byte offset of a tile of a tile-major operand (X or W) from its copy and extents: Python
    ints (exact at any size) or int64 arrays (every step at once), the same arithmetic."""
    ext = tr.ext
    if op == "X":
        big_p, kc, i = ext["P"], ext["K"], tr.ifmap_bytes

        def f(pa, kb):
            return (pa * kb * i) // (big_p * kc)

        return copy * i + f(p0, kc) + f(p1, k0) - f(p0, k0)
    row = ext["N"] * tr.wbits
    return copy * ((ext["K"] * row + 7) // 8) + (k0 * row + (k1 - k0) * n0 * tr.wbits) // 8


_EXTENTS = (("P", "lo"), ("P", "hi"), ("K", "lo"), ("K", "hi"), ("N", "lo"))


def _tile_offset(tr: StepTraffic, op: str, s: int) -> int:
    """Byte offset of step ``s``'s tile of a tile-major operand (X or W)."""
    ends = (int(getattr(tr, side)[d][s]) for d, side in _EXTENTS)
    return _offset_of(tr, op, int(tr.copy[s]), *ends)


def _tile_offsets(tr: StepTraffic, op: str) -> np.ndarray:
    """:func:`_tile_offset` of every step at once (int64 where no product can overflow it)."""
    ext = tr.ext
    big = max(ext["P"], ext["K"], ext["N"], 1)
    scale = tr.ifmap_bytes if op == "X" else tr.wbits
    if big * big * max(scale, 1) * max(int(tr.copy.max(initial=0)) + 1, 1) >= 2**62:
        return np.array([float(_tile_offset(tr, op, s)) for s in range(tr.windows.size)])
    ends = (getattr(tr, side)[d].astype(np.int64) for d, side in _EXTENTS)
    return _offset_of(tr, op, tr.copy.astype(np.int64), *ends).astype(np.float64)


def _runs(tr: StepTraffic, op: str, s: int, base: int) -> tuple[np.ndarray, np.ndarray]:
    """Byte runs (starts, lengths) of operand ``op``'s transfer at step ``s``: one run for the
    tile-major X and W, one run per matrix row for the row-major Y."""
    lo, hi, ext = tr.lo, tr.hi, tr.ext
    copy = int(tr.copy[s])
    if op in ("X", "W"):
        total = float(tr.ifmap[s] if op == "X" else tr.filter[s])
        if total <= 0:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        return np.array([base + _tile_offset(tr, op, s)], np.int64), np.array([int(np.floor(total))], np.int64)
    total = float(tr.psum_in[s] if op == "Yin" else tr.ofmap[s])
    per = float(tr.psum_bytes)
    pitch = ext["N"] * per
    if total <= 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    a, b = int(lo["P"][s]), int(hi["P"][s])
    rows = np.arange(a, b, dtype=np.int64)
    n = rows.size
    cum = np.floor(np.arange(n + 1) * (total / n)).astype(np.int64)
    lengths = np.diff(cum)
    starts = base + np.floor(((copy * ext["P"] + rows) * pitch) + int(lo["N"][s]) * per).astype(np.int64)
    return starts, lengths


def _bursts(dram: DramConfig, runs, cap: int) -> np.ndarray:
    """Bursts of a transfer's runs in order, a burst shared by consecutive runs once."""
    a = bursts_of_runs(dram, runs[0], runs[1]) % cap
    return a[np.r_[True, a[1:] != a[:-1]]] if a.size else a


def step_requests(tr: StepTraffic, dram: DramConfig, s: int) -> tuple[np.ndarray, np.ndarray]:
    """Burst addresses and write flags of the batch issued when step ``s`` starts: the inputs of
    step ``s+1`` (reads), then the outputs of step ``s-1`` (writes)."""
    cap = dram.capacity_bytes
    bases = {"X": 0, "W": cap // 4, "Yin": cap // 2, "Yout": cap // 2}
    parts, writes = [], []
    steps = tr.windows.size
    if s + 1 < steps:
        for op in ("W", "X", "Yin"):
            a = _bursts(dram, _runs(tr, op, s + 1, bases[op]), cap)
            parts.append(a)
            writes.append(np.zeros(a.size, bool))
    if s >= 1:
        a = _bursts(dram, _runs(tr, "Yout", s - 1, bases["Yout"]), cap)
        parts.append(a)
        writes.append(np.ones(a.size, bool))
    if not parts:
        return np.zeros(0, np.int64), np.zeros(0, bool)
    return np.concatenate(parts), np.concatenate(writes)


def _first_batch(tr: StepTraffic, dram: DramConfig) -> tuple[np.ndarray, np.ndarray]:
    """Step 0's own inputs (the exposed prefetch)."""
    cap = dram.capacity_bytes
    bases = {"W": cap // 4, "X": 0, "Yin": cap // 2}  # the order of step_requests
    a = np.concatenate([_bursts(dram, _runs(tr, op, 0, bases[op]), cap) for op in bases])
    return a, np.zeros(a.size, bool)


def _last_batch(tr: StepTraffic, dram: DramConfig) -> tuple[np.ndarray, np.ndarray]:
    cap = dram.capacity_bytes
    a = _bursts(dram, _runs(tr, "Yout", tr.windows.size - 1, cap // 2), cap)
    return a, np.ones(a.size, bool)


def layer_requests(tr: StepTraffic, dram: DramConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every request of a layer in issue order: addresses, write flags, and the batch of each
    (0: step 0's prefetch, s + 1: the batch issued when step s starts, last: the final drain)."""
    batches = [_first_batch(tr, dram)] + [step_requests(tr, dram, s) for s in range(tr.windows.size)]
    batches.append(_last_batch(tr, dram))
    addr = np.concatenate([b[0] for b in batches])
    wr = np.concatenate([b[1] for b in batches])
    idx = np.repeat(np.arange(len(batches)), [b[0].size for b in batches])
    return addr, wr, idx


def simulate_dram(tr: StepTraffic, clock_ghz: float, dram: DramConfig, mode: str = "fold",
                  state: DramState | None = None, limit: float = math.inf,
                  limit_prefetch: bool = False) -> DramResult:  # fmt: skip
    """Stalls of one layer (all GEMM copies) with its steps' transfers on ``dram``: ``fold`` runs
    the numba kernel :func:`_fold_layer`; ``request`` the per-request controller. ``limit``
    (fold form only): stop once the stalls (plus the prefetch, with ``limit_prefetch``) pass it,
    with ``cut`` set; the mapper's cut-off for a candidate already worse than its best."""
    if mode == "fold" and dram.bit_slices is None:
        return _fold_numba(tr, clock_ghz, dram, limit, limit_prefetch)
    return simulate_dram_py(tr, clock_ghz, dram, mode, state)  # a bit-slice map: the numpy form


def simulate_dram_py(tr: StepTraffic, clock_ghz: float, dram: DramConfig, mode: str = "fold",
                     state: DramState | None = None) -> DramResult:  # fmt: skip
    """The same in numpy, batch by batch: the fold mode here is the numpy twin of
    :func:`_fold_layer` (burst lists from :func:`step_requests`, times from
    :func:`simulator.dram.fold.batch_cycles`)."""
    ratio = dram.clock_ghz / clock_ghz  # DRAM cycles per array cycle
    steps = tr.windows.size
    engine = (state or DramState(dram)) if mode == "request" else None
    fstate = FoldState(dram)
    requests = burst_bytes = 0
    busy = 0.0

    def batch(t0: float, addr, wr) -> float:
        nonlocal requests, burst_bytes, busy
        requests += addr.size
        burst_bytes += addr.size * dram.burst_bytes
        if addr.size == 0:
            return t0
        if engine is not None:
            start = int(math.ceil(t0))  # idle time before start runs refreshes as they fall due
            d = int(engine.run(np.full(addr.size, start, dtype=np.int64), addr, wr).max()) - start
        else:
            d = batch_cycles(dram, addr, wr, fstate)
        busy += d
        return t0 + d

    a0, w0 = _first_batch(tr, dram)
    t = batch(0.0, a0, w0)
    prefetch = int(math.ceil(t / ratio))
    stall = 0.0
    for s in range(steps):
        a, w = step_requests(tr, dram, s)
        start = t
        done = batch(start, a, w)
        end_compute = start + tr.windows[s] * ratio
        if done > end_compute:
            stall += (done - end_compute) / ratio
        t = max(done, end_compute)
    a1, w1 = _last_batch(tr, dram)
    t_end = batch(t, a1, w1)
    drain = int(math.ceil((t_end - t) / ratio))
    return DramResult(stall_cycles=int(math.ceil(stall - 1e-9)), prefetch_cycles=prefetch, drain_cycles=drain,
                      dram_burst_bytes=burst_bytes, dram_busy_cycles=int(math.ceil(busy / ratio)),
                      requests=requests)  # fmt: skip


# ------------------------------------------------------------------------------ numba fold kernel
_OPS = ("W", "X", "Yin", "Yout")


def _descriptors(tr: StepTraffic, dram: DramConfig):
    """Per operand and step: bytes, outer range, row offset (copy x extent) and inner offset,
    and per operand its base and pitch, exactly as :func:`_runs` computes them."""
    cap = dram.capacity_bytes
    steps = tr.windows.size
    ext = tr.ext
    tot = np.zeros((4, steps))
    lo = np.zeros((4, steps), dtype=np.int64)
    hi = np.zeros((4, steps), dtype=np.int64)
    a = np.zeros((4, steps), dtype=np.int64)
    inner_off = np.zeros((4, steps))
    pitch = np.zeros(4)
    base = np.array([cap // 4, 0, cap // 2, cap // 2], dtype=np.int64)
    per_y = float(tr.psum_bytes)
    for i, op in enumerate(_OPS):
        if op in ("W", "X"):
            tot[i] = np.floor(tr.filter if op == "W" else tr.ifmap)
            hi[i] = 1
            inner_off[i] = np.where(tot[i] > 0, _tile_offsets(tr, op), 0.0)
            continue
        tot[i] = tr.psum_in if op == "Yin" else tr.ofmap
        lo[i] = tr.lo["P"]
        hi[i] = tr.hi["P"]
        a[i] = tr.copy * ext["P"]
        inner_off[i] = tr.lo["N"] * per_y
        pitch[i] = ext["N"] * per_y
    return tot, lo, hi, a, inner_off, pitch, base


def _map_bits(dram: DramConfig):
    """Shift and mask of each field (FIELDS order) in a burst index."""
    from simulator.dram.config import FIELDS

    bits = dram.field_bits()
    shift = np.zeros(6, dtype=np.int64)
    mask = np.zeros(6, dtype=np.int64)
    pos = 0
    for f in reversed(dram.address_map.split("-")):
        i = FIELDS.index(f)
        shift[i] = pos
        mask[i] = (1 << bits[f]) - 1
        pos += bits[f]
    return shift, mask


def _fold_numba(tr: StepTraffic, clock_ghz: float, dram: DramConfig, limit: float = math.inf,
                limit_prefetch: bool = False) -> DramResult:  # fmt: skip
    tot, lo, hi, a, inner_off, pitch, base = _descriptors(tr, dram)
    shift, mask = _map_bits(dram)
    p = _fold_params(dram)
    out = np.zeros(6)
    _fold_layer(tr.windows.astype(np.float64), tot, lo, hi, a, inner_off, pitch, base, shift, mask, p,
                dram.clock_ghz / clock_ghz, float(limit), int(limit_prefetch), out)  # fmt: skip
    return DramResult(stall_cycles=int(math.ceil(out[0] - 1e-9)), prefetch_cycles=int(out[1]),
                      drain_cycles=int(out[2]), dram_burst_bytes=int(out[3]) * dram.burst_bytes,
                      dram_busy_cycles=int(math.ceil(out[4])), requests=int(out[3]), cut=bool(out[5]))  # fmt: skip


@numba.njit(cache=True, inline="always")
def _run_span(op, s, j, step, lo, a, inner_off, pitch, base, bb):
    """First and last burst index of row ``j``'s run of operand ``op`` at step ``s`` (the runs of
    :func:`_runs`: row ``j`` of ``rows`` gets its whole-byte share of the transfer); ``(0, -1)``
    for a run of no bytes."""
    ln = np.int64(np.floor((j + 1) * step)) - np.int64(np.floor(j * step))
    if ln <= 0:
        return np.int64(0), np.int64(-1)
    start = base[op] + np.int64(np.floor((a[op, s] + lo[op, s] + j) * pitch[op] + inner_off[op, s]))
    return start // bb, (start + ln - 1) // bb


@numba.njit(cache=True)
def _emit(op, s, tot, lo, hi, a, inner_off, pitch, base, p, rs, rn, rw, nr, flag):
    """Append operand ``op``'s runs at step ``s`` to the run list ``rs`` (first burst index,
    wrapped into the capacity), ``rn`` (bursts), ``rw`` (writes): a burst the previous run of the
    transfer ended in once, a run crossing the end of the capacity split in two. Returns the
    number of runs and of bursts added."""
    total = tot[op, s]
    if total <= 0:
        return nr, 0
    n = hi[op, s] - lo[op, s]
    bb = p[20]
    ncap = p[21] // bb  # bursts in the capacity: a power of two (every address field is)
    step = total / n
    last = -1
    added = 0
    for j in range(n):
        b0, b1 = _run_span(op, s, j, step, lo, a, inner_off, pitch, base, bb)
        if b1 < b0:
            continue
        w = b0 & (ncap - 1)
        left = b1 - b0 + 1
        if w == last:  # the burst the previous run ended in
            w = (w + 1) & (ncap - 1)
            left -= 1
        last = b1 & (ncap - 1)
        added += left
        while left > 0:
            c = min(left, ncap - w)
            rs[nr] = w
            rn[nr] = c
            rw[nr] = flag
            nr += 1
            left -= c
            w = 0
    return nr, added


@numba.njit(cache=True)
def _batch(rs, rn, rw, nr, p, shift, mask, st):
    """The fold-level time of one batch of runs (the arithmetic of
    :func:`simulator.dram.fold.batch_cycles`), against and updating the open rows ``st[0]``.

    Why it is fast: under a map with the row above the column (``p[23]`` > 0), a stretch of bursts
    that differ only in their column bits (a *chunk*: bits below the column are *lanes*) puts
    every lane in one bank and one row, and distinct lanes in distinct banks, so a run is taken
    a lane at a time (``count`` bursts at once, lanes in the order of their first burst: the
    order heads and rows see) instead of a burst at a time; and only the banks and channels a
    batch touches are reset and evaluated. Under any other map a run is taken burst by burst."""
    if nr == 0:
        return 0.0
    (open_, last, n_ch, nw_ch, per_grp, n_b, rows_b, bank_hit, chan_hit, head_cb, hit_wr, tb, tc, acts, chain, wref,
     bfl, ch_both) = st  # fmt: skip
    # bfl, per bank touched: 1 its writes' reference row is set (wref), 2 it has reads, 4 a write missed
    cl, cwl, rcd, rp, rtp, rc, ccd_s, ccd_l, bl = p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], p[8]
    rrd_s, faw, refi, rfc = p[9], p[10], p[12], p[13]
    nb, ng, nbg, nbank = p[16], p[17], p[18], p[19]
    ntb = 0
    ntc = 0
    # a chunk of bursts differing only in the column, its lanes; burst by burst without the fast path
    nl = np.int64(1) << shift[4] if p[23] > 0 else np.int64(1)
    chunk = nl * (mask[4] + 1) if p[23] > 0 else np.int64(1)
    for r in range(nr):
        pos = rs[r]
        end = pos + rn[r] - 1
        flag = rw[r]
        while pos <= end:
            cstart = pos - (pos & (chunk - 1))
            cend = min(end, cstart + chunk - 1)
            u0 = pos - cstart
            u1 = cend - cstart
            for t in range(min(nl, u1 - u0 + 1)):
                first = u0 + t
                x = cstart + first
                c = (u1 - first) // nl + 1  # this lane's bursts in the chunk: one bank, one row
                ro = (x >> shift[0]) & mask[0]
                ra = (x >> shift[1]) & mask[1]
                bg = (x >> shift[2]) & mask[2]
                ba = (x >> shift[3]) & mask[3]
                ch = (x >> shift[5]) & mask[5]
                cb = ch * nb + (ra * nbg + bg) * nbank + ba
                if n_ch[ch] == 0:  # first touch of the channel in this batch: its head
                    tc[ntc] = ch
                    ntc += 1
                    nw_ch[ch] = 0
                    chan_hit[ch] = False
                    head_cb[ch] = cb
                    acts[ch] = 0
                    chain[ch] = 0
                    ch_both[ch] = False
                    for g in range(ng):
                        per_grp[ch * ng + g] = 0
                n_ch[ch] += c
                if flag:
                    nw_ch[ch] += c
                per_grp[ch * ng + ra * nbg + bg] += c
                if n_b[cb] == 0:
                    tb[ntb] = cb
                    ntb += 1
                    last[cb] = open_[cb]
                    rows_b[cb] = 0
                    bank_hit[cb] = False
                    hit_wr[cb] = 0
                    bfl[cb] = 0
                n_b[cb] += c
                # the row a burst finds open: a read the batch's first, a write the row the
                # bank's reads left (the controller serves the reads first; they come first)
                ref = open_[cb]
                if ro == ref:
                    chan_hit[ch] = True
                if flag:
                    if bfl[cb] & 1 == 0:
                        bfl[cb] |= 1
                        wref[cb] = last[cb]
                    ref = wref[cb]
                else:
                    bfl[cb] |= 2
                if ro == ref:
                    bank_hit[cb] = True  # FR-FCFS serves hits to the open row first
                    if flag:
                        hit_wr[cb] = 1
                else:
                    if flag:
                        bfl[cb] |= 4
                    if last[cb] != ro:
                        rows_b[cb] += 1
                        last[cb] = ro
            pos = cend + 1
    for i in range(ntb):
        cb = tb[i]
        c = cb // nb
        kk = rows_b[cb]
        if bfl[cb] & 6 == 6 and nw_ch[c] < n_ch[c] and nw_ch[c] > p[24]:
            kk += 2  # a drain splits the reads around it: once more to the writes' row and back
            ch_both[c] = True
        acts[c] += kk
        ct = kk * (rtp + rp + rcd)
        if kk > 0 and not bank_hit[cb]:
            ct -= rtp
            if open_[cb] < 0:
                ct -= rp
        if kk > 0 and hit_wr[cb] == 1:
            ct += max(0, cwl + bl + p[22] - rtp)
        ct = ct + max(n_b[cb] - 1, 0) * ccd_s
        ct = max(ct, max(kk - 1, 0) * rc + ((rcd + (rp if open_[cb] >= 0 else 0)) if kk > 0 else 0)) + cl + bl
        chain[c] = max(chain[c], ct)
    best = 0
    for i in range(ntc):
        c = tc[i]
        mg = 0
        for g in range(ng):
            mg = max(mg, per_grp[c * ng + g])
        bus = max((n_ch[c] - 1) * max(ccd_s, bl), (mg - 1) * ccd_l)
        if nw_ch[c] > 0 and nw_ch[c] < n_ch[c]:
            bus += max(0, cl + bl + 2 - cwl - ccd_s)
            if nw_ch[c] > p[24]:
                bus += p[25]
                if ch_both[c]:
                    bus += 2 * (rp + rcd)
        tail = (cwl if nw_ch[c] > 0 else cl) + bl
        act = 0
        if acts[c] > 0:
            act = max((acts[c] - 1) * rrd_s, (-(-acts[c] // 4) - 1) * faw) + rcd + cl + bl
        hb = head_cb[c]
        hit = chan_hit[c]
        fill = tail + (0 if hit else rcd) + (rp if (not hit and open_[hb] >= 0) else 0)
        best = max(best, max(max(bus + fill, act), chain[c]))
        n_ch[c] = 0
    for i in range(ntb):
        cb = tb[i]
        open_[cb] = last[cb] if p[14] == 1 else -1
        n_b[cb] = 0
    return best * refi / (refi - rfc)


@numba.njit(cache=True)
def _new_state(p):
    """The running state of :func:`_batch` for a layer: open rows (none), per-bank and
    per-channel scratch, the lists of touched banks and channels."""
    nch, nb, ng = p[15], p[16], p[17]
    return (np.full(nch * nb, -1, dtype=np.int64), np.empty(nch * nb, dtype=np.int64), np.zeros(nch, np.int64),
            np.zeros(nch, np.int64), np.zeros(nch * ng, np.int64), np.zeros(nch * nb, np.int64),
            np.zeros(nch * nb, np.int64), np.zeros(nch * nb, np.bool_), np.zeros(nch, np.bool_),
            np.zeros(nch, np.int64), np.zeros(nch * nb, np.int64), np.zeros(nch * nb, np.int64),
            np.zeros(nch, np.int64), np.zeros(nch, np.int64), np.zeros(nch, np.int64), np.zeros(nch * nb, np.int64),
            np.zeros(nch * nb, np.int64), np.zeros(nch, np.bool_))  # fmt: skip


@numba.njit(cache=True)
def _run_capacity(steps, hi, lo, tot):
    """Runs a batch can hold: every operand's rows, each split at most once at the capacity's end."""
    most = 0
    for op in range(4):
        for s in range(steps):
            if tot[op, s] > 0:
                most = max(most, hi[op, s] - lo[op, s])
    return 4 * (2 * most + 2) + 8


@numba.njit(cache=True)
def _fold_layer(windows, tot, lo, hi, a, inner_off, pitch, base, shift, mask, p, ratio, limit, with_prefetch, out):
    """``out``: stall, prefetch, drain, bursts, busy (array cycles), and 1 in ``out[5]`` when
    the stall (plus the prefetch, ``with_prefetch``) passed ``limit`` and the layer was left
    there (the mapper's cut-off: a candidate already worse than the best found; its figures are
    then partial)."""
    steps = windows.shape[0]
    cap = _run_capacity(steps, hi, lo, tot)
    rs = np.empty(cap, dtype=np.int64)
    rn = np.empty(cap, dtype=np.int64)
    rw = np.empty(cap, dtype=np.bool_)
    st = _new_state(p)
    busy = 0.0
    bursts = 0
    # step 0's own inputs: the exposed prefetch
    nr, nbu = _emit_batch(-1, steps, tot, lo, hi, a, inner_off, pitch, base, p, rs, rn, rw)
    d = _batch(rs, rn, rw, nr, p, shift, mask, st)
    bursts += nbu
    busy += d
    t = d
    prefetch = np.ceil(t / ratio)
    stall = 0.0
    out[5] = 0.0
    for s in range(steps):
        nr, nbu = _emit_batch(s, steps, tot, lo, hi, a, inner_off, pitch, base, p, rs, rn, rw)
        d = _batch(rs, rn, rw, nr, p, shift, mask, st)
        bursts += nbu
        busy += d
        done = t + d
        end_compute = t + windows[s] * ratio
        if done > end_compute:
            stall += (done - end_compute) / ratio
            if stall + prefetch * with_prefetch > limit:
                out[5] = 1.0
                break
        t = max(done, end_compute)
    d = 0.0
    if out[5] == 0.0:
        nr, nbu = _emit(3, steps - 1, tot, lo, hi, a, inner_off, pitch, base, p, rs, rn, rw, 0, True)
        d = _batch(rs, rn, rw, nr, p, shift, mask, st)
        bursts += nbu
        busy += d
    out[0] = stall
    out[1] = prefetch
    out[2] = np.ceil(d / ratio)
    out[3] = bursts
    out[4] = busy / ratio


# ------------------------------------------------------- a floor on every batch's time (the mapper)
def _floor_params(dram: DramConfig, mode: str) -> np.ndarray:
    """The timings the floor uses; ``turn`` only in the fold form (whose term it is: the
    per-request controller has its own turnaround)."""
    fold = mode == "fold"
    turn = max(0, dram.cl + dram.bl + 2 - dram.cwl - dram.ccd_s) if fold else 0
    return np.array([max(dram.ccd_s, dram.bl), dram.cl, dram.cwl, dram.bl, turn, int(fold), dram.ccd_l],
                    dtype=np.int64)  # fmt: skip


def _group_bits(dram: DramConfig) -> np.ndarray:
    """Shift and mask of the channel, rank and bank-group fields of a burst index, the groups per
    channel (ranks x bank groups), bank groups per rank, and the period (bursts) after which the
    (channel, rank, bank group) of consecutive bursts repeats."""
    shift, mask = _map_bits(dram)
    top = max((int(shift[i]) + int(mask[i]).bit_length() for i in (1, 2, 5) if mask[i]), default=0)
    return np.array([shift[5], mask[5], shift[1], mask[1], shift[2], mask[2], dram.ranks * dram.bankgroups,
                     dram.bankgroups, 1 << top], dtype=np.int64)  # fmt: skip


def _floor_of_counts(grp: np.ndarray, n: np.ndarray, w: np.ndarray, q: np.ndarray) -> float:
    """Per-(channel, rank, bank group) bursts and per-channel bursts and writes -> the batch's
    floor in DRAM clocks (see :func:`batch_floors`)."""
    gap, cl, cwl, bl, turn, fold, ccd_l = (int(x) for x in q)
    if not n.any():
        return 0.0
    mg = grp.reshape(n.size, -1).max(axis=1)
    bus = np.maximum((n - 1) * gap, np.maximum(mg - 1, 0) * ccd_l)
    mixed = (w > 0) & (w < n)
    tail = np.where(w > 0, cwl, cl) if fold else min(cl, cwl)
    t = np.where(n > 0, bus + mixed * turn + tail + bl, 0)
    return float(t.max())


def batch_floors(tr: StepTraffic, dram: DramConfig, mode: str = "fold", ends: bool = False):
    """A floor on the DRAM clocks of the batch issued at each step (inputs of ``s+1``, outputs
    of ``s-1``), from its bursts' channels and bank groups alone: numba (:func:`_floors_layer`),
    whole periods of a run counted at once.

    Why a floor: a channel's data bus carries its ``n`` bursts one every ``max(tCCD_S, BL)``
    clocks, the ``m`` of its busiest bank group one every ``tCCD_L``, and its last ends ``CL``
    (reads) or ``CWL`` (writes) plus ``BL`` after its command. In the fold form (:func:`_batch`)
    that is each channel's ``bus + tail`` term, turnaround included, before the activation, row
    and refresh terms, which only add; the per-request controller cannot beat a data bus or
    tCCD_L either, so there the floor takes the smaller latency and no turnaround. Burst lists
    are exactly :func:`step_requests`' (the same runs, a burst two runs of a transfer share
    once). ``ends``: also the floors of the first batch (step 0's own inputs, the exposed
    prefetch) and the last (the final drain), as a second array."""
    if dram.bit_slices is not None:  # the numba kernel slices contiguous fields
        return batch_floors_py(tr, dram, mode, ends)
    tot, lo, hi, a, inner_off, pitch, base = _descriptors(tr, dram)
    p = np.array([dram.burst_bytes, dram.capacity_bytes], dtype=np.int64)
    out = np.zeros(tr.windows.size + 2)
    _floors_layer(tot, lo, hi, a, inner_off, pitch, base, p, _group_bits(dram), _floor_params(dram, mode), out)
    return (out[:-2], out[-2:]) if ends else out[:-2]


def batch_floors_py(tr: StepTraffic, dram: DramConfig, mode: str = "fold", ends: bool = False):
    """The numpy twin of :func:`batch_floors`, from :func:`step_requests`' burst lists."""
    from simulator.dram.fl import decode

    q = _floor_params(dram, mode)
    batches = [step_requests(tr, dram, s) for s in range(tr.windows.size)]
    batches += [_first_batch(tr, dram), _last_batch(tr, dram)]
    out = np.zeros(len(batches))
    for s, (addr, wr) in enumerate(batches):
        f = decode(dram, addr)
        ch = f["ch"]
        key = ch * (dram.ranks * dram.bankgroups) + f["ra"] * dram.bankgroups + f["bg"]
        grp = np.bincount(key, minlength=dram.channels * dram.ranks * dram.bankgroups)
        n = np.bincount(ch, minlength=dram.channels)
        w = np.bincount(ch[wr], minlength=dram.channels)
        out[s] = _floor_of_counts(grp, n, w, q)
    return (out[:-2], out[-2:]) if ends else out[:-2]


@numba.njit(cache=True)
def _count(op, s, tot, lo, hi, a, inner_off, pitch, base, bb, nb_cap, g, grp, n, w, flag):
    """Add operand ``op``'s bursts at step ``s`` to the group and channel counts (the runs of
    :func:`_emit`, consecutive duplicates once).

    Why it is cheap: the (channel, rank, bank group) of a burst depends only on its index modulo
    the period ``g[8]``, so a run's whole periods are added at once, and the rest of each run is a
    (residue, length) pattern: the rows of a matrix tile repeat a few patterns (their pitch is
    regular), each counted burst by burst once and added times its rows (up to 16 patterns; any
    further one is counted directly)."""
    total = tot[op, s]
    if total <= 0:
        return
    rows = hi[op, s] - lo[op, s]
    step = total / rows
    period = g[8]
    ngrp = grp.shape[0]
    nch = n.shape[0]
    pr = np.empty(16, dtype=np.int64)
    pl = np.empty(16, dtype=np.int64)
    pm = np.zeros(16, dtype=np.int64)
    npat = 0
    last = -1
    for j in range(rows):
        b0, b1 = _run_span(op, s, j, step, lo, a, inner_off, pitch, base, bb)
        if b1 < b0:
            continue
        if b0 % nb_cap == last:
            b0 += 1
        last = b1 % nb_cap
        if b0 > b1:
            continue
        full = (b1 - b0 + 1) // period
        if full > 0:
            per_grp = full * (period // ngrp)
            for k in range(ngrp):
                grp[k] += per_grp
            per_ch = full * (period // nch)
            for c in range(nch):
                n[c] += per_ch
                if flag:
                    w[c] += per_ch
            b0 += full * period
        if b0 > b1:
            continue
        r = b0 % period
        length = b1 - b0 + 1
        found = -1
        for k in range(npat):
            if pr[k] == r and pl[k] == length:
                found = k
                break
        if found < 0 and npat < 16:
            pr[npat] = r
            pl[npat] = length
            found = npat
            npat += 1
        if found >= 0:
            pm[found] += 1
            continue
        _count_range(r, length, g, grp, n, w, flag, 1)
    for k in range(npat):
        _count_range(pr[k], pl[k], g, grp, n, w, flag, pm[k])


@numba.njit(cache=True, inline="always")
def _count_range(r, length, g, grp, n, w, flag, times):
    """``times`` x the bursts ``r .. r + length - 1`` (indices modulo the period)."""
    for b in range(r, r + length):
        c = (b >> g[0]) & g[1]
        grp[c * g[6] + ((b >> g[2]) & g[3]) * g[7] + ((b >> g[4]) & g[5])] += times
        n[c] += times
        if flag:
            w[c] += times


@numba.njit(cache=True)
def _floors_layer(tot, lo, hi, a, inner_off, pitch, base, p, g, q, out):
    """``out[s]``: the floor of the batch issued at step ``s``; past the steps, the first batch
    (step 0's own inputs) and the last (the final drain)."""
    bb, cap = p[0], p[1]
    nb_cap = cap // bb
    nch = g[1] + 1
    ng = g[6]
    steps = out.shape[0] - 2
    grp = np.zeros(nch * ng, dtype=np.int64)
    n = np.zeros(nch, dtype=np.int64)
    w = np.zeros(nch, dtype=np.int64)
    for s in range(steps + 2):
        grp[:] = 0
        n[:] = 0
        w[:] = 0
        if s == steps:
            for op in range(3):
                _count(op, 0, tot, lo, hi, a, inner_off, pitch, base, bb, nb_cap, g, grp, n, w, False)
        elif s == steps + 1:
            _count(3, steps - 1, tot, lo, hi, a, inner_off, pitch, base, bb, nb_cap, g, grp, n, w, True)
        else:
            if s + 1 < steps:
                for op in range(3):
                    _count(op, s + 1, tot, lo, hi, a, inner_off, pitch, base, bb, nb_cap, g, grp, n, w, False)
            if s >= 1:
                _count(3, s - 1, tot, lo, hi, a, inner_off, pitch, base, bb, nb_cap, g, grp, n, w, True)
        out[s] = _floor_counts(grp, n, w, q, nch, ng)


@numba.njit(cache=True, inline="always")
def _floor_counts(grp, n, w, q, nch, ng):
    """:func:`_floor_of_counts` in numba."""
    gap, cl, cwl, bl, turn, fold, ccd_l = q[0], q[1], q[2], q[3], q[4], q[5], q[6]
    best = 0
    for c in range(nch):
        if n[c] == 0:
            continue
        mg = 0
        for k in range(ng):
            mg = max(mg, grp[c * ng + k])
        t = max((n[c] - 1) * gap, (mg - 1) * ccd_l) + bl
        if fold == 1:
            t += cwl if w[c] > 0 else cl
            if w[c] > 0 and w[c] < n[c]:
                t += turn
        else:
            t += min(cl, cwl)
        best = max(best, t)
    return best


# --------------------------------------------- the exposed first load and last write-back (the mapper)
#: batches the drain's open rows are looked for in, counting back from the last step's
BACK = 8


def end_batches(tr: StepTraffic, clock_ghz: float, dram: DramConfig, back: int = BACK) -> tuple[int, int | None]:
    """The fold form's exposed prefetch and drain of a layer (array cycles, as
    :func:`simulate_dram` reports them) without simulating the steps between: numba
    (:func:`_ends_layer`). The drain is None when it is not known this way.

    Why they can be had cheaply: the fold form's only state between batches is each bank's open
    row, so the prefetch (the first batch, every bank closed) is exact on its own, and so is the
    drain once the open rows of the banks it touches are known. Under close-page those are all
    closed. Under open-page a bank ends a batch on the row of its last burst that missed, so a
    bank whose latest batch touched it in one row only is left on that row; the last ``back``
    batches are searched for every bank the drain touches, and a bank touched in several rows
    by its latest batch, or in none of them while earlier batches remain, leaves the drain
    unknown (then the mapper takes its floor). A layer's cycles behind an LLM step count both
    (``exposed_io``), and for most candidates they are all the stalls there are."""
    if dram.bit_slices is not None:  # the numba kernels slice contiguous fields
        return end_batches_py(tr, clock_ghz, dram, back)
    tot, lo, hi, a, inner_off, pitch, base = _descriptors(tr, dram)
    shift, mask = _map_bits(dram)
    p = _fold_params(dram)
    out = np.zeros(2)
    _ends_layer(tr.windows.size, tot, lo, hi, a, inner_off, pitch, base, shift, mask, p, back, out)
    ratio = dram.clock_ghz / clock_ghz
    prefetch = int(math.ceil(out[0] / ratio))
    return prefetch, (int(math.ceil(out[1] / ratio)) if out[1] >= 0 else None)


def end_batches_py(tr: StepTraffic, clock_ghz: float, dram: DramConfig, back: int = BACK) -> tuple[int, int | None]:
    """The numpy twin of :func:`end_batches`, from :func:`step_requests`' burst lists and
    :func:`simulator.dram.fold.batch_cycles`."""
    from simulator.dram.fl import bank_index, decode

    ratio = dram.clock_ghz / clock_ghz
    steps = tr.windows.size
    a0, w0 = _first_batch(tr, dram)
    prefetch = int(math.ceil(batch_cycles(dram, a0, w0, FoldState(dram)) / ratio)) if a0.size else 0
    a1, w1 = _last_batch(tr, dram)
    if a1.size == 0:
        return prefetch, 0
    state = FoldState(dram)
    if dram.page_policy == "open":

        def banks_rows(addr):
            f = decode(dram, addr)
            return f["ch"] * dram.banks_per_channel + bank_index(dram, f), f["ro"]

        need = set(banks_rows(a1)[0].tolist())
        found: dict[int, int] = {}
        k = steps - 1
        while need and k >= max(-1, steps - 1 - back):
            addr = step_requests(tr, dram, k)[0] if k >= 0 else _first_batch(tr, dram)[0]
            cb, ro = banks_rows(addr) if addr.size else (np.zeros(0, np.int64), np.zeros(0, np.int64))
            rows: dict[int, set[int]] = {}
            for b, r in zip(cb.tolist(), ro.tolist(), strict=True):
                if b in need:
                    rows.setdefault(b, set()).add(r)
            for b, rs in rows.items():
                if len(rs) > 1:
                    return prefetch, None
                found[b] = rs.pop()
                need.discard(b)
            k -= 1
        if need and k >= -1:
            return prefetch, None
        for b, r in found.items():
            state.open[b] = r
    return prefetch, int(math.ceil(batch_cycles(dram, a1, w1, state) / ratio))


def _fold_params(dram: DramConfig) -> np.ndarray:
    return np.array([dram.cl, dram.cwl, dram.rcd, dram.rp, dram.rtp, dram.rc, dram.ccd_s, dram.ccd_l, dram.bl,
                     dram.rrd_s, dram.faw, dram.wtr_s, dram.refi, dram.rfc, int(dram.page_policy == "open"),
                     dram.channels, dram.banks_per_channel, dram.ranks * dram.bankgroups, dram.bankgroups,
                     dram.banks, dram.burst_bytes, dram.capacity_bytes, dram.wr,
                     int(_row_above_column(dram)), drain_threshold(dram), drain_turns(dram)],
                    dtype=np.int64)  # fmt: skip


def _row_above_column(dram: DramConfig) -> bool:
    """Whether the address map puts the row bits above the column bits (:func:`_batch`'s fast
    path: bursts differing only in the column then share a bank and a row)."""
    order = dram.address_map.split("-")  # most significant first
    return order.index("ro") < order.index("co")


@numba.njit(cache=True)
def _emit_batch(k, steps, tot, lo, hi, a, inner_off, pitch, base, p, rs, rn, rw):
    """The runs of batch ``k`` (-1: step 0's own inputs; else the batch issued at step ``k``:
    the inputs of step ``k + 1``, then the outputs of step ``k - 1``) and its bursts."""
    nr = 0
    nbu = 0
    if k < 0:
        for op in range(3):
            nr, c = _emit(op, 0, tot, lo, hi, a, inner_off, pitch, base, p, rs, rn, rw, nr, False)
            nbu += c
        return nr, nbu
    if k + 1 < steps:
        for op in range(3):
            nr, c = _emit(op, k + 1, tot, lo, hi, a, inner_off, pitch, base, p, rs, rn, rw, nr, False)
            nbu += c
    if k >= 1:
        nr, c = _emit(3, k - 1, tot, lo, hi, a, inner_off, pitch, base, p, rs, rn, rw, nr, True)
        nbu += c
    return nr, nbu


@numba.njit(cache=True, inline="always")
def _bank_of(x, p, shift, mask):
    return ((x >> shift[5]) & mask[5]) * p[16] + (((x >> shift[1]) & mask[1]) * p[18]
                                                  + ((x >> shift[2]) & mask[2])) * p[19] + ((x >> shift[3]) & mask[3])


@numba.njit(cache=True)
def _ends_layer(steps, tot, lo, hi, a, inner_off, pitch, base, shift, mask, p, back, out):
    nch, nb = p[15], p[16]
    cap = _run_capacity(steps, hi, lo, tot)
    rs = np.empty(cap, dtype=np.int64)
    rn = np.empty(cap, dtype=np.int64)
    rw = np.empty(cap, dtype=np.bool_)
    st = _new_state(p)
    nr, _ = _emit_batch(-1, steps, tot, lo, hi, a, inner_off, pitch, base, p, rs, rn, rw)
    out[0] = _batch(rs, rn, rw, nr, p, shift, mask, st)
    # the drain's runs, kept apart while earlier batches are searched
    ds = np.empty(cap, dtype=np.int64)
    dn = np.empty(cap, dtype=np.int64)
    dw = np.empty(cap, dtype=np.bool_)
    nd, _ = _emit(3, steps - 1, tot, lo, hi, a, inner_off, pitch, base, p, ds, dn, dw, 0, True)
    open_ = st[0]
    open_[:] = -1
    if nd > 0 and p[14] == 1:
        need = np.zeros(nch * nb, dtype=np.bool_)
        seen_at = np.full(nch * nb, -2, dtype=np.int64)
        row = np.full(nch * nb, -1, dtype=np.int64)
        left = 0
        for r in range(nd):
            for x in range(ds[r], ds[r] + dn[r]):
                cb = _bank_of(x, p, shift, mask)
                if not need[cb]:
                    need[cb] = True
                    left += 1
        k = steps - 1
        stop = max(-1, steps - 1 - back)
        while left > 0 and k >= stop:
            nr, _ = _emit_batch(k, steps, tot, lo, hi, a, inner_off, pitch, base, p, rs, rn, rw)
            for r in range(nr):
                for x in range(rs[r], rs[r] + rn[r]):
                    cb = _bank_of(x, p, shift, mask)
                    if not need[cb]:
                        continue
                    ro = (x >> shift[0]) & mask[0]
                    if seen_at[cb] == -2:
                        seen_at[cb] = k
                        row[cb] = ro
                        left -= 1
                    elif seen_at[cb] == k and row[cb] != ro:
                        out[1] = -1.0  # touched in two rows by its latest batch: its open row is not known
                        return
            k -= 1
        if left > 0 and k >= -1:
            out[1] = -1.0  # not found in the batches searched, and earlier ones remain
            return
        for cb in range(nch * nb):
            if seen_at[cb] != -2:
                open_[cb] = row[cb]
    out[1] = _batch(ds, dn, dw, nd, p, shift, mask, st)
