"""One test suite for the N:M array at every level, PyMTL3-style: a level's test class derives
from :class:`NMArrayLevelTests` and says how to run a GEMM on its design under test.

Every directed case (non-square arrays, dense and seven N:M ratios, K not a multiple of M, several
folds, weight double-buffering, slices of real ResNet-18 layers) is judged the same way at every
level, against references that do not come from the levels themselves:

- values: ``Y = X @ W`` of the pruned dense weight (before compression), wrapped to the
  accumulator width;
- cycles (levels that have them): each output is complete when its last partial sum leaves the
  array, at the cycle the fold schedule's closed form gives
  (:meth:`dataflow.nm_array.schedule.FoldSchedule.exit_cycle`).

The FL level checks values; the CL level values and cycles; the RTL level (``tests/rtl``, marked
``rtl``) values and cycles read from the simulated Verilog, plus its in-bench scoreboard.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from dataflow.nm_array.dataflows import build_schedule
from simulator.common.bits import wrap_signed
from simulator.nm_array.config import ArrayConfig, PEArray
from workloads.nm import nm_compress, nm_topn_mask

__all__ = ["Case", "CASES", "DESIGNS", "Problem", "Observed", "NMArrayLevelTests", "problem", "case_config"]

DESIGNS = {  # name: (rows, cols, activation lanes)
    "4x4m4": (4, 4, 4),
    "3x5m8": (3, 5, 8),
    "5x3m4": (5, 3, 4),
    "8x8m8": (8, 8, 8),
    "2x6m1": (2, 6, 1),
}


@dataclass(frozen=True)
class Case:
    design: str
    t: int
    k: int
    ncol: int
    n: int
    m: int
    seed: int
    double_buffer: bool = False
    source: str = "random"

    @property
    def id(self) -> str:
        nm = "dense" if self.n == self.m == 1 else f"{self.n}of{self.m}"
        db = "-db" if self.double_buffer else ""
        return f"{self.design}-{nm}-T{self.t}K{self.k}N{self.ncol}{db}-{self.source}-s{self.seed}"


CASES = [
    # 4x4, four lanes: dense, 1:4, 2:4, 3:4, 1:2; K not a multiple of M; K, N > array (folds)
    Case("4x4m4", 6, 16, 4, 1, 1, 0),
    Case("4x4m4", 5, 13, 9, 1, 4, 1),
    Case("4x4m4", 7, 30, 10, 2, 4, 2),
    Case("4x4m4", 4, 22, 6, 3, 4, 3),
    Case("4x4m4", 3, 9, 5, 1, 2, 4),
    Case("4x4m4", 9, 40, 11, 2, 4, 5, double_buffer=True),
    Case("4x4m4", 3, 12, 4, 1, 1, 6, double_buffer=True),
    # non-square 3x5, eight lanes: 1:8, 2:8, 4:8, 2:4 on wider lanes, dense
    Case("3x5m8", 5, 24, 5, 1, 8, 10),
    Case("3x5m8", 4, 37, 12, 2, 8, 11),
    Case("3x5m8", 6, 20, 7, 4, 8, 12),
    Case("3x5m8", 3, 18, 9, 2, 4, 13),
    Case("3x5m8", 8, 7, 3, 1, 1, 14),
    Case("3x5m8", 12, 45, 11, 1, 8, 15, double_buffer=True),
    Case("3x5m8", 2, 64, 16, 2, 8, 16, double_buffer=True),
    # non-square 5x3, four lanes
    Case("5x3m4", 4, 26, 8, 2, 4, 20),
    Case("5x3m4", 7, 11, 3, 1, 4, 21),
    Case("5x3m4", 5, 15, 7, 1, 1, 22),
    Case("5x3m4", 6, 33, 4, 3, 4, 23, double_buffer=True),
    Case("5x3m4", 2, 8, 2, 1, 2, 24),
    # 8x8, eight lanes: more folds, back to back
    Case("8x8m8", 10, 70, 20, 2, 8, 30),
    Case("8x8m8", 6, 50, 17, 1, 8, 31),
    Case("8x8m8", 9, 64, 9, 4, 8, 32),
    Case("8x8m8", 7, 19, 24, 1, 1, 33),
    Case("8x8m8", 16, 40, 8, 2, 4, 34, double_buffer=True),
    Case("8x8m8", 4, 100, 12, 1, 4, 35),
    # dense-only 2x6 array
    Case("2x6m1", 5, 7, 13, 1, 1, 40),
    Case("2x6m1", 9, 3, 6, 1, 1, 41, double_buffer=True),
    Case("2x6m1", 1, 5, 2, 1, 1, 42),
    # slices of real layers: ResNet-18 (SCALE-Sim topology) GEMM shapes, first T rows
    Case("8x8m8", 6, 147, 16, 2, 4, 50, source="resnet18-conv1"),
    Case("8x8m8", 5, 64, 24, 1, 8, 51, source="resnet18-conv3_s"),
    Case("4x4m4", 4, 36, 8, 1, 1, 52, source="resnet18-fc"),
    Case("3x5m8", 4, 27, 6, 2, 8, 53, source="resnet18-conv2_1a"),
]

_REAL = {"resnet18-conv1": "Conv1", "resnet18-conv3_s": "Conv3_s", "resnet18-fc": "FC", "resnet18-conv2_1a": "Conv2_1a"}


def real_k(source: str, scalesim_dir) -> int:
    """The K (Cin*kh*kw) of a real layer, read from SCALE-Sim's ResNet-18 topology."""
    from workloads.lowering import lower_to_gemms
    from workloads.scalesim_topology import read_scalesim_topology

    g = lower_to_gemms(read_scalesim_topology(scalesim_dir / "topologies/resnet18.csv"))
    return int(g.loc[g.name == _REAL[source], "gemm_k"].iloc[0])


