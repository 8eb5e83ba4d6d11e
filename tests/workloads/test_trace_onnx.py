"""ONNX tracing gives the same GEMMs as the torch trace of the same model."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch", reason="torch extra not installed")
pytest.importorskip("onnx", reason="onnx extra not installed")

from simulator.cli import main  # noqa: E402
from simulator.common.errors import SparsimInputError  # noqa: E402
from workloads.lowering import lower_to_gemms  # noqa: E402
from workloads.trace_onnx import trace_onnx  # noqa: E402
from workloads.trace_torch import trace_module  # noqa: E402
from workloads.zoo.cnn import mobilenet_v2  # noqa: E402
from workloads.zoo.transformer import minilm_l6  # noqa: E402

COLS = ["op", "count", "gemm_m", "gemm_k", "gemm_n"]


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.parametrize(
    "build,x",
    [(mobilenet_v2, lambda: torch.randn(2, 3, 224, 224)), (minilm_l6, lambda: torch.zeros(2, 16, dtype=torch.long))],
    ids=["mobilenet_v2", "minilm_l6"],
)
def test_onnx_trace_equals_torch_trace(tmp_path, build, x):
    model = build().eval()
    inp = x()
    path = tmp_path / "m.onnx"
    torch.onnx.export(model, (inp,), str(path), dynamo=False)
    via_onnx = lower_to_gemms(trace_onnx(path).layers)[COLS]
    via_torch = lower_to_gemms(trace_module(model, inp).layers)[COLS]
    assert via_onnx.values.tolist() == via_torch.values.tolist()


def test_unreadable_onnx(tmp_path, capsys):
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"\x00\x01 this is not a protobuf")
    with pytest.raises(SparsimInputError, match="not a readable ONNX model"):
        trace_onnx(bad)
    assert main(["trace", str(bad), "--out", str(tmp_path / "t.csv")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "ONNX" in err[0]
    assert not (tmp_path / "t.csv").exists()


def test_trace_cli_zoo(tmp_path, capsys):
    out = tmp_path / "r18.parquet"
    assert main(["trace", "resnet18", "--batch", "4", "--out", str(out)]) == 0
    import pandas as pd

    t = pd.read_parquet(out)
    assert len(t) == 21 and (t.batch == 4).all()
    assert "BatchNorm2d x20" in capsys.readouterr().out
    assert main(["trace", "alexnet", "--out", str(tmp_path / "x.csv")]) == 2


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_unsupported_weight_layer_is_refused_unless_allowed(tmp_path, capsys):
    from torch import nn

    model = nn.Sequential(nn.Conv3d(2, 4, 3), nn.Flatten(), nn.Linear(108, 5)).eval()
    path = tmp_path / "c3.onnx"
    torch.onnx.export(model, (torch.randn(1, 2, 5, 5, 5),), str(path), dynamo=False)
    assert main(["trace", str(path), "--out", str(tmp_path / "t.csv")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "Conv3d" in err[0] and "--allow-unsupported" in err[0]
    assert not (tmp_path / "t.csv").exists()
    assert main(["trace", str(path), "--allow-unsupported", "--out", str(tmp_path / "t.csv")]) == 0
    assert "Conv3d x1" in capsys.readouterr().out


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_conv_transpose_is_its_backward_data_gemm(tmp_path):
    """ConvTranspose2d(8 -> 4, k 2, stride 2) on 14x14: each of the 196 input pixels times a
    [8 x 16] weight (4 channels x 2 x 2 taps): 196 x 8 x 16 MACs, as many as the output needs."""
    from torch import nn

    model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ConvTranspose2d(8, 4, 2, stride=2, groups=2)).eval()
    path = tmp_path / "up.onnx"
    torch.onnx.export(model, (torch.randn(1, 3, 16, 16),), str(path), dynamo=False)
    g = lower_to_gemms(trace_onnx(path).layers)
    up = g.iloc[1]
    assert (up["count"], up.gemm_m, up.gemm_k, up.gemm_n) == (2, 196, 4, 2 * 2 * 2)
    assert up.dense_macs == 196 * 8 * 4 * 2 * 2 // 2


def test_torch_trace_flags_weight_layers_it_cannot_lower():
    from torch import nn

    from workloads.trace_torch import trace_module

    tr = trace_module(nn.Sequential(nn.Conv3d(2, 4, 3), nn.Flatten(), nn.Linear(108, 5)), torch.randn(1, 2, 5, 5, 5))
    assert ("0", "Conv3d") in tr.unsupported_compute
    with pytest.raises(SparsimInputError, match="Conv3d"):
        tr.check("model")


def test_missing_optional_dependency_names_the_extra(monkeypatch, capsys):
    import sys

    monkeypatch.setitem(sys.modules, "torch", None)
    assert main(["trace", "resnet18", "--out", "/tmp/never.csv"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "pip install -e '.[torch]'" in err
