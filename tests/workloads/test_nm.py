from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from simulator.common.errors import SparsimInputError
from workloads.nm import is_nm, nm_compress, nm_decompress, nm_rows, nm_topn_mask, parse_nm

NM = [(1, 1), (1, 2), (2, 4), (1, 4), (3, 4), (2, 8), (1, 8), (4, 8)]


@given(
    w=hnp.arrays(np.int64, st.tuples(st.integers(1, 30), st.integers(1, 6)), elements=st.integers(-5, 5)),
    nm=st.sampled_from(NM),
)
def test_mask_compress_roundtrip(w, nm):
    n, m = nm
    mask = nm_topn_mask(w, n, m)
    pruned = w * mask
    assert is_nm(pruned, n, m)
    # the mask keeps exactly N per full group (ties broken deterministically)
    k = w.shape[0]
    full = (k // m) * m
    if full:
        assert (mask[:full].reshape(-1, m, w.shape[1]).sum(axis=1) == n).all()
    values, idx = nm_compress(pruned, n, m)
    assert values.shape == (nm_rows(k, n, m), w.shape[1])
    assert idx.max(initial=0) < m
    # canonical: indices strictly increasing inside each group
    g = idx.reshape(-1, n, w.shape[1]).astype(int)
    assert (np.diff(g, axis=1) > 0).all()
    np.testing.assert_array_equal(nm_decompress(values, idx, n, m, k), pruned)


def test_topn_keeps_largest_magnitudes():
    w = np.array([[1], [-7], [3], [5], [0], [2], [-9], [1]])
    keep = nm_topn_mask(w, 2, 4)[:, 0]
    assert keep.tolist() == [False, True, False, True, False, True, True, False]


def test_compress_rejects_too_dense():
    with pytest.raises(SparsimInputError, match="at most 1 non-zeros in every 4"):
        nm_compress(np.array([[1], [1], [0], [0]]), 1, 4)


@pytest.mark.parametrize("text,expected", [("2:4", (2, 4)), (" 1:8 ", (1, 8)), ("dense", (1, 1)), ("4:4", (4, 4))])
def test_parse_nm(text, expected):
    assert parse_nm(text) == expected


@pytest.mark.parametrize("text,msg", [("5:4", "must not exceed"), ("2-4", "N:M"), ("0:4", ">= 1"), ("a:b", "N:M")])
def test_parse_nm_errors(text, msg):
    with pytest.raises(SparsimInputError, match=msg):
        parse_nm(text)
