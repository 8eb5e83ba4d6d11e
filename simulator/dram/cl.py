"""Per-request DRAM controller: FR-FCFS over a bounded queue per channel, JEDEC timing, refresh.

Why per request: a tile fetch is thousands of bursts whose cost depends on which rows and banks
they touch and in what order; the controller is where tRCD, tRP, tFAW and refresh turn that into
time. Each request is one burst (``burst_bytes``); it arrives at a cycle, waits for a queue slot,
and completes when its data has crossed the bus.

The controller, per channel, decides one command per DRAM cycle (one command bus)::

    admit        requests that have arrived enter the queue in order while it has a free slot
    refresh      a rank whose tREFI deadline passed takes no new ACT; its open banks are
                 precharged and REF issued as soon as legal; ACTs resume tRFC later
    row hit      the oldest queued request whose bank has its row open issues RD/WR if legal
    close page   (close policy) a bank with no queued hit to its open row is precharged
    row command  the oldest request whose bank is closed issues ACT, or whose bank holds another
                 row that no queued request wants issues PRE, if legal

    cycle   0    22   26        48  52
    ACT b0  A                              read to a closed bank (DDR4-3200AA):
    RD  b0       R                         ACT .. tRCD=22 .. RD .. CL=22 .. data 4 cycles
    data                        ====|      done at 22 + 22 + 4 = 48

"Legal" is the JEDEC set in :mod:`simulator.dram.config`: per bank tRCD, tRAS, tRP, tRC, tRTP, tWR;
per rank tRRD_S/L, tFAW, tRFC; per channel tCCD_S/L, tWTR_S/L and read-to-write turnaround
(CL + BL + 2 - CWL). This engine computes each candidate's earliest legal cycle and jumps idle
time; its twin :func:`simulator.dram.twin.run_twin` steps every cycle and asks each constraint
separately. :func:`simulator.dram.checker.check` replays the command log and proves no constraint
was broken.
"""

from __future__ import annotations

import numba
import numpy as np

from simulator.common.errors import SparsimInputError
from simulator.dram.config import DramConfig
from simulator.dram.fl import bank_index, decode

__all__ = ["DramState", "params", "simulate", "MAX_REQUESTS", "MAX_LOG_BYTES"]

#: requests one call may simulate (arrays are allocated per request and per command)
MAX_REQUESTS = 50_000_000
#: the command log a replay keeps for the checker (6 + 7 int64 columns a command while it is built)
MAX_LOG_BYTES = 2 << 30
NEG = -(1 << 40)
# parameter slots
(_CL, _CWL, _RCD, _RP, _RAS, _RC, _WR, _RTP, _CCDS, _CCDL, _RRDS, _RRDL, _FAW, _WTRS, _WTRL, _BL, _RFC, _REFI,
 _CLOSE, _QD, _NR, _NBG, _NB, _RCDW) = range(24)  # fmt: skip
# channel scalar slots: last RD, last WR (any bank), last command cycle, now, log position
_LRD, _LWR, _LCMD, _NOW = range(4)


def params(cfg: DramConfig) -> np.ndarray:
    return np.array(
        [cfg.cl, cfg.cwl, cfg.rcd, cfg.rp, cfg.ras, cfg.rc, cfg.wr, cfg.rtp, cfg.ccd_s, cfg.ccd_l, cfg.rrd_s,
         cfg.rrd_l, cfg.faw, cfg.wtr_s, cfg.wtr_l, cfg.bl, cfg.rfc, cfg.refi, int(cfg.page_policy == "close"),
         cfg.queue_depth, cfg.ranks, cfg.bankgroups, cfg.banks, cfg.rcd_write],
        dtype=np.int64,
    )  # fmt: skip


