"""Per-layer latency of mobile engines on the modelled core (MobileNet-v1 at 96 x 96 for speed)."""

from __future__ import annotations

import numpy as np
import pytest

from simulator.common.errors import SparsimInputError
from simulator.mobile.latency import measure_host, network_latency, prune_layers

pytest.importorskip("torch")

from workloads.mobile_models import load_mobile_model  # noqa: E402

SHAPE = (3, 96, 96)


@pytest.fixture(scope="module")
def layers():
    return load_mobile_model("mobilenet_v1", SHAPE)


@pytest.fixture(scope="module")
def dense(layers):
    return network_latency(layers, "dense", {})


def test_dense_table(layers, dense):
    assert len(dense) == len(layers) == 28
    assert (dense.cycles > 0).all()
    assert dense.macs.sum() == sum(L.macs for L in layers)
    # the pointwise layers run near the two FMA pipes' peak (8 MAC/cycle), never above it
    pw = dense[dense.op == "1x1"]
    eff = pw.macs / pw.cycles
    assert (eff <= 8.0).all() and eff.max() > 5.0


def test_group_beats_dense_and_more_so_when_sparser(layers, dense):
    t = {}
    for s in (0.3, 0.7):
        t[s] = network_latency(layers, "group", prune_layers(layers, "group", s)).cycles.sum()
    assert dense.cycles.sum() > t[0.3] > t[0.7]


def test_xnnpack_style_needs_high_sparsity(layers, dense):
    """The unstructured CHW kernel loses at 30% and wins at 90% (XNNPACK's 2/3 rule, qualitatively)."""
    lo = network_latency(layers, "unstructured", prune_layers(layers, "unstructured", 0.3))
    hi = network_latency(layers, "unstructured", prune_layers(layers, "unstructured", 0.9))
    pw = dense.op == "1x1"
    assert lo.cycles[pw].sum() > dense.cycles[pw].sum()
    assert hi.cycles[pw].sum() < dense.cycles[pw].sum()


def test_engines_prune_only_their_operators(layers):
    m = prune_layers(layers, "block4", 0.5)
    ops = {L.name: L.op for L in layers}
    assert {ops[n] for n in m} == {"1x1", "fc"}
    g = prune_layers(layers, "group", 0.5)
    assert {ops[n] for n in g} == {"1x1", "3x3", "dw", "fc"}
    for name, mask in g.items():
        assert mask.mean() == pytest.approx(0.5, abs=0.07), name


@pytest.mark.parametrize("bad", [1.0, -0.1, 1.5, True])
def test_bad_sparsity(layers, bad):
    with pytest.raises(SparsimInputError, match="sparsity"):
        prune_layers(layers, "group", bad)


def test_no_padding_rule_refuses_a_non_multiple_of_four(layers):
    from workloads.mobile_models import MobileLayer

    odd = [MobileLayer("odd", "1x1", 8, 6, 1, 1, 1, 0, 4, 4, 4, 4, np.ones((6, 8, 1, 1), np.float32))]
    with pytest.raises(SparsimInputError, match="layer odd: output channels = 6"):
        prune_layers(odd, "group", 0.5, channel_padding="none")
    assert prune_layers(odd, "group", 0.5)["odd"].shape == (6, 8, 1, 1)


def test_host_measurement_runs_every_square_layer(layers):
    few = layers[:4]
    times = measure_host(few, "group", prune_layers(few, "group", 0.5), repeats=1)
    assert all(t is not None and t > 0 for t in times)


def _layer(name, op, inputs, c=8, hw=8):
    from workloads.mobile_models import MobileLayer

    w = np.zeros(0, np.float32) if op in ("add", "mul", "hswish", "gap") else np.ones((c, c, 1, 1), np.float32)
    return MobileLayer(name, op, c, c, 1, 1, 1, 0, hw, hw, hw, hw, w, inputs=inputs)


def test_buffer_plan_is_ping_pong_on_a_chain_and_keeps_live_tensors():
    from simulator.mobile.latency import buffer_plan

    chain = [_layer(f"c{i}", "1x1", (i - 1,)) for i in range(4)]
    assert buffer_plan(chain) == [((0,), 1), ((1,), 0), ((0,), 1), ((1,), 0)]
    # residual: c0 -> c1 -> c2, add(c0, c2): c0's buffer must survive c1 and c2
    res = [_layer("c0", "1x1", (-1,)), _layer("c1", "1x1", (0,)), _layer("c2", "1x1", (1,)),
           _layer("a", "add", (0, 2)), _layer("c3", "1x1", (3,))]  # fmt: skip
    plan = buffer_plan(res)
    assert plan[1] == ((1,), 0) and plan[2] == ((0,), 2) and plan[3] == ((1, 2), 0)
    assert plan[4][0] == (0,) and plan[4][1] != 0


@pytest.mark.parametrize("inputs", [(5,), (-2,), (0,)])
def test_buffer_plan_refuses_forward_references(inputs):
    from simulator.mobile.latency import buffer_plan

    with pytest.raises(SparsimInputError, match="inputs"):  # index 0 may read only the input (-1)
        buffer_plan([_layer("bad", "1x1", inputs)])


def test_elementwise_trace_leaves_weight_layers_unchanged_on_a_chain():
    """MobileNet-v1 has no branch: with its final pooling traced, the buffers are the same
    ping-pong, so every weight layer before it costs exactly the same cycles."""
    pytest.importorskip("torch")
    from workloads.mobile_models import from_torch, zoo_torch_model

    plain = network_latency(from_torch(zoo_torch_model("mobilenet_v1"), (3, 64, 64)), "dense", {})
    ew = network_latency(from_torch(zoo_torch_model("mobilenet_v1"), (3, 64, 64), elementwise=True), "dense", {})
    assert list(ew.op) == list(plain.op[:-1]) + ["gap", "fc"]
    assert ew.cycles[:-2].tolist() == plain.cycles[:-1].tolist()
    assert ew[ew.op == "gap"].cycles.iloc[0] > 0 and ew[ew.op == "gap"].macs.iloc[0] == 0
