"""Per-request DRAM controller: FR-FCFS over read and write queues with write draining, JEDEC
timing, refresh, pseudo channels sharing a command bus.

Why per request: a tile fetch is thousands of bursts whose cost depends on which rows and banks
they touch and in what order; the controller is where tRCD, tRP, tFAW and refresh turn that into
time. Each request is one burst (``burst_bytes``); it arrives at a cycle, waits for a queue slot,
and completes when its data has crossed the bus.

One controller serves ``pseudo_channels`` channels (1, or HBM's two pseudo channels of a channel):
one read queue, one write queue, one command bus (or a row and a column bus, ``dual_command_bus``)
shared by them; each channel has its own banks, data bus and column timings. Per DRAM cycle::

    admit        arrived requests enter in order while the head's queue has a free slot (a full
                 queue holds back the requests behind it); a read of an address a queued write
                 holds is answered from that write the next cycle (forwarding), a write to it
                 replaces it (coalescing), neither takes a slot
    mode         write mode when the write queue holds more than write_high x its size or no read
                 waits; read mode again when it holds fewer than write_low x its size and a read
                 waits, or (read_bypass_cap) the oldest read has waited that long
    eligible     requests of the mode's queue, and any request whose ACT has issued (it left its
                 queue then, freeing the slot, and is served in either mode)
    refresh      a rank whose tREFI deadline passed takes no new ACT; its open banks are
                 precharged and REF issued as soon as legal; ACTs resume tRFC later
    row hit      the oldest activated request, else the oldest eligible one, whose bank has its
                 row open issues RD/WR if legal
    close page   (close policy) a bank no queued request wants is precharged
    row command  the oldest eligible request whose bank is closed issues ACT, or whose bank holds
                 another row no eligible request wants issues PRE, if legal

One command bus takes one command a cycle, and an ACT holds it ``act_cycles``; with two buses a
column command (first) and a row command may issue in the same cycle. An ACT's timings count
from its last bus cycle (JEDEC measures from the end of a command)::

    cycle   0    22   26        48  52
    ACT b0  A                              read to a closed bank (DDR4-3200AA):
    RD  b0       R                         ACT .. tRCD=22 .. RD .. CL=22 .. data 4 cycles
    data                        ====|      done at 22 + 22 + 4 = 48

    cycle   0 1  15                        HBM2 (act_cycles 2, tRCDRD 14): ACT on the row bus at 0
    row bus AA                             and 1, RD at 1 + 14 = 15 on the column bus

Write draining and forwarding are Ramulator 2's (its ControllerBase, defaults 32/32 entries and
0.2/0.8); where ours differs it is our choice: FR-FCFS here serves row hits before row commands
(Ramulator's FRFCFS-RowHit takes the oldest ready command but never closes a row an older hit
wants); like Ramulator's active buffer, a request whose ACT has issued is served before other hits
(on the issue-31 cross-check traces this took two conflict-heavy traces from 4.1% to within 1.2%
of Ramulator); the mode is decided every cycle, and a refresh precharges bank by bank.

"Legal" is the JEDEC set in :mod:`simulator.dram.config`: per bank tRCD, tRAS, tRP, tRC, tRTP, tWR;
per rank tRRD_S/L, tFAW, tRFC; per channel tCCD_S/L, tWTR_S/L and read-to-write turnaround
(CL + BL + 2 - CWL). This engine computes each candidate's earliest legal cycle and jumps idle
time; its twin :func:`simulator.dram.twin.run_twin` steps every cycle and asks each constraint
separately. :func:`simulator.dram.checker.check` replays the command log and proves no constraint
was broken.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from simulator.common.errors import SparsimInputError
from simulator.dram.config import DramConfig
from simulator.dram.fl import bank_index, decode

__all__ = ["DramState", "params", "simulate", "MAX_REQUESTS", "MAX_LOG_BYTES"]

#: requests one call may simulate (arrays are allocated per request and per command)
MAX_REQUESTS = 50_000_000
#: the command log a replay keeps for the checker (7 + 7 int64 columns a command while it is built)
MAX_LOG_BYTES = 2 << 30
NEG = -(1 << 40)
# parameter slots
(_CL, _CWL, _RCD, _RP, _RAS, _RC, _WR, _RTP, _CCDS, _CCDL, _RRDS, _RRDL, _FAW, _WTRS, _WTRL, _BL, _RFC, _REFI,
 _CLOSE, _QD, _NR, _NBG, _NB, _RCDW, _WQD, _WHI, _WLO, _CAP, _NPC, _DUAL, _ACTC) = range(31)  # fmt: skip
# per channel of a controller: last RD, last WR (any bank)
_LRD, _LWR = range(2)
# controller scalars: the cycle to go on from, row (or the only) command bus free at, column bus
# free at, write mode
_NOW, _ROWFREE, _COLFREE, _WMODE = range(4)


def params(cfg: DramConfig) -> np.ndarray:
    wq = cfg.write_depth
    return np.array(
        [cfg.cl, cfg.cwl, cfg.rcd, cfg.rp, cfg.ras, cfg.rc, cfg.wr, cfg.rtp, cfg.ccd_s, cfg.ccd_l, cfg.rrd_s,
         cfg.rrd_l, cfg.faw, cfg.wtr_s, cfg.wtr_l, cfg.bl, cfg.rfc, cfg.refi, int(cfg.page_policy == "close"),
         cfg.queue_depth, cfg.ranks, cfg.bankgroups, cfg.banks, cfg.rcd_write, wq,
         # write mode above write_high x wq entries (more than its floor), read mode below write_low x
         # wq (fewer than its ceiling): Ramulator's float comparisons in integers; and read mode once
         # the write queue is empty whatever write_low says (at 0 Ramulator would starve the reads)
         math.floor(cfg.write_high * wq + 1e-9), max(1, math.ceil(cfg.write_low * wq - 1e-9)), cfg.read_bypass_cap,
         cfg.pseudo_channels, int(cfg.dual_command_bus), cfg.act_cycles],
        dtype=np.int64,
    )  # fmt: skip


class DramState:
    """State of every controller between calls, so a layer's batches see the rows the previous
    batch left open, the write mode and the refresh schedule carry on."""

    def __init__(self, cfg: DramConfig):
        self.cfg = cfg
        self.p = params(cfg)
        pc = cfg.pseudo_channels
        g = cfg.channels // pc
        nb, nr, ng = cfg.banks_per_channel, cfg.ranks, cfg.ranks * cfg.bankgroups
        # bank: open row, last ACT (its last bus cycle), last PRE, last RD, last WR
        self.bank = np.full((g, pc * nb, 5), NEG, dtype=np.int64)
        self.bank[:, :, 0] = -1
        # rank: 4 ACT times (tFAW ring), ring position, last ACT, next refresh due, refresh end
        self.rank = np.full((g, pc * nr, 8), NEG, dtype=np.int64)
        self.rank[:, :, 4] = 0
        self.rank[:, :, 6] = cfg.refi
        # (rank, bank group): last ACT, last RD, last WR
        self.group = np.full((g, pc * ng, 3), NEG, dtype=np.int64)
        self.chan = np.full((g, pc, 2), NEG, dtype=np.int64)
        self.ctl = np.zeros((g, 4), dtype=np.int64)

    def run(self, arrive: np.ndarray, addr: np.ndarray, is_write: np.ndarray, log: bool = False):
        """Simulate requests (arrival cycles non-decreasing); returns completion cycles and, with
        ``log``, the issued commands ``int64 [n, 7]`` (cycle, channel, command, rank, bank group,
        bank, row) in issue order per controller."""
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
    pc = cfg.pseudo_channels
    sub = f["ch"] % pc
    rk = sub * cfg.ranks + f["ra"]  # the controller's rank: (channel within it, rank)
    bank = sub * cfg.banks_per_channel + bank_index(cfg, f)
    burst = addr >> (cfg.burst_bytes.bit_length() - 1)
    ctrl = f["ch"] // pc
    done = np.zeros(arrive.size, dtype=np.int64)
    logs = []
    for c in range(cfg.channels // pc):
        sel = np.flatnonzero(ctrl == c)
        if sel.size == 0:
            continue
        # the log: room for a few commands per request first; the kernel counts every command it
        # issues, so a run that needed more is run once again from the same state with exactly that
        cap = min(4 * sel.size + 64, MAX_LOG_BYTES // 112) if log else 0
        arrays = (state.bank[c], state.rank[c], state.group[c], state.chan[c], state.ctl[c])
        saved = [a.copy() for a in arrays] if log else []
        while True:
            cmd = np.zeros((cap, 7), dtype=np.int64)
            out = np.zeros(sel.size, dtype=np.int64)
            n = _run_controller(
                arrive[sel], rk[sel], f["bg"][sel], bank[sel], f["ro"][sel], is_write[sel], burst[sel], out, state.p,
                *arrays, cmd,
            )  # fmt: skip
            if not log or n <= cap:
                break
            if n * 14 * 8 > MAX_LOG_BYTES:
                allowed = (
                    f"a command log of at most {MAX_LOG_BYTES >> 30} GiB: these need {n:,} commands "
                    f"({n * 112 / 2**30:.1f} GiB); replay fewer requests"
                )
                raise SparsimInputError("dram", "requests", f"{sel.size:,} on controller {c}", allowed)
            for a, s in zip(arrays, saved, strict=True):
                a[...] = s
            cap = n
        done[sel] = out
        if log:
            x = np.zeros((n, 7), dtype=np.int64)
            x[:, 0] = cmd[:n, 0]
            x[:, 1] = c * pc + cmd[:n, 1]
            x[:, 2:] = cmd[:n, 2:]
            logs.append(x)
    if not log:
        return done
    return done, (np.concatenate(logs) if logs else np.zeros((0, 7), dtype=np.int64))


@numba.njit(cache=True)
def _act_ready(b, r, g, p, bank, rank, group):
    """Earliest cycle an ACT may start: its last bus cycle meets every constraint."""
    t = max(bank[b, 2] + p[_RP], bank[b, 1] + p[_RC])
    t = max(t, rank[r, 5] + p[_RRDS], group[g, 0] + p[_RRDL])
    oldest = rank[r, rank[r, 4]]  # the ring slot to be overwritten holds the 4th-last ACT
    t = max(t, oldest + p[_FAW], rank[r, 7])
    return t - (p[_ACTC] - 1)


@numba.njit(cache=True)
def _col_ready(b, g, w, p, bank, group, ch):
    t = bank[b, 1] + (p[_RCDW] if w else p[_RCD])
    if w:
        t = max(t, ch[_LWR] + p[_CCDS], group[g, 2] + p[_CCDL])
        t = max(t, ch[_LRD] + p[_CL] + p[_BL] + 2 - p[_CWL])
    else:
        t = max(t, ch[_LRD] + p[_CCDS], group[g, 1] + p[_CCDL])
        t = max(t, ch[_LWR] + p[_CWL] + p[_BL] + p[_WTRS], group[g, 2] + p[_CWL] + p[_BL] + p[_WTRL])
    return t


@numba.njit(cache=True, inline="always")
def _row_wanted(b, open_row, queue, qn, bank_of, row, isw, act, wm, only_eligible):
    """Does a queued request (``only_eligible``: one the mode may serve) want bank ``b``'s open
    row? Then FR-FCFS keeps it open: neither the close-page policy nor a conflict precharges it."""
    for qi in range(qn):
        i = queue[qi]
        if bank_of[i] == b and row[i] == open_row and (not only_eligible or act[i] or isw[i] == wm):
            return True
    return False


@numba.njit(cache=True)
def _pre_ready(b, p, bank):
    return max(bank[b, 1] + p[_RAS], bank[b, 3] + p[_RTP], bank[b, 4] + p[_CWL] + p[_BL] + p[_WR])


@numba.njit(cache=True)
def _log(cmd, n, t, s, c, r, g, b, row):
    if n < cmd.shape[0]:  # counted always, stored while there is room (the caller sizes it exactly)
        cmd[n, 0] = t
        cmd[n, 1] = s
        cmd[n, 2] = c
        cmd[n, 3] = r
        cmd[n, 4] = g
        cmd[n, 5] = b
        cmd[n, 6] = row
    return n + 1


@numba.njit(cache=True)
def _run_controller(arrive, rk, bgs, bank_of, row, isw, burst, out, p, bank, rank, group, chan, ctl, cmd):
    n = arrive.shape[0]
    nr, nbg, nbk = p[_NR], p[_NBG], p[_NB]
    nbpr = nbg * nbk
    nranks = p[_NPC] * nr
    dual = p[_DUAL] == 1
    actc = p[_ACTC]
    queue = np.empty(p[_QD] + p[_WQD] + nranks * nbpr + 1, dtype=np.int64)
    act = np.zeros(n, dtype=np.bool_)  # ACT issued for it: out of its queue, eligible in any mode
    adm = np.zeros(n, dtype=np.int64)
    qn = 0
    nrd = 0  # reads and writes in their queues (not yet activated)
    nwr = 0
    nact = 0  # activated requests waiting for their column command
    nxt = 0
    served = 0
    ncmd = 0
    t = ctl[_NOW]
    big = 1 << 60
    while served < n:
        # ---- admit in order
        while nxt < n and arrive[nxt] <= t:
            i = nxt
            hit = -1
            if nwr > 0:
                for qi in range(qn):
                    j = queue[qi]
                    if isw[j] and not act[j] and burst[j] == burst[i]:
                        hit = j
                        break
            if hit >= 0:  # forwarded read, coalesced write
                out[i] = t + (1 if not isw[i] else 0)
                served += 1
                nxt += 1
                continue
            if isw[i]:
                if nwr >= p[_WQD]:
                    break
                nwr += 1
            else:
                if nrd >= p[_QD]:
                    break
                nrd += 1
            queue[qn] = i
            qn += 1
            adm[i] = t
            nxt += 1
        event = big
        if nxt < n and arrive[nxt] > t:
            event = arrive[nxt]
        # ---- read or write mode
        wm = ctl[_WMODE]
        if wm == 0:
            if nwr > p[_WHI] or nrd == 0:
                wm = 1
        elif nwr < p[_WLO] and nrd != 0:
            wm = 0
        if wm == 1 and p[_CAP] > 0 and nrd > 0:
            for qi in range(qn):
                j = queue[qi]
                if not isw[j] and not act[j]:
                    if t - adm[j] >= p[_CAP]:
                        wm = 0
                    else:
                        event = min(event, adm[j] + p[_CAP])
                    break
        ctl[_WMODE] = wm
        col_ok = t >= ctl[_COLFREE] if dual else t >= ctl[_ROWFREE]
        row_ok = t >= ctl[_ROWFREE]
        if not col_ok:
            event = min(event, ctl[_COLFREE] if dual else ctl[_ROWFREE])
        if not row_ok:
            event = min(event, ctl[_ROWFREE])
        col_done = False
        row_done = False
        row_act = False
        # ---- row hits (the column bus goes first)
        if col_ok:
            for k in range(0 if nact > 0 else qn, 2 * qn):  # activated requests first, then the others
                qi = k % qn
                i = queue[qi]
                if (k < qn) != act[i]:
                    continue
                if not (act[i] or isw[i] == wm):
                    continue
                b = bank_of[i]
                r = rk[i]
                if t >= rank[r, 6] or bank[b, 0] != row[i]:
                    continue
                g = r * nbg + bgs[i]
                s = r // nr
                e = _col_ready(b, g, isw[i], p, bank, group, chan[s])
                if e <= t:
                    if isw[i]:
                        chan[s, _LWR] = t
                        group[g, 2] = t
                        bank[b, 4] = t
                        out[i] = t + p[_CWL] + p[_BL]
                        ncmd = _log(cmd, ncmd, t, s, 3, r % nr, bgs[i], b % nbk, row[i])
                        if not act[i]:
                            nwr -= 1
                        else:
                            nact -= 1
                    else:
                        chan[s, _LRD] = t
                        group[g, 1] = t
                        bank[b, 3] = t
                        out[i] = t + p[_CL] + p[_BL]
                        ncmd = _log(cmd, ncmd, t, s, 2, r % nr, bgs[i], b % nbk, row[i])
                        if not act[i]:
                            nrd -= 1
                        else:
                            nact -= 1
                    for qj in range(qi, qn - 1):
                        queue[qj] = queue[qj + 1]
                    qn -= 1
                    served += 1
                    col_done = True
                    if dual:
                        ctl[_COLFREE] = t + 1
                    else:
                        ctl[_ROWFREE] = t + 1
                    break
                event = min(event, e)
        if col_done and not dual:
            row_ok = False
        # ---- refresh
        if row_ok:
            for r in range(nranks):
                if t >= rank[r, 6]:
                    any_open = False
                    for b in range(r * nbpr, (r + 1) * nbpr):
                        if bank[b, 0] < 0:
                            continue
                        any_open = True
                        e = _pre_ready(b, p, bank)
                        if e <= t and not row_done:
                            ncmd = _log(cmd, ncmd, t, r // nr, 1, r % nr, (b % nbpr) // nbk, b % nbk, bank[b, 0])
                            bank[b, 0] = -1
                            bank[b, 2] = t
                            row_done = True
                        elif e > t:
                            event = min(event, e)
                    if not any_open:
                        e = rank[r, 7]
                        for b in range(r * nbpr, (r + 1) * nbpr):
                            e = max(e, bank[b, 2] + p[_RP])
                        if e <= t and not row_done:
                            ncmd = _log(cmd, ncmd, t, r // nr, 4, r % nr, -1, -1, -1)
                            rank[r, 7] = t + p[_RFC]
                            rank[r, 6] += p[_REFI]
                            row_done = True
                        elif e > t:
                            event = min(event, e)
                else:
                    event = min(event, rank[r, 6])
        # ---- close page: precharge banks no queued request wants
        if row_ok and not row_done and p[_CLOSE] == 1:
            for b in range(nranks * nbpr):
                if bank[b, 0] < 0 or _row_wanted(b, bank[b, 0], queue, qn, bank_of, row, isw, act, wm, False):
                    continue
                e = _pre_ready(b, p, bank)
                if e <= t:
                    r = b // nbpr
                    ncmd = _log(cmd, ncmd, t, r // nr, 1, r % nr, (b % nbpr) // nbk, b % nbk, bank[b, 0])
                    bank[b, 0] = -1
                    bank[b, 2] = t
                    row_done = True
                    break
                event = min(event, e)
        # ---- row commands, oldest eligible first
        if row_ok and not row_done:
            for qi in range(qn):
                i = queue[qi]
                if not (act[i] or isw[i] == wm):
                    continue
                b = bank_of[i]
                r = rk[i]
                if t >= rank[r, 6]:
                    continue
                if bank[b, 0] < 0:
                    g = r * nbg + bgs[i]
                    e = _act_ready(b, r, g, p, bank, rank, group)
                    if e <= t:
                        ncmd = _log(cmd, ncmd, t, r // nr, 0, r % nr, bgs[i], b % nbk, row[i])
                        ta = t + actc - 1  # timings count from the ACT's last bus cycle
                        bank[b, 0] = row[i]
                        bank[b, 1] = ta
                        group[g, 0] = ta
                        rank[r, 5] = ta
                        rank[r, rank[r, 4]] = ta
                        rank[r, 4] = (rank[r, 4] + 1) % 4
                        if not act[i]:
                            act[i] = True
                            nact += 1
                            if isw[i]:
                                nwr -= 1
                            else:
                                nrd -= 1
                        row_done = True
                        row_act = True
                        break
                    event = min(event, e)
                elif bank[b, 0] != row[i]:
                    if _row_wanted(b, bank[b, 0], queue, qn, bank_of, row, isw, act, wm, True):
                        continue
                    e = _pre_ready(b, p, bank)
                    if e <= t:
                        ncmd = _log(cmd, ncmd, t, r // nr, 1, r % nr, bgs[i], b % nbk, bank[b, 0])
                        bank[b, 0] = -1
                        bank[b, 2] = t
                        row_done = True
                        break
                    event = min(event, e)
        if row_done:
            ctl[_ROWFREE] = t + (actc if row_act else 1)
        if col_done or row_done:
            t += 1
        else:
            t = max(t + 1, event)
    ctl[_NOW] = t
    return ncmd