class DramState:
    """State of every channel between calls, so a layer's batches see the rows the previous
    batch left open and the refresh schedule carries on."""

    def __init__(self, cfg: DramConfig):
        self.cfg = cfg
        self.p = params(cfg)
        nb, nr, ng = cfg.banks_per_channel, cfg.ranks, cfg.ranks * cfg.bankgroups
        c = cfg.channels
        # bank: open row, last ACT, last PRE, last RD, last WR
        self.bank = np.full((c, nb, 5), NEG, dtype=np.int64)
        self.bank[:, :, 0] = -1
        # rank: 4 ACT times (tFAW ring), ring position, last ACT, next refresh due, refresh end
        self.rank = np.full((c, nr, 8), NEG, dtype=np.int64)
        self.rank[:, :, 4] = 0
        self.rank[:, :, 6] = cfg.refi
        # (rank, bank group): last ACT, last RD, last WR
        self.group = np.full((c, ng, 3), NEG, dtype=np.int64)
        self.chan = np.full((c, 4), NEG, dtype=np.int64)
        self.chan[:, _NOW] = 0

    def run(self, arrive: np.ndarray, addr: np.ndarray, is_write: np.ndarray, log: bool = False):
        """Simulate requests (arrival cycles non-decreasing); returns completion cycles and, with
        ``log``, the issued commands ``int64 [n, 7]`` (cycle, channel, command, rank, bank group,
        bank, row) in issue order per channel."""
        return simulate(self, arrive, addr, is_write, log)


def _validate(arrive, addr, is_write):
    arrive = np.asarray(arrive, dtype=np.int64)
    addr = np.asarray(addr, dtype=np.int64)
    is_write = np.asarray(is_write).astype(np.bool_)
    if not (arrive.ndim == addr.ndim == is_write.ndim == 1) or not (arrive.size == addr.size == is_write.size):
        raise SparsimInputError("dram trace", "columns", (arrive.shape, addr.shape, is_write.shape),
                                "three 1-D columns of equal length")  # fmt: skip
    if arrive.size > MAX_REQUESTS:
        raise SparsimInputError("dram trace", "requests", int(arrive.size), f"at most {MAX_REQUESTS:,}")
    if arrive.size and (int(arrive.min()) < 0 or np.any(np.diff(arrive) < 0)):
        raise SparsimInputError("dram trace", "arrival", "decreasing or negative", "non-negative, non-decreasing")
    return arrive, addr, is_write


