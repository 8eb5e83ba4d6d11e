"""Mobile models as weight layers: zoo MobileNets (torch) and real PP-OCR ONNX files."""

from __future__ import annotations

import numpy as np
import pytest

from simulator.common.errors import SparsimInputError

pytest.importorskip("onnx")

from workloads.mobile_models import from_onnx, load_mobile_model, ppocr_path  # noqa: E402


def _has_ppocr() -> bool:
    try:
        return ppocr_path("ch_ppocr_mobile_v2.0_cls_infer.onnx").exists()
    except SparsimInputError:
        return False


needs_ppocr = pytest.mark.skipif(not _has_ppocr(), reason="rapidocr-onnxruntime not installed")


def test_mobilenet_v1_macs():
    pytest.importorskip("torch")
    layers = load_mobile_model("mobilenet_v1")
    assert sum(L.macs for L in layers) == 568_740_352  # 569 M, as published
    assert [L.op for L in layers[:3]] == ["3x3", "dw", "1x1"]


@needs_ppocr
@pytest.mark.parametrize("name,n_layers", [("ppocr_cls", 54), ("ppocr_det", 62), ("ppocr_rec", 47)])
def test_ppocr_models_load_with_real_weights(name, n_layers):
    layers = load_mobile_model(name)
    assert len(layers) == n_layers
    for L in layers:
        assert L.weight.shape[0] == L.cout
        assert np.isfinite(L.weight).all() and np.abs(L.weight).sum() > 0
    # trained weights are not i.i.d.: per-output-channel L1 norms vary a lot
    w = max((L for L in layers if L.op == "1x1"), key=lambda L: L.weight.size).weight
    norms = np.abs(w).sum(axis=(1, 2, 3))
    assert norms.std() / norms.mean() > 0.1


def test_onnx_without_weights_is_refused(tmp_path):
    import onnx
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])
    w = helper.make_tensor_value_info("w", TensorProto.FLOAT, [4, 3, 1, 1])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4, 8, 8])
    g = helper.make_graph([helper.make_node("Conv", ["x", "w"], ["y"], name="conv")], "g", [x, w], [y])
    f = tmp_path / "noweights.onnx"
    onnx.save(helper.make_model(g), str(f))
    with pytest.raises(SparsimInputError, match="exactly one image input|carries no weights"):
        from_onnx(f)
    g2 = helper.make_graph([helper.make_node("Conv", ["x", "w"], ["y"], name="conv")], "g", [x], [y])
    onnx.save(helper.make_model(g2), str(f))
    with pytest.raises(SparsimInputError, match="carries no weights"):
        from_onnx(f)


@pytest.mark.parametrize("name,macs_m,params_m", [("mobilenet_v3_large", 219, 5.4), ("mobilenet_v3_small", 56, 2.5)])
def test_mobilenet_v3_matches_the_paper(name, macs_m, params_m):
    """Howard et al. 2019, Tables 3/4: MAdds and parameters at width 1.0, 224 x 224."""
    pytest.importorskip("torch")
    from workloads.mobile_models import zoo_torch_model

    layers = load_mobile_model(name)
    assert abs(sum(L.macs for L in layers) / 1e6 / macs_m - 1) < 0.02
    n_params = sum(p.numel() for p in zoo_torch_model(name).parameters())
    assert abs(n_params / 1e6 / params_m - 1) < 0.03
    assert {L.kh for L in layers if L.op == "dw"} == {3, 5}


def test_elementwise_trace_follows_xnnpack_graph():
    """XNNPACK's fp32-mobilenet-v3-small.cc: conv, hardswish, dw, global pool, conv (ReLU), conv
    (hard-sigmoid clamp), multiply, conv; the first residual block ends in an add."""
    pytest.importorskip("torch")
    from workloads.mobile_models import from_torch, zoo_torch_model

    layers = from_torch(zoo_torch_model("mobilenet_v3_small"), elementwise=True)
    assert [L.op for L in layers[:8]] == ["3x3", "hswish", "dw", "gap", "1x1", "1x1", "mul", "1x1"]
    mul = layers[6]
    assert mul.inputs == (2, 5) and (mul.cin, mul.in_h) == (16, 56)  # the tensor, then the scale
    gap = layers[3]
    assert (gap.out_h, gap.out_w, gap.macs) == (1, 1, 0)
    add = next(i for i, L in enumerate(layers) if L.op == "add")
    a = layers[add]
    block_in = a.inputs[0]
    assert a.inputs[1] == add - 1 and layers[block_in].cout == a.cin and layers[block_in + 1].inputs == (block_in,)
    # without elementwise: exactly the weight layers, same order and shapes
    plain = from_torch(zoo_torch_model("mobilenet_v3_small"))
    kept = [L for L in layers if L.weight.size]
    def shape(ls):
        return [(L.name, L.op, L.cin, L.cout, L.in_h) for L in ls]

    assert shape(plain) == shape(kept)
    assert all(not L.inputs for L in plain)
    v2 = from_torch(zoo_torch_model("mobilenet_v2"), (3, 64, 64), elementwise=True)
    assert sum(L.op == "add" for L in v2) == 10 and sum(L.op == "gap" for L in v2) == 1
