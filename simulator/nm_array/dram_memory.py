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
from simulator.dram.fold import FoldState, batch_cycles
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


def _tile_offset(tr: StepTraffic, op: str, s: int) -> int:
    """Byte offset of step ``s``'s tile of a tile-major operand (X or W)."""
    lo, hi, ext = tr.lo, tr.hi, tr.ext
    copy = int(tr.copy[s])
    if op == "X":
        big_p, kc, i = ext["P"], ext["K"], tr.ifmap_bytes

        def f(pa: int, kb: int) -> int:
            return (pa * kb * i) // (big_p * kc)

        p0, p1, k0 = int(lo["P"][s]), int(hi["P"][s]), int(lo["K"][s])
        return copy * i + f(p0, kc) + f(p1, k0) - f(p0, k0)
    k0, k1, n0 = int(lo["K"][s]), int(hi["K"][s]), int(lo["N"][s])
    row = ext["N"] * tr.wbits
    return copy * ((ext["K"] * row + 7) // 8) + (k0 * row + (k1 - k0) * n0 * tr.wbits) // 8


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
                  state: DramState | None = None) -> DramResult:  # fmt: skip
    """Stalls of one layer (all GEMM copies) with its steps' transfers on ``dram``: ``fold`` runs
    the numba kernel :func:`_fold_layer`; ``request`` the per-request controller."""
    if mode == "fold":
        return _fold_numba(tr, clock_ghz, dram)
    return simulate_dram_py(tr, clock_ghz, dram, mode, state)


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
            inner_off[i] = [float(_tile_offset(tr, op, s)) if tot[i, s] > 0 else 0.0 for s in range(steps)]
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


def _fold_numba(tr: StepTraffic, clock_ghz: float, dram: DramConfig) -> DramResult:
    tot, lo, hi, a, inner_off, pitch, base = _descriptors(tr, dram)
    shift, mask = _map_bits(dram)
    p = np.array([dram.cl, dram.cwl, dram.rcd, dram.rp, dram.rtp, dram.rc, dram.ccd_s, dram.ccd_l, dram.bl,
                  dram.rrd_s, dram.faw, dram.wtr_s, dram.refi, dram.rfc, int(dram.page_policy == "open"),
                  dram.channels, dram.banks_per_channel, dram.ranks * dram.bankgroups, dram.bankgroups, dram.banks,
                  dram.burst_bytes, dram.capacity_bytes, dram.wr], dtype=np.int64)  # fmt: skip
    out = np.zeros(6)
    _fold_layer(tr.windows.astype(np.float64), tot, lo, hi, a, inner_off, pitch, base, shift, mask, p,
                dram.clock_ghz / clock_ghz, out)  # fmt: skip
    return DramResult(stall_cycles=int(math.ceil(out[0] - 1e-9)), prefetch_cycles=int(out[1]),
                      drain_cycles=int(out[2]), dram_burst_bytes=int(out[3]) * dram.burst_bytes,
                      dram_busy_cycles=int(math.ceil(out[4])), requests=int(out[3]))  # fmt: skip


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
def _emit(op, s, tot, lo, hi, a, inner_off, pitch, base, p, buf, nbuf, wr, flag):
    """Append operand ``op``'s bursts at step ``s`` to ``buf`` (consecutive duplicates once)."""
    total = tot[op, s]
    if total <= 0:
        return nbuf
    n = hi[op, s] - lo[op, s]
    bb = p[20]
    cap = p[21]
    step = total / n
    last = -1
    for j in range(n):
        b0, b1 = _run_span(op, s, j, step, lo, a, inner_off, pitch, base, bb)
        for b in range(b0, b1 + 1):
            addr = (b * bb) % cap
            if addr == last:
                continue
            last = addr
            buf[nbuf] = addr
            wr[nbuf] = flag
            nbuf += 1
    return nbuf


