"""The mobile kernels' L2 blocking."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from dataflow.mobile.blocking import UNIT_BYTES, gemm_row_block, group_blocks


@given(st.lists(st.integers(0, 50), min_size=1, max_size=80), st.integers(24, 4000))
def test_group_blocks_fit_the_budget(units, budget):
    ptr = np.concatenate([[0], np.cumsum(units)])
    b = group_blocks(ptr, budget)
    assert b[0] == 0 and b[-1] == len(units) and (np.diff(b) > 0).all()
    for s, e in zip(b[:-1], b[1:], strict=True):
        size = (ptr[e] - ptr[s]) * UNIT_BYTES
        nonempty = int((np.diff(ptr[s : e + 1]) > 0).sum())
        assert size <= budget or nonempty == 1  # only one oversized group (empty ones cost nothing)


def test_gemm_row_block_keeps_half_of_l2():
    assert (
        gemm_row_block(512 * 1024, 1024) * 1024 * 32 <= 256 * 1024 < (gemm_row_block(512 * 1024, 1024) + 1) * 1024 * 32
    )
    assert gemm_row_block(1024, 10**6) == 1
