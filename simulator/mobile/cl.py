"""Cycle-level engine of the Cortex-A76-class core: an out-of-order window fed by instruction
templates, with a three-level cache hierarchy and one DRAM channel.

Why this shape: a mobile kernel's inner loop is one short body executed millions of times with
different addresses. A stream is therefore stored as *templates* (the body's instructions: class,
registers, which address stream and offset) and *instances* (one row per executed body: which
template and the base address of each stream). The same templates print as AArch64 assembly for
the llvm-mca cross-check (:mod:`simulator.mobile.streams`).

Each instruction (one template row, one or two uops) goes through, in program order::

    decode/dispatch   at most decode_width instructions and dispatch_uops uops per cycle, and only
                      into free window (ROB) entries; an entry frees the cycle after its uop retires
    issue             the first cycle >= dispatch+1 when its source registers are ready and each of
                      its uops finds a free pipe of its class (pipe reservation per cycle, so a
                      younger instruction may take a slot before an older, blocked one: out of order)
    complete          issue + class latency; a load's data comes from the caches
    retire            in order, at most retire_width uops per cycle

    cycle      0   1   2   3   4   5   6
    ld1 v1    D   I   .   .   .   .   R     (5-cycle vector load, L0)
    fmla v8   D   .   .   .   .   .   I...  waits for v1 (RAW), V0 or V1
    add x2    D   I   R                     (S0, 1 cycle)

Caches (set-associative, LRU, ``line_bytes`` lines): an L1 hit completes at issue + latency; an L1
miss asks L2 (whose port passes one line per ``l2_line_cycles``), L2 asks L3, L3 asks DRAM (one
channel, ``dram_line_cycles`` per line); a line already in flight is waited for, not re-fetched.
An L1 demand miss also fetches the next ``prefetch_l1_lines`` lines into L1 and the next
``prefetch_l2_lines`` into L2. Stores allocate their line; the store buffer hides their latency.

``run_instances`` (numba) is the engine; :func:`simulator.mobile.twin.run_instances_twin` is its
independent pure-Python twin (dicts and ordered LRU lists instead of arrays) that the tests compare
cycle for cycle.
"""

from __future__ import annotations

import numba
import numpy as np

from simulator.mobile.config import CLASS_ID, CoreConfig, class_table

__all__ = ["CoreState", "run_instances", "STAT_NAMES"]

RING = 1 << 16
NREGS = 72  # x0-x30 (0-30), v0-v31 (32-63)
# state vector slots (_ISS, _ICNT: the in-order issue cursor and instructions issued in it)
_CUR, _DEC, _UOP, _RET, _RCNT, _ROBP, _L2P, _L3P, _DRAMP, _CLK, _ISS, _ICNT = range(12)
STAT_NAMES = ("instructions", "uops", "loads", "stores", "l1_misses", "l2_misses", "l3_misses", "fmla")
_S0 = 12
_FMLA = CLASS_ID["fmla"]


class CoreState:
    """Mutable state of one core between calls (so a network's layers share warm caches)."""

    def __init__(self, cfg: CoreConfig):
        self.cfg = cfg
        self.ctab = class_table(cfg)
        shift = cfg.line_bytes.bit_length() - 1
        self.prm = np.array(
            [
                cfg.decode_width,
                cfg.dispatch_uops,
                cfg.retire_width,
                cfg.rob_size,
                cfg.sets("l1"),
                cfg.l1_ways,
                cfg.sets("l2"),
                cfg.l2_ways,
                cfg.sets("l3"),
                cfg.l3_ways,
                shift,
                cfg.l2_latency,
                cfg.l3_latency,
                cfg.l2_line_cycles,
                cfg.l3_line_cycles,
                cfg.dram_latency,
                int(round(cfg.dram_line_cycles * 1024)),
                cfg.prefetch_l1_lines,
                cfg.prefetch_l2_lines,
                int(cfg.perfect_l1),
                cfg.lat_ld_int,
                int(cfg.in_order),
                cfg.q_load_issue_cycles,
            ],
            dtype=np.int64,
        )
        self.st = np.zeros(_S0 + len(STAT_NAMES), dtype=np.int64)
        self.reg = np.zeros(NREGS, dtype=np.int64)
        self.rob = np.full(cfg.rob_size, -1, dtype=np.int64)
        self.ptag = np.full((8, RING), -1, dtype=np.int64)
        n = max(cfg.sets(lv) * getattr(cfg, f"{lv}_ways") for lv in ("l1", "l2", "l3") if cfg.sets(lv))
        self.ctag = np.full((3, n), -1, dtype=np.int64)
        self.cstamp = np.zeros((3, n), dtype=np.int64)
        self.crdy = np.zeros((3, n), dtype=np.int64)

    @property
    def cycles(self) -> int:
        return int(self.st[_RET])

    def stats(self) -> dict[str, int]:
        return {k: int(self.st[_S0 + i]) for i, k in enumerate(STAT_NAMES)}

    def run(self, rows: np.ndarray, toff: np.ndarray, inst: np.ndarray) -> int:
        """Run instances; returns the cycle the last one retired."""
        run_instances(
            rows, toff, inst, self.ctab, self.prm, self.st, self.reg, self.rob, self.ptag,
            self.ctag, self.cstamp, self.crdy,
        )  # fmt: skip
        return self.cycles


