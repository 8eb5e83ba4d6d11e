"""Partitioning a network over several arrays (scale-out): the strategies and the partition mapper.

Pure functions of the lowered GEMMs and the arrays' shapes, like the rest of ``dataflow/``; what a
part costs (cycles on its array, with its share of the memory) is asked of the simulator through a
callback (:mod:`simulator.nm_array.system`), as the dataflow mapper asks for stall cycles.

Strategies (ours; the seed papers run one array):

``split_m``
    Each array computes a contiguous range of the GEMM's rows ``P`` (output pixels x batch) for
    all output channels. Every array needs the whole weight tensor (weight traffic is paid once
    per array) and its share of the input (exact integer shares of the input tensor, as the
    memory model's tiles; the halo a band of output rows re-reads is not modelled).
``split_n``
    Each array computes a contiguous range of output channels ``N`` for every row: weights are
    divided, but every array reads the whole input.
``pipeline``
    Whole layers in contiguous stages, one stage per array (in the system's array order), and the
    batch's samples flow through the stages: one sample takes the sum of the stage times, then
    one more sample leaves every bottleneck-stage time (``sum(t) + (B - 1) * max(t)``). Useless
    at batch 1; the stage boundaries minimise that time exactly (:func:`pipeline_stages`).

A split divides its dimension in *units* of ``quantum`` elements (1, or an array's spatial
extent, so that no array gets a ragged last fold), the units shared out in proportion to each
array's PEs (largest remainder); an array whose share is empty sits the layer out. The mapper
(:func:`choose_split`) tries both strategies with every quantum of :func:`quanta`, over the first
``k`` arrays for every ``k`` of :func:`widths`, and keeps the cheapest part list by the callback's
cycles (ties: the first tried: fewer arrays, ``split_m`` before ``split_n``, small quanta first).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["SPLITS", "STRATEGIES", "Split", "split_extent", "split_row", "quanta", "widths", "choose_split",
           "pipeline_stages", "pipeline_cycles"]  # fmt: skip

SPLITS = ("split_m", "split_n")
STRATEGIES = (*SPLITS, "pipeline")
#: which lowered-GEMM column each split divides
_DIM = {"split_m": "gemm_m", "split_n": "gemm_n"}


@dataclass(frozen=True, slots=True)
class Split:
    """One layer's partition: the strategy, its quantum, one part per array (None: idle) and the
    cost the callback gave it."""

    strategy: str
    quantum: int
    parts: tuple
    cycles: int
    candidates: int


def split_extent(extent: int, weights: Sequence[float], quantum: int = 1) -> list[tuple[int, int]]:
    """``[lo, hi)`` per array covering ``0..extent``: units of ``quantum`` in proportion to
    ``weights`` (largest remainder, earlier arrays first on ties), the last unit clipped."""
    if extent < 0 or quantum < 1 or not weights or min(weights) <= 0:
        raise ValueError("split_extent: extent >= 0, quantum >= 1 and positive weights")
    units = -(-extent // quantum)
    w = np.asarray(weights, dtype=np.float64)
    exact = units * w / w.sum()
    share = np.floor(exact).astype(np.int64)
    left = units - int(share.sum())
    order = sorted(range(len(w)), key=lambda i: (-(exact[i] - share[i]), i))
    for i in order[:left]:
        share[i] += 1
    out, lo = [], 0
    for s in share:
        hi = min(lo + int(s) * quantum, extent)
        out.append((lo, hi))
        lo = hi
    return out


def split_row(row: dict, strategy: str, weights: Sequence[float], quantum: int = 1) -> list[dict | None]:
    """The parts of one lowered GEMM row (a dict of :data:`workloads.lowering.GEMM_COLUMNS`), one
    per array, None where an array gets nothing. Sizes that depend on the split dimension are
    recomputed; ``ifmap_elems`` of a ``split_m`` part is its exact integer share of the input."""
    if strategy not in SPLITS:
        raise ValueError(f"split_row: strategy {strategy!r} is not one of {SPLITS}")
    dim = _DIM[strategy]
    m, k, n, count = int(row["gemm_m"]), int(row["gemm_k"]), int(row["gemm_n"]), int(row["count"])
    ifmap = int(row["ifmap_elems"])
    parts: list[dict | None] = []
    for lo, hi in split_extent(int(row[dim]), weights, quantum):
        if hi <= lo:
            parts.append(None)
            continue
        size = hi - lo
        part = dict(row)
        if strategy == "split_m":
            part.update(gemm_m=size, ifmap_elems=(ifmap * hi) // m - (ifmap * lo) // m, ofmap_elems=size * n,
                        dense_macs=count * size * k * n)  # fmt: skip
        else:
            part.update(gemm_n=size, weight_elems=k * size, ofmap_elems=m * size, dense_macs=count * m * k * size)
        part["part_lo"], part["part_hi"] = lo, hi
        parts.append(part)
    return parts


def quanta(strategy: str, shapes: Sequence[tuple[int, int]]) -> list[int]:
    """Quanta the mapper tries: 1 and, for a homogeneous system, the array's rows and columns
    (a dataflow maps ``P`` or ``N`` onto one of them, so a multiple of it leaves no ragged fold)."""
    out = {1}
    if len(set(shapes)) == 1:
        out |= set(shapes[0])
    return sorted(out)


def widths(arrays: int) -> list[int]:
    """How many arrays (the first ones, in system order) the mapper tries to spread a layer over:
    powers of two and all of them. Fewer arrays can win when the memory is the bottleneck: the
    idle ones leave their share of it to the others."""
    out, k = {arrays}, 1
    while k < arrays:
        out.add(k)
        k *= 2
    return sorted(out)


def choose_split(
    row: dict,
    shapes: Sequence[tuple[int, int]],
    cost: Callable[[list[dict | None]], int],
    strategies: Sequence[str] = SPLITS,
    spread: Sequence[int] | None = None,
) -> Split:
    """The partition mapper for one layer: every strategy of ``strategies`` x quantum x number of
    arrays of ``spread`` (default: all of them), the parts costed by ``cost`` (the layer's system
    cycles), the cheapest kept."""
    weights = [r * c for r, c in shapes]
    best: Split | None = None
    seen: set = set()
    tried = 0
    for width in spread or [len(shapes)]:
        for strategy in strategies:
            for q in quanta(strategy, shapes[:width]):
                parts = split_row(row, strategy, weights[:width], q) + [None] * (len(shapes) - width)
                key = (strategy, tuple(None if p is None else (p["part_lo"], p["part_hi"]) for p in parts))
                if key in seen:  # a quantum or width that gives the same parts as an earlier one
                    continue
                seen.add(key)
                tried += 1
                cycles = int(cost(parts))
                if best is None or cycles < best.cycles:
                    best = Split(strategy, q, tuple(parts), cycles, 0)
    assert best is not None
    return Split(best.strategy, best.quantum, best.parts, best.cycles, tried)


def _stages_within(pre: np.ndarray, limit: float) -> tuple[float, list[tuple[int, int]]]:
    """The least sum of stage times with every stage at most ``limit``, and its stages (sum
    ``inf`` when none fits). ``pre``: per-array prefix sums of the layer costs."""
    arrays, width = pre.shape
    layers = width - 1
    inf = float("inf")
    total = np.where(pre[0] <= limit, pre[0], inf)
    args = []
    for a in range(1, arrays):
        seg = pre[a][:, None] - pre[a][None, :]  # [ell, j]: stage a = layers j..ell-1
        cand = np.where((seg <= limit) & np.tri(width, dtype=bool), total[None, :] + seg, inf)
        j = np.argmin(cand, axis=1)
        total = cand[np.arange(width), j]
        args.append(j)
    best = float(total[layers])
    bounds, hi = [], layers
    for a in range(arrays - 1, 0, -1):
        lo = int(args[a - 1][hi])
        bounds.append((lo, hi))
        hi = lo
    bounds.append((0, hi))
    return best, bounds[::-1]


def pipeline_stages(costs: np.ndarray, samples: int | None = None) -> list[tuple[int, int]]:
    """Contiguous stages ``[lo, hi)`` of the layers, one per array in order (possibly empty).
    ``costs[a, l]``: one sample's cycles of layer ``l`` on array ``a``.

    ``samples=None``: the stages that minimise the bottleneck ``max_a sum(costs[a, lo_a:hi_a])``
    and, among those, the sum of stage times (throughput first). With ``samples``: the stages
    that minimise :func:`pipeline_cycles` itself, ``sum(t) + (samples - 1) * max(t)``, which on a
    heterogeneous system at a small batch can take a larger bottleneck for a smaller sum (on a
    homogeneous one the sum is fixed and both agree). Exact: the least sum ``S(T)`` under a
    bottleneck limit ``T`` only changes at stage times, so the candidates are the stage times
    from the least bottleneck ``T0`` up to ``(f(T0) - S(inf)) / (samples - 1)``, beyond which no
    limit can win; ties go to the smaller bottleneck."""
    costs = np.asarray(costs, dtype=np.float64)
    arrays, layers = costs.shape
    pre = np.concatenate([np.zeros((arrays, 1)), np.cumsum(costs, axis=1)], axis=1)
    inf = float("inf")
    # Two passes, since (bottleneck, sum) has no optimal substructure (a prefix with a higher
    # bottleneck may have the smaller sum and still win under a later, larger stage).
    # 1. neck[a, l]: the least bottleneck of layers 0..l-1 on arrays 0..a.
    neck = np.full((arrays, layers + 1), inf)
    neck[0] = pre[0]
    for a in range(1, arrays):
        for ell in range(layers + 1):
            neck[a, ell] = np.maximum(neck[a - 1, : ell + 1], pre[a, ell] - pre[a, : ell + 1]).min()
    t0 = float(neck[arrays - 1, layers])
    # 2. the least sum with every stage within the bottleneck
    s0, bounds = _stages_within(pre, t0)
    if samples is None or arrays == 1:
        return bounds
    s_inf, free = _stages_within(pre, inf)
    best = (s0 + (samples - 1) * t0, t0, bounds)
    if samples == 1:
        return free if s_inf < s0 else bounds
    reach = (best[0] - s_inf) / (samples - 1)  # a limit above this cannot beat f(T0)
    seg = (pre[:, :, None] - pre[:, None, :]).ravel()
    cands = np.unique(seg[(seg > t0) & (seg <= reach)])
    for limit in cands.tolist():
        if s_inf + (samples - 1) * limit >= best[0]:
            break  # the reach shrinks as the best improves
        s_t, b_t = _stages_within(pre, limit)
        t = [float(pre[a, hi] - pre[a, lo]) for a, (lo, hi) in enumerate(b_t)]
        f = sum(t) + (samples - 1) * max(t)
        if f < best[0]:
            best = (f, limit, b_t)
    return best[2]


def pipeline_cycles(stage_cycles: Sequence[int], samples: int) -> int:
    """``sum(t) + (samples - 1) * max(t)``: the first sample through every stage, then one per
    bottleneck time (see the module docstring)."""
    t = [int(x) for x in stage_cycles]
    return sum(t) + (samples - 1) * max(t, default=0)
