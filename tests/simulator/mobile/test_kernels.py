"""Mobile host kernels against the numpy reference convolution."""

from __future__ import annotations

import numpy as np
import pytest

from simulator.mobile.fl import (
    compress_blocks,
    compress_csr,
    compress_group3x3,
    conv3x3_group,
    dense_conv,
    depthwise3x3,
    reference_conv,
    spmm_block,
    spmm_group,
    spmm_unstructured,
)
from workloads.mobile_patterns import prune_mask

RNG = np.random.default_rng(0)


def _close(y, ref):
    np.testing.assert_allclose(y, ref, rtol=2e-4, atol=2e-4 * float(np.abs(ref).max() + 1))


@pytest.mark.parametrize("k,stride,pad", [(1, 1, 0), (3, 1, 1), (3, 2, 1)])
def test_dense(k, stride, pad):
    x = RNG.standard_normal((8, 13, 11)).astype(np.float32)
    w = RNG.standard_normal((12, 8, k, k)).astype(np.float32)
    _close(dense_conv(x, w, stride, pad), reference_conv(x, w, stride, pad))


@pytest.mark.parametrize("s", [0.3, 0.7, 0.95])
@pytest.mark.parametrize("kernel", ["unstructured", "block2", "block4", "group"])
def test_pointwise_sparse(kernel, s):
    x = RNG.standard_normal((32, 9, 10)).astype(np.float32)
    w = RNG.standard_normal((16, 32, 1, 1)).astype(np.float32)
    w = (w * prune_mask(w, kernel, "1x1", s)).astype(np.float32)
    x2 = x.reshape(32, -1)
    w2 = w[:, :, 0, 0]
    if kernel == "unstructured":
        y = spmm_unstructured(x2, *compress_csr(w2), 16)
    elif kernel == "group":
        y = spmm_group(x2, *compress_blocks(w2, 4), 16, 16)
    else:
        y = spmm_block(x2, *compress_blocks(w2, 2 if kernel == "block2" else 4), 16)
    _close(y.reshape(16, 9, 10), reference_conv(x, w))


@pytest.mark.parametrize("stride", [1, 2])
def test_group3x3(stride):
    x = RNG.standard_normal((8, 12, 12)).astype(np.float32)
    w = RNG.standard_normal((8, 8, 3, 3)).astype(np.float32)
    w = (w * prune_mask(w, "group", "3x3", 0.5)).astype(np.float32)
    ho = (12 + 2 - 3) // stride + 1
    xp = np.pad(x, ((0, 0), (1, 1), (1, 1)))
    _close(conv3x3_group(xp, *compress_group3x3(w), 8, ho, ho, stride), reference_conv(x, w, stride, 1))


@pytest.mark.parametrize("stride,sparsity", [(1, 0.0), (2, 0.0), (1, 0.5)])
def test_depthwise(stride, sparsity):
    x = RNG.standard_normal((16, 14, 14)).astype(np.float32)
    w = RNG.standard_normal((16, 1, 3, 3)).astype(np.float32)
    if sparsity:
        w = (w * prune_mask(w, "group", "dw", sparsity)).astype(np.float32)
    ho = (14 + 2 - 3) // stride + 1
    xp = np.pad(x, ((0, 0), (1, 1), (1, 1)))
    _close(depthwise3x3(xp, w, ho, ho, stride), reference_conv(x, w, stride, 1, groups=16))


def test_eltwise_matches_torch():
    """The host element-wise operators against torch's own (hard-swish, add, per-channel scale,
    global average pooling)."""
    torch = pytest.importorskip("torch")
    import torch.nn.functional as F

    from simulator.mobile.fl import eltwise

    x = (RNG.standard_normal((8, 5, 7)) * 4).astype(np.float32)
    b = RNG.standard_normal((8, 5, 7)).astype(np.float32)
    s = RNG.random(8).astype(np.float32)
    t = torch.from_numpy(x)[None]
    ref = {
        "hswish": F.hardswish(t)[0],
        "add": (t + torch.from_numpy(b))[0],
        "mul": (t * torch.from_numpy(s)[None, :, None, None])[0],
        "gap": F.adaptive_avg_pool2d(t, 1)[0],
    }
    for kind, other in (("hswish", None), ("add", b), ("mul", s), ("gap", None)):
        y = eltwise(kind, x, other)
        assert y.dtype == np.float32 and y.shape == ref[kind].shape
        np.testing.assert_allclose(y, ref[kind].numpy(), rtol=1e-6, atol=1e-6)
    with pytest.raises(ValueError, match="relu"):
        eltwise("relu", x)
