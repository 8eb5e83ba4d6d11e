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
