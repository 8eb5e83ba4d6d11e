"""One hash: the PIUMA-like machine's scratchpad tables probe exactly as the RTL-verified
hash-accumulate unit does (its per-cycle model is held to the RTL cycle for cycle in
tests/rtl/hash_unit), and the compiled hash the machine's numba loops use is the unit's function."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from simulator.hash_unit.cl import Stimulus, run_hash_unit_cl
from simulator.hash_unit.config import HashUnitConfig, hash_slot, slot_of
from simulator.spgemm.hashing import slot
from simulator.spgemm.twin import probe_slots


def _unit_layout(keys: list[int], cfg: HashUnitConfig) -> dict[int, int]:
    """key -> slot in the unit's table, read off its drain: the drain visits slots 0..S-1, two
    cycles each, and with ``out_ready`` always high it emits a valid slot in its examine cycle."""
    trace = run_hash_unit_cl(Stimulus(items=tuple((k, 1, 0) for k in keys)), cfg)
    first = trace.done_cycle - 2 * cfg.slots + 1  # the emission cycle of slot 0
    layout = {}
    for cycle, key, _ in trace.drained:
        assert (cycle - first) % 2 == 0
        layout[key] = (cycle - first) // 2
    assert sorted(layout) == sorted(set(keys))
    return layout


def _machine_layout(keys: list[int], slots: int) -> dict[int, int]:
    """key -> slot when the machine's SMASH atomics insert ``keys`` into one table (window row 0,
    no fragments): each takes the first slot of its probe sequence that is free or its own."""
    table: dict[int, int] = {}
    for k in keys:
        for s in probe_slots(0, k, 0, slots - 1):
            if table.get(s, k) == k:
                table[s] = k
                break
    return {k: s for s, k in table.items()}


@given(
    slots_log2=st.integers(2, 6),
    keys=st.lists(st.integers(0, (1 << 16) - 1), min_size=1, max_size=64),
)
def test_the_machines_probe_sequence_is_the_units(slots_log2, keys):
    cfg = HashUnitConfig(slots=1 << slots_log2)
    keys = list(dict.fromkeys(keys))[: cfg.slots]  # distinct keys that fit: none is dropped
    assert _unit_layout(keys, cfg) == _machine_layout(keys, cfg.slots)


@given(st.integers(0, (1 << 16) - 1), st.integers(1, 12))
def test_the_first_probe_is_the_units_hash(key, slots_log2):
    cfg = HashUnitConfig(slots=1 << slots_log2)
    assert next(probe_slots(0, key, 0, cfg.slots - 1)) == hash_slot(key, cfg) == (key * 107) & (cfg.slots - 1)


def test_the_compiled_hash_is_the_units_function():
    """The numba loops' ``slot`` against the plain function, rows large enough to wrap 64 bits."""
    rng = np.random.default_rng(0)
    for _ in range(2000):
        key = int(rng.integers(0, 1 << 31))
        row = int(rng.integers(0, 1 << 40))
        mask = (1 << int(rng.integers(1, 29))) - 1
        assert slot(key, mask, row) == slot_of(key, mask, row)


def test_a_different_hash_is_caught():
    """The layout comparison can fail: a machine probing from another first slot disagrees."""
    cfg = HashUnitConfig(slots=8)
    keys = [1, 2, 3, 9, 17]
    other = {}
    for k in keys:
        h = (k * 109) & 7
        while h in other.values():
            h = (h + 1) & 7
        other[k] = h
    assert _unit_layout(keys, cfg) != other
