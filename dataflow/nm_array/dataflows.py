"""Dataflows of the N:M array as strategies behind one small protocol.

Why strategies: weight-, output- and input-stationary arrays differ in which operand stays in the
PEs, which dimension streams and how a fold is timed, not in anything else the simulator does.
Each is a :class:`Dataflow` (``weight_stationary``, ``output_stationary``, ``input_stationary``)
with:

- ``dims``: (array rows, array columns, streamed) among the GEMM's ``P``, ``K``, ``N``;
- :meth:`plain_tiling`: the schedule SCALE-Sim uses (one array fold per SRAM tile);
- :meth:`timing`: load and stream start of every fold under the config's controller policy;
- :meth:`sram_accesses`: what the array reads from and writes to its operand buffers;
- :meth:`scalesim_compute_util`: SCALE-Sim's per-fold compute utilisation.

:func:`build_schedule` turns any of them and a tiling into a :class:`~dataflow.nm_array.schedule.FoldSchedule`.

N:M in every dataflow uses the same PE primitive (ours): a weight arrives as ``(value, index)``,
the ``M`` activations of its group arrive (or sit) on ``M`` lanes, and the PE's M:1 multiplexer
picks lane ``index``. The dataflows differ in which of the two stays in the PE. SCALE-Sim's own
N:M is weight-stationary only; its compatibility arithmetic is refused for N:M with ``os``/``is``.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from dataflow.nm_array.schedule import FoldSchedule, Tiling, fold_ranges
from simulator.common.errors import SparsimInputError
from simulator.nm_array.config import ArrayConfig

__all__ = ["Dataflow", "DATAFLOWS", "get_dataflow", "build_schedule", "delivered_activations"]


def delivered_activations(k0: np.ndarray, k_used: np.ndarray, k: int, n: int, m: int) -> np.ndarray:
    """Activations a fold's condensed rows ``[k0, k0 + k_used)`` need, per streamed element: the
    ``M`` of every group they touch, once per group (a group's rows share its lanes), clipped to
    the real ``K``; dense: one per row."""
    if n == m:
        return k_used.astype(np.int64)
    g0 = k0 // n
    g1 = (k0 + k_used - 1) // n
    return np.minimum((g1 + 1) * m, k) - g0 * m


class Dataflow:
    """The protocol (see the module docstring); subclasses set the class attributes and
    :meth:`sram_accesses`."""

    name: ClassVar[str] = ""
    stationary: ClassVar[str] = ""
    dims: ClassVar[tuple[str, str, str]] = ("", "", "")
    #: True: the stationary operand is shifted in row by row before a fold streams (ws, is)
    loads: ClassVar[bool] = True
    #: True: runs N:M layers imported under SCALE-Sim's conventions (``compat = "scalesim"``)
    scalesim_nm: ClassVar[bool] = False

    def plain_tiling(self, p: int, kc: int, ncol: int, cfg: ArrayConfig) -> Tiling:
        raise NotImplementedError

    # ------------------------------------------------------------------ timing
    def timing(self, stream: np.ndarray, cfg: ArrayConfig) -> tuple[np.ndarray, np.ndarray, int]:
        """``(load_start, stream_start, total_cycles)`` for folds streaming ``stream[f]`` elements.

        ``ws``/``is`` (the stationary operand shifts in, bottom row first, for R cycles)::

            fold f:  ld .. ld+R-1 load | s = ld+R .. stream S_f elements | outputs leave up to
                     s + S_f + R + C - 3; without double buffering the next load starts after
                     that, so a fold lasts 2R + C + S_f - 2 (SCALE-Sim's WS arithmetic);
            double-buffered: ld[f+1] = s[f] + R + C - 1 (every PE has swapped in fold f's operand)
                     and s[f+1] = s[f] + max(S_f, 2R + C - 1).

        ``os`` (no load; each PE accumulates one output over the S_f streamed elements and puts it
        on its column's output bus in the cycle of its last MAC, s + S_f - 1 + i + j)::

            without double buffering: s[f+1] = s[f] + S_f + R + C - 2 (SCALE-Sim's OS arithmetic);
            double-buffered: the next fold streams as soon as the PEs are free and the column
            buses are: s[f+1] = s[f] + S_f + max(0, R - S_{f+1}).
        """
        r, c = cfg.rows, cfg.cols
        s_len = np.asarray(stream, dtype=np.int64)
        folds = s_len.size
        stream_start = np.empty(folds, dtype=np.int64)
        if self.loads:
            load = np.empty(folds, dtype=np.int64)
            if not cfg.pe.weight_double_buffer:
                period = 2 * r + c + s_len - 2
                load[0] = 0
                load[1:] = np.cumsum(period)[:-1]
                stream_start[:] = load + r
            else:
                step = np.maximum(s_len, 2 * r + c - 1)
                stream_start[0] = r
                stream_start[1:] = r + np.cumsum(step)[:-1]
                load[0] = 0
                load[1:] = stream_start[:-1] + r + c - 1
            total = int(stream_start[-1] + s_len[-1] + r + c - 2)
            return load, stream_start, total
        if not cfg.pe.weight_double_buffer:
            step = s_len + r + c - 2
        else:
            nxt = np.append(s_len[1:], s_len[-1])
            step = s_len + np.maximum(0, r - nxt)
        stream_start[0] = 0
        stream_start[1:] = np.cumsum(step)[:-1]
        total = int(stream_start[-1] + s_len[-1] + r + c - 2)
        return stream_start.copy(), stream_start, total

    # ------------------------------------------------------------------ accesses
    def sram_accesses(self, sched: FoldSchedule, compat: str, k: int, n: int, m: int) -> tuple[float, int, int]:
        """``(ifmap reads, filter reads, ofmap writes)`` of a schedule (see each dataflow)."""
        raise NotImplementedError

    def scalesim_compute_util(self, sched: FoldSchedule) -> float:
        """SCALE-Sim's "Compute Util": per fold, used PEs x streamed elements over PEs x its
        notion of the fold's cycles, averaged over folds."""
        raise NotImplementedError

    def mapping_efficiency(self, sched: FoldSchedule) -> float:
        """Mean over folds of the fraction of PEs that hold work."""
        row_dim, col_dim, _ = self.dims
        used = {"P": sched.p_used, "K": sched.k_used, "N": sched.n_used}
        return float((used[row_dim] * used[col_dim]).sum() / (sched.folds * sched.rows * sched.cols))

    def check(self, n: int, m: int, compat: str, where: str) -> None:
        """Refuse a combination that makes no sense for this dataflow: SCALE-Sim defines N:M for
        weight-stationary only, so a dataflow without ``scalesim_nm`` refuses an imported N:M layer."""
        if n != m and compat == "scalesim" and not self.scalesim_nm:
            raise SparsimInputError(
                where, "Sparsity", f"{n}:{m}",
                f"SCALE-Sim's N:M is weight-stationary only; use a native layer for {self.name.upper()}",
            )  # fmt: skip


def build_schedule(
    dataflow: str | Dataflow,
    p: int,
    kc: int,
    ncol: int,
    cfg: ArrayConfig,
    tiling: Tiling | None = None,
    copies: int = 1,
) -> FoldSchedule:
    """The fold schedule of ``copies`` back-to-back GEMMs ``[p, Kc] x [Kc, ncol]`` (plain tiling
    unless ``tiling``)."""
    df = get_dataflow(dataflow) if isinstance(dataflow, str) else dataflow
    tiling = (tiling or df.plain_tiling(p, kc, ncol, cfg)).clipped(p, kc, ncol)
    p0, pu, k0, ku, n0, nu, tile = fold_ranges(df.name, p, kc, ncol, cfg, tiling, copies)
    stream = {"ws": pu, "os": ku, "is": nu}[df.name]
    load, start, total = df.timing(stream, cfg)
    return FoldSchedule(
        dataflow=df.name, rows=cfg.rows, cols=cfg.cols, t=p, kc=kc, ncol=ncol, copies=copies,
        p0=p0, p_used=pu, k0=k0, k_used=ku, n0=n0, n_used=nu, tile=tile,
        load_start=load, stream_start=start, total_cycles=total,
    )  # fmt: skip


def _registry() -> dict[str, Dataflow]:
    from dataflow.nm_array.input_stationary import InputStationary
    from dataflow.nm_array.output_stationary import OutputStationary
    from dataflow.nm_array.weight_stationary import WeightStationary

    return {d.name: d for d in (WeightStationary(), OutputStationary(), InputStationary())}


DATAFLOWS: dict[str, Dataflow] = {}


def get_dataflow(name: object, where: str = "dataflow") -> Dataflow:
    if not DATAFLOWS:
        DATAFLOWS.update(_registry())
    if not isinstance(name, str) or name not in DATAFLOWS:
        raise SparsimInputError(where, "dataflow", name, "allowed: ws, os, is")
    return DATAFLOWS[name]
