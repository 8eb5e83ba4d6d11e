"""``sparsim mobile``: a real run, and one line + exit 2 for bad input."""

from __future__ import annotations

import json

import pytest

from simulator.cli import main

pytest.importorskip("torch")


def test_mobile_run(tmp_path, capsys):
    out = tmp_path / "run"
    rc = main(["mobile", "--model", "mobilenet_v1", "--engine", "group", "--sparsity", "0.5",
               "--input", "3,64,64", "--measure-host", "--out", str(out)])  # fmt: skip
    assert rc == 0
    s = json.loads((out / "summary.json").read_text())
    assert s["rearranged"] and s["kept_after"] >= s["kept_before"]
    assert s["speedup_vs_dense"] > 1.0
    assert s["host_layers_measured"] == 28
    import pandas as pd

    t = pd.read_csv(out / "layers.csv")
    assert len(t) == 28 and (t.cycles > 0).all() and t.host_seconds.notna().all()
    assert "speed-up" in capsys.readouterr().out


@pytest.mark.parametrize(
    "args,needle",
    [
        (["--sparsity", "1.0"], "sparsity = 1.0"),
        (["--sparsity", "-0.2"], "sparsity = -0.2"),
        (["--sparsity", "lots"], "sparsity = 'lots'"),
        (["--engine", "diagonal"], "engine = 'diagonal'"),
        (["--model", "alexnet"], "model = 'alexnet'"),
        (["--input", "3,64"], "input = '3,64'"),
    ],
)
def test_bad_input(tmp_path, capsys, args, needle):
    base = {"--model": "mobilenet_v1", "--engine": "group", "--sparsity": "0.5", "--input": "3,32,32"}
    for i in range(0, len(args), 2):
        base[args[i]] = args[i + 1]
    argv = ["mobile", *[x for kv in base.items() for x in kv], "--out", str(tmp_path / "o")]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and needle in err[0]
    assert not (tmp_path / "o").exists()


def test_onnx_without_weights_exit_2(tmp_path, capsys):
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4, 8, 8])
    g = helper.make_graph([helper.make_node("Conv", ["x", "w"], ["y"], name="c")], "g", [x], [y])
    f = tmp_path / "m.onnx"
    onnx.save(helper.make_model(g), str(f))
    assert main(["mobile", "--model", str(f), "--engine", "dense", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "carries no weights" in err[0]


def test_channel_padding_none_refuses_odd_channels(tmp_path, capsys):
    onnx = pytest.importorskip("onnx")
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 8, 4, 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 6, 4, 4])
    w = numpy_helper.from_array(np.ones((6, 8, 1, 1), np.float32), "w")
    g = helper.make_graph([helper.make_node("Conv", ["x", "w"], ["y"], name="c")], "g", [x], [y], [w])
    f = tmp_path / "m.onnx"
    onnx.save(helper.make_model(g), str(f))
    argv = ["mobile", "--model", str(f), "--engine", "group", "--sparsity", "0.5", "--out", str(tmp_path / "o")]
    assert main([*argv, "--channel-padding", "none"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "output channels = 6" in err[0]
    assert main(argv) == 0


def test_mobilenet_v3_runs_with_5x5_depthwise_and_squeeze_excite(tmp_path):
    """v3 Small: 5 x 5 depthwise kernels and squeeze-excite FCs on one pixel, pruned, rearranged
    (the squeeze-excite multiply freezes its channel spaces), modelled and measured."""
    import pandas as pd

    out = tmp_path / "v3"
    assert main(["mobile", "--model", "mobilenet_v3_small", "--engine", "group", "--sparsity", "0.5",
                 "--input", "3,64,64", "--measure-host", "--out", str(out)]) == 0  # fmt: skip
    t = pd.read_csv(out / "layers.csv")
    assert set(t.k[t.op == "dw"]) == {"3x3", "5x5"}
    assert (t.cycles > 0).all() and (t.out_hw[t.op == "1x1"] == "1x1").any()
    s = json.loads((out / "summary.json").read_text())
    assert s["kept_after"] >= s["kept_before"]


def test_elementwise_adds_the_weightless_operators_and_keeps_the_weight_layers(tmp_path, capsys):
    """``--elementwise``: v3 Small gains its hard-swish, SE scale, pooling and residual adds as rows
    of their own (no MACs, modelled and measured), and its weight layers are the same ones."""
    import pandas as pd

    runs = {}
    for flag in ([], ["--elementwise"]):
        out = tmp_path / f"v3{len(flag)}"
        assert main(["mobile", "--model", "mobilenet_v3_small", "--engine", "group", "--sparsity", "0.5",
                     "--input", "3,64,64", "--measure-host", *flag, "--out", str(out)]) == 0  # fmt: skip
        runs[len(flag)] = pd.read_csv(out / "layers.csv")
    plain, ew = runs[0], runs[1]
    extra = ew[ew.op.isin(["hswish", "add", "mul", "gap"])]
    assert set(extra.op) == {"hswish", "add", "mul", "gap"}
    assert (extra.macs == 0).all() and (extra.cycles > 0).all() and extra.host_seconds.notna().all()
    weights = ew[~ew.index.isin(extra.index)]
    assert list(weights.layer) == list(plain.layer) and list(weights.macs) == list(plain.macs)
    assert "element-wise" in capsys.readouterr().out


def test_elementwise_refused_on_a_model_without_a_torch_graph(tmp_path, capsys):
    pytest.importorskip("onnx")
    argv = ["mobile", "--model", "ppocr_cls", "--engine", "dense", "--elementwise", "--out", str(tmp_path / "o")]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "elementwise" in err[0] and "'ppocr_cls'" in err[0] and "zoo model" in err[0]
    assert not (tmp_path / "o").exists()
