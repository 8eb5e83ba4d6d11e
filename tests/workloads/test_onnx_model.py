"""Issue 17: ONNX lowered from shapes, whatever produces the weights.

- every zoo model exported by both torch exporters traces to the GEMMs of its torch trace;
- the three PP-OCR models in rapidocr-onnxruntime trace, their MACs equal an independent count
  from onnxruntime's shapes;
- symbolic batch and sequence are bound by --batch/--seq-len (one line without them);
- hand-built graphs for every weight-producing pattern and quantized op;
- every ONNX file in the installed dependencies traces or is refused with one clear error.
"""

from __future__ import annotations

import importlib
import math
import site
import warnings
from pathlib import Path

import numpy as np
import pytest

onnx = pytest.importorskip("onnx", reason="onnx extra not installed")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from simulator.cli import main  # noqa: E402
from simulator.common.errors import SparsimInputError  # noqa: E402
from workloads.lowering import lower_to_gemms  # noqa: E402
from workloads.trace_onnx import einsum_dims, trace_onnx  # noqa: E402

COLS = ["op", "count", "gemm_m", "gemm_k", "gemm_n"]


def _save(tmp_path: Path, nodes, inputs, outputs, inits=(), opset=17, name="m.onnx") -> Path:
    g = helper.make_graph(nodes, "g", inputs, outputs, list(inits))
    p = tmp_path / name
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)]), str(p))
    return p


def _vi(name, shape, t=TensorProto.FLOAT):
    return helper.make_tensor_value_info(name, t, shape)


def _gemms(path, **kw):
    return lower_to_gemms(trace_onnx(path, **kw).layers)


# ---------------------------------------------------------------- zoo exports, both exporters
torch = None


def _torch():
    return pytest.importorskip("torch", reason="torch extra not installed")


def _zoo(name):
    from workloads.zoo import ZOO

    t = _torch()
    mod, builder, kind = ZOO[name]
    model = getattr(importlib.import_module(f"workloads.zoo.{mod}"), builder)().eval()
    x = t.randn(1, 3, 224, 224) if kind == "image" else t.zeros(1, 16, dtype=t.long)
    return model, x


def _check_export(tmp_path, name, dynamo):
    from workloads.trace_torch import trace_module

    t = _torch()
    model, x = _zoo(name)
    path = tmp_path / f"{name}.onnx"
    with warnings.catch_warnings(), t.no_grad():
        warnings.simplefilter("ignore")
        t.onnx.export(model, (x,), str(path), dynamo=dynamo)
    via_onnx = _gemms(path)[COLS]
    via_torch = lower_to_gemms(trace_module(model, x).layers)[COLS]
    assert via_onnx.values.tolist() == via_torch.values.tolist()


ZOO_NAMES = ["resnet18", "resnet50", "vgg16", "mobilenet_v1", "mobilenet_v2", "bert_base", "minilm_l6", "vit_b16",
             "gpt2_small"]  # fmt: skip


@pytest.mark.filterwarnings("ignore")
@pytest.mark.parametrize("name", ZOO_NAMES)
def test_zoo_torchscript_export_traces_to_the_torch_gemms(tmp_path, name):
    _check_export(tmp_path, name, dynamo=False)


@pytest.mark.filterwarnings("ignore")
@pytest.mark.parametrize("name", ZOO_NAMES)
def test_zoo_dynamo_export_traces_to_the_torch_gemms(tmp_path, name):
    pytest.importorskip("onnxscript", reason="the dynamo exporter needs onnxscript (onnx extra)")
    _check_export(tmp_path, name, dynamo=True)


def test_every_zoo_model_is_covered():
    from workloads.zoo import ZOO

    assert set(ZOO_NAMES) == set(ZOO)


