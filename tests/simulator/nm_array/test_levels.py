"""The N:M array's shared level suite (:mod:`tests.simulator.nm_array.levels`) on the functional
and the per-cycle model; the RTL runs the same suite in ``tests/rtl/nm_array/test_rtl.py``."""

from __future__ import annotations

from simulator.nm_array.cl import accumulate_folds, run_nm_array_cycles
from simulator.nm_array.fl import nm_gemm_fl
from tests.simulator.nm_array.levels import NMArrayLevelTests, Observed


class TestFunctional(NMArrayLevelTests):
    def observe(self, case, prob, cfg, runner):
        return Observed(y=nm_gemm_fl(prob.x, prob.values, prob.indices, prob.n, prob.m, cfg))


class TestCycleLevel(NMArrayLevelTests):
    timed = True

    def observe(self, case, prob, cfg, runner):
        res = run_nm_array_cycles(prob.x, prob.values, prob.indices, prob.n, prob.m, cfg)
        y, done = accumulate_folds(res, cfg.pe.acc_bits)
        return Observed(y=y, done=done)


class TestCycleLevelNumpyTwin(NMArrayLevelTests):
    timed = True

    def observe(self, case, prob, cfg, runner):
        res = run_nm_array_cycles(prob.x, prob.values, prob.indices, prob.n, prob.m, cfg, engine="numpy")
        y, done = accumulate_folds(res, cfg.pe.acc_bits)
        return Observed(y=y, done=done)


class TestCycleLevelOutputStationary(TestCycleLevel):
    dataflow = "os"


class TestCycleLevelOutputStationaryNumpyTwin(TestCycleLevelNumpyTwin):
    dataflow = "os"


class TestCycleLevelInputStationary(TestCycleLevel):
    dataflow = "is"


class TestCycleLevelInputStationaryNumpyTwin(TestCycleLevelNumpyTwin):
    dataflow = "is"
