"""Banked operand SRAMs: bank conflicts of the array's edge accesses become stall cycles.

Why: every other model here (and the papers, and SCALE-Sim in its CALC mode) treats the operand
buffers as conflict-free, so an array looks as fast with one wide bank as with thirty-two narrow
ones, and the layout of a tensor in its buffer never matters. This module is our model of a
banked buffer; SCALE-Sim v3's layout feature counts conflicts on its own address traces with a
multi-dimensional intraline layout, which we do not reproduce (its ``[layout]`` keys are accepted
and ignored, see :func:`simulator.nm_array.config.arch_from_scalesim_cfg`).

Geometry (all ours). Each operand buffer, ifmap ``X[P, K]``, filter ``W[Kc, N]`` (condensed in N:M
mode) and ofmap ``Y[P, N]``, has ``buffers.banks`` banks of lines ``buffers.bank_width_words`` words wide;
a bank serves ``buffers.bank_ports`` distinct lines per cycle. Word address ``a`` is in line
``a // w`` of bank ``(a // w) % B``. Each matrix is stored with one dimension contiguous
(``ifmap_layout`` ``k``: ``a = p*K + k``, ``p``: ``a = k*P + p``; ``filter_layout`` ``n``:
``a = k*N + n``, ``k``: ``a = n*Kc + k``; ``ofmap_layout`` ``n``: ``a = p*N + n``, ``p``:
``a = n*P + p``), and every GEMM copy's matrices start at address 0 (bank-aligned). 0 banks is the
conflict-free buffer (today's default, so every parity with SCALE-Sim and the RTL holds).

Accesses. The array's edge makes one access per buffer per cycle, unskewed (the skew of a
systolic array is done in registers behind the buffer):

========  ========================================  ===========================================
dataflow  ifmap                                     filter / ofmap
========  ========================================  ===========================================
``ws``    per streamed row p: ``X[p, window]``      per loaded row k: ``W[k, n0:n0+nu]``;
          (the fold's K rows; N:M: the dense        per streamed row p: ``Y[p, n0:n0+nu]``
          window of every group it touches)
``os``    per streamed K position: ``X[p0:p0+pu,    per streamed row k: ``W[k, n0:n0+nu]``;
          k]``; N:M: per group, its ``pu x M``      per output row p: ``Y[p, n0:n0+nu]``
          block, read once for its N rows
``is``    per loaded K position, as ``os``          per streamed column n: ``W[k0:k0+ku, n]``
                                                    and ``Y[p0:p0+pu, n]``
========  ========================================  ===========================================

An access costs ``max over banks ceil(distinct lines of the bank / ports)`` cycles (at least 1).

Timing. Each buffer serves a fold's accesses within the fold's *window* for that operand: the
stream's cycles (``S_f``), the load's (``R``, ``ws``/``is``) or, for outputs, one per output row or
column. It sits behind an edge buffer deep enough to decouple it from the other two within a fold,
so the fold waits for the slowest buffer only::

    demand(op, f) = sum of the costs of op's accesses in fold f
    stall(f)      = max over op of max(0, demand(op, f) - window(op, f))

    fold f, conflict-free:   |ld R|---- stream S_f ----|drain|
    fold f, banked:          |ld R|---- stream S_f ----|stall(f)|drain|   (the array's clock
                                                                          enable is low)

The array freezes for ``stall(f)`` cycles, so they add to the fold's cycles and widen its DRAM
window (:func:`stretched`). The per-cycle model and the RTL model conflict-free buffers and refuse
a banked config (:func:`simulator.nm_array.config.check_conflict_free`).

Fast form. An access's cost depends only on its start address modulo ``Q = w * B`` (shifting by
``Q`` moves every line by ``B``), and a fold's accesses to one operand start at an arithmetic
progression of addresses (one step per streamed row, loaded row or group). So a table of the cost
of every residue, per access shape, and prefix sums along the progression's cycle through the
residues give every fold's demand in O(1): a layer costs O(folds + Q x words per access).
:mod:`simulator.nm_array.twin` enumerates every word of every access instead; a test
holds the two equal.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, replace

import numpy as np

from dataflow.nm_array.dataflows import delivered_activations
from dataflow.nm_array.schedule import FoldSchedule

__all__ = ["Family", "access_families", "fold_demands", "sram_stalls", "stretched",
           "block_cost_table"]  # fmt: skip

#: words of cost table evaluated at once (bounds the temporary arrays to ~100 MB)
_CHUNK_WORDS = 1 << 22


@dataclass(frozen=True)
class Family:
    """One operand's accesses in every fold: ``count[f]`` accesses of a block of ``la`` rows by
    ``lb`` columns of the operand's matrix (row stride ``sa``, column stride ``sb`` words), the
    first at address ``start[f]``, each next one ``step`` words further. ``window[f]``: the
    fold's cycles that access the operand; several families of one operand share it."""

    operand: str
    start: np.ndarray
    count: np.ndarray
    step: int
    la: np.ndarray
    lb: np.ndarray
    sa: int
    sb: int
    window: np.ndarray


