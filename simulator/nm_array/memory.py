"""Double-buffered operand SRAMs in front of a shared DRAM channel: traffic and stall cycles per fold.

Our model (SCALE-Sim's memory model is address-trace driven and, in its CALC mode, never stalls;
this one is analytical and does stall):

- Each operand SRAM is split in two halves: the array works out of one while the other is filled
  from (ifmap, filter) or drained to (ofmap) DRAM.
- Filter: every condensed weight is used in exactly one fold, so each fold's tile
  (``k_used * n_used`` words, plus ``ceil(log2 M)`` index bits per weight in N:M mode) is fetched.
- Ifmap: the input tensor of a GEMM copy (``I`` bytes; im2col is an address pattern over it).
  If ``I`` fits in half the ifmap SRAM it is fetched once, during the first column fold, each
  row fold bringing its share ``k_used / Kc``; otherwise it is re-streamed for every column fold.
- Ofmap: a column fold's ``T x n_used`` accumulators stay on chip across row folds when they fit in
  half the ofmap SRAM (one final write of ``psum_bytes`` each); otherwise every row fold writes its
  partial sums out and the next row fold reads them back.
- Timing: fold ``f`` occupies the window ``[ld[f], ld[f+1])`` of the schedule. During it, DRAM
  moves fold ``f+1``'s inputs and fold ``f-1``'s outputs at ``B`` bytes/cycle; whatever does not
  fit in the window stalls the array. Fold 0's inputs (``prefetch_cycles``) and the last fold's
  outputs (``drain_cycles``) are exposed and reported separately.

With unlimited bandwidth (``B = None``) nothing stalls and ``dram_bw_required`` reports the peak
bytes/cycle that would avoid every stall.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from dataflow.nm_array.ws import WSFoldSchedule
from simulator.nm_array.config import ArrayConfig

__all__ = ["MemoryResult", "simulate_memory"]


@dataclass(frozen=True, slots=True)
class MemoryResult:
    """Traffic (bytes) and cycles of one layer (all GEMM copies)."""

    dram_ifmap_bytes: int
    dram_filter_bytes: int
    dram_ofmap_bytes: int
    dram_psum_read_bytes: int
    stall_cycles: int
    prefetch_cycles: int
    drain_cycles: int
    dram_bw_required: float

    @property
    def dram_bytes(self) -> int:
        """Every byte moved to or from DRAM."""
        return self.dram_ifmap_bytes + self.dram_filter_bytes + self.dram_ofmap_bytes + self.dram_psum_read_bytes


def _index_bits(m: int) -> int:
    return 0 if m <= 1 else math.ceil(math.log2(m))


def simulate_memory(
    sched: WSFoldSchedule,
    cfg: ArrayConfig,
    *,
    ifmap_elems: int,
    nm_m: int,
) -> MemoryResult:
    """Run the model above over every fold of a schedule (all its GEMM copies)."""
    t, kc = sched.t, sched.kc
    ku = sched.k_used.astype(np.float64)
    nu = sched.n_used.astype(np.float64)
    k0 = sched.k0
    rf = -(-kc // cfg.rows)
    folds = ku.size
    first_col = sched.n0 == 0
    k_end = sched.k0 + sched.k_used
    last_row = k_end == kc

    filt = np.ceil(ku * nu * (cfg.word_bytes * 8 + _index_bits(nm_m)) / 8.0)

    ifmap_bytes = int(ifmap_elems * cfg.word_bytes)
    fits_ifmap = ifmap_bytes <= cfg.ifmap_sram_kb * 1024 / 2
    # Row fold [k0, k0 + k_used) brings its share of the input; integer split, exact per column fold.
    share = ((k_end * ifmap_bytes) // kc - (sched.k0 * ifmap_bytes) // kc).astype(np.float64)
    ifm = np.where(first_col, share, 0.0) if fits_ifmap else share

    acc_bytes = t * nu * cfg.psum_bytes
    fits_ofmap = float(t * cfg.cols * cfg.psum_bytes) <= cfg.ofmap_sram_kb * 1024 / 2 or rf == 1
    if fits_ofmap:
        out = np.where(last_row, acc_bytes, 0.0)
        psum_in = np.zeros(folds)
    else:
        out = acc_bytes
        psum_in = np.where(k0 > 0, acc_bytes, 0.0)

    in_bytes = np.ceil(filt + ifm + psum_in)
    out_bytes = np.ceil(out)
    # Window of fold f: [ld[f], ld[f+1]); the last one ends with the schedule.
    windows = np.diff(np.append(sched.load_start, sched.total_cycles)).astype(np.float64)

    moved = np.zeros(folds)
    moved[:-1] += in_bytes[1:]
    moved[1:] += out_bytes[:-1]
    bw = cfg.dram_bw_bytes_per_cycle
    with np.errstate(divide="ignore", invalid="ignore"):
        need = np.where(windows > 0, moved / windows, 0.0)
    required = float(max(need.max(initial=0.0), 0.0))
    if bw is None:
        stall = prefetch = drain = 0
    else:
        stall = int(np.maximum(np.ceil(moved / bw) - windows, 0).sum())
        prefetch = int(math.ceil(in_bytes[0] / bw))
        drain = int(math.ceil(out_bytes[-1] / bw))
    return MemoryResult(
        dram_ifmap_bytes=int(np.ceil(ifm.sum())),
        dram_filter_bytes=int(filt.sum()),
        dram_ofmap_bytes=int(out_bytes.sum()),
        dram_psum_read_bytes=int(np.ceil(psum_in.sum())),
        stall_cycles=stall,
        prefetch_cycles=prefetch,
        drain_cycles=drain,
        dram_bw_required=required,
    )