# ---------------------------------------------------------------- PP-OCR
def _independent_macs(path: Path, shape: tuple[int, ...]) -> int:
    """MACs of every Conv/ConvTranspose/MatMul/Gemm from onnxruntime's actual tensor shapes
    (every intermediate made a graph output), written apart from the tracer."""
    ort = pytest.importorskip("onnxruntime")
    m = onnx.load(str(path))
    names = {o for n in m.graph.node for o in list(n.input) + list(n.output) if o}
    inits = {t.name: tuple(t.dims) for t in m.graph.initializer}
    consts = {}
    for n in m.graph.node:
        if n.op_type == "Constant":
            consts[n.output[0]] = tuple(numpy_helper.to_array(n.attribute[0].t).shape)
    have = {o.name for o in m.graph.output}
    for t in sorted(names - have - set(inits) - set(consts)):
        m.graph.output.append(helper.make_empty_tensor_value_info(t))
    ort.set_default_logger_severity(3)
    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    sess = ort.InferenceSession(m.SerializeToString(), opts, providers=["CPUExecutionProvider"])
    inp = sess.get_inputs()[0].name
    outs = sess.run(None, {inp: np.zeros(shape, dtype=np.float32)})
    shp = {o.name: v.shape for o, v in zip(sess.get_outputs(), outs, strict=True)} | inits | consts
    total = 0
    for n in m.graph.node:
        a = {x.name: helper.get_attribute_value(x) for x in n.attribute}
        if n.op_type == "Conv":
            w, y = shp[n.input[1]], shp[n.output[0]]
            total += math.prod(y) * math.prod(w[1:])
        elif n.op_type == "ConvTranspose":
            x, w = shp[n.input[0]], shp[n.input[1]]
            total += math.prod(x) * math.prod(w[1:])
        elif n.op_type == "MatMul":
            total += math.prod(shp[n.output[0]]) * shp[n.input[0]][-1]
        elif n.op_type == "Gemm":
            xa = shp[n.input[0]]
            total += math.prod(shp[n.output[0]]) * (xa[0] if a.get("transA", 0) else xa[-1])
    return total


@pytest.mark.parametrize("model", ["ppocr_det", "ppocr_rec", "ppocr_cls"])
def test_ppocr_models_trace_and_their_macs_are_the_independent_count(model, tmp_path, capsys):
    from workloads.mobile_models import MOBILE_MODELS, ppocr_path

    file_name, chw = MOBILE_MODELS[model]
    try:
        path = ppocr_path(file_name)
    except SparsimInputError:
        pytest.skip("rapidocr-onnxruntime not installed")
    g = _gemms(path, batch=1, input_shapes={"": chw})
    assert int(g.dense_macs.sum()) == _independent_macs(path, (1, *chw))
    out = tmp_path / "t.csv"
    shape = ",".join(map(str, chw))
    assert main(["trace", str(path), "--batch", "1", "--input-shape", shape, "--out", str(out)]) == 0
    assert f"{g.dense_macs.sum() / 1e9:.3f} GMAC" in capsys.readouterr().out
    assert main(["trace", str(path), "--out", str(tmp_path / "u.csv")]) == 2  # symbolic dims unbound
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "dimension" in err[0] and not (tmp_path / "u.csv").exists()


