"""BDWP: the masks are N:M in the right direction, and the backward really uses the BP mask."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch", reason="torch extra not installed")

from workloads.bdwp import BDWPConv2d, BDWPLinear, bp_mask, ff_mask, nm_mask, transposable_mask  # noqa: E402


def _groups_ok(mask: torch.Tensor, n: int, m: int, dim: int, exact: bool = True) -> bool:
    a = mask.movedim(dim, -1)
    size = a.shape[-1] // m * m
    cnt = a[..., :size].reshape(*a.shape[:-1], -1, m).sum(-1)
    return bool((cnt == n).all()) if exact else bool((cnt <= n).all())


@pytest.mark.parametrize("n,m", [(2, 4), (2, 8), (1, 4)])
def test_ff_and_bp_masks_are_nm_along_their_reduced_dims(n, m):
    w = torch.randn(16, 24, 3, 3, generator=torch.Generator().manual_seed(0))
    assert _groups_ok(ff_mask(w, n, m), n, m, dim=1)  # along Cin
    assert _groups_ok(bp_mask(w, n, m), n, m, dim=0)  # along Cout
    assert not _groups_ok(ff_mask(w, n, m), n, m, dim=0, exact=False) or n == m


def test_mask_keeps_largest_magnitudes_and_pads():
    w = torch.tensor([[1.0, -7.0, 3.0, 5.0, 0.5, 2.0]])
    assert nm_mask(w, 2, 4, dim=1).tolist() == [[False, True, False, True, True, True]]


def test_transposable_mask_both_ways():
    w = torch.randn(16, 16, 3, 3, generator=torch.Generator().manual_seed(1))
    t = transposable_mask(w, 2, 4)
    assert _groups_ok(t, 2, 4, dim=0, exact=False) and _groups_ok(t, 2, 4, dim=1, exact=False)
    assert t.float().mean() > 0.4  # greedy keeps nearly N of every M


def test_linear_backward_uses_bp_mask_and_dense_weight_grad():
    torch.manual_seed(0)
    lin = BDWPLinear(16, 8, scheme="bdwp", n=2, m=4)
    x = torch.randn(5, 16, requires_grad=True)
    gy = torch.randn(5, 8)
    y = lin(x)
    mf, mb = lin.masks()
    torch.testing.assert_close(y, x @ (lin.weight * mf).t() + lin.bias)
    y.backward(gy)
    torch.testing.assert_close(x.grad, gy @ (lin.weight * mb))  # BP mask, not FF
    assert not torch.allclose(x.grad, gy @ (lin.weight * mf))
    torch.testing.assert_close(lin.weight.grad, gy.t() @ x.detach())  # dense, straight-through


def test_conv_backward_uses_bp_mask():
    torch.manual_seed(0)
    conv = BDWPConv2d(8, 8, 3, padding=1, scheme="bdwp", n=1, m=4)
    x = torch.randn(2, 8, 6, 6, requires_grad=True)
    gy = torch.randn(2, 8, 6, 6)
    conv(x).backward(gy)
    _, mb = conv.masks()
    ref = torch.nn.grad.conv2d_input(x.shape, conv.weight * mb, gy, 1, 1)
    torch.testing.assert_close(x.grad, ref)
    dense_w = torch.nn.grad.conv2d_weight(x.detach(), conv.weight.shape, gy, 1, 1)
    torch.testing.assert_close(conv.weight.grad, dense_w)


def test_srste_decay_on_pruned_weights():
    torch.manual_seed(0)
    a = BDWPLinear(8, 4, scheme="bdwp", n=1, m=4)
    b = BDWPLinear(8, 4, scheme="bdwp", n=1, m=4, srste_lambda=0.1)
    b.load_state_dict(a.state_dict())
    x, gy = torch.randn(3, 8), torch.randn(3, 4)
    a(x).backward(gy)
    b(x).backward(gy)
    mf, _ = a.masks()
    torch.testing.assert_close(b.weight.grad - a.weight.grad, 0.1 * (~mf) * a.weight.detach())


def test_forward_only_backward_uses_ff_mask():
    lin = BDWPLinear(16, 8, scheme="forward-only", n=2, m=4)
    x = torch.randn(3, 16, requires_grad=True)
    gy = torch.randn(3, 8)
    lin(x).backward(gy)
    mf, mb = lin.masks()
    assert torch.equal(mf, mb)
    torch.testing.assert_close(x.grad, gy @ (lin.weight * mf))
