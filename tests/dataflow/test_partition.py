"""The partition strategies and mapper (dataflow/nm_array/partition.py), checked against brute
force and against the arithmetic they promise."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from dataflow.nm_array.partition import (
    choose_split,
    pipeline_cycles,
    pipeline_stages,
    quanta,
    split_extent,
    split_row,
)
from workloads.lowering import lower_to_gemms
from workloads.zoo import load_zoo_trace


@given(
    extent=st.integers(0, 5000),
    weights=st.lists(st.integers(1, 64 * 64), min_size=1, max_size=16),
    quantum=st.integers(1, 64),
)
def test_split_extent_covers_contiguously_in_proportion(extent, weights, quantum):
    parts = split_extent(extent, weights, quantum)
    assert len(parts) == len(weights)
    assert parts[0][0] == 0 and parts[-1][1] == extent
    for (_, hi), (lo2, _) in zip(parts, parts[1:], strict=False):
        assert hi == lo2
    units = -(-extent // quantum)
    for (lo, hi), w in zip(parts, weights, strict=True):
        assert lo <= hi
        got = -(-(hi - lo) // quantum)  # units it received (the last one may be clipped)
        assert abs(got - units * w / sum(weights)) < 1 + 1e-9  # largest remainder: within one unit
        if hi < extent:
            assert (hi - lo) % quantum == 0  # only the last non-empty part is ragged


def test_split_extent_refuses_nonsense():
    for args in ((-1, [1]), (4, []), (4, [1, 0]), (4, [1], 0)):
        with pytest.raises(ValueError):
            split_extent(*args)


@pytest.fixture(scope="module")
def resnet18_rows():
    return lower_to_gemms(load_zoo_trace("resnet18")).to_dict("records")


@pytest.mark.parametrize("strategy", ["split_m", "split_n"])
@pytest.mark.parametrize("weights", [[1, 1, 1, 1], [1024, 256, 512], [1] * 16])
def test_split_row_conserves_work_and_tensors(resnet18_rows, strategy, weights):
    for row in resnet18_rows:
        parts = [p for p in split_row(row, strategy, weights, quantum=7) if p is not None]
        assert sum(p["dense_macs"] for p in parts) == row["dense_macs"]
        assert sum(p["ofmap_elems"] for p in parts) == row["ofmap_elems"]
        if strategy == "split_m":
            assert sum(p["gemm_m"] for p in parts) == row["gemm_m"]
            assert sum(p["ifmap_elems"] for p in parts) == row["ifmap_elems"]  # exact integer shares
            assert all(p["weight_elems"] == row["weight_elems"] for p in parts)  # every array all weights
        else:
            assert sum(p["gemm_n"] for p in parts) == row["gemm_n"]
            assert sum(p["weight_elems"] for p in parts) == row["weight_elems"]
            assert all(p["ifmap_elems"] == row["ifmap_elems"] for p in parts)  # every array all input
        assert [p["part_lo"] for p in parts][1:] == [p["part_hi"] for p in parts][:-1]


def test_quanta_homogeneous_and_not():
    assert quanta("split_m", [(32, 16)] * 4) == [1, 16, 32]
    assert quanta("split_n", [(32, 16), (16, 16)]) == [1]


def test_choose_split_keeps_the_cheapest_candidate(resnet18_rows):
    row = resnet18_rows[3]
    seen = []

    def cost(parts):  # an arbitrary but deterministic cost: the largest part's extent, then strategy
        c = max((p["part_hi"] - p["part_lo"]) * (3 if "gemm_n" in p and p["gemm_n"] < row["gemm_n"] else 2)
                for p in parts if p is not None)  # fmt: skip
        seen.append(c)
        return c

    best = choose_split(row, [(8, 8)] * 3, cost)
    assert best.cycles == min(seen) and best.candidates == len(seen) >= 2
    assert best.strategy in ("split_m", "split_n")


def _brute_stages(costs):
    arrays, layers = costs.shape
    best = None
    for cuts in itertools.combinations_with_replacement(range(layers + 1), arrays - 1):
        bounds = [0, *cuts, layers]
        t = [costs[a, bounds[a] : bounds[a + 1]].sum() for a in range(arrays)]
        key = (max(t), sum(t))
        if best is None or key < best:
            best = key
    return best


@given(st.integers(1, 4), st.integers(1, 7), st.integers(0, 2**31 - 1))
def test_pipeline_stages_is_optimal_against_brute_force(arrays, layers, seed):
    costs = np.random.default_rng(seed).integers(1, 1000, size=(arrays, layers)).astype(float)
    stages = pipeline_stages(costs)
    assert len(stages) == arrays and stages[0][0] == 0 and stages[-1][1] == layers
    assert all(a[1] == b[0] for a, b in zip(stages, stages[1:], strict=False))
    t = [costs[a, lo:hi].sum() for a, (lo, hi) in enumerate(stages)]
    assert (max(t), sum(t)) == _brute_stages(costs)


@given(st.integers(1, 4), st.integers(1, 7), st.integers(1, 6), st.booleans(), st.integers(0, 2**31 - 1))
def test_pipeline_stages_minimise_the_pipeline_time_against_brute_force(arrays, layers, samples, mixed, seed):
    """With the batch size, the stages minimise sum(t) + (B - 1) max(t) itself, also on a
    heterogeneous system (arrays 1-3x slower), where the least bottleneck need not win."""
    rng = np.random.default_rng(seed)
    costs = rng.integers(1, 1000, size=(arrays, layers)).astype(float)
    if mixed:
        costs *= rng.integers(1, 4, size=(arrays, 1))
    stages = pipeline_stages(costs, samples)
    t = [costs[a, lo:hi].sum() for a, (lo, hi) in enumerate(stages)]
    best = min(
        sum(tt) + (samples - 1) * max(tt)
        for cuts in itertools.combinations_with_replacement(range(layers + 1), arrays - 1)
        for b in [[0, *cuts, layers]]
        for tt in [[costs[a, b[a] : b[a + 1]].sum() for a in range(arrays)]]
    )
    assert sum(t) + (samples - 1) * max(t) == best


def test_a_smaller_sum_beats_the_least_bottleneck_at_a_small_batch():
    """Array 1 is 3x slower: the least bottleneck puts layer 1 on it (stages 10 | 9), but at
    batch 2 running both layers on array 0 (13 | 0) takes 13 + 13 = 26 < 19 + 10 = 29 cycles."""
    costs = np.array([[10.0, 3.0], [30.0, 9.0]])
    assert pipeline_stages(costs) == [(0, 1), (1, 2)]
    assert pipeline_stages(costs, 2) == [(0, 2), (2, 2)]
    assert pipeline_stages(costs, 100) == [(0, 1), (1, 2)]


def test_pipeline_cycles_formula():
    assert pipeline_cycles([5, 9, 2], 1) == 16
    assert pipeline_cycles([5, 9, 2], 4) == 16 + 3 * 9
    assert pipeline_cycles([], 3) == 0