# ---------------------------------------------------------------- symbolic dimensions
@pytest.mark.filterwarnings("ignore")
def test_symbolic_batch_and_sequence(tmp_path, capsys):
    t = _torch()
    from workloads.trace_torch import trace_module
    from workloads.zoo.transformer import minilm_l6

    model = minilm_l6().eval()
    path = tmp_path / "minilm.onnx"
    with t.no_grad():
        t.onnx.export(model, (t.zeros(2, 16, dtype=t.long),), str(path), dynamo=False, input_names=["ids"],
                      dynamic_axes={"ids": {0: "batch", 1: "sequence"}})  # fmt: skip
    out = tmp_path / "t.csv"
    assert main(["trace", str(path), "--batch", "8", "--seq-len", "128", "--out", str(out)]) == 0
    via_torch = lower_to_gemms(trace_module(model, t.zeros(8, 128, dtype=t.long)).layers)[COLS]
    via_onnx = _gemms(path, batch=8, seq_len=128)[COLS]
    assert via_onnx.values.tolist() == via_torch.values.tolist()
    assert _gemms(path, dims={"batch": 8, "sequence": 128})[COLS].values.tolist() == via_torch.values.tolist()
    capsys.readouterr()
    for argv in (["--batch", "8"], ["--seq-len", "128"], []):
        assert main(["trace", str(path), *argv, "--out", str(tmp_path / "u.csv")]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "input ids dimension" in err[0], err
        assert not (tmp_path / "u.csv").exists()


# ---------------------------------------------------------------- weight producers, hand-built
def _conv_graph(tmp_path, weight_nodes, weight_inits=(), extra_inputs=(), wname="w"):
    x = _vi("x", [1, 3, 8, 8])
    y = _vi("y", None)
    conv = helper.make_node("Conv", ["x", wname], ["y"], name="conv", pads=[1, 1, 1, 1])
    return _save(tmp_path, [*weight_nodes, conv], [x, *extra_inputs], [y], weight_inits)


W = np.arange(4 * 3 * 3 * 3, dtype=np.float32).reshape(4, 3, 3, 3)


@pytest.mark.parametrize("pattern", ["initializer", "constant", "identity_cast", "transpose", "reshape",
                                     "dequantize", "graph_input", "constant_of_shape"])  # fmt: skip
def test_conv_weight_from_any_producer(tmp_path, pattern):
    t = helper.make_tensor
    if pattern == "initializer":
        p = _conv_graph(tmp_path, [], [numpy_helper.from_array(W, "w")])
    elif pattern == "constant":
        p = _conv_graph(tmp_path, [helper.make_node("Constant", [], ["w"], value=numpy_helper.from_array(W))])
    elif pattern == "identity_cast":
        nodes = [helper.make_node("Constant", [], ["w0"], value=numpy_helper.from_array(W.astype(np.float16))),
                 helper.make_node("Identity", ["w0"], ["w1"]),
                 helper.make_node("Cast", ["w1"], ["w"], to=TensorProto.FLOAT)]  # fmt: skip
        p = _conv_graph(tmp_path, nodes)
    elif pattern == "transpose":
        wt = numpy_helper.from_array(np.ascontiguousarray(W.transpose(1, 0, 2, 3)), "wt")
        p = _conv_graph(tmp_path, [helper.make_node("Transpose", ["wt"], ["w"], perm=[1, 0, 2, 3])], [wt])
    elif pattern == "reshape":
        flat = numpy_helper.from_array(W.ravel(), "wf")
        shape = numpy_helper.from_array(np.array([4, 3, 3, 3], dtype=np.int64), "ws")
        p = _conv_graph(tmp_path, [helper.make_node("Reshape", ["wf", "ws"], ["w"])], [flat, shape])
    elif pattern == "dequantize":
        q = numpy_helper.from_array(W.astype(np.int8), "wq")
        s = numpy_helper.from_array(np.array(0.5, dtype=np.float32), "s")
        p = _conv_graph(tmp_path, [helper.make_node("DequantizeLinear", ["wq", "s"], ["w"])], [q, s])
    elif pattern == "graph_input":
        p = _conv_graph(tmp_path, [], extra_inputs=[_vi("w", [4, 3, 3, 3])])
    else:
        shp = numpy_helper.from_array(np.array([4, 3, 3, 3], dtype=np.int64), "shp")
        node = helper.make_node("ConstantOfShape", ["shp"], ["w"], value=t("v", TensorProto.FLOAT, [1], [0.5]))
        p = _conv_graph(tmp_path, [node], [shp])
    g = _gemms(p)
    assert (g.op.tolist(), g.gemm_m.tolist(), g.gemm_k.tolist(), g.gemm_n.tolist()) == (["conv"], [64], [27], [4])
    from workloads.onnx_model import load_onnx

    om = load_onnx(p)
    if pattern != "graph_input":
        assert om.is_constant("w") and om.value("w").shape == (4, 3, 3, 3)
    if pattern in ("initializer", "constant", "identity_cast", "transpose", "reshape"):
        assert np.array_equal(om.value("w"), W)
    if pattern == "dequantize":
        assert np.array_equal(om.value("w"), W.astype(np.int8) * 0.5)


def test_matmul_weight_through_a_chain_is_a_weight_layer_activation_pair_is_not(tmp_path):
    a, b = _vi("a", [2, 5, 16]), _vi("b", [2, 16, 7])
    w = numpy_helper.from_array(np.ones((7, 16), dtype=np.float32), "wt")
    nodes = [helper.make_node("Transpose", ["wt"], ["w"], perm=[1, 0]),
             helper.make_node("MatMul", ["a", "w"], ["y1"], name="weight"),
             helper.make_node("MatMul", ["a", "b"], ["y2"], name="act")]  # fmt: skip
    p = _save(tmp_path, nodes, [a, b], [_vi("y1", None), _vi("y2", None)], [w])
    g = _gemms(p)
    assert g[["op", "count", "gemm_m", "gemm_k", "gemm_n"]].values.tolist() == [["gemm", 1, 10, 16, 7],
                                                                                ["matmul", 2, 5, 16, 7]]  # fmt: skip


def test_quantized_ops(tmp_path):
    i8, u8, f = TensorProto.INT8, TensorProto.UINT8, TensorProto.FLOAT
    x = _vi("x", [1, 3, 8, 8], u8)
    a = _vi("a", [4, 16], u8)
    w = numpy_helper.from_array(W.astype(np.int8), "w")
    b = numpy_helper.from_array(np.ones((16, 6), dtype=np.int8), "b")
    sc = numpy_helper.from_array(np.array(0.1, dtype=np.float32), "sc")
    zu = numpy_helper.from_array(np.array(0, dtype=np.uint8), "zu")
    zi = numpy_helper.from_array(np.array(0, dtype=np.int8), "zi")
    nodes = [
        helper.make_node("QLinearConv", ["x", "sc", "zu", "w", "sc", "zi", "sc", "zu"], ["y1"], name="qconv"),
        helper.make_node("ConvInteger", ["x", "w"], ["y2"], name="iconv"),
        helper.make_node("MatMulInteger", ["a", "b"], ["y3"], name="imm"),
        helper.make_node("QLinearMatMul", ["a", "sc", "zu", "b", "sc", "zi", "sc", "zu"], ["y4"], name="qmm"),
    ]
    outs = [_vi("y1", None, u8), _vi("y2", None, TensorProto.INT32), _vi("y3", None, TensorProto.INT32),
            _vi("y4", None, u8)]  # fmt: skip
    p = _save(tmp_path, nodes, [x, a], outs, [w, b, sc, zu, zi], opset=13)
    g = _gemms(p)
    assert g[["op", "gemm_m", "gemm_k", "gemm_n"]].values.tolist() == [
        ["conv", 36, 27, 4], ["conv", 36, 27, 4], ["gemm", 4, 16, 6], ["gemm", 4, 16, 6]]  # fmt: skip
    del f, i8


def test_einsum(tmp_path):
    q, k = _vi("q", [2, 4, 10, 8]), _vi("k", [2, 4, 12, 8])
    x = _vi("x", [10, 32])
    w = numpy_helper.from_array(np.ones((32, 5), dtype=np.float32), "w")
    nodes = [helper.make_node("Einsum", ["q", "k"], ["s"], equation="bhqd,bhkd->bhqk", name="attn"),
             helper.make_node("Einsum", ["x", "w"], ["y"], equation="ij,jk->ik", name="proj"),
             helper.make_node("Einsum", ["x"], ["t"], equation="ij->ji", name="transpose")]  # fmt: skip
    p = _save(tmp_path, nodes, [q, k, x], [_vi("s", None), _vi("y", None), _vi("t", None)], [w])
    tr = trace_onnx(p)
    g = lower_to_gemms(tr.layers)
    assert g[["op", "count", "gemm_m", "gemm_k", "gemm_n"]].values.tolist() == [["matmul", 8, 10, 8, 12],
                                                                                ["gemm", 1, 10, 32, 5]]  # fmt: skip
    assert any("transpose" == n and "Einsum" in why for n, why in tr.unsupported)
    assert einsum_dims("bij,bjk->bik", (3, 4, 5), (3, 5, 6)) == (3, 4, 5, 6)
    assert einsum_dims("ij,jk->ijk", (4, 5), (5, 6)) == (5, 4, 1, 6)  # batched outer products: K = 1
    assert einsum_dims("ij,jk->k", (4, 5), (5, 6)) is None  # i summed inside one operand: not a matmul
    assert einsum_dims("ii,ij->ij", (4, 4), (4, 5)) is None


def test_subgraphs_are_listed_not_lowered(tmp_path):
    x = _vi("x", [1, 3, 8, 8])
    cond = numpy_helper.from_array(np.array(True), "c")
    w = numpy_helper.from_array(W, "w")
    branch = helper.make_graph([helper.make_node("Conv", ["x", "w"], ["z"])], "b", [], [_vi("z", None)])
    nodes = [helper.make_node("Conv", ["x", "w"], ["y"], name="conv", pads=[1, 1, 1, 1]),
             helper.make_node("If", ["c"], ["o"], name="branchy", then_branch=branch, else_branch=branch)]  # fmt: skip
    p = _save(tmp_path, nodes, [x], [_vi("y", None), _vi("o", None)], [cond, w])
    tr = trace_onnx(p)
    assert len(tr.layers) == 1
    assert ("branchy", "If subgraph (not lowered)") in tr.unsupported


def test_external_data(tmp_path):
    x = _vi("x", [1, 3, 8, 8])
    w = numpy_helper.from_array(np.random.default_rng(0).standard_normal((64, 3, 3, 3)).astype(np.float32), "w")
    g = helper.make_graph([helper.make_node("Conv", ["x", "w"], ["y"], name="conv")], "g", [x], [_vi("y", None)], [w])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    p = tmp_path / "ext.onnx"
    onnx.save(m, str(p), save_as_external_data=True, all_tensors_to_one_file=True, location="ext.data",
              size_threshold=0)  # fmt: skip
    assert (tmp_path / "ext.data").is_file()
    from workloads.onnx_model import load_onnx

    om = load_onnx(p)
    assert np.array_equal(om.value("w"), numpy_helper.to_array(w))
    assert _gemms(p)[["gemm_m", "gemm_k", "gemm_n"]].values.tolist() == [[36, 27, 64]]


# ---------------------------------------------------------------- every ONNX file we ship with
def _installed_onnx_files() -> list[Path]:
    roots = [Path(p) for p in site.getsitepackages()]
    return sorted({f for r in roots for f in r.rglob("*.onnx") if f.is_file()})


def test_every_installed_onnx_file_traces_or_is_refused_cleanly():
    files = _installed_onnx_files()
    if not files:
        pytest.skip("no ONNX files in the installed packages")
    traced = 0
    for f in files:
        try:
            trace_onnx(f, batch=1)
            traced += 1
        except SparsimInputError as err:
            assert str(err.allowed), f
    assert traced >= 1


def test_simulate_takes_an_onnx_workload(tmp_path, capsys):
    p = _conv_graph(tmp_path, [], [numpy_helper.from_array(W, "w")])
    out = tmp_path / "out"
    assert main(["simulate", "--arch", str(Path(__file__).parents[2] / "examples/arch/nm_ws32x32.yaml"),
                 "--workload", str(p), "--out", str(out)]) == 0  # fmt: skip
    import pandas as pd

    t = pd.read_csv(out / "layers.csv")
    assert t[["gemm_m", "gemm_k", "gemm_n"]].values.tolist() == [[64, 27, 4]]


@pytest.mark.parametrize("opset", [7, 9, 11, 13, 17, 21, onnx.defs.onnx_opset_version()])
def test_opsets_seven_to_newest(tmp_path, opset):
    """The same conv + matmul graph at every opset from 7 to the newest this onnx supports."""
    x = _vi("x", [1, 3, 8, 8])
    w = numpy_helper.from_array(W, "w")
    m = numpy_helper.from_array(np.ones((64, 10), dtype=np.float32), "m")
    shape = numpy_helper.from_array(np.array([4, 64], dtype=np.int64), "shape")
    nodes = [helper.make_node("Conv", ["x", "w"], ["y"], name="conv", pads=[1, 1, 1, 1]),
             helper.make_node("Reshape", ["y", "shape"], ["f"], name="flat"),
             helper.make_node("MatMul", ["f", "m"], ["z"], name="fc")]  # fmt: skip
    p = _save(tmp_path, nodes, [x], [_vi("z", None)], [w, m, shape], opset=opset)
    g = _gemms(p)
    assert g[["op", "gemm_m", "gemm_k", "gemm_n"]].values.tolist() == [["conv", 64, 27, 4], ["gemm", 4, 64, 10]]
