"""Double-buffered operand SRAMs in front of a shared DRAM channel: traffic and stall cycles of a
fold schedule, SRAM tile by SRAM tile.

Our model (SCALE-Sim's memory model is address-trace driven and, in its CALC mode, never stalls;
this one is analytical and does stall):

- Each operand SRAM is split in two halves: the array works out of one while the other is filled
  from (ifmap, filter) or drained to (ofmap) DRAM. A *step* is one SRAM tile of the schedule's
  :class:`~dataflow.nm_array.schedule.Tiling` (the plain schedules have one array fold per tile).
- Operand sizes: the filter tile is its condensed weights plus ``ceil(log2 M)`` index bits each;
  the ifmap operand is the real input tensor of a GEMM copy (``I`` bytes; im2col is an address
  pattern over it), a tile bringing its share ``I * (p rows x k rows) / (P x Kc)``, split exactly in
  integers; an ofmap tile is its accumulators at ``psum_bytes`` each.
- Reuse, from the loop order (outermost first): an input tile is fetched when the schedule moves
  to a new tile of that operand. It is kept across the loop of the dimension it does not depend
  on when everything the loops inside that one touch of the operand fits in half its buffer, so a
  revisited tile is not fetched again; a tile that does not fit in half its buffer itself is
  re-streamed at every step. An ofmap tile accumulates on chip while consecutive steps work on it;
  when the schedule leaves it unfinished, or it does not fit, its partial sums are written out and
  read back at its next step, unless (as for inputs) all of its revisits fit on chip.
- Timing: step ``s`` occupies the schedule's cycles of its folds. During it, DRAM moves step
  ``s+1``'s inputs and step ``s-1``'s outputs at ``B`` bytes/cycle; whatever does not fit in the
  window stalls the array. Step 0's inputs (``prefetch_cycles``) and the last step's outputs
  (``drain_cycles``) are exposed and reported separately.

An array sharing the memory with others (``share`` > 1, passed by the scale-out model
:mod:`simulator.nm_array.system` for each part: run-time state, not the array's config) gets
``B / share``: a fair arbiter's share when every
array streams at once, which is when the share matters.

With unlimited bandwidth (``B = None``) nothing stalls and ``dram_bw_required`` reports the peak
bytes/cycle that would avoid every stall.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from dataflow.nm_array.schedule import DIMS, FoldSchedule, Tiling
from simulator.nm_array.config import ArrayConfig

__all__ = ["MemoryResult", "StepTraffic", "simulate_memory", "stall_lower_bound", "step_traffic", "index_bits",
           "OPERAND_DIMS"]  # fmt: skip

#: the GEMM dimensions each operand depends on
OPERAND_DIMS = {"X": ("P", "K"), "W": ("K", "N"), "Y": ("P", "N")}


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
    #: the run was left early, its stalls past the caller's ``limit`` (the figures are partial)
    cut: bool = False

    @property
    def dram_bytes(self) -> int:
        """Every byte moved to or from DRAM."""
        return self.dram_ifmap_bytes + self.dram_filter_bytes + self.dram_ofmap_bytes + self.dram_psum_read_bytes


def index_bits(m: int) -> int:
    return 0 if m <= 1 else math.ceil(math.log2(m))


def _retained(op: str, tiling: Tiling, ext: dict[str, int], tile_bytes_of, capacity: float) -> bool:
    """Whether a revisited tile of ``op`` is still on chip: everything of ``op`` the loops inside
    the loop of its non-dependent dimension touch fits in ``capacity``."""
    nondep = next(d for d in DIMS if d not in OPERAND_DIMS[op])
    inner = tiling.order[tiling.order.index(nondep) + 1 :]
    size = {"P": tiling.pt, "K": tiling.kt, "N": tiling.nt}
    span = {d: (ext[d] if d in inner else size[d]) for d in OPERAND_DIMS[op]}
    return tile_bytes_of(span) <= capacity


@dataclass(frozen=True)
class StepTraffic:
    """Per SRAM step of a schedule: its window of array cycles, the bytes it brings in per operand
    (``ifmap``, ``filter``, ``psum_in``: fetched before the step) and writes out (``ofmap``: after
    it), and the step's tile extents ``lo[dim]``/``hi[dim]`` (dims P, K, N) and GEMM copy. What
    the analytical timing below and the DRAM model (:mod:`simulator.nm_array.dram_memory`) share."""

    windows: np.ndarray
    ifmap: np.ndarray
    filter: np.ndarray
    psum_in: np.ndarray
    ofmap: np.ndarray
    lo: dict
    hi: dict
    copy: np.ndarray
    ext: dict
    ifmap_bytes: int
    wbits: int
    psum_bytes: int


def step_traffic(sched: FoldSchedule, cfg: ArrayConfig, tiling: Tiling, *, ifmap_elems: int, nm_m: int) -> StepTraffic:
    """The per-step traffic of the model in the module docstring."""
    p, kc, ncol = sched.t, sched.kc, sched.ncol
    ext = {"P": p, "K": kc, "N": ncol}
    tiling = tiling.clipped(p, kc, ncol)
    wbits = cfg.pe.word_bytes * 8 + index_bits(nm_m)
    ifmap_bytes = int(ifmap_elems * cfg.pe.word_bytes)
    half = {
        "X": cfg.buffers.ifmap_kb * 1024 / 2,
        "W": cfg.buffers.filter_kb * 1024 / 2,
        "Y": cfg.buffers.ofmap_kb * 1024 / 2,
    }

    def nominal(op: str, span: dict[str, int]) -> float:
        if op == "X":
            return span["P"] * span["K"] * ifmap_bytes / (p * kc)
        if op == "W":
            return math.ceil(span["K"] * span["N"] * wbits / 8)
        return span["P"] * span["N"] * cfg.pe.psum_bytes

    size = {"P": tiling.pt, "K": tiling.kt, "N": tiling.nt}
    keep = {op: _retained(op, tiling, ext, lambda s, op=op: nominal(op, s), half[op]) for op in OPERAND_DIMS}
    fits = {op: nominal(op, {d: size[d] for d in OPERAND_DIMS[op]}) <= half[op] for op in OPERAND_DIMS}

    # ---- one row per step (SRAM tile): its extent and its window of cycles
    tile = sched.tile
    first = np.flatnonzero(np.r_[True, tile[1:] != tile[:-1]])
    steps = first.size
    lo = {"P": sched.p0[first], "K": sched.k0[first], "N": sched.n0[first]}
    hi = {d: np.minimum(lo[d] + size[d], ext[d]) for d in DIMS}
    copy = tile[first] // (tile.max() // sched.copies + 1) if sched.copies > 1 else np.zeros(steps, dtype=np.int64)
    fold_win = np.diff(np.append(sched.load_start, sched.total_cycles)).astype(np.float64)
    windows = np.add.reduceat(fold_win, first)

    def key(op: str) -> np.ndarray:
        a, b = OPERAND_DIMS[op]
        return (copy * (ext[a] + 1) + lo[a]) * (ext[b] + 1) + lo[b]

    def first_visit(k: np.ndarray) -> np.ndarray:
        _, idx = np.unique(k, return_index=True)
        out = np.zeros(k.size, dtype=bool)
        out[idx] = True
        return out

    def fetched(op: str) -> np.ndarray:
        k = key(op)
        changed = np.r_[True, k[1:] != k[:-1]]
        new = first_visit(k)
        return new | (changed & ~keep[op]) | (~changed & ~fits[op])

    # ifmap: exact integer shares of I over the 2-D (P, Kc) grid
    def share(p_a, p_b, k_a, k_b):
        f = lambda pa, kb: (pa * kb * ifmap_bytes) // (p * kc)  # noqa: E731
        return (f(p_b, k_b) - f(p_a, k_b) - f(p_b, k_a) + f(p_a, k_a)).astype(np.float64)

    ifm = np.where(fetched("X"), share(lo["P"], hi["P"], lo["K"], hi["K"]), 0.0)
    ku, nu = hi["K"] - lo["K"], hi["N"] - lo["N"]
    filt = np.where(fetched("W"), np.ceil(ku * nu * wbits / 8.0), 0.0)

    # ofmap: accumulate while consecutive steps stay on a tile, spill otherwise (see docstring)
    yk = key("Y")
    acc = (hi["P"] - lo["P"]) * nu * float(cfg.pe.psum_bytes)
    k_tiles = -(-kc // tiling.kt)
    seen = np.zeros(steps, dtype=np.int64)  # K tiles of this Y tile done after this step
    order = np.argsort(yk, kind="stable")
    grp = np.r_[True, yk[order][1:] != yk[order][:-1]]
    run = np.cumsum(np.ones(steps, dtype=np.int64)) - np.maximum.accumulate(np.where(grp, np.arange(steps), 0))
    seen[order] = run
    complete = seen == k_tiles
    nxt_same = np.r_[yk[1:] == yk[:-1], False]
    prev_same = np.r_[False, yk[1:] == yk[:-1]]
    if fits["Y"]:
        # written when finished, or spilled when left unfinished and not kept on chip
        spill = ~complete & ~nxt_same & ~keep["Y"]
        out = np.where(complete | spill, acc, 0.0)
        psum_in = np.where((seen > 1) & ~prev_same & ~keep["Y"], acc, 0.0)
    else:  # the accumulators do not fit: every step writes them, every later step reads them back
        out = acc.astype(np.float64)
        psum_in = np.where(seen > 1, acc, 0.0)

    return StepTraffic(windows=windows, ifmap=ifm, filter=filt, psum_in=psum_in, ofmap=out, lo=lo, hi=hi,
                       copy=copy, ext=ext, ifmap_bytes=ifmap_bytes, wbits=wbits, psum_bytes=cfg.pe.psum_bytes)


def _channel_ends(tr: StepTraffic, bw: float) -> tuple[int, int]:
    """A channel's exposed prefetch (step 0's inputs) and drain (the last step's outputs), array
    cycles: the model's own ``ceil(bytes / B)``, which the mapper's bound takes as it is."""
    prefetch = math.ceil(np.ceil(tr.filter[0] + tr.ifmap[0] + tr.psum_in[0]) / bw)
    return prefetch, math.ceil(np.ceil(tr.ofmap[-1]) / bw)


def simulate_memory(
    sched: FoldSchedule,
    cfg: ArrayConfig,
    tiling: Tiling,
    *,
    ifmap_elems: int,
    nm_m: int,
    share: int = 1,
    limit: float = math.inf,
    limit_prefetch: bool = False,
) -> MemoryResult:
    """Run the model above over every step of a schedule (all its GEMM copies); ``share``: how many
    arrays stream through this memory at once (1: the array has it to itself). ``limit``: the
    mapper's cut-off, honoured by the DRAM fold form: once the stalls (plus the prefetch, with
    ``limit_prefetch``) pass it, the run stops and says so (``cut``)."""
    tr = step_traffic(sched, cfg, tiling, ifmap_elems=ifmap_elems, nm_m=nm_m)
    windows, ifm, filt, psum_in, out = tr.windows, tr.ifmap, tr.filter, tr.psum_in, tr.ofmap
    steps = windows.size
    in_bytes = np.ceil(filt + ifm + psum_in)
    out_bytes = np.ceil(out)
    moved = np.zeros(steps)
    moved[:-1] += in_bytes[1:]
    moved[1:] += out_bytes[:-1]
    bw = cfg.memory.bw_bytes_per_cycle
    if bw is not None:
        bw = bw / share
    with np.errstate(divide="ignore", invalid="ignore"):
        need = np.where(windows > 0, moved / windows, 0.0)
    required = float(max(need.max(initial=0.0), 0.0))
    if cfg.memory.is_dram:
        from simulator.nm_array.dram_memory import simulate_dram

        # time-sharing with share - 1 other arrays: each DRAM clock is worth that many times more
        # of this array's cycles
        d = simulate_dram(tr, cfg.clock_ghz * share, cfg.memory.dram_config(), cfg.memory.mode, limit=limit,
                          limit_prefetch=limit_prefetch)  # fmt: skip
        stall, prefetch, drain, cut = d.stall_cycles, d.prefetch_cycles, d.drain_cycles, d.cut
    elif bw is None:
        stall = prefetch = drain = 0
        cut = False
    else:
        stall = int(np.maximum(np.ceil(moved / bw) - windows, 0).sum())
        prefetch, drain = _channel_ends(tr, bw)
        cut = False
    return MemoryResult(
        dram_ifmap_bytes=int(np.ceil(ifm.sum())),
        dram_filter_bytes=int(filt.sum()),
        dram_ofmap_bytes=int(out_bytes.sum()),
        dram_psum_read_bytes=int(np.ceil(psum_in.sum())),
        stall_cycles=stall,
        prefetch_cycles=prefetch,
        drain_cycles=drain,
        dram_bw_required=required,
        cut=cut,
    )


def stall_lower_bound(
    sched: FoldSchedule, cfg: ArrayConfig, tiling: Tiling, *, ifmap_elems: int, nm_m: int, share: int = 1,
    tight: bool | str = True, exposed_io: bool = False,
) -> float:
    """A lower bound on the stall cycles (SRAM plus memory) of :func:`layer stalls
    <simulator.nm_array.fold.layer_stalls>`, at the cost of the step traffic only (no DRAM model):
    ``sum over steps of max(0, T_s - w_s)`` with ``T_s`` a floor on the time step ``s``'s batch
    (inputs of ``s+1``, outputs of ``s-1``) takes and ``w_s`` its window. Behind a DRAM it costs
    a pass over the batches' runs (a tenth of the DRAM model or less).

    Why it holds: both memory forms stall step ``s`` by ``max(0, time of its batch - w_s)``.

    - Channel: the batch takes ``ceil(bytes / B)``; ``T_s = bytes / B``.
    - DRAM, ``tight``: the floor of :func:`~simulator.nm_array.dram_memory.batch_floors` on the
      batch's own bursts (its busiest channel's data bus and bank group, and CAS latency).
      Otherwise, from byte counts alone: each operand is at least ``ceil(bytes / burst)`` bursts,
      the busiest channel gets at least ``ceil(bursts / channels)``, each one ``max(tCCD_S,
      BL)`` clocks, plus ``min(CL, CWL) + BL``. Both get the fold form's refresh factor
      ``tREFI / (tREFI - tRFC)`` on top (the per-request form refreshes when due, so not there).
      At ``share`` the DRAM clock is worth ``share`` times as many array cycles.
    - Bank conflicts lengthen folds by ``sigma_s``; the memory stall shrinks by at most that, so
      SRAM plus memory stalls are at least the sum over unstretched windows.

    ``exposed_io``: the bound is on the stalls plus the layer's exposed first load and last
    write-back (the mapper's ``exposed_io``). On a channel both are exact (the model's own
    ``ceil(bytes / B)``). Behind a DRAM they are the same floors on those two batches, except
    that the fold form's are taken exactly where :func:`~simulator.nm_array.dram_memory.end_batches`
    knows them (``tight`` true or ``"ends"``): its first batch always, its last when the open
    rows it meets are known. ``tight="ends"``: those two exactly and the steps from byte counts,
    a stage between the two for a mapper whose candidates differ mostly in their ends.

    The mapper uses this to skip the DRAM model for candidates that cannot win
    (:mod:`dataflow.nm_array.mapper`); a property test holds it below the simulated stalls for
    every DRAM form, page policy and share."""
    bw = cfg.peak_bytes_per_cycle(share)
    if bw is None:
        return 0.0
    tr = step_traffic(sched, cfg, tiling, ifmap_elems=ifmap_elems, nm_m=nm_m)
    ops_in = (np.floor(tr.filter), np.floor(tr.ifmap), np.floor(tr.psum_in))
    if not cfg.memory.is_dram:
        moved = np.zeros(tr.windows.size)
        moved[:-1] += sum(ops_in)[1:]
        moved[1:] += np.floor(tr.ofmap[:-1])
        ends = sum(_channel_ends(tr, bw)) if exposed_io else 0  # simulate_memory's, exactly
        return float(np.maximum(moved / bw - tr.windows, 0.0).sum()) + ends
    from simulator.nm_array.dram_memory import batch_floors, end_batches

    d = cfg.memory.dram_config()
    first = sum(b[0] for b in ops_in)
    last = np.floor(tr.ofmap[-1])
    if tight is True:
        clocks, end_floors = batch_floors(tr, d, cfg.memory.mode, ends=True)
    else:
        bursts = np.zeros(tr.windows.size + 2)  # the step batches, then the first and the last
        for b in ops_in:
            bursts[:tr.windows.size - 1] += np.ceil(b[1:] / d.burst_bytes)
            bursts[-2] += np.ceil(b[0] / d.burst_bytes)
        bursts[1:tr.windows.size] += np.ceil(np.floor(tr.ofmap[:-1]) / d.burst_bytes)
        bursts[-1] = np.ceil(last / d.burst_bytes)
        per_channel = np.ceil(bursts / d.channels)
        both = np.where(bursts > 0, (per_channel - 1) * max(d.ccd_s, d.bl) + min(d.cl, d.cwl) + d.bl, 0.0)
        clocks, end_floors = both[:-2], both[-2:]
    fold = cfg.memory.mode == "fold"
    if fold:
        clocks = clocks * d.refi / (d.refi - d.rfc)
        end_floors = end_floors * d.refi / (d.refi - d.rfc)
    ratio = d.clock_ghz / (cfg.clock_ghz * share)  # DRAM clocks per array cycle
    out = float(np.maximum(clocks / ratio - tr.windows, 0.0).sum())
    if not exposed_io:
        return out
    ends = [float(x) / ratio for x in end_floors]
    if tight and fold and (first > 0 or last > 0):  # True or "ends"
        prefetch, drain = end_batches(tr, cfg.clock_ghz * share, d)
        ends = [float(prefetch), float(drain) if drain is not None else ends[1]]
    return out + sum(ends)