def simulate(state: DramState, arrive, addr, is_write, log: bool = False):
    cfg = state.cfg
    arrive, addr, is_write = _validate(arrive, addr, is_write)
    f = decode(cfg, addr)
    bank = bank_index(cfg, f)
    done = np.zeros(arrive.size, dtype=np.int64)
    logs = []
    for ch in range(cfg.channels):
        sel = np.flatnonzero(f["ch"] == ch)
        if sel.size == 0:
            continue
        # the log: room for a few commands per request first; the kernel counts every command it
        # issues, so a run that needed more is run once again from the same state with exactly that
        cap = min(4 * sel.size + 64, MAX_LOG_BYTES // 104) if log else 0
        saved = [a.copy() for a in (state.bank[ch], state.rank[ch], state.group[ch], state.chan[ch])] if log else []
        while True:
            cmd = np.zeros((cap, 6), dtype=np.int64)
            out = np.zeros(sel.size, dtype=np.int64)
            n = _run_channel(
                arrive[sel], f["ra"][sel], f["bg"][sel], bank[sel], f["ro"][sel], is_write[sel], out, state.p,
                state.bank[ch], state.rank[ch], state.group[ch], state.chan[ch], cmd,
            )  # fmt: skip
            if not log or n <= cap:
                break
            if n * 13 * 8 > MAX_LOG_BYTES:
                allowed = (
                    f"a command log of at most {MAX_LOG_BYTES >> 30} GiB: these need {n:,} commands "
                    f"({n * 104 / 2**30:.1f} GiB); replay fewer requests"
                )
                raise SparsimInputError("dram", "requests", f"{sel.size:,} on channel {ch}", allowed)
            for a, s in zip((state.bank[ch], state.rank[ch], state.group[ch], state.chan[ch]), saved, strict=True):
                a[...] = s
            cap = n
        done[sel] = out
        if log:
            c = np.zeros((n, 7), dtype=np.int64)
            c[:, 0] = cmd[:n, 0]
            c[:, 1] = ch
            c[:, 2:] = cmd[:n, 1:]
            logs.append(c)
    if not log:
        return done
    return done, (np.concatenate(logs) if logs else np.zeros((0, 7), dtype=np.int64))


@numba.njit(cache=True)
def _act_ready(b, r, g, p, bank, rank, group):
    t = max(bank[b, 2] + p[_RP], bank[b, 1] + p[_RC])
    t = max(t, rank[r, 5] + p[_RRDS], group[g, 0] + p[_RRDL])
    oldest = rank[r, rank[r, 4]]  # the ring slot to be overwritten holds the 4th-last ACT
    t = max(t, oldest + p[_FAW], rank[r, 7])
    return t


@numba.njit(cache=True)
def _col_ready(b, g, w, p, bank, group, chan):
    t = bank[b, 1] + (p[_RCDW] if w else p[_RCD])
    if w:
        t = max(t, chan[_LWR] + p[_CCDS], group[g, 2] + p[_CCDL])
        t = max(t, chan[_LRD] + p[_CL] + p[_BL] + 2 - p[_CWL])
    else:
        t = max(t, chan[_LRD] + p[_CCDS], group[g, 1] + p[_CCDL])
        t = max(t, chan[_LWR] + p[_CWL] + p[_BL] + p[_WTRS], group[g, 2] + p[_CWL] + p[_BL] + p[_WTRL])
    return t


@numba.njit(cache=True, inline="always")
def _row_wanted(b, open_row, queue, qn, bank_of, row):
    """Does a queued request want bank ``b``'s open row? (Then FR-FCFS keeps it open: neither the
    close-page policy nor a conflicting request precharges it.)"""
    for qi in range(qn):
        if bank_of[queue[qi]] == b and row[queue[qi]] == open_row:
            return True
    return False


@numba.njit(cache=True)
def _pre_ready(b, p, bank):
    return max(bank[b, 1] + p[_RAS], bank[b, 3] + p[_RTP], bank[b, 4] + p[_CWL] + p[_BL] + p[_WR])


@numba.njit(cache=True)
def _log(cmd, n, t, c, r, g, b, row):
    if n < cmd.shape[0]:  # counted always, stored while there is room (the caller sizes it exactly)
        cmd[n, 0] = t
        cmd[n, 1] = c
        cmd[n, 2] = r
        cmd[n, 3] = g
        cmd[n, 4] = b
        cmd[n, 5] = row
    return n + 1


@numba.njit(cache=True)
def _run_channel(arrive, rk, bgs, bank_of, row, isw, out, p, bank, rank, group, chan, cmd):
    n = arrive.shape[0]
    qd = p[_QD]
    nbpr = p[_NBG] * p[_NB]
    queue = np.empty(qd, dtype=np.int64)
    qn = 0
    nxt = 0
    served = 0
    ncmd = 0
    t = max(chan[_NOW], chan[_LCMD] + 1)
    big = 1 << 60
    while served < n:
        while qn < qd and nxt < n and arrive[nxt] <= t:
            queue[qn] = nxt
            qn += 1
            nxt += 1
        event = big
        if qn < qd and nxt < n:
            event = arrive[nxt]
        issued = False
        # ---- refresh
        for r in range(p[_NR]):
            if t >= rank[r, 6]:
                any_open = False
                for b in range(r * nbpr, (r + 1) * nbpr):
                    if bank[b, 0] < 0:
                        continue
                    any_open = True
                    e = _pre_ready(b, p, bank)
                    if e <= t and not issued:
                        ncmd = _log(cmd, ncmd, t, 1, r, (b % nbpr) // p[_NB], b % p[_NB], bank[b, 0])
                        bank[b, 0] = -1
                        bank[b, 2] = t
                        issued = True
                    elif e > t:
                        event = min(event, e)
                if not any_open:
                    e = rank[r, 7]
                    for b in range(r * nbpr, (r + 1) * nbpr):
                        e = max(e, bank[b, 2] + p[_RP])
                    if e <= t and not issued:
                        ncmd = _log(cmd, ncmd, t, 4, r, -1, -1, -1)
                        rank[r, 7] = t + p[_RFC]
                        rank[r, 6] += p[_REFI]
                        issued = True
                    elif e > t:
                        event = min(event, e)
            else:
                event = min(event, rank[r, 6])
        # ---- row hits, oldest first
        if not issued:
            for qi in range(qn):
                i = queue[qi]
                b = bank_of[i]
                r = rk[i]
                if t >= rank[r, 6] or bank[b, 0] != row[i]:
                    continue
                g = r * p[_NBG] + bgs[i]
                e = _col_ready(b, g, isw[i], p, bank, group, chan)
                if e <= t:
                    if isw[i]:
                        chan[_LWR] = t
                        group[g, 2] = t
                        bank[b, 4] = t
                        out[i] = t + p[_CWL] + p[_BL]
                        ncmd = _log(cmd, ncmd, t, 3, r, bgs[i], b % p[_NB], row[i])
                    else:
                        chan[_LRD] = t
                        group[g, 1] = t
                        bank[b, 3] = t
                        out[i] = t + p[_CL] + p[_BL]
                        ncmd = _log(cmd, ncmd, t, 2, r, bgs[i], b % p[_NB], row[i])
                    for qj in range(qi, qn - 1):
                        queue[qj] = queue[qj + 1]
                    qn -= 1
                    served += 1
                    issued = True
                    break
                event = min(event, e)
        # ---- close page: precharge banks no queued request wants
        if not issued and p[_CLOSE] == 1:
            for b in range(p[_NR] * nbpr):
                if bank[b, 0] < 0 or _row_wanted(b, bank[b, 0], queue, qn, bank_of, row):
                    continue
                e = _pre_ready(b, p, bank)
                if e <= t:
                    ncmd = _log(cmd, ncmd, t, 1, b // nbpr, (b % nbpr) // p[_NB], b % p[_NB], bank[b, 0])
                    bank[b, 0] = -1
                    bank[b, 2] = t
                    issued = True
                    break
                event = min(event, e)
        # ---- row commands, oldest first
        if not issued:
            for qi in range(qn):
                i = queue[qi]
                b = bank_of[i]
                r = rk[i]
                if t >= rank[r, 6]:
                    continue
                if bank[b, 0] < 0:
                    g = r * p[_NBG] + bgs[i]
                    e = _act_ready(b, r, g, p, bank, rank, group)
                    if e <= t:
                        ncmd = _log(cmd, ncmd, t, 0, r, bgs[i], b % p[_NB], row[i])
                        bank[b, 0] = row[i]
                        bank[b, 1] = t
                        group[g, 0] = t
                        rank[r, 5] = t
                        rank[r, rank[r, 4]] = t
                        rank[r, 4] = (rank[r, 4] + 1) % 4
                        issued = True
                        break
                    event = min(event, e)
                elif bank[b, 0] != row[i]:
                    if _row_wanted(b, bank[b, 0], queue, qn, bank_of, row):
                        continue
                    e = _pre_ready(b, p, bank)
                    if e <= t:
                        ncmd = _log(cmd, ncmd, t, 1, r, bgs[i], b % p[_NB], bank[b, 0])
                        bank[b, 0] = -1
                        bank[b, 2] = t
                        issued = True
                        break
                    event = min(event, e)
        if issued:
            chan[_LCMD] = t
            t += 1
        else:
            t = max(t + 1, event)
    chan[_NOW] = t
    return ncmd
