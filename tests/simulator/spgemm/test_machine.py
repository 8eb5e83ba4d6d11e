"""The PIUMA-like machine model: results, counts and timing behave like the machine they model."""

from __future__ import annotations

import dataclasses

import pytest

from simulator.common.errors import SparsimInputError
from simulator.spgemm.config import ALGORITHMS, PiumaConfig, SmashConfig, load_machine
from simulator.spgemm.fl import spgemm
from simulator.spgemm.machine import simulate_spgemm
from workloads.matrices import load_matrix

SMALL = PiumaConfig(cores=2, threads_per_core=8, cache_kb=16, scratchpad_kb=256, scratchpad_banks=8)


@pytest.fixture(scope="module")
def a():
    return load_matrix("rmat10")


@pytest.mark.parametrize("alg", list(ALGORITHMS))
def test_every_algorithm_runs_and_counts(a, alg):
    st = simulate_spgemm(a, a, alg, SMALL)
    c, _ = spgemm(a, a, alg, smash=SmashConfig.for_machine(SMALL))
    ref = (a @ a).tocsr()
    assert c.nnz == st["nnz_c"] and abs(c.sum() - ref.sum()) < 1e-6 * abs(ref.sum())
    assert st["cycles"] > 0 and 0 < st["issue_utilization"] <= 1
    assert st["instructions"] >= 3 * st["flops"]  # at least load, load, accumulate per product
    if alg.startswith("smash"):
        assert st["sp_atomics"] == st["probes"]  # every probe is an atomic on a bank
        assert st["probes"] >= st["flops"] * (2 if alg == "smash_v1" else 1)  # V1: key + value atomics
        assert st["dram_write_bytes"] == 12 * st["nnz_c"] and st["windows"] >= 1
    if alg == "hash":
        assert st["probes"] >= st["flops"]
    if alg == "outer":  # every partial product is written out, then sorted
        assert st["dram_write_bytes"] >= 16 * st["flops"]
    if alg == "inner":  # at least one merge step per multiplication
        assert st["merge_steps"] >= st["flops"] and st["probes"] == 0


def test_smash_beats_inner_and_outer_on_this_machine(a):
    cyc = {alg: simulate_spgemm(a, a, alg, SMALL)["cycles"] for alg in ("inner", "outer", "smash_v2")}
    assert cyc["smash_v2"] < cyc["inner"] and cyc["smash_v2"] < cyc["outer"]


def test_scratchpad_keeps_accumulation_out_of_dram(a):
    hash_ = simulate_spgemm(a, a, "hash", SMALL)
    smash = simulate_spgemm(a, a, "smash_v2", SMALL)
    assert smash["dram_read_bytes"] < hash_["dram_read_bytes"] / 10


def test_more_threads_hide_more_latency(a):
    few = simulate_spgemm(a, a, "hash", dataclasses.replace(SMALL, threads_per_core=2))
    many = simulate_spgemm(a, a, "hash", dataclasses.replace(SMALL, threads_per_core=32))
    assert many["cycles"] < few["cycles"] / 2


def test_slower_dram_costs_cycles(a):
    fast = simulate_spgemm(a, a, "gustavson_spa", SMALL)
    slow = simulate_spgemm(a, a, "gustavson_spa", dataclasses.replace(SMALL, dram_latency_cycles=600))
    assert slow["cycles"] > fast["cycles"]


def test_fewer_banks_more_conflicts(a):
    many = simulate_spgemm(a, a, "smash_v2", SMALL)
    one = simulate_spgemm(a, a, "smash_v2", dataclasses.replace(SMALL, scratchpad_banks=1))
    assert one["bank_wait_cycles"] > many["bank_wait_cycles"]


def test_deterministic(a):
    assert simulate_spgemm(a, a, "smash_v1", SMALL) == simulate_spgemm(a, a, "smash_v1", SMALL)


def test_machine_config_errors(tmp_path):
    with pytest.raises(SparsimInputError, match="threads_per_core"):
        PiumaConfig(threads_per_core=0)
    with pytest.raises(SparsimInputError, match="power of two"):
        PiumaConfig(scratchpad_banks=12)
    p = tmp_path / "m.yaml"
    p.write_text("cores: 4\nwarp_size: 32\n")
    with pytest.raises(SparsimInputError, match="warp_size"):
        load_machine(p)
    p.write_text("cores: 4\nthreads_per_core: 16\n")
    assert load_machine(p).cores == 4


def test_slow_dma_engine_delays_write_back(a):
    fast = simulate_spgemm(a, a, "smash_v2", SMALL)
    slow = simulate_spgemm(a, a, "smash_v2", dataclasses.replace(SMALL, dma_bytes_per_cycle=0.25))
    assert slow["cycles"] > fast["cycles"] and slow["table_overflows"] == fast["table_overflows"] == 0


def test_every_posted_store_goes_through_the_dma_engine(a):
    """A slower DMA engine delays the stores of every algorithm, inner and outer included."""
    for alg in ("inner", "outer", "hash"):
        fast = simulate_spgemm(a, a, alg, SMALL)
        slow = simulate_spgemm(a, a, alg, dataclasses.replace(SMALL, dma_bytes_per_cycle=0.05))
        assert slow["cycles"] > fast["cycles"] and slow["dram_write_bytes"] == fast["dram_write_bytes"]