def _strides(rows: int, cols: int, contiguous_cols: bool) -> tuple[int, int]:
    """(row stride, column stride) in words of a ``rows x cols`` matrix."""
    return (cols, 1) if contiguous_cols else (1, rows)


def x_window(k0: np.ndarray, ku: np.ndarray, k: int, n: int, m: int) -> tuple[np.ndarray, np.ndarray]:
    """First column of X and columns a fold's condensed rows ``[k0, k0 + ku)`` read: themselves
    (dense) or the dense ``M``-wide window of every group they touch, clipped to ``K``."""
    return (k0 if n == m else (k0 // n) * m), delivered_activations(k0, ku, k, n, m)


def access_families(sched: FoldSchedule, cfg, k: int, n: int, m: int) -> list[Family]:
    """The access families of a schedule (see the module docstring's table)."""
    f = sched.folds
    p0, pu, k0, ku, n0, nu = sched.p0, sched.p_used, sched.k0, sched.k_used, sched.n0, sched.n_used
    big_p, kc, big_n = sched.t, sched.kc, sched.ncol
    kx = k if n != m else kc
    xa, xb = _strides(big_p, kx, cfg.buffers.ifmap_layout == "k")
    wa, wb = _strides(kc, big_n, cfg.buffers.filter_layout == "n")
    ya, yb = _strides(big_p, big_n, cfg.buffers.ofmap_layout == "n")
    ones = np.ones(f, dtype=np.int64)
    rows = np.full(f, sched.rows, dtype=np.int64)
    x0, xl = x_window(k0, ku, k, n, m)
    df = sched.dataflow
    out: list[Family] = []
    if df == "ws":
        out.append(Family("ifmap", p0 * xa + x0 * xb, pu, xa, ones, xl, xa, xb, pu))
        out.append(Family("filter", k0 * wa + n0 * wb, ku, wa, ones, nu, wa, wb, rows))
        out.append(Family("ofmap", p0 * ya + n0 * yb, pu, ya, ones, nu, ya, yb, pu))
        return out
    # os and is read X by column blocks: one K position (dense) or one group's M columns (N:M)
    xwin = ku if df == "os" else rows
    if n == m:
        out.append(Family("ifmap", p0 * xa + k0 * xb, ku, xb, pu, ones, xa, xb, xwin))
    else:
        g0, g1 = k0 // n, (k0 + ku - 1) // n
        tail = ((g1 + 1) * m > kx).astype(np.int64)  # the GEMM's last group is short
        full = g1 - g0 + 1 - tail
        out.append(Family("ifmap", p0 * xa + g0 * m * xb, full, m * xb, pu, np.full(f, m, dtype=np.int64),
                          xa, xb, xwin))  # fmt: skip
        out.append(Family("ifmap", p0 * xa + g1 * m * xb, tail, m * xb, pu, np.maximum(kx - g1 * m, 1), xa, xb,
                          xwin))  # fmt: skip
    if df == "os":
        out.append(Family("filter", k0 * wa + n0 * wb, ku, wa, ones, nu, wa, wb, ku))
        out.append(Family("ofmap", p0 * ya + n0 * yb, pu, ya, ones, nu, ya, yb, pu))
    else:
        out.append(Family("filter", k0 * wa + n0 * wb, nu, wb, ku, ones, wa, wb, nu))
        out.append(Family("ofmap", p0 * ya + n0 * yb, nu, yb, pu, ones, ya, yb, nu))
    return out


@functools.lru_cache(maxsize=128)  # at most 64K entries each: <= 64 MB
def block_cost_table(la: int, sa: int, lb: int, sb: int, width: int, banks: int, ports: int) -> np.ndarray:
    """Cycles of an access to the ``la x lb`` block (strides ``sa``, ``sb``) for every start
    residue ``0 .. width*banks - 1``: ``max over banks ceil(distinct lines / ports)``."""
    q = width * banks
    offs = (np.arange(la, dtype=np.int64)[:, None] * sa + np.arange(lb, dtype=np.int64)[None, :] * sb).ravel()
    out = np.empty(q, dtype=np.int64)
    per = max(1, _CHUNK_WORDS // offs.size)
    for r0 in range(0, q, per):
        res = np.arange(r0, min(q, r0 + per), dtype=np.int64)
        lines = np.sort((res[:, None] + offs[None, :]) // width, axis=1)
        new = np.ones(lines.shape, dtype=bool)
        new[:, 1:] = lines[:, 1:] != lines[:, :-1]
        row = np.broadcast_to(np.arange(res.size, dtype=np.int64)[:, None], lines.shape)
        cnt = np.bincount((row * banks + lines % banks)[new], minlength=res.size * banks).reshape(res.size, banks)
        out[r0 : r0 + res.size] = -(-cnt.max(axis=1) // ports)
    out.setflags(write=False)
    return out


def _ap_sum(table: np.ndarray, start: np.ndarray, count: np.ndarray, step: int) -> np.ndarray:
    """``sum_{v < count} table[(start + v*step) mod Q]`` for every entry, in O(Q + entries): the
    residues an arithmetic progression visits cycle with period ``Q / gcd(step, Q)``."""
    q = table.size
    s = start % q
    d = step % q
    g = math.gcd(d, q)
    per = q // g
    if per == 1:
        return count * table[s]
    vals = table[(np.arange(g, dtype=np.int64)[:, None] + np.arange(per, dtype=np.int64)[None, :] * d) % q]
    cum = np.zeros((g, 2 * per + 1), dtype=np.int64)
    cum[:, 1:] = np.cumsum(np.concatenate([vals, vals], axis=1), axis=1)
    coset = s % g
    pos = ((s - coset) // g * pow(d // g, -1, per)) % per
    laps, rem = np.divmod(count, per)
    return laps * cum[coset, per] + cum[coset, pos + rem] - cum[coset, pos]


def fold_demands(sched: FoldSchedule, cfg, k: int, n: int, m: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per operand: ``(demand, window)`` of every fold (cycles its buffer needs, cycles it has)."""
    out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    w, b, ports = cfg.buffers.bank_width_words, cfg.buffers.banks, cfg.buffers.bank_ports
    for fam in access_families(sched, cfg, k, n, m):
        demand = np.zeros(sched.folds, dtype=np.int64)
        live = fam.count > 0
        shape = np.stack([fam.la, fam.lb], axis=1)
        for la, lb in np.unique(shape[live], axis=0).tolist() if live.any() else []:
            sel = live & (fam.la == la) & (fam.lb == lb)
            table = block_cost_table(la, fam.sa if la > 1 else 0, lb, fam.sb if lb > 1 else 0, w, b, ports)
            demand[sel] = _ap_sum(table, fam.start[sel], fam.count[sel], fam.step)
        if fam.operand in out:
            demand = demand + out[fam.operand][0]
        out[fam.operand] = (demand, fam.window)
    return out


def sram_stalls(sched: FoldSchedule, cfg, k: int, n: int, m: int) -> np.ndarray:
    """Stall cycles of every fold (zeros for conflict-free buffers, ``sram_banks = 0``)."""
    if not cfg.buffers.banks:
        return np.zeros(sched.folds, dtype=np.int64)
    excess = [np.maximum(d - win, 0) for d, win in fold_demands(sched, cfg, k, n, m).values()]
    return np.maximum.reduce(excess)


def stretched(sched: FoldSchedule, stalls: np.ndarray) -> FoldSchedule:
    """``sched`` with fold ``f`` lasting ``stalls[f]`` cycles longer (the array frozen): later
    folds start later, so the memory model's windows widen by the same cycles."""
    if not stalls.any():
        return sched
    before = np.concatenate([[0], np.cumsum(stalls)[:-1]]).astype(np.int64)
    return replace(sched, load_start=sched.load_start + before, stream_start=sched.stream_start + before,
                   total_cycles=int(sched.total_cycles + stalls.sum()))  # fmt: skip
