"""Sparsity patterns for mobile kernels: units, target sparsity, magnitude order."""

from __future__ import annotations

import numpy as np
import pytest

from simulator.common.errors import SparsimInputError
from workloads.mobile_patterns import kept_magnitude, prune_mask, prune_network

RNG = np.random.default_rng(0)


@pytest.mark.parametrize("pattern", ["unstructured", "block2", "block4", "group"])
@pytest.mark.parametrize(
    "op,shape", [("1x1", (32, 16, 1, 1)), ("3x3", (16, 8, 3, 3)), ("dw", (24, 1, 3, 3)), ("fc", (10, 64))]
)
@pytest.mark.parametrize("s", [0.3, 0.7, 0.95])
def test_target_sparsity_and_units(pattern, op, shape, s):
    w = RNG.standard_normal(shape)
    m = prune_mask(w, pattern, op, s)
    assert m.shape == w.shape
    assert abs((1 - m.mean()) - s) < 0.12  # rounding to whole units
    if pattern != "unstructured":
        b = 2 if pattern == "block2" else 4
        full = m[: m.shape[0] // b * b]  # a last, partial block is checked in test_padding_rule
        g = full.reshape(full.shape[0] // b, b, -1)
        assert (g == g[:, :1]).all()  # every channel of a block shares the pattern
    if pattern == "group" and op == "3x3":
        k = m.reshape(4, 4, 8, 9)
        assert (k == k[..., :1]).all()  # whole input-channel kernels


def test_keeps_the_largest_units():
    w = np.zeros((4, 3, 1, 1))
    w[:, 1] = 5.0
    w[:, 2] = 1.0
    m = prune_mask(w, "block4", "1x1", 2 / 3)
    assert m[:, 1].all() and not m[:, 0].any() and not m[:, 2].any()
    assert kept_magnitude(w, m) == pytest.approx(5 * 4 / (5 * 4 + 4))


def test_padding_rule_for_uneven_channels():
    w = RNG.standard_normal((6, 8, 1, 1))  # 6 channels: groups of 4 padded with 2 zero channels
    m = prune_mask(w, "group", "1x1", 0.5)
    assert m.shape == w.shape and (m[4:6] == m[4:6][:1]).all()


def test_network_scope_gives_layers_their_own_sparsity():
    layers = {"a": (RNG.standard_normal((16, 16, 1, 1)) * 3, "1x1"), "b": (RNG.standard_normal((16, 16, 1, 1)), "1x1")}
    masks = prune_network(layers, "block4", 0.5, scope="network")
    assert masks["a"].mean() > masks["b"].mean()
    total = sum(m.sum() for m in masks.values()) / sum(m.size for m in masks.values())
    assert total == pytest.approx(0.5, abs=0.05)


@pytest.mark.parametrize("kw", [dict(pattern="bogus"), dict(op="5x5"), dict(s=1.0), dict(s=-0.1)])
def test_bad_arguments(kw):
    args = dict(pattern="group", op="1x1", s=0.5) | kw
    with pytest.raises(SparsimInputError):
        prune_mask(np.ones((4, 4, 1, 1)), args["pattern"], args["op"], args["s"])
