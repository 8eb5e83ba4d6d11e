"""Closed-form costs of a mapping (dataflow + SRAM tiling) of one GEMM, for many candidate tilings
at once: the mapper's evaluator.

Why closed forms: the fold model (:mod:`simulator.nm_array.fold`) builds one entry per fold and
walks the SRAM tiles; a mapper that did that for thousands of candidates per layer would take
minutes per network. Every quantity here equals the fold model's exactly (tested), because the
fold set of a tiling is a Cartesian product per GEMM copy (row pieces x column pieces x stream
tiles), so its sums factorise, and the memory model's reuse rules
(:mod:`simulator.nm_array.memory`) depend only on the loop order, trip counts and footprints:

- compute cycles: from the fold count, the sum of stream lengths and the first and last fold's
  stream length (the two controller policies of :meth:`dataflow.nm_array.dataflows.Dataflow.timing`);
- DRAM bytes: an input is read once (kept across the loop of the dimension it does not depend
  on, or that loop is innermost, or trivial) or once per trip of that loop; an ofmap tile is
  written once, or spilled and read back once per extra trip of K;
- SRAM accesses and energy: per dataflow, sums of per-dimension terms.

Stall cycles need the step-by-step timeline; the mapper evaluates them with the fold model only for
the candidates its exact lower bounds cannot rule out.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from dataflow.nm_array.dataflows import Dataflow
from simulator.nm_array.config import ArrayConfig

__all__ = ["Gemm", "closed_form"]


@dataclass(frozen=True, slots=True)
class Gemm:
    """What the cost of one lowered GEMM row depends on (see :mod:`workloads.lowering`)."""

    p: int
    k: int
    kc: int
    ncol: int
    copies: int
    n: int
    m: int
    compat: str
    ifmap_elems: int


def _ceil(a, b):
    return -(-a // b)


def _pieces(ext: int, size: np.ndarray, arr: int) -> np.ndarray:
    """Array folds along a dimension, over its (possibly ragged) tiles of ``size``."""
    trips = _ceil(ext, size)
    rem = ext - (trips - 1) * size
    return (trips - 1) * _ceil(size, arr) + _ceil(rem, arr)


def _delivered_sum(k0: np.ndarray, ku: np.ndarray, g: Gemm) -> int:
    if g.n == g.m:
        return int(ku.sum())
    g0 = k0 // g.n
    g1 = (k0 + ku - 1) // g.n
    return int((np.minimum((g1 + 1) * g.m, g.k) - g0 * g.m).sum())


def _k_pieces(kc: int, kt: int, unit: int) -> tuple[np.ndarray, np.ndarray]:
    """(start, extent) of every piece of K: tiles of ``kt``, each cut into pieces of ``unit``
    (vectorised: a stream dimension can have hundreds of thousands of pieces)."""
    full, last = divmod(kc, kt)
    off = np.arange(0, kt, unit, dtype=np.int64)
    starts = [(np.arange(full, dtype=np.int64) * kt)[:, None] + off[None, :]]
    used = [np.broadcast_to(np.minimum(unit, kt - off), (full, off.size))]
    if last:
        o = np.arange(0, last, unit, dtype=np.int64)
        starts.append(full * kt + o[None, :])
        used.append(np.minimum(unit, last - o)[None, :])
    return np.concatenate([a.ravel() for a in starts]), np.concatenate([a.ravel() for a in used])


def closed_form(
    df: Dataflow, g: Gemm, cfg: ArrayConfig, pt: np.ndarray, kt: np.ndarray, nt: np.ndarray, order: str
) -> dict[str, np.ndarray]:
    """Costs of the tilings ``(pt[i], kt[i], nt[i], order)`` (already clipped to the GEMM):
    ``folds``, ``compute_cycles``, the four DRAM byte counts, the three SRAM access counts, and
    whether each operand's tile fits in half its buffer (``fits``) and the ofmap spills."""
    r, c = cfg.rows, cfg.cols
    ext = {"P": g.p, "K": g.kc, "N": g.ncol}
    size = {d: np.asarray(t, dtype=np.int64) for d, t in (("P", pt), ("K", kt), ("N", nt))}
    trips = {d: _ceil(ext[d], size[d]) for d in ext}
    rem = {d: ext[d] - (trips[d] - 1) * size[d] for d in ext}
    row, col, stream = df.dims
    pr, pc = _pieces(ext[row], size[row], r), _pieces(ext[col], size[col], c)
    per_s = g.copies * pr * pc  # folds per stream tile
    folds = per_s * trips[stream]
    sum_s = per_s * ext[stream]
    s_first = np.where(trips[stream] > 1, size[stream], rem[stream])
    s_last = rem[stream]
    n_full, n_edge = per_s * (trips[stream] - 1), per_s
    if df.loads:
        if not cfg.pe.weight_double_buffer:
            compute = folds * (2 * r + c - 2) + sum_s
        else:
            l0 = 2 * r + c - 1
            top = n_full * np.maximum(size[stream], l0) + n_edge * np.maximum(s_last, l0)
            compute = r + top - np.maximum(s_last, l0) + s_last + r + c - 2
    elif not cfg.pe.weight_double_buffer:
        compute = folds * (r + c - 2) + sum_s
    else:
        gaps = n_full * np.maximum(0, r - size[stream]) + n_edge * np.maximum(0, r - s_last)
        compute = sum_s + gaps - np.maximum(0, r - s_first) + r + c - 2

    # ---- DRAM (the memory model's reuse rules)
    word = cfg.pe.word_bytes
    bits = word * 8 + (0 if g.m <= 1 else math.ceil(math.log2(g.m)))
    half = {"X": cfg.buffers.ifmap_kb * 512, "W": cfg.buffers.filter_kb * 512, "Y": cfg.buffers.ofmap_kb * 512}
    ibytes = g.ifmap_elems * word
    deps = {"X": ("P", "K"), "W": ("K", "N"), "Y": ("P", "N")}
    nondep = {"X": "N", "W": "P", "Y": "K"}

    def nominal(op, span):
        if op == "X":
            return span["P"] * span["K"] * ibytes / (g.p * g.kc)
        if op == "W":
            return np.ceil(span["K"] * span["N"] * bits / 8)
        return span["P"] * span["N"] * cfg.pe.psum_bytes

    pos = {d: order.index(d) for d in ext}

    def innermost_is(d) -> np.ndarray:
        """Whether ``d`` is the innermost loop with more than one trip."""
        out = trips[d] > 1
        for e in ext:
            if pos[e] > pos[d]:
                out = out & (trips[e] == 1)
        return out

    fits, keep, once = {}, {}, {}
    for op, (a, b) in deps.items():
        q = nondep[op]
        fits[op] = nominal(op, {a: size[a], b: size[b]}) <= half[op]
        span = {d: (ext[d] if pos[d] > pos[q] else size[d]) for d in (a, b)}
        keep[op] = nominal(op, span) <= half[op]
        once[op] = keep[op] | (trips[q] == 1) | (fits[op] & innermost_is(q))
    dram_x = np.where(once["X"], ibytes, ibytes * trips["N"]) * g.copies

    w_tot = 0  # sum over W tiles of ceil(k x n x bits / 8): full and edge tiles of both dims
    for kk, kn in ((size["K"], trips["K"] - 1), (rem["K"], 1)):
        for nn, nnn in ((size["N"], trips["N"] - 1), (rem["N"], 1)):
            w_tot = w_tot + kn * nnn * np.ceil(kk * nn * bits / 8)
    dram_w = np.where(once["W"], w_tot, w_tot * trips["P"]) * g.copies
    y_tot = g.p * g.ncol * cfg.pe.psum_bytes
    spill = ~(fits["Y"] & once["Y"])
    dram_y = np.where(spill, y_tot * trips["K"], y_tot) * g.copies
    dram_psum = np.where(spill, y_tot * (trips["K"] - 1), 0) * g.copies

    # ---- SRAM accesses (each dataflow's counting rules, factorised)
    cp = g.copies
    sram = _sram(df, g, cfg, size, trips, pr, pc, folds)
    out = {
        "folds": folds,
        "compute_cycles": compute,
        "dram_ifmap_bytes": dram_x,
        "dram_filter_bytes": dram_w,
        "dram_ofmap_bytes": dram_y,
        "dram_psum_read_bytes": dram_psum,
        "fits": fits["X"] & fits["W"] & fits["Y"],
        "spills": spill & (trips["K"] > 1),
        "macs": np.full(np.shape(folds), cp * g.p * g.kc * g.ncol),
    }
    out.update(sram)
    return out


