"""Fold-level form of the DRAM: the cycles a batch of requests arriving together takes, from
counts instead of a command-by-command simulation.

Why: a whole network is millions of requests in thousands of batches; the mapper and sweeps
need its stalls in milliseconds. A batch's time is bounded below by the resources it uses; our
form (ours, not a published model) takes the largest bound per channel and adds the pipeline fill:

    bus        max(bursts x tCCD_S, the busiest bank group's bursts x tCCD_L), plus one
               read-to-write and one write-to-read turnaround if the batch mixes both
    activate   row activations A: per bank, each burst whose row differs from the bank's previous
               burst (the first compared with the row left open): max(A x tRRD_S, ceil(A / 4) x tFAW)
    fill       the first burst's latency: CL + BL, + tRCD unless its row is open, + tRP if its
               bank held another row
    bank chain the busiest bank serialises its k rows and n bursts: (tRP if it held another row)
               + k x tRCD + (k - 1) x (tRTP + tRP) + n x tCCD_S + CL + BL, and at least
               (k - 1) x tRC + tRCD + CL + BL

    batch cycles = max over channels of max(bus + fill, activate + fill, bank chain), x refresh
    refresh    the result stretched by tREFI / (tREFI - tRFC)


The open rows carry from batch to batch (:class:`FoldState`: each bank keeps the row of its last
burst under the open-page policy, none under close-page). It ignores FR-FCFS reordering inside
the queue window and where refreshes fall; tests/simulator/nm_array/test_dram_memory.py measures how far that takes it from
the per-request controller on every layer of ResNet-18 and MobileNet-v2 for every dataflow.
"""

from __future__ import annotations

import numpy as np

from simulator.dram.config import DramConfig
from simulator.dram.fl import bank_index, decode

__all__ = ["batch_cycles", "FoldState"]


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
    bus = np.maximum(n * max(cfg.ccd_s, cfg.bl), per_grp * cfg.ccd_l)
    mixed = (nw > 0) & (nw < n)
    bus = bus + np.where(mixed, (cfg.cl + cfg.bl + 2 - cfg.cwl) + (cfg.cwl + cfg.bl + cfg.wtr_s), 0)
    cb = ch * nb + bank_index(cfg, f)  # channel-bank of each burst
    open_ = state.open if state is not None else np.full(nch * nb, -1, dtype=np.int64)
    # activations: per bank, bursts whose row differs from the bank's previous one (or the open row)
    order = np.argsort(cb, kind="stable")
    cbo, ro = cb[order], f["ro"][order]
    first = np.r_[True, cbo[1:] != cbo[:-1]]
    prev = np.where(first, open_[cbo], np.r_[-1, ro[:-1]])
    rows_b = np.bincount(cbo[prev != ro], minlength=nch * nb)
    conflict = np.zeros(nch * nb, dtype=bool)
    fb = cbo[first]
    conflict[fb] = (open_[fb] >= 0) & (open_[fb] != ro[first])
    n_b = np.bincount(cb, minlength=nch * nb)
    k = rows_b
    tail = cfg.cl + cfg.bl
    chain = np.where(conflict, cfg.rp, 0) + k * cfg.rcd + np.maximum(k - 1, 0) * (cfg.rtp + cfg.rp) + n_b * cfg.ccd_s
    chain = np.maximum(chain, np.maximum(k - 1, 0) * cfg.rc + np.where(k > 0, cfg.rcd, 0)) + tail
    chain = np.where(n_b > 0, chain, 0).reshape(nch, nb).max(axis=1)
    acts = rows_b.reshape(nch, nb).sum(axis=1)
    act = np.maximum(acts * cfg.rrd_s, -(-acts // 4) * cfg.faw)
    # the first burst of each channel
    head = np.unique(ch, return_index=True)[1]
    fill = np.zeros(nch)
    hb = cb[head]
    hit = open_[hb] == f["ro"][head]
    fill[ch[head]] = cfg.cl + cfg.bl + np.where(hit, 0, cfg.rcd) + np.where(~hit & (open_[hb] >= 0), cfg.rp, 0)
    busy = np.where(n > 0, np.maximum(np.maximum(bus, act) + fill, chain), 0)
    if state is not None:
        if cfg.page_policy == "open":
            lastb = np.r_[cbo[1:] != cbo[:-1], True]
            state.open[cbo[lastb]] = ro[lastb]
        else:
            state.open[:] = -1
    return float(busy.max()) * cfg.refi / (cfg.refi - cfg.rfc)
