from __future__ import annotations

import pytest

from simulator.common.errors import SparsimInputError
from workloads.layers import conv_layer, gemm_layer, layer_table
from workloads.lowering import lower_to_gemms
from workloads.scalesim_topology import read_scalesim_topology, write_scalesim_topology


def test_read_resnet18(scalesim_dir):
    t = read_scalesim_topology(scalesim_dir / "topologies/resnet18.csv")
    assert len(t) == 21 and (t.compat == "scalesim").all()
    g = lower_to_gemms(t)
    assert g.loc[0, ["gemm_m", "gemm_k", "gemm_n"]].tolist() == [110 * 110, 147, 64]
    assert g.loc[20, ["gemm_m", "gemm_k", "gemm_n"]].tolist() == [1, 512, 1000]


def test_read_gemm_format_with_sparsity(scalesim_dir):
    t = read_scalesim_topology(scalesim_dir / "topologies/sparsity_gemm.csv")
    assert t[["op", "gemm_m", "gemm_n", "gemm_k", "nm_n", "nm_m"]].values.tolist() == [
        ["gemm", 3, 5, 16, 3, 4],
        ["gemm", 1, 5, 16, 1, 4],
    ]


def test_read_conv_with_sparsity_and_spaces(scalesim_dir):
    t = read_scalesim_topology(scalesim_dir / "topologies/sparsity_conv.csv")
    assert t.loc[0, ["in_h", "k_h", "in_c", "out_c", "nm_n", "nm_m"]].tolist() == [5, 3, 2, 6, 2, 4]


def test_depthwise_dp_convention(tmp_path):
    p = tmp_path / "dw.csv"
    p.write_text(
        "Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,\n"
        "Conv_DP1,112,112,3,3,32,1,1,\n"
    )
    t = read_scalesim_topology(p)
    g = lower_to_gemms(t).iloc[0]
    assert (t.loc[0, "groups"], g["count"], g.gemm_k, g.gemm_n) == (32, 32, 9, 1)


def test_export_import_roundtrip(tmp_path):
    layers = layer_table(
        [
            conv_layer("a", in_h=56, in_w=56, in_c=64, out_c=64, k_h=3, compat="scalesim", nm=(2, 4)),
            conv_layer("DP_b", in_h=28, in_w=28, in_c=32, out_c=32, k_h=3, groups=32, compat="scalesim"),
            gemm_layer("fc", m=1, k=512, n=1000, compat="scalesim"),
        ]
    )
    p = tmp_path / "t.csv"
    write_scalesim_topology(layers, p)
    back = read_scalesim_topology(p)
    cols = ["gemm_m", "gemm_k", "gemm_n", "count", "nm_n", "nm_m"]
    assert lower_to_gemms(back)[cols].values.tolist() == lower_to_gemms(layers)[cols].values.tolist()


def test_gemm_export_roundtrip(tmp_path):
    layers = layer_table([gemm_layer("q", m=128, k=64, n=32, nm=(1, 4), compat="scalesim")])
    p = tmp_path / "g.csv"
    write_scalesim_topology(layers, p, fmt="gemm")
    assert read_scalesim_topology(p)[["gemm_m", "gemm_k", "gemm_n", "nm_n"]].values.tolist() == [[128, 64, 32, 1]]


def test_export_rejects_batch():
    with pytest.raises(SparsimInputError, match="no batch"):
        write_scalesim_topology(layer_table([gemm_layer("q", m=1, k=2, n=3, batch=2)]))