@numba.njit(cache=True)
def _batch(buf, wr, nbuf, p, shift, mask, open_, last, n_ch, nw_ch, per_grp, n_b, rows_b, bank_hit, chan_hit, head_cb,
           head_row, hit_wr):  # fmt: skip
    """The fold-level time of one batch (same arithmetic as simulator.dram.fold.batch_cycles)."""
    cl, cwl, rcd, rp, rtp, rc, ccd_s, ccd_l, bl = p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], p[8]
    rrd_s, faw, refi, rfc = p[9], p[10], p[12], p[13]
    nch, nb, ng, nbg, nbank = p[15], p[16], p[17], p[18], p[19]
    bshift = 0
    bb = p[20]
    while (1 << bshift) < bb:
        bshift += 1
    n_ch[:] = 0
    nw_ch[:] = 0
    per_grp[:] = 0
    n_b[:] = 0
    rows_b[:] = 0
    bank_hit[:] = False
    chan_hit[:] = False
    hit_wr[:] = 0
    head_cb[:] = -1
    for k in range(nb * nch):
        last[k] = open_[k]
    for i in range(nbuf):
        x = buf[i] >> bshift
        ro = (x >> shift[0]) & mask[0]
        ra = (x >> shift[1]) & mask[1]
        bg = (x >> shift[2]) & mask[2]
        ba = (x >> shift[3]) & mask[3]
        ch = (x >> shift[5]) & mask[5]
        n_ch[ch] += 1
        if wr[i]:
            nw_ch[ch] += 1
        per_grp[ch * ng + ra * nbg + bg] += 1
        cb = ch * nb + (ra * nbg + bg) * nbank + ba
        n_b[cb] += 1
        if head_cb[ch] < 0:
            head_cb[ch] = cb
            head_row[ch] = ro
        if ro == open_[cb]:
            bank_hit[cb] = True  # FR-FCFS serves hits to the open row first
            if wr[i]:
                hit_wr[cb] = 1
            chan_hit[ch] = True
            continue
        if last[cb] != ro:
            rows_b[cb] += 1
        last[cb] = ro
    best = 0
    for c in range(nch):
        if n_ch[c] == 0:
            continue
        mg = 0
        for g in range(ng):
            mg = max(mg, per_grp[c * ng + g])
        bus = max((n_ch[c] - 1) * max(ccd_s, bl), (mg - 1) * ccd_l)
        if nw_ch[c] > 0 and nw_ch[c] < n_ch[c]:
            bus += max(0, cl + bl + 2 - cwl - ccd_s)
        tail = (cwl if nw_ch[c] > 0 else cl) + bl
        acts = 0
        ch_chain = 0
        for b in range(nb):
            cb = c * nb + b
            acts += rows_b[cb]
            if n_b[cb] == 0:
                continue
            kk = rows_b[cb]
            ct = kk * (rtp + rp + rcd)
            if kk > 0 and not bank_hit[cb]:
                ct -= rtp
                if open_[cb] < 0:
                    ct -= rp
            if kk > 0 and hit_wr[cb] == 1:
                ct += max(0, cwl + bl + p[22] - rtp)
            ct = ct + max(n_b[cb] - 1, 0) * ccd_s
            ct = max(ct, max(kk - 1, 0) * rc + (rcd if kk > 0 else 0)) + cl + bl
            ch_chain = max(ch_chain, ct)
        act = 0
        if acts > 0:
            act = max((acts - 1) * rrd_s, (-(-acts // 4) - 1) * faw) + rcd + cl + bl
        hb = head_cb[c]
        hit = chan_hit[c]
        fill = tail + (0 if hit else rcd) + (rp if (not hit and open_[hb] >= 0) else 0)
        best = max(best, max(max(bus + fill, act), ch_chain))
    if p[14] == 1:
        for k in range(nb * nch):
            open_[k] = last[k]
    else:
        open_[:] = -1
    return best * refi / (refi - rfc)


@numba.njit(cache=True, inline="always")
def _flush(buf, wr, nbuf, p, shift, mask, state):
    """DRAM cycles of the ``nbuf`` bursts gathered in ``buf`` (0 when there are none), against the
    layer's running controller state (:func:`_batch`'s arrays, in ``state``)."""
    if nbuf == 0:
        return 0.0
    return _batch(buf, wr, nbuf, p, shift, mask, state[0], state[1], state[2], state[3], state[4], state[5],
                  state[6], state[7], state[8], state[9], state[10], state[11])  # fmt: skip


@numba.njit(cache=True)
def _fold_layer(windows, tot, lo, hi, a, inner_off, pitch, base, shift, mask, p, ratio, out):
    steps = windows.shape[0]
    nch, nb, ng = p[15], p[16], p[17]
    cap_b = 0
    for op in range(4):
        for s in range(steps):
            if tot[op, s] > 0:
                rows = hi[op, s] - lo[op, s]
                cap_b = max(cap_b, np.int64(tot[op, s]) // p[20] + 2 * rows + 2)
    buf = np.empty(4 * cap_b + 8, dtype=np.int64)
    wr = np.empty(4 * cap_b + 8, dtype=np.bool_)
    open_ = np.full(nch * nb, -1, dtype=np.int64)
    last = np.empty(nch * nb, dtype=np.int64)
    n_ch = np.zeros(nch, dtype=np.int64)
    nw_ch = np.zeros(nch, dtype=np.int64)
    per_grp = np.zeros(nch * ng, dtype=np.int64)
    n_b = np.zeros(nch * nb, dtype=np.int64)
    rows_b = np.zeros(nch * nb, dtype=np.int64)
    seen = np.zeros(nch * nb, dtype=np.bool_)
    conflict = np.zeros(nch * nb, dtype=np.bool_)
    head_cb = np.zeros(nch, dtype=np.int64)
    head_row = np.zeros(nch, dtype=np.int64)
    chain = np.zeros(nch * nb, dtype=np.int64)  # first activation flags per bank
    state = (open_, last, n_ch, nw_ch, per_grp, n_b, rows_b, seen, conflict, head_cb, head_row, chain)
    busy = 0.0
    bursts = 0
    # step 0's own inputs: the exposed prefetch
    nbuf = 0
    for op in range(3):
        nbuf = _emit(op, 0, tot, lo, hi, a, inner_off, pitch, base, p, buf, nbuf, wr, False)
    d = _flush(buf, wr, nbuf, p, shift, mask, state)
    bursts += nbuf
    busy += d
    t = d
    prefetch = np.ceil(t / ratio)
    stall = 0.0
    for s in range(steps):
        nbuf = 0
        if s + 1 < steps:
            for op in range(3):
                nbuf = _emit(op, s + 1, tot, lo, hi, a, inner_off, pitch, base, p, buf, nbuf, wr, False)
        if s >= 1:
            nbuf = _emit(3, s - 1, tot, lo, hi, a, inner_off, pitch, base, p, buf, nbuf, wr, True)
        d = _flush(buf, wr, nbuf, p, shift, mask, state)
        bursts += nbuf
        busy += d
        done = t + d
        end_compute = t + windows[s] * ratio
        if done > end_compute:
            stall += (done - end_compute) / ratio
        t = max(done, end_compute)
    nbuf = _emit(3, steps - 1, tot, lo, hi, a, inner_off, pitch, base, p, buf, 0, wr, True)
    d = _flush(buf, wr, nbuf, p, shift, mask, state)
    bursts += nbuf
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


def batch_floors(tr: StepTraffic, dram: DramConfig, mode: str = "fold") -> np.ndarray:
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
    once)."""
    tot, lo, hi, a, inner_off, pitch, base = _descriptors(tr, dram)
    p = np.array([dram.burst_bytes, dram.capacity_bytes], dtype=np.int64)
    out = np.zeros(tr.windows.size)
    _floors_layer(tot, lo, hi, a, inner_off, pitch, base, p, _group_bits(dram), _floor_params(dram, mode), out)
    return out


def batch_floors_py(tr: StepTraffic, dram: DramConfig, mode: str = "fold") -> np.ndarray:
    """The numpy twin of :func:`batch_floors`, from :func:`step_requests`' burst lists."""
    g = _group_bits(dram)
    q = _floor_params(dram, mode)
    out = np.zeros(tr.windows.size)
    for s in range(tr.windows.size):
        addr, wr = step_requests(tr, dram, s)
        x = addr // dram.burst_bytes
        ch = (x >> g[0]) & g[1]
        key = ch * g[6] + ((x >> g[2]) & g[3]) * g[7] + ((x >> g[4]) & g[5])
        grp = np.bincount(key, minlength=dram.channels * int(g[6]))
        n = np.bincount(ch, minlength=dram.channels)
        w = np.bincount(ch[wr], minlength=dram.channels)
        out[s] = _floor_of_counts(grp, n, w, q)
    return out


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
    bb, cap = p[0], p[1]
    nb_cap = cap // bb
    gap, cl, cwl, bl, turn, fold, ccd_l = q[0], q[1], q[2], q[3], q[4], q[5], q[6]
    nch = g[1] + 1
    ng = g[6]
    steps = out.shape[0]
    grp = np.zeros(nch * ng, dtype=np.int64)
    n = np.zeros(nch, dtype=np.int64)
    w = np.zeros(nch, dtype=np.int64)
    for s in range(steps):
        grp[:] = 0
        n[:] = 0
        w[:] = 0
        if s + 1 < steps:
            for op in range(3):
                _count(op, s + 1, tot, lo, hi, a, inner_off, pitch, base, bb, nb_cap, g, grp, n, w, False)
        if s >= 1:
            _count(3, s - 1, tot, lo, hi, a, inner_off, pitch, base, bb, nb_cap, g, grp, n, w, True)
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
        out[s] = best
