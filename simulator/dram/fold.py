"""Fold-level form of the DRAM: the cycles a batch of requests arriving together takes, from
counts instead of a command-by-command simulation.

Why: a whole network is millions of requests in thousands of batches; the mapper and sweeps
need its stalls in milliseconds. A batch's time is bounded below by the resources it uses; our
form (ours, not a published model) takes the largest bound per channel and adds the pipeline fill:

    bus        issue span max((bursts - 1) x tCCD_S, (the busiest bank group's bursts - 1) x
               tCCD_L), plus, if the batch mixes reads and writes (the array's batches put the
               reads first), one read-to-write turnaround CL + BL + 2 - CWL - tCCD_S
    drain      if it also has more writes than the write queue's high watermark (write_high x
               write queue / pseudo channels), the controller drains them while reads still wait
               (:mod:`simulator.dram.cl`): two more turnarounds (CWL + BL + tWTR_S - tCCD_S and
               the one above), and where a bank's reads and writes want different rows, two more
               activations on that bank and 2 x (tRP + tRCD) on the bus, which waits for them
    fill       before the first burst: tRCD unless its row is open, + tRP if its bank held
               another row; after the last: CWL + BL if the batch writes, else CL + BL
    activate   row activations A. FR-FCFS serves bursts to a bank's open row first, so per bank
               those are hits wherever they sit among the batch's reads; the writes come after
               the reads (read mode first) and find open the row the bank's reads left. Each
               other burst whose row differs from the previous such burst (the first compared
               with the open row) activates:
               max((A - 1) x tRRD_S, (ceil(A / 4) - 1) x tFAW) + tRCD + CL + BL
    bank chain the busiest bank serialises its k activations and n bursts: each activation
               tRTP + tRP + tRCD (the first after hits that include a write: CWL + BL + tWR instead
               of tRTP), except a first one with no hit before it: tRP + tRCD (another row open) or
               tRCD (bank closed); plus (n - 1) x tCCD_S + CL + BL; and at least
               (k - 1) x tRC + tRCD (+ tRP if the bank held a row) + CL + BL
    fill       (as above, with "its row is open" meaning any burst of the channel hits)

    batch cycles = max over channels of max(bus + fill, activate, bank chain), x refresh
    refresh    the result stretched by tREFI / (tREFI - tRFC)

Pseudo channels are independent channels here (their shared command bus is the per-request
controller's), and the drain threshold is shared out among them.

The open rows carry from batch to batch (:class:`FoldState`: each bank keeps the row of its last
burst under the open-page policy, none under close-page). It ignores FR-FCFS reordering inside
the queue window and where refreshes fall; tests/simulator/nm_array/test_dram_memory.py measures
how far that takes it from the per-request controller on every layer of ResNet-18 and
MobileNet-v2 for every dataflow.
"""

from __future__ import annotations

import math

import numpy as np

from simulator.dram.config import DramConfig
from simulator.dram.fl import bank_index, decode

__all__ = ["batch_cycles", "FoldState", "drain_threshold", "drain_turns"]


def drain_threshold(cfg: DramConfig) -> int:
    """Writes of a channel in one batch above which the controller drains them while reads still
    wait: the write queue's high watermark (in whole entries, as the controller counts them),
    shared by the controller's pseudo channels."""
    return math.floor(cfg.write_high * cfg.write_depth / cfg.pseudo_channels + 1e-9)


def drain_turns(cfg: DramConfig) -> int:
    """The two extra turnarounds of such a drain: write to read (CWL + BL + tWTR_S) and back
    (CL + BL + 2 - CWL), each beyond the tCCD_S the bus term already counts."""
    return max(0, cfg.cwl + cfg.bl + cfg.wtr_s - cfg.ccd_s) + max(0, cfg.cl + cfg.bl + 2 - cfg.cwl - cfg.ccd_s)


class FoldState:
    """Open row of every (channel, bank) between batches of the fold-level form."""

    def __init__(self, cfg: DramConfig):
        self.open = np.full(cfg.channels * cfg.banks_per_channel, -1, dtype=np.int64)


