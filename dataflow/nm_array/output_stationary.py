"""Output-stationary (OS) dataflow: every PE accumulates one output; rows of X stream in from the
left, columns of W from the top (our design; SCALE-Sim's OS arithmetic is reproduced exactly).

A fold holds ``R`` rows of X (output rows ``p0 .. p0+R-1``) by ``C`` columns of W (outputs
``n0 .. n0+C-1``) and streams the whole reduced dimension, ``S`` elements (``S = Kc``: K dense,
``ceil(K/M)*N`` condensed rows in N:M mode). PE datapath::

                 column j: weight (value, index) of condensed row t, entering at s + t + j,
                           moving down one row per cycle
                                  |
    row i: the M activation   --> [ PE(i, j):  acc = (t == 0 ? 0 : acc) + value * lanes[index] ] --> right
    lanes of group t // N of X's       |
    row p0 + i, entering at s + t + i  +--> column j's output bus, driven in the cycle of the
                                            PE's last MAC: s + S - 1 + i + j

Both streams meet at PE(i, j) at cycle ``s + t + i + j``. Dense: one lane, ``index = 0``, ``t`` is
the K position. N:M: the *streamed* weight is the condensed operand; a row's lanes hold the ``M``
activations of a group for the group's ``N`` condensed rows (the group is read from the ifmap
SRAM once per array row), and the PE's M:1 multiplexer selects lane ``index``, as in the WS PE.

Timing diagram, R = C = 2, S = 3 (``0 1 2``: the streamed element t a PE works on; ``y_ij``: the
output of PE(i, j) on its column's bus)::

    cycle        0    1    2    3    4    5
    PE(0,0)      0    1    2
    PE(0,1)           0    1    2
    PE(1,0)           0    1    2
    PE(1,1)                0    1    2
    bus col 0              y00  y10                last MAC of PE(i, 0): s + S - 1 + i
    bus col 1                   y01  y11           last output: s + S + R + C - 3 = 5

So a fold lasts ``S + R + C - 2`` cycles (SCALE-Sim's OS arithmetic) and needs no load phase;
with double buffering the next fold starts as soon as the PEs and the column buses are free
(:meth:`dataflow.nm_array.dataflows.Dataflow.timing`). Unused rows and columns compute zeros.
"""

from __future__ import annotations

import numpy as np

from dataflow.nm_array.dataflows import Dataflow, delivered_activations
from dataflow.nm_array.schedule import FoldSchedule, Tiling
from simulator.nm_array.config import ArrayConfig

__all__ = ["OutputStationary"]


class OutputStationary(Dataflow):
    name = "os"
    stationary = "outputs"
    dims = ("P", "N", "K")
    loads = False

    def plain_tiling(self, p: int, kc: int, ncol: int, cfg: ArrayConfig) -> Tiling:
        """One array fold per tile (R rows of X x C columns of W), the whole of K streamed;
        columns outermost: SCALE-Sim's OS schedule."""
        return Tiling(pt=cfg.rows, kt=kc, nt=cfg.cols, order="NPK")


    def sram_accesses(self, sched: FoldSchedule, compat: str, k: int, n: int, m: int) -> tuple[float, int, int]:
        """Ifmap reads: every activation of a fold's rows once per row (N:M: every group's ``M``
        lanes, clipped to K). Filter reads: one per streamed weight per used column. Ofmap writes:
        one per output per fold; SCALE-Sim also counts ``R + C`` more per fold (its OS demand
        matrix's shape, added to the count), reproduced under its compatibility."""
        pu, nu = sched.p_used, sched.n_used
        filt = int((sched.k_used * nu).sum())
        if compat == "scalesim":
            ofmap = int((pu * nu).sum() + sched.folds * (sched.rows + sched.cols))
            return float((pu * sched.k_used).sum()), filt, ofmap
        ifmap = float((pu * delivered_activations(sched.k0, sched.k_used, k, n, m)).sum())
        return ifmap, filt, int((pu * nu).sum())

    def scalesim_compute_util(self, sched: FoldSchedule) -> float:
        r, c = sched.rows, sched.cols
        s = sched.k_used.astype(np.float64)
        return float((sched.p_used * sched.n_used * s / (r * c * (s + r + c - 2))).mean())