# --------------------------------------------------------------------------------- numba engine


@numba.njit(cache=True, inline="always")
def _find(ctag, lv, base, ways, line):
    for w in range(ways):
        if ctag[lv, base + w] == line:
            return base + w
    return -1


@numba.njit(cache=True, inline="always")
def _install(ctag, cstamp, crdy, lv, base, ways, line, ready, clk):
    v = base
    for w in range(ways):
        if ctag[lv, base + w] == -1:
            v = base + w
            break
        if cstamp[lv, base + w] < cstamp[lv, v]:
            v = base + w
    ctag[lv, v] = line
    cstamp[lv, v] = clk
    crdy[lv, v] = ready


@numba.njit(cache=True)
def _l2_fill(line, t, prm, st, ctag, cstamp, crdy):
    """Make ``line`` present in L2; returns (time it is usable there, hit in L2)."""
    st[_CLK] += 1
    b2 = (line % prm[6]) * prm[7]
    i2 = _find(ctag, 1, b2, prm[7], line)
    if i2 >= 0:
        cstamp[1, i2] = st[_CLK]
        return crdy[1, i2], True
    st[_S0 + 5] += 1
    b3 = (line % prm[8]) * prm[9] if prm[8] > 0 else 0
    i3 = _find(ctag, 2, b3, prm[9], line) if prm[8] > 0 else -1
    if i3 >= 0:
        cstamp[2, i3] = st[_CLK]
        s = max(t, st[_L3P])
        st[_L3P] = s + prm[14]
        r = max(s + prm[12], crdy[2, i3])
    else:
        st[_S0 + 6] += 1
        s = max(t * 1024, st[_DRAMP])
        st[_DRAMP] = s + prm[16]
        r = (s + 1023) // 1024 + prm[15]
        if prm[8] > 0:
            _install(ctag, cstamp, crdy, 2, b3, prm[9], line, r, st[_CLK])
    _install(ctag, cstamp, crdy, 1, b2, prm[7], line, r, st[_CLK])
    return r, False


@numba.njit(cache=True)
def _l1_fill(line, t, prm, st, ctag, cstamp, crdy):
    """Bring ``line`` into L1 through the L2 port; returns its arrival (integer-load ready) time."""
    r2, _ = _l2_fill(line, t, prm, st, ctag, cstamp, crdy)
    s = max(t, st[_L2P])
    st[_L2P] = s + prm[13]
    arr = max(r2, s + prm[11])
    st[_CLK] += 1
    _install(ctag, cstamp, crdy, 0, (line % prm[4]) * prm[5], prm[5], line, arr, st[_CLK])
    return arr


@numba.njit(cache=True)
def _access(addr, t, prm, st, ctag, cstamp, crdy):
    """A demand access at cycle ``t``; returns the cycle its line is usable (integer-load terms)."""
    line = addr >> prm[10]
    st[_CLK] += 1
    b1 = (line % prm[4]) * prm[5]
    i1 = _find(ctag, 0, b1, prm[5], line)
    if i1 >= 0:
        cstamp[0, i1] = st[_CLK]
        return crdy[0, i1]
    st[_S0 + 4] += 1
    arr = _l1_fill(line, t, prm, st, ctag, cstamp, crdy)
    for d in range(1, prm[17] + 1):
        nl = line + d
        if _find(ctag, 0, ((nl % prm[4]) * prm[5]), prm[5], nl) < 0:
            _l1_fill(nl, t, prm, st, ctag, cstamp, crdy)
    for d in range(1, prm[18] + 1):
        _l2_fill(line + d, t, prm, st, ctag, cstamp, crdy)
    return arr


