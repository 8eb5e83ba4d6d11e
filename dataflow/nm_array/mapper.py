"""The mapper: for one lowered GEMM, the dataflow, SRAM tile sizes and loop order that minimise an
objective (``cycles``, ``energy``, ``edp`` or ``dram_bytes``) on a given array.

Why it is fast and exact (the peers' complaints are mappers that run for days, or find no valid
mapping): every candidate is costed in closed form (:mod:`dataflow.nm_array.cost`, tested equal
to the fold model), thousands at a time in numpy; the only quantity without a closed form, DRAM
stall cycles under a finite bandwidth, comes from the memory model (a callback, so this module
stays free of the cycle model) and only for candidates an exact lower bound cannot rule out
(branch and bound). The result is the true optimum of the search space, and the plain schedule of
every allowed dataflow is always in that space, so the mapper never does worse than the fixed
schedule and never fails for a layer the array can run at all.

The space (ours):

- dataflow: every one the array allows (``ArrayConfig.dataflows``) and supports for the layer's
  N:M ratio (:meth:`~dataflow.nm_array.dataflows.Dataflow.check`);
- tile sizes: along the dimensions on the array's rows and columns, the array side times a power
  of two, and the whole extent; along the streamed dimension, every power of two and the extent;
- loop order: the six orders of (P, K, N), up to equivalence (only the relative order of the
  dimensions cut into more than one tile changes anything, so one representative is kept);
- constraint: every operand tile fits in half its buffer (the other half is being refilled); the
  dataflows' plain schedules are admitted whether they fit or not (the fallback);
- ties: equal objective values are broken by no partial-sum spill, then fewer DRAM bytes, less
  energy, fewer cycles, then the dataflow's place in the config, the loop order and the tile sizes,
  so the choice is deterministic.

Lower bound on cycles with a DRAM channel of ``B`` bytes/cycle: every byte but the first tile's
inputs and the last tile's outputs moves during some tile's compute window, so
``cycles >= max(compute, (dram_bytes - first inputs - last outputs) / B)``. Behind a DRAM model
``B`` is its data-bus peak per array cycle: no schedule streams faster, so the bound holds and the
stalls of a DRAM are simulated like a channel's (before, a DRAM config was costed as if it had
no bandwidth limit, and the mapper could pick a mapping that thrashes it).

The search is best-first over those bounds, refined lazily: a candidate whose closed-form bound
could still win gets the memory side's cheaper stall floors in turn (``stall_bounds``: behind a
DRAM, byte counts over the channels plus CAS latency, then each batch's busiest channel and bank
group, :func:`simulator.nm_array.memory.stall_lower_bound`), and only a candidate that survives
them all is simulated. On a channel, a candidate whose largest step transfer fits its shortest
window cannot stall and is not simulated; behind a DRAM nothing is taken as stall-free (every
batch pays the DRAM's latency), so the floors decide. Exactness is tested against brute force,
behind a channel and behind a DRAM, and the floors against the simulated stalls.

With ``exposed_io`` (an LLM step's operators, each waiting for the one before) the first tile's
inputs and the last tile's outputs cannot overlap anything: the closed form adds them at the peak
rate, and the memory side takes them exactly from those two batches where it can. Candidates
that tie on compute (a prefill's GEMMs with ample bandwidth) differ mostly there, so this prunes
most of them. A candidate that must be simulated is simulated with a cut-off (``cutoff``): its
stalls past the best value in hand make it lose, and the model stops there.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from dataflow.nm_array.cost import Gemm, closed_form
from dataflow.nm_array.dataflows import get_dataflow
from dataflow.nm_array.mapping import Mapping
from dataflow.nm_array.schedule import MAX_FOLDS, ORDERS, Tiling
from simulator.common.errors import SparsimInputError
from simulator.nm_array.config import ArrayConfig
from simulator.nm_array.energy import EnergyTable

__all__ = ["OBJECTIVES", "Choice", "map_gemm", "candidate_sizes", "objective_value"]

OBJECTIVES = ("cycles", "energy", "edp", "dram_bytes")



@dataclass(frozen=True, slots=True)
class Choice:
    """The mapper's answer for one GEMM: the mapping, its objective value, how many candidates
    were costed in closed form and how many needed the memory model."""

    mapping: Mapping
    objective: str
    value: float
    candidates: int
    simulated: int


def objective_value(objective: str, cycles: float, energy_pj: float, dram_bytes: float) -> float:
    """The value an objective minimises (``edp`` in pJ x cycles)."""
    if objective == "cycles":
        return float(cycles)
    if objective == "energy":
        return float(energy_pj)
    if objective == "edp":
        return float(energy_pj) * float(cycles)
    if objective == "dram_bytes":
        return float(dram_bytes)
    raise SparsimInputError("mapper", "objective", objective, f"one of {', '.join(OBJECTIVES)}")


def candidate_sizes(ext: int, unit: int) -> np.ndarray:
    """Tile sizes along a dimension of ``ext``: ``unit x 2^i`` below the extent, and the extent."""
    out = []
    v = max(1, unit)
    while v < ext:
        out.append(v)
        v *= 2
    out.append(ext)
    return np.array(out, dtype=np.int64)


def _canonical_orders() -> dict[tuple[bool, bool, bool], set[str]]:
    """Per mask of which of (P, K, N) have several tiles: one representative loop order for every
    distinct relative order of those dimensions."""
    out = {}
    for mask in np.ndindex(2, 2, 2):
        many = {d for d, b in zip("PKN", mask, strict=True) if b}
        seen, keep = set(), set()
        for o in ORDERS:
            key = "".join(d for d in o if d in many)
            if key not in seen:
                seen.add(key)
                keep.add(o)
        out[tuple(bool(b) for b in mask)] = keep
    return out


_CANON = _canonical_orders()
#: per loop order, whether it is the representative for each mask code 4*P + 2*K + N
_CANON_BY_CODE = {o: np.array([o in _CANON[(bool(c & 4), bool(c & 2), bool(c & 1))] for c in range(8)]) for o in ORDERS}


def _grid(df, g: Gemm, cfg: ArrayConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    ext = {"P": g.p, "K": g.kc, "N": g.ncol}
    unit = dict(zip(df.dims, (cfg.rows, cfg.cols, 1), strict=True))
    sizes = [candidate_sizes(ext[d], unit[d]) for d in "PKN"]
    pt, kt, nt = (a.ravel() for a in np.meshgrid(*sizes, indexing="ij"))
    return pt, kt, nt


def _runnable(g: Gemm, cfg: ArrayConfig, where: str):
    """``(index, name, dataflow)`` of every dataflow the array runs that can run ``g``."""
    for di, name in enumerate(cfg.pe.allowed_dataflows):
        df = get_dataflow(name)
        try:
            df.check(g.n, g.m, g.compat, where)
        except SparsimInputError:
            continue
        yield di, name, df


def candidate_folds(g: Gemm, cfg: ArrayConfig) -> np.ndarray:
    """Folds of every candidate tiling on the grid (all dataflows the array runs, fitting tiles):
    what simulating a candidate costs, for the work estimate (folds do not depend on the order)."""
    out = []
    for _, _, df in _runnable(g, cfg, "layer"):
        pt, kt, nt = _grid(df, g, cfg)
        cf = closed_form(df, g, cfg, pt, kt, nt, ORDERS[0])
        out.append(cf["folds"][cf["fits"] & (cf["folds"] <= MAX_FOLDS)])
    return np.concatenate(out) if out else np.zeros(0, dtype=np.int64)


def map_gemm(
    g: Gemm,
    cfg: ArrayConfig,
    objective: str = "cycles",
    *,
    stall_cycles: Callable[[Mapping], int] | None = None,
    stall_bounds: Sequence[Callable[[Mapping], float]] = (),
    energy: EnergyTable = EnergyTable(),
    where: str = "layer",
    share: int = 1,
    exposed_io: bool = False,
    cutoff: bool = False,
) -> Choice:
    """The best mapping of ``g`` on ``cfg`` for ``objective`` (see the module docstring).

    ``stall_cycles(mapping)``: the memory model's stall cycles of one candidate; needed only when
    the array has a finite DRAM bandwidth and the objective involves cycles. ``stall_bounds``:
    lower bounds on those stall cycles, cheaper than the memory model, in increasing cost and
    tightness; a candidate is refined through them only while it could still win, and simulated
    only if it survives them all. ``share``: arrays
    streaming through the memory at once (the part gets ``1 / share`` of its bandwidth, as the
    callback's memory model does), so the bound and the no-stall test use that share.
    ``exposed_io``: ``stall_cycles`` also counts the layer's exposed first load and last
    write-back (a caller whose layers run back to back, each waiting for the one before: an LLM
    step), so no candidate is taken as stall-free in closed form; the bounds stay valid (those
    cycles are never negative). ``cutoff``: ``stall_cycles`` takes a second argument, the
    stalls past which the candidate cannot beat the best value found so far, and may stop there
    and return ``inf``; such a candidate is dropped (it is worse than one already in hand).
    """
    objective_value(objective, 0, 0, 0)  # validates the name
    bw = cfg.peak_bytes_per_cycle(share)  # a DRAM's data-bus peak: no schedule streams faster
    # bank conflicts (sram_banks > 0) are not in the closed form: every candidate in bound order is
    # simulated until the bound (its compute cycles) passes the best
    banked = bool(cfg.buffers.banks)
    need_stalls = (bw is not None or banked) and objective in ("cycles", "edp")
    if need_stalls and stall_cycles is None:
        raise ValueError("map_gemm needs stall_cycles for a finite DRAM bandwidth or banked buffers")
    word, psum = cfg.pe.word_bytes, cfg.pe.psum_bytes
    bits = word * 8 + (0 if g.m <= 1 else math.ceil(math.log2(g.m)))
    ibytes = g.ifmap_elems * word

    cols: dict[str, list[np.ndarray]] = {}
    tiles: list[tuple[str, str, np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
    wmin: list[np.ndarray] = []
    allowed = cfg.pe.allowed_dataflows
    for di, name, df in _runnable(g, cfg, where):
        pt, kt, nt = _grid(df, g, cfg)
        plain = df.plain_tiling(g.p, g.kc, g.ncol, cfg).clipped(g.p, g.kc, g.ncol)
        code = (-(-g.p // pt) > 1) * 4 + (-(-g.kc // kt) > 1) * 2 + (-(-g.ncol // nt) > 1)
        for oi, order in enumerate(ORDERS):
            canon = _CANON_BY_CODE[order][code]
            is_plain = (pt == plain.pt) & (kt == plain.kt) & (nt == plain.nt) & (order == plain.order)
            cf = closed_form(df, g, cfg, pt, kt, nt, order)
            keep = ((cf["fits"] & canon) | is_plain) & (cf["folds"] <= MAX_FOLDS)
            if order == plain.order and not is_plain.any():  # the plain tiling is not on the grid
                extra = closed_form(df, g, cfg, *(np.array([v]) for v in (plain.pt, plain.kt, plain.nt)), order)
                if extra["folds"][0] <= MAX_FOLDS:
                    _append(cols, extra, np.array([True]))
                    wmin.append(_min_window(df, g, cfg, *(np.array([v]) for v in (plain.pt, plain.kt, plain.nt))))
                    tiles.append((name, order, *(np.array([v]) for v in (plain.pt, plain.kt, plain.nt)),
                                  np.array([di * 6 + oi])))  # fmt: skip
            if keep.any():
                _append(cols, cf, keep)
                wmin.append(_min_window(df, g, cfg, pt[keep], kt[keep], nt[keep]))
                tiles.append((name, order, pt[keep], kt[keep], nt[keep], np.full(int(keep.sum()), di * 6 + oi)))
    if not tiles:
        raise SparsimInputError(
            where, "dataflows", list(allowed), f"none of them runs this layer ({g.n}:{g.m}, {g.compat}) in time"
        )
    c = {k: np.concatenate(v) for k, v in cols.items()}
    df_name = np.concatenate([np.full(t[2].size, t[0], dtype=object) for t in tiles])
    order = np.concatenate([np.full(t[2].size, t[1], dtype=object) for t in tiles])
    pt, kt, nt, rank = (np.concatenate([t[i] for t in tiles]) for i in (2, 3, 4, 5))
    count = pt.size

    dram = (c["dram_ifmap_bytes"] + c["dram_filter_bytes"] + c["dram_ofmap_bytes"]
            + c["dram_psum_read_bytes"]).astype(np.float64)  # fmt: skip
    sram_bytes = (c["sram_ifmap_reads"] + c["sram_filter_reads"]) * word + c["sram_ofmap_writes"] * psum
    e = c["macs"] * energy.mac_pj + sram_bytes * energy.sram_pj_per_byte + dram * energy.dram_pj_per_byte
    compute = c["compute_cycles"].astype(np.float64)
    if need_stalls and bw is not None:
        x_tile, w_tile, y_tile = pt * kt * ibytes / (g.p * g.kc), np.ceil(kt * nt * bits / 8), pt * nt * psum
        lb_cycles = np.maximum(compute, np.ceil((dram - np.ceil(x_tile) - w_tile - y_tile - 3) / bw))
        if exposed_io:
            # the first step's inputs arrive, and the last step's outputs leave, while the array
            # waits: step 0 fetches a whole first tile (its ifmap share is at least the floor of
            # the nominal one), and the last step writes its edge tile of Y; neither at more than
            # the peak rate
            y_last = (g.p - (-(-g.p // pt) - 1) * pt) * (g.ncol - (-(-g.ncol // nt) - 1) * nt) * psum
            lb_cycles = lb_cycles + np.floor((np.floor(x_tile) + w_tile + y_last) / bw * (1 - 1e-12))
        # on a channel, no step can stall when the most any step moves fits in the shortest step
        # window; a DRAM adds latency (activate, CAS) to every batch, so there nothing is proven
        # stall-free in closed form (the step-traffic bound and the model decide)
        no_stall = np.ceil((x_tile + w_tile + 2 * y_tile + 3) / bw) <= np.concatenate(wmin)
        no_stall &= not banked and not cfg.memory.is_dram and not exposed_io
    else:
        lb_cycles = compute
        no_stall = np.zeros(count, dtype=bool)
    lb = {
        "cycles": lb_cycles,
        "energy": e,
        "edp": e * lb_cycles,
        "dram_bytes": dram,
    }[objective]
    spills = c["spills"].astype(np.int8)
    # candidates in increasing (bound, tie-break) order
    idx = np.lexsort((nt, kt, pt, rank, lb_cycles, e, dram, spills, lb))

    def mapping_of(i: int) -> Mapping:
        return Mapping(str(df_name[i]), Tiling(int(pt[i]), int(kt[i]), int(nt[i]), str(order[i])))

    if not need_stalls:
        i = int(idx[0])
        return Choice(mapping_of(i), objective, float(lb[i]), count, 0)

    # best-first search over (bound, tie-break key, position) with bounds refined lazily: a
    # candidate's closed-form bound, then each of ``stall_bounds`` in turn, then its exact stalls
    # (stage ``last``). The first exact value popped is the optimum (every other candidate's
    # bound, and so its value, is not below it), and it is the candidate the plain scan in bound
    # order would keep (same objective, same tie-break key, earliest position).
    last = len(stall_bounds) + 1
    heap = [(float(lb[i]), int(spills[i]), float(dram[i]), float(e[i]), pos, 0, i)
            for pos, i in enumerate(idx.tolist())]  # fmt: skip
    heapq.heapify(heap)
    simulated = 0
    best = math.inf  # the smallest exact value found so far (the cut-off's reference)
    while True:
        bound, sp, dr, en, pos, stage, i = heapq.heappop(heap)
        if stage == last:
            return Choice(mapping_of(i), objective, bound, count, simulated)
        if no_stall[i]:
            cycles, stage = compute[i], last
        elif stage < len(stall_bounds):
            floor = math.floor(stall_bounds[stage](mapping_of(i)) * (1 - 1e-9))
            cycles, stage = max(lb_cycles[i], compute[i] + floor), stage + 1
        else:
            simulated += 1
            if cutoff:
                # stalls above this make the candidate worse than ``best``: the model may stop there
                room = best - compute[i] if objective == "cycles" else (best / e[i] - compute[i] if e[i] > 0
                                                                         else math.inf)  # fmt: skip
                st = stall_cycles(mapping_of(i), room)
                if math.isinf(st):
                    continue
            else:
                st = stall_cycles(mapping_of(i))
            cycles, stage = compute[i] + st, last
        val = float(cycles) if objective == "cycles" else float(e[i] * cycles)
        if stage == last:
            best = min(best, val)
        heapq.heappush(heap, (val if stage == last else max(val, bound), sp, dr, en, pos, stage, i))


def _min_window(df, g: Gemm, cfg: ArrayConfig, pt: np.ndarray, kt: np.ndarray, nt: np.ndarray) -> np.ndarray:
    """A lower bound on the cycles of any SRAM tile's window in the memory model (the fold
    windows of :meth:`~dataflow.nm_array.dataflows.Dataflow.timing`, times the fewest folds a
    tile has: its edge tile's).

    Fold windows: loads (ws, is), double-buffered: the first fold >= 2R + C - 1, every other
    >= max(2R + C - 1, shortest stream); not double-buffered: 2R + C + S - 2. No loads (os):
    S + R + C - 2 without double buffering, >= S with it.
    """
    r, c = cfg.rows, cfg.cols
    ext = {"P": g.p, "K": g.kc, "N": g.ncol}
    size = {"P": pt, "K": kt, "N": nt}
    rem = {d: ext[d] - (-(-ext[d] // size[d]) - 1) * size[d] for d in ext}
    row, col, stream = df.dims
    nfold = -(-rem[row] // r) * -(-rem[col] // c)
    s_min = rem[stream]
    if df.loads:
        if cfg.pe.weight_double_buffer:
            first = 2 * r + c - 1
            return first + (nfold - 1) * np.maximum(first, s_min)
        return nfold * (2 * r + c + s_min - 2)
    if cfg.pe.weight_double_buffer:
        return nfold * s_min
    return nfold * (s_min + r + c - 2)


def _append(cols: dict[str, list[np.ndarray]], cf: dict[str, np.ndarray], keep: np.ndarray) -> None:
    for k, v in cf.items():
        cols.setdefault(k, []).append(np.broadcast_to(v, keep.shape)[keep])
