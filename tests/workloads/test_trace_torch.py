"""Traces of the zoo and of arbitrary modules: hand-checked GEMM shapes, nothing dropped silently."""

from __future__ import annotations

import pandas as pd
import pytest

torch = pytest.importorskip("torch", reason="torch extra not installed")

from torch import nn  # noqa: E402

from workloads.io import load_workload  # noqa: E402
from workloads.lowering import lower_to_gemms  # noqa: E402
from workloads.trace_torch import trace_module  # noqa: E402
from workloads.zoo import ZOO, load_zoo_trace, trace_zoo  # noqa: E402


def _gemm(g: pd.DataFrame, name: str) -> list[int]:
    row = g.loc[g.name == name].iloc[0]
    return [int(row["count"]), int(row.gemm_m), int(row.gemm_k), int(row.gemm_n)]


def test_resnet18_conv1():
    g = lower_to_gemms(trace_zoo("resnet18", batch=2).layers)
    assert _gemm(g, "stem.0.0") == [1, 2 * 112 * 112, 3 * 7 * 7, 64]
    assert _gemm(g, "fc") == [1, 2, 512, 1000]
    assert len(g) == 21


def test_resnet50_bottleneck():
    g = lower_to_gemms(trace_zoo("resnet50").layers)
    assert _gemm(g, "stages.0.0.body.0.0") == [1, 56 * 56, 64, 64]
    assert _gemm(g, "stages.0.0.body.1.0") == [1, 56 * 56, 64 * 9, 64]
    assert _gemm(g, "stages.0.0.body.2.0") == [1, 56 * 56, 64, 256]
    assert _gemm(g, "stages.0.0.down.0") == [1, 56 * 56, 64, 256]
    assert _gemm(g, "stages.1.0.body.1.0") == [1, 28 * 28, 128 * 9, 128]  # v1.5: stride on the 3x3
    assert round(g.dense_macs.sum() / 1e9, 2) == 4.09


def test_mobilenet_depthwise_is_per_channel():
    g = lower_to_gemms(trace_zoo("mobilenet_v1").layers)
    assert _gemm(g, "features.1.0") == [32, 112 * 112, 9, 1]
    assert _gemm(g, "features.2.0") == [1, 112 * 112, 32, 64]


def test_bert_attention_matmuls():
    tr = trace_zoo("bert_base", batch=4, seq_len=64)
    g = lower_to_gemms(tr.layers)
    assert _gemm(g, "matmul_1") == [4 * 12, 64, 64, 64]  # Q K^T: [64, 64] x [64, 64] per head
    assert _gemm(g, "matmul_2") == [4 * 12, 64, 64, 64]  # P V
    assert _gemm(g, "blocks.0.ff1") == [1, 4 * 64, 768, 3072]
    assert (tr.layers.op == "matmul").sum() == 24
    kinds = {k for _, k in tr.unsupported}
    assert {"LayerNorm", "GELU", "Embedding", "softmax"} <= kinds


def test_committed_traces_match_fresh_traces():
    for name in ZOO:
        fresh = trace_zoo(name).layers.reset_index(drop=True)
        pd.testing.assert_frame_equal(load_zoo_trace(name), fresh, check_dtype=False)


def test_zoo_workload_without_torch_path():
    layers = load_workload("zoo:resnet50", batch=32)
    assert (layers.batch == 32).all() and len(layers) == 54


def test_custom_module_conv1d_grouped_sdpa_and_unsupported():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.c1 = nn.Conv1d(8, 16, 5, padding=2, groups=2)
            self.pool = nn.MaxPool1d(2)
            self.lin = nn.Linear(16, 32)

        def forward(self, x):
            y = self.pool(self.c1(x)).transpose(1, 2)  # [B, 10, 16]
            q = self.lin(y).view(3, 10, 4, 8).transpose(1, 2)
            return torch.nn.functional.scaled_dot_product_attention(q, q, q)

    tr = trace_module(Net(), torch.randn(3, 8, 20))
    g = lower_to_gemms(tr.layers)
    assert _gemm(g, "c1") == [2, 3 * 20, 4 * 5, 8]
    assert _gemm(g, "lin") == [1, 30, 16, 32]
    assert _gemm(g, "sdpa_qk_1") == [3 * 4, 10, 8, 10]
    assert _gemm(g, "sdpa_pv_1") == [3 * 4, 10, 10, 8]
    assert ("pool", "MaxPool1d") in tr.unsupported


def test_resnet50_batch32_trace():
    g = lower_to_gemms(trace_zoo("resnet50", batch=32).layers)
    assert _gemm(g, "stem.0.0") == [1, 32 * 112 * 112, 147, 64]
