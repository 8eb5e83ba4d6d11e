from __future__ import annotations

import pytest

from simulator.common.errors import SparsimInputError
from workloads.layers import conv_layer, conv_output_size, gemm_layer, layer_table
from workloads.lowering import lower_to_gemms


def test_scalesim_rounding_only_in_compat_mode():
    assert conv_output_size(224, 7, 2, 0, 1, "scalesim") == 110
    assert conv_output_size(224, 7, 2, 0, 1, "native") == 109
    assert conv_output_size(224, 7, 2, 3, 1, "native") == 112  # torchvision ResNet conv1
    assert conv_output_size(56, 3, 1, 0, 1, "scalesim") == conv_output_size(56, 3, 1, 0, 1, "native") == 54


def test_conv_lowering_with_padding_dilation_batch():
    t = layer_table(
        [conv_layer("c", in_h=56, in_w=56, in_c=64, out_c=128, k_h=3, stride=2, padding=2, dilation=2, batch=4)]
    )
    g = lower_to_gemms(t).iloc[0]
    ho = (56 + 4 - 2 * 2 - 1) // 2 + 1
    assert (g.out_h, g.gemm_m, g.gemm_k, g.gemm_n, g["count"]) == (ho, 4 * ho * ho, 64 * 9, 128, 1)
    assert g.dense_macs == 4 * ho * ho * 64 * 9 * 128


def test_depthwise_is_per_channel_gemms():
    t = layer_table([conv_layer("dw", in_h=112, in_w=112, in_c=32, out_c=32, k_h=3, padding=1, groups=32)])
    g = lower_to_gemms(t).iloc[0]
    assert (g["count"], g.gemm_m, g.gemm_k, g.gemm_n) == (32, 112 * 112, 9, 1)
    assert g.dense_macs == 112 * 112 * 9 * 32


def test_grouped_conv_and_gemm():
    t = layer_table(
        [
            conv_layer("g", in_h=8, in_w=8, in_c=16, out_c=32, k_h=1, groups=4),
            gemm_layer("fc", m=1, k=512, n=1000, batch=8, nm=(2, 4)),
        ]
    )
    g = lower_to_gemms(t)
    assert g.loc[0, ["count", "gemm_k", "gemm_n"]].tolist() == [4, 4, 8]
    assert g.loc[1, ["gemm_m", "gemm_k", "gemm_n", "nm_n", "nm_m"]].tolist() == [8, 512, 1000, 2, 4]


@pytest.mark.parametrize(
    "row,field",
    [
        (conv_layer("x", in_h=4, in_w=4, in_c=3, out_c=8, k_h=5), "k_h"),
        (conv_layer("x", in_h=8, in_w=8, in_c=3, out_c=8, k_h=3, groups=2), "groups"),
        (conv_layer("x", in_h=8, in_w=8, in_c=3, out_c=8, k_h=3, nm=(3, 2)), "nm_n"),
        (gemm_layer("x", m=0, k=4, n=4), "gemm_m"),
        (conv_layer("x", in_h=8, in_w=8, in_c=3, out_c=8, k_h=3, padding=1, compat="scalesim"), "compat"),
        ({**gemm_layer("x", m=2, k=4, n=4), "op": "pool"}, "op"),
    ],
)
def test_validation_names_the_field(row, field):
    with pytest.raises(SparsimInputError) as err:
        layer_table([row])
    assert err.value.field == field
    assert "\n" not in str(err.value)