@dataclass(frozen=True)
class Problem:
    """One GEMM: activations, the pruned dense weight and its compressed form."""

    x: np.ndarray
    w: np.ndarray
    values: np.ndarray
    indices: np.ndarray
    n: int
    m: int


def problem(case: Case, k: int) -> Problem:
    rng = np.random.default_rng(case.seed)
    x = rng.integers(-128, 128, (case.t, k))
    w = rng.integers(-128, 128, (k, case.ncol))
    w = w * nm_topn_mask(w, case.n, case.m)
    values, idx = nm_compress(w, case.n, case.m)
    return Problem(x=x, w=w, values=values, indices=idx, n=case.n, m=case.m)


def case_config(case: Case, dataflow: str = "ws") -> ArrayConfig:
    rows, cols, _ = DESIGNS[case.design]
    return ArrayConfig(
        pe=PEArray(
            rows=rows, cols=cols, supported_m=(1, 2, 4, 8), weight_double_buffer=case.double_buffer, dataflow=dataflow
        )
    )


@dataclass(frozen=True)
class Observed:
    """What a level produced: ``y`` [T, N]; ``done`` [T, N] (each output's completion cycle) or
    ``None`` for an untimed level."""

    y: np.ndarray
    done: np.ndarray | None = None


def expected_done(case: Case, prob: Problem, cfg: ArrayConfig) -> np.ndarray:
    """Each output's completion cycle from the fold schedule's closed form (the cycle its last
    partial sum leaves the array; see :meth:`dataflow.nm_array.schedule.FoldSchedule.exit_cycle`)."""
    sched = build_schedule(cfg.pe.dataflow, prob.x.shape[0], prob.values.shape[0], prob.values.shape[1], cfg)
    done = np.full((case.t, case.ncol), -1, dtype=np.int64)
    for f in range(sched.folds):
        p0, pu, n0, nu = (int(v[f]) for v in (sched.p0, sched.p_used, sched.n0, sched.n_used))
        for a in range(pu):
            for b in range(nu):
                # (X row, W column) -> (the exit's output index, its array column)
                idx, col = {"ws": (a, b), "is": (b, a), "os": (a, b)}[cfg.pe.dataflow]
                done[p0 + a, n0 + b] = max(done[p0 + a, n0 + b], sched.exit_cycle(f, idx, col))
    return done


class NMArrayLevelTests:
    """The suite; a subclass implements :meth:`observe` for its level."""

    timed = False
    dataflow = "ws"

    def observe(self, case: Case, prob: Problem, cfg: ArrayConfig, runner) -> Observed:
        raise NotImplementedError

    @pytest.fixture
    def runner(self):
        """Level-specific context (the RTL level overrides it with its simulator batches)."""
        return None

    @pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
    def test_case(self, case, runner, scalesim_dir):
        k = case.k if case.source == "random" else min(case.k, real_k(case.source, scalesim_dir))
        prob = problem(case, k)
        cfg = case_config(case, self.dataflow)
        got = self.observe(case, prob, cfg, runner)
        want = wrap_signed(prob.x.astype(np.int64) @ prob.w.astype(np.int64), cfg.pe.acc_bits)
        np.testing.assert_array_equal(got.y, want)
        if self.timed:
            np.testing.assert_array_equal(got.done, expected_done(case, prob, cfg))
