"""Input-stationary (IS) dataflow: activations sit in the PEs, columns of W stream through (our
design; SCALE-Sim's IS arithmetic is reproduced exactly).

IS is WS of the transposed GEMM ``Y^T[N, P] = W^T[N, K] x X^T[K, P]``: a fold holds ``R``
condensed rows of K by ``C`` rows of X (PE(i, j) holds X's row ``p0 + j`` at K position ``k0 + i``)
and streams the ``S = N`` columns of W. PE datapath::

                 psum from above (0 at the top row)
                          |
    row i: weight     --> [ PE(i, j): lanes = the M activations of group (k0+i) // N of X's row
    (value, index) of       p0 + j, loaded like WS's weights (R cycles, bottom row first);
    condensed row k0+i      psum_out = psum_in + value * lanes[index] ] --> weight moves right
    and column n of W,                |
    entering at s + n + i             v  output (p0 + j, n) leaves the bottom at s + n + R - 1 + j

Dense: one lane, ``index = 0``. N:M: the *streamed* weight is condensed; each PE holds the ``M``
activations of its group (``M`` stationary lanes, the lanes a WS PE forwards) and its M:1
multiplexer selects lane ``index``; the ``N`` rows of a group hold the same lanes.

Timing is WS's (load R cycles, then stream; a fold lasts ``2R + C + S - 2`` cycles), with ``S``
columns of W instead of ``T`` rows of X::

    cycle        0   1   2   3   4   5   6
    load        X1  X0                          (row 1's activations enter first)
    PE(0,0)             n0  n1  n2              (column n of W streams along the row)
    PE(0,1)                 n0  n1  n2
    PE(1,0)                 n0  n1  n2
    PE(1,1)                     n0  n1  n2
    out col 0               y0  y1  y2          (s + n + R - 1 + 0, s = 2)
    out col 1                   y0  y1  y2      last output at cycle 6 = 2R + C + S - 3
"""

from __future__ import annotations

import numpy as np

from dataflow.nm_array.dataflows import Dataflow, delivered_activations
from dataflow.nm_array.schedule import FoldSchedule, Tiling
from simulator.nm_array.config import ArrayConfig

__all__ = ["InputStationary"]


class InputStationary(Dataflow):
    name = "is"
    stationary = "inputs"
    dims = ("K", "P", "N")
    loads = True

    def plain_tiling(self, p: int, kc: int, ncol: int, cfg: ArrayConfig) -> Tiling:
        """One array fold per tile (R condensed rows of K x C rows of X), all of W's columns
        streamed; X's rows outermost: SCALE-Sim's IS schedule."""
        return Tiling(pt=cfg.cols, kt=cfg.rows, nt=ncol, order="PKN")


    def sram_accesses(self, sched: FoldSchedule, compat: str, k: int, n: int, m: int) -> tuple[float, int, int]:
        """Ifmap reads: the stationary activations loaded per fold (N:M: the ``M`` lanes of every
        group once per PE column). Filter reads: every streamed weight of a used row per column of
        W. Ofmap writes: one partial sum per output per fold."""
        pu, nu = sched.p_used, sched.n_used
        if compat == "scalesim" or n == m:
            ifmap = float((sched.k_used * pu).sum())
        else:
            ifmap = float((pu * delivered_activations(sched.k0, sched.k_used, k, n, m)).sum())
        return ifmap, int((nu * sched.k_used).sum()), int((pu * nu).sum())

    def scalesim_compute_util(self, sched: FoldSchedule) -> float:
        r, c = sched.rows, sched.cols
        s = sched.n_used.astype(np.float64)
        return float((sched.k_used * sched.p_used * s / (r * c * (2 * r + 2 * c + s - 3))).mean())
