"""SMASH's window distribution and the row chunks: every row mapped once, every window fits."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from dataflow.spgemm.chunks import flop_chunks
from dataflow.spgemm.windows import distribute_windows, smash_limits
from simulator.common.errors import SparsimInputError
from simulator.spgemm.config import SmashConfig


@given(st.lists(st.integers(0, 500), min_size=1, max_size=200), st.integers(1, 16))
def test_flop_chunks_cover_every_row_once_with_balanced_work(flops, chunks):
    f = np.array(flops, dtype=np.int64)
    b = flop_chunks(f, chunks)
    assert b[0] == 0 and b[-1] == len(f) and (np.diff(b) > 0).all() and len(b) <= chunks + 1
    work = np.add.reduceat(f, b[:-1]) if len(b) > 1 else np.array([0])
    assert work.sum() == f.sum()
    assert work.max() <= f.sum() / chunks + f.max()  # off the ideal share by at most one row


@pytest.mark.parametrize("version", [1, 2, 3])
@given(flops=st.lists(st.integers(0, 60), min_size=1, max_size=120), cores=st.integers(1, 5))
def test_windows_cover_every_row_and_fit_the_table(version, flops, cores):
    cfg = SmashConfig(table_bytes=16 * 1024, fragments=4)
    f = np.array(flops, dtype=np.int64)
    ncols = 40
    plan = distribute_windows(f, ncols, cfg, version, cores)
    size, limit, frag_limit = smash_limits(cfg, version)
    assert plan.table_slots == size and plan.core_start[0] == 0 and plan.core_start[-1] == plan.windows
    assert (np.diff(plan.core_start) >= 0).all()
    bounds = plan.bounds
    assert bounds[0] == 0 and bounds[-1] == len(f) and (np.diff(bounds) > 0).all()  # consecutive, no gap
    entries = np.minimum(f, ncols)
    for w in range(plan.windows):
        rows = entries[bounds[w] : bounds[w + 1]]
        assert plan.masks[w] + 1 <= size and (plan.masks[w] + 1) & plan.masks[w] == 0  # a power of two
        if plan.split[w]:
            per = np.bincount(np.arange(len(rows)) % cfg.fragments, weights=rows, minlength=cfg.fragments)
            assert per.max() <= frag_limit
        else:
            assert rows.sum() <= limit or len(rows) == 1


def test_a_row_too_big_for_the_table_is_refused_by_name():
    cfg = SmashConfig(table_bytes=1024, fragments=1)
    with pytest.raises(SparsimInputError, match="table_bytes"):
        distribute_windows(np.array([1, 5000, 2]), 10_000, cfg, 2, 2)
