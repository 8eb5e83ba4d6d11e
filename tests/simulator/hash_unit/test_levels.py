"""The hash-accumulate unit's shared level suite (:mod:`tests.simulator.hash_unit.levels`) on the
functional and the per-cycle model; the RTL runs it in ``tests/rtl/hash_unit/test_rtl.py``."""

from __future__ import annotations

from simulator.hash_unit.cl import run_hash_unit_cl
from simulator.hash_unit.fl import hash_accumulate_fl
from tests.simulator.hash_unit.levels import CONFIGS, HashUnitLevelTests, Observed, stimulus


class TestFunctional(HashUnitLevelTests):
    def observe(self, cfg_name, seed, s, runner):
        cfg = CONFIGS[cfg_name]
        kmask = (1 << cfg.key_bits) - 1
        table, dropped = hash_accumulate_fl([(k & kmask, v) for k, v, _ in s["items"]], cfg)
        return Observed(table=table, overflow=dropped > 0)


class TestCycleLevel(HashUnitLevelTests):
    def observe(self, cfg_name, seed, s, runner):
        tr = run_hash_unit_cl(stimulus(s), CONFIGS[cfg_name])
        trace = {"accepted": tr.accepted, "drained": tr.drained, "done": tr.done_cycle, "overflow": tr.overflow_cycle}
        return Observed(table={k: v for _, k, v in tr.drained}, overflow=tr.overflow_cycle >= 0, trace=trace)