@numba.njit(cache=True)
def run_instances(rows, toff, inst, ctab, prm, st, reg, rob, ptag, ctag, cstamp, crdy):
    mask = ptag.shape[1] - 1
    nrob = rob.shape[0]
    for k in range(inst.shape[0]):
        tp = inst[k, 0]
        for ri in range(toff[tp], toff[tp + 1]):
            cls = rows[ri, 0]
            m0 = ctab[cls, 1]
            m1 = ctab[cls, 2]
            nu = 2 if m1 != 0 else 1
            # ---- dispatch
            if rows[ri, 7] == 1 and st[_DEC] >= prm[0]:
                st[_CUR] += 1
                st[_DEC] = 0
                st[_UOP] = 0
            if st[_UOP] + nu > prm[1]:
                st[_CUR] += 1
                st[_DEC] = 0
                st[_UOP] = 0
            for u in range(nu):
                r = rob[(st[_ROBP] + u) % nrob]
                if r + 1 > st[_CUR]:
                    st[_CUR] = r + 1
                    st[_DEC] = 0
                    st[_UOP] = 0
            if rows[ri, 7] == 1:
                st[_DEC] += 1
                st[_S0] += 1
            st[_UOP] += nu
            st[_S0 + 1] += nu
            # ---- issue
            ready = st[_CUR] + 1
            for j in range(2, 5):
                s = rows[ri, j]
                if s >= 0 and reg[s] > ready:
                    ready = reg[s]
            inord = prm[21] == 1
            if inord and st[_ISS] > ready:
                ready = st[_ISS]
            c = ready
            while True:
                if inord and c == st[_ISS] and st[_ICNT] >= prm[0]:
                    c += 1
                    continue
                p0 = -1
                for p in range(8):
                    if (m0 >> p) & 1 and ptag[p, c & mask] != c:
                        p0 = p
                        break
                p1 = -1
                if p0 >= 0 and m1 != 0:
                    for p in range(8):
                        if p != p0 and (m1 >> p) & 1 and ptag[p, c & mask] != c:
                            p1 = p
                            break
                if p0 >= 0 and (m1 == 0 or p1 >= 0):
                    break
                c += 1
            ptag[p0, c & mask] = c
            if p1 >= 0:
                ptag[p1, c & mask] = c
            if inord:
                if c > st[_ISS]:
                    st[_ISS] = c
                    st[_ICNT] = 0
                st[_ICNT] += 1
                if ctab[cls, 5] == 1 and prm[22] > 1:
                    st[_ISS] = c + prm[22]
                    st[_ICNT] = 0
            # ---- complete
            lat = ctab[cls, 0]
            done = c + lat
            if ctab[cls, 3] == 1 or ctab[cls, 4] == 1:
                stream = rows[ri, 5]
                addr = inst[k, stream] + rows[ri, 6]
                if ctab[cls, 3] == 1:
                    st[_S0 + 2] += 1
                else:
                    st[_S0 + 3] += 1
                if prm[19] == 0:
                    arr = _access(addr, c, prm, st, ctag, cstamp, crdy)
                    if ctab[cls, 3] == 1:
                        done = max(done, arr + lat - prm[20])
            if cls == _FMLA:
                st[_S0 + 7] += 1
            d = rows[ri, 1]
            if d >= 0:
                reg[d] = done
            # ---- retire
            if done > st[_RET]:
                st[_RET] = done
                st[_RCNT] = 0
            for _u in range(nu):
                if st[_RCNT] >= prm[2]:
                    st[_RET] += 1
                    st[_RCNT] = 0
                st[_RCNT] += 1
                rob[st[_ROBP]] = st[_RET]
                st[_ROBP] = (st[_ROBP] + 1) % nrob


# ------------------------------------------------------------------------------- Python twin
