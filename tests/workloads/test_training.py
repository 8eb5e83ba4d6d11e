"""Training passes: shapes of FF/BP/WU and where each scheme puts N:M."""

from __future__ import annotations

import pytest

from simulator.common.errors import SparsimInputError
from workloads.layers import conv_layer, gemm_layer, layer_table
from workloads.training import training_passes

LAYERS = layer_table(
    [
        conv_layer("c1", in_h=8, in_w=8, in_c=3, out_c=16, k_h=3, padding=1, batch=2),
        conv_layer("c2", in_h=8, in_w=8, in_c=16, out_c=32, k_h=3, padding=1, batch=2),
        gemm_layer("attn", m=10, k=4, n=10, batch=2, groups=3, op="matmul"),
    ]
)


def _row(p, name, pass_, i=0):
    r = p[(p.name == name) & (p["pass"] == pass_)].iloc[i]
    return [int(r["count"]), int(r.gemm_m), int(r.gemm_k), int(r.gemm_n), f"{r.nm_n}:{r.nm_m}"]


def test_bdwp_shapes_and_sparsity():
    p = training_passes(LAYERS, "bdwp", (2, 4))
    m = 2 * 8 * 8
    assert _row(p, "c2", "FF") == [1, m, 16 * 9, 32, "2:4"]  # reduces Cin*kh*kw
    assert _row(p, "c2", "BP") == [1, m, 32, 16 * 9, "2:4"]  # reduces Cout
    assert _row(p, "c2", "WU") == [1, 16 * 9, m, 32, "1:1"]  # reduces B*Ho*Wo, dense
    assert "BP" not in set(p[p.name == "c1"]["pass"])  # no input gradient for layer 0
    assert _row(p, "attn", "BP", 0) == [6, 10, 10, 4, "1:1"]  # dA = dC B^T
    assert _row(p, "attn", "BP", 1) == [6, 4, 10, 10, "1:1"]  # dB = A^T dC
    assert "WU" not in set(p[p.name == "attn"]["pass"])


@pytest.mark.parametrize(
    "scheme,ff,bp",
    [("forward-only", "2:8", "1:1"), ("transposable", "2:8", "2:8"), ("dense", "1:1", "1:1"), ("bdwp", "2:8", "2:8")],
)
def test_schemes(scheme, ff, bp):
    p = training_passes(LAYERS, scheme, (2, 8))
    assert _row(p, "c2", "FF")[-1] == ff and _row(p, "c2", "BP")[-1] == bp and _row(p, "c2", "WU")[-1] == "1:1"


def test_macs_are_conserved_across_passes():
    p = training_passes(LAYERS, "dense", (1, 1), first_layer_bp=True)
    conv = p[p.op == "conv"].groupby("pass").dense_macs.sum()
    assert conv["FF"] == conv["BP"] == conv["WU"]
    mm = p[p.op == "matmul"].groupby("pass").dense_macs.sum()
    assert mm["BP"] == 2 * mm["FF"]


def test_bad_scheme_and_nm():
    with pytest.raises(SparsimInputError, match="allowed"):
        training_passes(LAYERS, "magic", (2, 4))
    with pytest.raises(SparsimInputError, match="N <= M"):
        training_passes(LAYERS, "bdwp", (5, 4))
