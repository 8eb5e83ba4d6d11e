"""Fold schedules of the N:M array for every dataflow: which part of a GEMM each fold computes and
when it starts, as a pure function of (GEMM, array config, dataflow, tiling).

A GEMM ``Y[P, N] = X[P, K] x W[K, N]`` runs with ``W`` condensed along ``K`` to ``Kc`` rows (N:M;
``Kc = K`` dense). A dataflow (:mod:`dataflow.nm_array.dataflows`) maps two of the three GEMM
dimensions onto the array's rows and columns and streams the third:

==========  ==========  ==========  =========  ======================================
dataflow    array rows  array cols  streamed   stationary in the PEs
==========  ==========  ==========  =========  ======================================
``ws``      Kc          N           P          weights
``os``      P           N           Kc         outputs (the accumulators)
``is``      Kc          P           N          inputs
==========  ==========  ==========  =========  ======================================

A :class:`Tiling` cuts the GEMM into SRAM tiles ``(pt, kt, nt)`` visited in a loop ``order``
(outermost first); each tile is cut into array-sized folds, columns outer, rows inner (SCALE-Sim's
order), and a fold streams the tile's extent of the streamed dimension. The *plain* tiling of a
dataflow (:meth:`Dataflow.plain_tiling`) is today's fold schedule: one array fold per tile, the
whole streamed dimension at once. GEMM copies (grouped and depthwise convolutions) run back to back.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from simulator.common.errors import SparsimInputError
from simulator.nm_array.config import ArrayConfig

__all__ = ["condensed_rows", "DIMS", "ORDERS", "Tiling", "FoldSchedule", "fold_ranges", "fold_count", "MAX_FOLDS"]

#: folds of one layer a schedule may have: the fold model keeps a few int64 entries per fold, so
#: 2**24 folds already take ~1 GB; more means an array far too small for the layer (or a typo).
#: The mapper drops candidates above it, the fold model refuses a mapping above it.
MAX_FOLDS = 1 << 24

DIMS = ("P", "K", "N")
#: every loop order of the three GEMM dimensions, outermost first
ORDERS = tuple("".join(o) for o in itertools.permutations(DIMS))


def condensed_rows(k: int, n: int, m: int, compat: str = "native") -> int:
    """Rows of the weight operand after N:M condensing along K.

    ``native``: K zero-padded to a multiple of M, ``ceil(K/M) * N``.
    ``scalesim``: SCALE-Sim's layer-wise condensing keeps the first N positions of every group and
    strips the all-zero padding of the last, partial group: ``(K//M)*N + min(N, K % M)``.
    """
    if n == m:
        return k
    if compat == "scalesim":
        return (k // m) * n + min(n, k % m)
    return -(-k // m) * n


@dataclass(frozen=True, slots=True)
class Tiling:
    """SRAM tiles of ``pt`` rows of X, ``kt`` condensed rows of K and ``nt`` columns of W, visited
    in ``order`` (a permutation of ``"PKN"``, outermost loop first)."""

    pt: int
    kt: int
    nt: int
    order: str

    def __post_init__(self):
        for name in ("pt", "kt", "nt"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int | np.integer) or v < 1:
                raise SparsimInputError("tiling", name, v, "a positive integer")
        if self.order not in ORDERS:
            raise SparsimInputError("tiling", "order", self.order, f"one of {', '.join(ORDERS)}")

    def clipped(self, p: int, kc: int, ncol: int) -> Tiling:
        """The same tiling with tiles no larger than the GEMM."""
        return Tiling(pt=min(self.pt, p), kt=min(self.kt, kc), nt=min(self.nt, ncol), order=self.order)

    def trips(self, p: int, kc: int, ncol: int) -> dict[str, int]:
        """Tiles along each dimension."""
        return {"P": -(-p // self.pt), "K": -(-kc // self.kt), "N": -(-ncol // self.nt)}


@dataclass(frozen=True, slots=True)
class FoldSchedule:
    """Per-fold schedule of one GEMM (arrays of length ``folds``, in execution order).

    ``p0``/``p_used``, ``k0``/``k_used``, ``n0``/``n_used``: the fold's first row of X, condensed
    row of W and column of W, and how many it covers; ``tile``: the SRAM tile each fold belongs to
    (tiles are numbered in visiting order); ``load_start``: first cycle of the stationary operand's
    load (``ws``, ``is``; equal to ``stream_start`` for ``os``, which has no load); ``stream_start``:
    cycle the fold's first streamed element enters the array. ``total_cycles``: the cycle after the
    last output left. ``t`` is the GEMM's P (rows of X), ``kc`` its condensed K, ``ncol`` its N.
    """

    dataflow: str
    rows: int
    cols: int
    t: int
    kc: int
    ncol: int
    copies: int
    p0: np.ndarray
    p_used: np.ndarray
    k0: np.ndarray
    k_used: np.ndarray
    n0: np.ndarray
    n_used: np.ndarray
    tile: np.ndarray
    load_start: np.ndarray
    stream_start: np.ndarray
    total_cycles: int

    @property
    def folds(self) -> int:
        return int(self.k0.size)

    @property
    def tiles(self) -> int:
        return int(self.tile[-1]) + 1 if self.tile.size else 0

    def stream_length(self) -> np.ndarray:
        """Elements each fold streams (``ws``: rows of X, ``os``: condensed K, ``is``: columns of W)."""
        return {"ws": self.p_used, "os": self.k_used, "is": self.n_used}[self.dataflow]

    def exit_cycle(self, fold: int, a: int, col: int) -> int:
        """Cycle at which output ``a`` of array column ``col`` of ``fold`` leaves the array: ``a`` is
        the streamed row ``t`` (``ws``), the column ``n`` of W (``is``) or the array row (``os``)."""
        s = int(self.stream_start[fold])
        if self.dataflow == "os":
            return s + int(self.k_used[fold]) - 1 + a + col
        return s + a + self.rows - 1 + col


def fold_ranges(dataflow: str, p: int, kc: int, ncol: int, cfg: ArrayConfig, tiling: Tiling, copies: int = 1):
    """``(p0, pu, k0, ku, n0, nu, tile)`` arrays of every fold, in execution order (see the module
    docstring): SRAM tiles in ``tiling.order``, array folds inside a tile columns outer, rows inner."""
    row_dim, col_dim, _ = {"ws": ("K", "N", "P"), "os": ("P", "N", "K"), "is": ("K", "P", "N")}[dataflow]
    ext = {"P": p, "K": kc, "N": ncol}
    size = {"P": tiling.pt, "K": tiling.kt, "N": tiling.nt}
    arr = {row_dim: cfg.rows, col_dim: cfg.cols}
    # tile starts along each dimension, then every tile in loop order (outermost first)
    starts = {d: np.arange(0, ext[d], size[d], dtype=np.int64) for d in DIMS}
    grids = np.meshgrid(*(starts[d] for d in tiling.order), indexing="ij")
    tile0 = {d: g.ravel() for d, g in zip(tiling.order, grids, strict=True)}
    tile_ext = {d: np.minimum(size[d], ext[d] - tile0[d]) for d in DIMS}
    ntiles = tile0["P"].size
    # folds of every tile at once: its row and column extents cut into array-sized pieces,
    # columns outer, rows inner
    rpieces = -(-tile_ext[row_dim] // arr[row_dim])
    cpieces = -(-tile_ext[col_dim] // arr[col_dim])
    per_tile = rpieces * cpieces
    tile_id = np.repeat(np.arange(ntiles, dtype=np.int64), per_tile)
    local = np.arange(per_tile.sum(), dtype=np.int64) - np.repeat(np.cumsum(per_tile) - per_tile, per_tile)
    rp = local % rpieces[tile_id]
    cp = local // rpieces[tile_id]
    start = {d: tile0[d][tile_id] for d in DIMS}
    used = {d: tile_ext[d][tile_id] for d in DIMS}
    for d, piece in ((row_dim, rp), (col_dim, cp)):
        start[d] = start[d] + piece * arr[d]
        used[d] = np.minimum(arr[d], tile0[d][tile_id] + tile_ext[d][tile_id] - start[d])
    out = [start["P"], used["P"], start["K"], used["K"], start["N"], used["N"], tile_id]
    if copies > 1:
        folds = out[0].size
        out = [np.tile(a, copies) for a in out]
        out[6] = out[6] + np.repeat(np.arange(copies, dtype=np.int64), folds) * ntiles
    return tuple(out)


def fold_count(dataflow, p: int, kc: int, ncol: int, cfg: ArrayConfig, tiling: Tiling, copies: int = 1) -> int:
    """Folds of a schedule, in closed form (before any per-fold array is built)."""
    ext = {"P": p, "K": kc, "N": ncol}
    size = {"P": tiling.pt, "K": tiling.kt, "N": tiling.nt}
    row_dim, col_dim, stream_dim = dataflow.dims
    arr = {row_dim: cfg.rows, col_dim: cfg.cols}

    def pieces(d: str) -> int:  # array folds along d, summed over its (possibly ragged) tiles
        full, rest = divmod(ext[d], size[d])
        return full * -(-size[d] // arr[d]) + (-(-rest // arr[d]) if rest else 0)

    return copies * pieces(row_dim) * pieces(col_dim) * -(-ext[stream_dim] // size[stream_dim])
