"""SpGEMM functional algorithms and the host kernel against scipy.sparse."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given
from hypothesis import strategies as st

from simulator.common.errors import SparsimInputError
from simulator.spgemm.config import ALGORITHMS as _ALGS
from simulator.spgemm.config import SmashConfig
from simulator.spgemm.fl import row_flops, spgemm
from simulator.spgemm.host import spgemm_host
from workloads.matrices import load_matrix

ALGORITHMS = tuple(_ALGS)

SMALL_TABLE = SmashConfig(table_bytes=64 * 1024, fragments=4)


def assert_same(c: sp.csr_matrix, ref) -> None:
    """Equal values (float tolerance) and pattern; entries that cancel to ~0 are ignored on both
    sides (scipy drops exact zeros its summation order produces)."""
    ref = sp.csr_matrix(ref)
    tol = 1e-12 * max(1.0, float(np.abs(ref.data).max(initial=0)))

    def clean(m):
        m = sp.csr_matrix(m, copy=True)
        m.data[np.abs(m.data) <= tol] = 0
        m.eliminate_zeros()
        m.sort_indices()
        return m

    c, ref = clean(c), clean(ref)
    assert c.shape == ref.shape
    np.testing.assert_array_equal(c.indptr, ref.indptr)
    np.testing.assert_array_equal(c.indices, ref.indices)
    np.testing.assert_allclose(c.data, ref.data, rtol=1e-9, atol=tol)


def _random(rng, n, m, density):
    a = sp.random(n, m, density=density, random_state=rng, format="coo")
    a.data = rng.standard_normal(a.nnz)
    return a


@pytest.mark.parametrize("alg", ALGORITHMS)
@pytest.mark.parametrize("name", ["rmat10", "bar", "propack", "unit_square"])
def test_algorithms_match_scipy_on_real_and_rmat(alg, name):
    a = load_matrix(name)
    b = a if a.shape[0] == a.shape[1] else a.T.tocsr()
    c, counts = spgemm(a, b, alg, smash=SmashConfig(table_bytes=1 << 20))
    assert_same(c, a @ b)
    assert counts["flops"] == int(row_flops(a, b).sum())
    if alg.startswith("smash"):
        assert counts["atomics"] == counts["flops"] and counts["overflows"] == 0
        assert counts["writeback"] == c.nnz and counts["probes"] >= counts["atomics"]


@given(
    n=st.integers(1, 40),
    k=st.integers(1, 40),
    m=st.integers(1, 40),
    d=st.floats(0.0, 0.3),
    alg=st.sampled_from(ALGORITHMS),
    seed=st.integers(0, 2**31),
)
def test_algorithms_random_rectangular(n, k, m, d, alg, seed):
    rng = np.random.default_rng(seed)
    a, b = _random(rng, n, k, d), _random(rng, k, m, d)
    c, _ = spgemm(a, b, alg, smash=SMALL_TABLE)
    assert_same(c, a.tocsr() @ b.tocsr())


def test_empty_rows_and_duplicate_coordinates():
    a = sp.coo_matrix(([1.0, 2.0, 3.0, 4.0], ([0, 0, 2, 2], [1, 1, 0, 2])), shape=(4, 3))  # (0,1) twice
    b = sp.coo_matrix(([5.0, 6.0, 7.0], ([1, 0, 2], [0, 2, 2])), shape=(3, 3))
    ref = a.tocsr() @ b.tocsr()
    for alg in ALGORITHMS:
        c, _ = spgemm(a, b, alg)
        assert_same(c, ref)
        assert c[1].nnz == 0 and c[3].nnz == 0 and c[0, 0] == 15.0


def test_smash_versions_trade_windows_and_probes():
    a = load_matrix("rmat10")
    cfg = SmashConfig(table_bytes=1 << 20)
    v1 = spgemm(a, a, "smash_v1", smash=cfg)[1]
    v2 = spgemm(a, a, "smash_v2", smash=cfg)[1]
    assert v2["table_entries"] > v1["table_entries"] and v2["windows"] < v1["windows"]


def test_table_too_small_for_a_window():
    a = load_matrix("rmat10")
    with pytest.raises(SparsimInputError, match="too small for a window"):
        spgemm(a, a, "smash_v1", smash=SmashConfig(table_bytes=4096))


def test_shape_mismatch():
    with pytest.raises(SparsimInputError, match="must equal B's rows"):
        spgemm(sp.eye(3, 4, format="csr"), sp.eye(3, format="csr"), "hash")


@pytest.mark.parametrize("threads", [1, 2])
def test_host_kernel_matches_scipy(threads):
    a = load_matrix("rmat12")
    assert_same(spgemm_host(a, a, threads=threads, sort=True), a @ a)
    b = load_matrix("propack")
    assert_same(spgemm_host(b, b.T.tocsr(), threads=threads), b @ b.T)


def test_numba_kernels_match_their_python_bodies():
    """The compiled kernels and their interpreted bodies agree on a tiny input (numba typing)."""
    from simulator.spgemm import fl

    rng = np.random.default_rng(3)
    a = sp.csr_matrix(_random(rng, 7, 6, 0.4))
    b = sp.csr_matrix(_random(rng, 6, 5, 0.4))
    ap, ai, av = a.indptr.astype(np.int64), a.indices.astype(np.int64), a.data
    bp, bi, bv = b.indptr.astype(np.int64), b.indices.astype(np.int64), b.data
    flops = fl._row_flops(ap, ai, bp)
    for kern, args in ((fl._spa, (ap, ai, av, bp, bi, bv, 5)), (fl._hash_rows, (ap, ai, av, bp, bi, bv, flops))):
        fast, slow = kern(*args), kern.py_func(*args)
        for x, y in zip(fast, slow, strict=True):
            np.testing.assert_allclose(np.asarray(x), np.asarray(y))
