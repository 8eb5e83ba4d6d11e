"""Hash-accumulate unit: the per-cycle model against the functional model (no RTL needed)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from simulator.common.errors import SparsimInputError
from simulator.hash_unit.cl import Stimulus, run_hash_unit_cl
from simulator.hash_unit.config import HashUnitConfig, hash_slot
from simulator.hash_unit.fl import hash_accumulate_fl

CFG = HashUnitConfig(slots=8, key_bits=8, value_bits=12)


@given(
    items=st.lists(st.tuples(st.integers(0, 40), st.integers(-2000, 2000), st.integers(0, 2)), max_size=60),
    gap=st.integers(0, 3),
    ready=st.lists(st.integers(0, 1), min_size=1, max_size=4).filter(any),
)
def test_per_cycle_model_matches_functional(items, gap, ready):
    tr = run_hash_unit_cl(Stimulus(items=tuple(items), drain_gap=gap, out_ready=tuple(ready)), CFG)
    assert [(k, v) for _, k, v in tr.accepted] == [(k & 0xFF, v) for k, v, _ in items]
    table, dropped = hash_accumulate_fl([(k, v) for _, k, v in tr.accepted], CFG)
    assert {k: v for _, k, v in tr.drained} == table
    assert len(tr.drained) == len(table)
    assert (tr.overflow_cycle >= 0) == (dropped > 0)
    cycles = [c for c, _, _ in tr.accepted]
    assert cycles == sorted(set(cycles))


def test_back_to_back_hits_run_at_one_per_cycle():
    tr = run_hash_unit_cl(Stimulus(items=((3, 1, 0),) * 8), CFG)
    assert [c for c, _, _ in tr.accepted] == list(range(8))
    assert [(k, v) for _, k, v in tr.drained] == [(3, 8)]


def test_colliding_keys_cost_one_cycle_per_probe():
    keys = [8 * i for i in range(4)]  # all hash to slot 0
    assert {hash_slot(k, CFG) for k in keys} == {0}
    tr = run_hash_unit_cl(Stimulus(items=tuple((k, 1, 0) for k in keys)), CFG)
    assert [c for c, _, _ in tr.accepted] == [0, 1, 3, 6]  # the i-th key probes i slots
    assert tr.probes == 1 + 2 + 3 + 4


def test_full_table_drops_and_flags():
    tr = run_hash_unit_cl(Stimulus(items=tuple((k, 1, 0) for k in range(10))), CFG)
    assert len(tr.drained) == 8 and tr.overflow_cycle > 0


def test_value_wraps():
    tr = run_hash_unit_cl(Stimulus(items=((1, 2000, 0), (1, 2000, 0))), CFG)
    assert tr.drained[0][2] == 4000 - 4096


def test_broken_models_differ():
    stim = Stimulus(items=((5, 1, 0),) * 4)
    good = run_hash_unit_cl(stim, CFG)
    assert run_hash_unit_cl(stim, CFG, broken="no_forwarding").drained != good.drained
    assert run_hash_unit_cl(stim, CFG, broken="late_accept").accepted != good.accepted


def test_config_validation():
    with pytest.raises(SparsimInputError, match="power of two"):
        HashUnitConfig(slots=12)