def _sram(df, g, cfg, size, trips, pr, pc, folds) -> dict[str, np.ndarray]:
    """(ifmap reads, filter reads, ofmap writes) as each dataflow's :meth:`sram_accesses` counts."""
    cp, p, kc, ncol = g.copies, g.p, g.kc, g.ncol
    r, c = cfg.rows, cfg.cols
    shape = np.shape(folds)

    def per_candidate(fn):
        kt = np.broadcast_to(size["K"], shape).ravel()
        uniq, inv = np.unique(kt, return_inverse=True)
        return np.array([fn(int(x)) for x in uniq], dtype=np.float64)[inv].reshape(shape)

    if df.name == "ws":  # rows = K pieces (of R), cols = N pieces, stream = P tiles
        if g.n == g.m:
            ifmap = cp * p * kc * pc
        elif g.compat == "scalesim":
            ifmap = cp * p * kc * pc * g.m / g.n
        else:
            ifmap = cp * p * pc * per_candidate(lambda kt: _delivered_sum(*_k_pieces(kc, kt, r), g))
        filt = cp * kc * ncol * trips["P"]
        ofmap = cp * p * ncol * pr
    elif df.name == "os":  # rows = P pieces, cols = N pieces, stream = K tiles
        filt = cp * kc * ncol * pr
        if g.compat == "scalesim":
            ifmap = cp * p * kc * pc
            ofmap = cp * p * ncol * trips["K"] + folds * (r + c)
        else:
            ifmap = cp * p * pc * per_candidate(lambda kt: _delivered_sum(*_k_pieces(kc, kt, kt), g))
            ofmap = cp * p * ncol * trips["K"]
    else:  # is: rows = K pieces, cols = P pieces, stream = N tiles
        if g.compat == "scalesim" or g.n == g.m:
            ifmap = cp * kc * p * trips["N"]
        else:
            ifmap = cp * p * trips["N"] * per_candidate(lambda kt: _delivered_sum(*_k_pieces(kc, kt, r), g))
        filt = cp * ncol * kc * pc
        ofmap = cp * p * ncol * pr
    b = lambda v: np.broadcast_to(np.asarray(v, dtype=np.float64), shape)  # noqa: E731
    return {"sram_ifmap_reads": b(ifmap), "sram_filter_reads": b(filt), "sram_ofmap_writes": b(ofmap)}