def batch_cycles(cfg: DramConfig, addr: np.ndarray, is_write: np.ndarray, state: FoldState | None = None) -> float:
    """DRAM cycles for a batch of burst requests issued at once (``state``: open rows, updated)."""
    if addr.size == 0:
        return 0.0
    f = decode(cfg, addr)
    ch = f["ch"]
    nch = cfg.channels
    nb = cfg.banks_per_channel
    n = np.bincount(ch, minlength=nch)
    nw = np.bincount(ch, weights=is_write.astype(np.float64), minlength=nch)
    grp = ch * (cfg.ranks * cfg.bankgroups) + f["ra"] * cfg.bankgroups + f["bg"]
    per_grp = np.bincount(grp, minlength=nch * cfg.ranks * cfg.bankgroups).reshape(nch, -1).max(axis=1)
    bus = np.maximum((n - 1) * max(cfg.ccd_s, cfg.bl), (per_grp - 1) * cfg.ccd_l)
    mixed = (nw > 0) & (nw < n)
    bus = bus + np.where(mixed, max(0, cfg.cl + cfg.bl + 2 - cfg.cwl - cfg.ccd_s), 0)
    drain = mixed & (nw > drain_threshold(cfg))
    bus = bus + np.where(drain, drain_turns(cfg), 0)
    tail = np.where(nw > 0, cfg.cwl, cfg.cl) + cfg.bl
    cb = ch * nb + bank_index(cfg, f)  # channel-bank of each burst
    open_ = state.open if state is not None else np.full(nch * nb, -1, dtype=np.int64)
    # activations: per bank, among the bursts that miss the open row, each row change
    order = np.argsort(cb, kind="stable")
    cbo, ro = cb[order], f["ro"][order]
    # the row a burst finds open: reads the batch's first; writes the row the bank's reads left
    # (the controller serves a batch's reads first, in read mode, then its writes)
    wo = is_write[order]
    rmiss = ~wo & (ro != open_[cbo])
    left = open_.copy()
    if rmiss.any():
        rb = cbo[rmiss]
        last_miss = np.r_[rb[1:] != rb[:-1], True]
        left[rb[last_miss]] = ro[rmiss][last_miss]
    hit_o = ro == np.where(wo, left[cbo], open_[cbo])
    has_hit = np.bincount(cbo[hit_o], minlength=nch * nb) > 0
    hit_wr = np.bincount(cbo[hit_o & is_write[order]], minlength=nch * nb) > 0
    mb, mr = cbo[~hit_o], ro[~hit_o]
    mfirst = np.r_[True, mb[1:] != mb[:-1]] if mb.size else np.zeros(0, bool)
    prev = np.where(mfirst, open_[mb], np.r_[-1, mr[:-1]]) if mb.size else mr
    rows_b = np.bincount(mb[prev != mr], minlength=nch * nb)
    n_b = np.bincount(cb, minlength=nch * nb)
    # a drain (more writes than the high watermark while reads wait) splits the reads around it:
    # a bank whose reads and writes want different rows switches back and forth once more
    both = (np.bincount(cbo[~wo], minlength=nch * nb) > 0) & (np.bincount(cbo[wo & ~hit_o], minlength=nch * nb) > 0)
    rows_b = rows_b + 2 * (both & np.repeat(drain, nb))
    # ... and the bus waits for those two row switches (every such bank switches at once)
    bus = bus + np.where(drain & both.reshape(nch, nb).any(axis=1), 2 * (cfg.rp + cfg.rcd), 0)
    k = rows_b
    chain = k * (cfg.rtp + cfg.rp + cfg.rcd)
    cold = (k > 0) & ~has_hit
    chain = chain - np.where(cold, cfg.rtp, 0) - np.where(cold & (open_ < 0), cfg.rp, 0)
    chain = chain + np.where((k > 0) & hit_wr, max(0, cfg.cwl + cfg.bl + cfg.wr - cfg.rtp), 0)
    chain = chain + np.maximum(n_b - 1, 0) * cfg.ccd_s
    rc_chain = np.maximum(k - 1, 0) * cfg.rc + np.where(k > 0, cfg.rcd + np.where(open_ >= 0, cfg.rp, 0), 0)
    chain = np.maximum(chain, rc_chain) + cfg.cl + cfg.bl
    chain = np.where(n_b > 0, chain, 0).reshape(nch, nb).max(axis=1)
    acts = rows_b.reshape(nch, nb).sum(axis=1)
    act = np.where(acts > 0, np.maximum((acts - 1) * cfg.rrd_s, (-(-acts // 4) - 1) * cfg.faw)
                   + cfg.rcd + cfg.cl + cfg.bl, 0)
    # the first burst of each channel
    head = np.unique(ch, return_index=True)[1]
    fill = np.zeros(nch)
    hb = cb[head]
    any_hit = np.bincount(ch[f["ro"] == open_[cb]], minlength=nch) > 0
    hit = any_hit[ch[head]]
    fill[ch[head]] = np.where(hit, 0, cfg.rcd) + np.where(~hit & (open_[hb] >= 0), cfg.rp, 0)
    fill = fill + tail
    busy = np.where(n > 0, np.maximum(np.maximum(bus + fill, act), chain), 0)
    if state is not None:
        if cfg.page_policy == "open":
            if mb.size:
                lastb = np.r_[mb[1:] != mb[:-1], True]
                state.open[mb[lastb]] = mr[lastb]
        else:
            state.open[:] = -1
    return float(busy.max()) * cfg.refi / (cfg.refi - cfg.rfc)
