"""SMASH's window distribution: which rows share the scratchpad hash table, and which core runs them.

Why windows (our reading of SMASH V1, papers.md): a core's scratchpad holds one hash table; rows
of A are handed out in *windows*, consecutive rows whose output entries fit the table at its load
factor, so partial products never spill. A row can create at most ``min(flops, ncols)`` entries,
so that bound is what a window must fit. V3 ("fragmenting memory") additionally splits a window's
table into per-bank fragments (one per scratchpad bank): the window's rows go round-robin to
fragments, each fragment's rows must fit it, and a row too heavy for a fragment gets a window of
its own over the whole table.

Distribution over cores (:func:`distribute_windows`): rows are cut into one block of about equal
flops per core (:func:`dataflow.spgemm.chunks.flop_chunks`), windows are cut inside each block,
and each window gets the part of the table it uses: room for twice its entries (per fragment in a
split V3 window), a power of two, never more than the table.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np

from dataflow.spgemm.chunks import flop_chunks
from simulator.common.errors import SparsimInputError
from simulator.spgemm.config import SmashConfig

__all__ = ["smash_limits", "smash_windows", "WindowPlan", "distribute_windows"]


@numba.njit(cache=True)
def _cut_windows(flops, lo, hi, limit, frag_limit, fragments, fragmented):
    """SMASH windows over rows [lo, hi): consecutive rows whose flops fit the table at its load
    factor; in V3 (``fragmented``) rows go round-robin to fragments and each fragment's flops must
    fit ``frag_limit``, and a row too heavy for a fragment gets a window of its own over the whole
    table. Returns (starts, ends, split) arrays; ``end == start`` marks a row too heavy for the table."""
    starts = np.empty(hi - lo + 1, dtype=np.int64)
    ends = np.empty(hi - lo + 1, dtype=np.int64)
    split_w = np.zeros(hi - lo + 1, dtype=np.bool_)
    facc = np.zeros(max(fragments, 1), dtype=np.int64)
    nw = 0
    start = lo
    while start < hi:
        end = start
        acc = 0
        for t in range(facc.shape[0]):
            facc[t] = 0
        split = fragmented and flops[start] <= frag_limit
        while end < hi:
            if split:
                f = (end - start) % fragments
                if facc[f] + flops[end] > frag_limit:
                    break
                facc[f] += flops[end]
            elif fragmented:
                if end > start or flops[end] > limit:
                    break
            else:
                if acc + flops[end] > limit:
                    break
                acc += flops[end]
            end += 1
        starts[nw] = start
        ends[nw] = end
        split_w[nw] = split
        nw += 1
        if end == start:
            break
        start = end
    return starts[:nw], ends[:nw], split_w[:nw]


def smash_limits(cfg: SmashConfig, version: int) -> tuple[int, int, int]:
    """(table slots, window flops limit, V3 fragment flops limit) of a SMASH version."""
    entries = cfg.entries(version)
    size = 1 << (entries.bit_length() - 1)
    limit = int(size * cfg.load_factor)
    frag_limit = 0
    if version == 3:
        frag_limit = int((1 << max(0, (size // cfg.fragments).bit_length() - 1)) * cfg.load_factor)
    return size, limit, frag_limit


def smash_windows(flops: np.ndarray, ncols: int, cfg: SmashConfig, version: int, lo: int = 0, hi: int | None = None):
    """Window (start, end, split) arrays over rows [lo, hi) for SMASH ``version`` (1, 2 or 3).

    A row can create at most ``min(flops, ncols)`` table entries, so that bound (not its flops)
    is what a window must fit: hub rows of power-law graphs have far more partial products than
    distinct columns.
    """
    _, limit, frag_limit = smash_limits(cfg, version)
    hi = len(flops) if hi is None else hi
    bound = np.minimum(np.asarray(flops, dtype=np.int64), ncols)
    return _cut_windows(bound, lo, hi, limit, frag_limit, cfg.fragments, version == 3)


@dataclass(frozen=True, slots=True)
class WindowPlan:
    """Windows of every core, in the arrays the cycle engines read.

    ``bounds[w]`` / ``bounds[w + 1]``: first and end row of window ``w`` (windows of one core are
    consecutive); ``core_start[c]`` .. ``core_start[c + 1]``: core ``c``'s windows; ``masks[w]``:
    highest table slot window ``w`` uses; ``split[w]``: a V3 window over per-bank fragments;
    ``table_slots``: the table's size (a power of two).
    """

    bounds: np.ndarray
    masks: np.ndarray
    split: np.ndarray
    core_start: np.ndarray
    table_slots: int

    @property
    def windows(self) -> int:
        return int(self.core_start[-1])


def distribute_windows(flops: np.ndarray, ncols: int, cfg: SmashConfig, version: int, cores: int) -> WindowPlan:
    """Per-core blocks of equal flops, SMASH windows inside each (see the module docstring).

    Raises :class:`SparsimInputError` when one row alone cannot fit the table.
    """
    rows = len(flops)
    size, _, _ = smash_limits(cfg, version)
    blocks = flop_chunks(flops, cores)
    blocks = np.concatenate([blocks, np.full(cores + 1 - len(blocks), rows, dtype=np.int64)])
    core_start = np.zeros(cores + 1, dtype=np.int64)
    starts, ends, splits = [], [], []
    for ci in range(cores):
        core_start[ci] = len(starts)
        s, e, sp_ = smash_windows(flops, ncols, cfg, version, int(blocks[ci]), int(blocks[ci + 1]))
        if len(e) and e[-1] == s[-1]:
            raise SparsimInputError(
                "smash",
                "table_bytes",
                cfg.table_bytes,
                f"too small for a window: row {int(s[-1])} alone can create "
                f"{int(min(flops[s[-1]], ncols)):,} entries, more than the table takes "
                f"at load factor {cfg.load_factor}",
            )
        starts += s.tolist()
        ends += e.tolist()
        splits += sp_.tolist()
    core_start[cores] = len(starts)
    bound = np.minimum(flops, ncols)
    bound_off = np.zeros(len(bound) + 1, dtype=np.int64)
    np.cumsum(bound, out=bound_off[1:])
    masks = []
    for s_, e_, sp_ in zip(starts, ends, splits, strict=True):
        if sp_:
            per = np.zeros(cfg.fragments, dtype=np.int64)
            np.add.at(per, np.arange(e_ - s_) % cfg.fragments, bound[s_:e_])
            t = cfg.fragments * (1 << max(1, (2 * int(per.max()) - 1).bit_length()))
        else:
            t = 1 << max(1, (2 * int(bound_off[e_] - bound_off[s_]) - 1).bit_length())
        masks.append(min(size, t) - 1)
    return WindowPlan(
        bounds=np.array(starts + [rows], dtype=np.int64),
        masks=np.array(masks or [0], dtype=np.int64),
        split=np.array(splits or [False], dtype=np.bool_),
        core_start=core_start,
        table_slots=size,
    )
