"""Bidirectional N:M weight pruning (BDWP) for PyTorch training, and its baselines.

Why (papers.md, "our design"): weight N:M only saves work when its groups run along the reduced
dimension of the GEMM. The forward GEMM reduces over ``Cin*kh*kw``, the input-gradient GEMM over
``Cout``; so BDWP keeps two masks of the same dense weights: ``mask_ff`` (top-N of every M along
``Cin``, at each kernel position) for the forward pass and ``mask_bp`` (top-N of every M along
``Cout``) for the backward data pass. The weight gradient is dense and reaches the dense weights
(straight-through), optionally with SR-STE's decay ``lambda * (1 - mask_ff) * W``. Masks are
recomputed from the dense weights every step.

Schemes: ``bdwp``; ``forward-only`` (SR-STE: the backward uses the forward mask, which is not N:M
along Cout, so the BP GEMM stays dense in hardware); ``transposable`` (one mask N:M along both
dimensions; ours is a greedy selection inside every ``M x M`` block, largest magnitudes first,
which keeps at most N per row and per column); ``dense``.

Grouping along ``Cin`` at a fixed kernel position (rather than along the flattened
``Cin*kh*kw``) is our choice; it matches a channels-last im2col, where Cin is the fastest-varying
index of K, as in NVIDIA's ASP.
"""

from __future__ import annotations

from workloads.trace_torch import require_torch

torch = require_torch()
from torch import nn  # noqa: E402
from torch.nn import functional as F  # noqa: E402, N812

__all__ = ["nm_mask", "ff_mask", "bp_mask", "transposable_mask", "BDWPConv2d", "BDWPLinear", "SCHEMES"]

SCHEMES = ("bdwp", "forward-only", "transposable", "dense")


def nm_mask(w: torch.Tensor, n: int, m: int, dim: int) -> torch.Tensor:
    """Keep the N largest magnitudes in every group of M consecutive entries along ``dim``.

    A dimension that is not a multiple of M is zero-padded (the padding is never kept unless a
    group has fewer than N real entries). Ties go to the lower index (stable sort).
    """
    a = w.detach().abs().movedim(dim, -1)
    size = a.shape[-1]
    groups = -(-size // m)
    pad = groups * m - size
    if pad:
        a = F.pad(a, (0, pad), value=-1.0)
    g = a.reshape(*a.shape[:-1], groups, m)
    idx = g.argsort(dim=-1, descending=True, stable=True)[..., :n]
    keep = torch.zeros_like(g, dtype=torch.bool).scatter_(-1, idx, True)
    keep = keep.reshape(*a.shape[:-1], groups * m)[..., :size]
    return keep.movedim(-1, dim)


def ff_mask(w: torch.Tensor, n: int, m: int) -> torch.Tensor:
    """Forward mask: N:M along input channels (dim 1) of a conv ``[Cout, Cin, kh, kw]`` or linear
    ``[Cout, Cin]`` weight, i.e. along the forward GEMM's reduced dimension."""
    return nm_mask(w, n, m, dim=1)


def bp_mask(w: torch.Tensor, n: int, m: int) -> torch.Tensor:
    """Backward mask: N:M along output channels (dim 0), the input-gradient GEMM's reduced dim."""
    return nm_mask(w, n, m, dim=0)


def transposable_mask(w: torch.Tensor, n: int, m: int) -> torch.Tensor:
    """A mask that is N:M along both Cout (dim 0) and Cin (dim 1) (greedy per ``M x M`` block)."""
    a = w.detach().abs()
    cout, cin = a.shape[0], a.shape[1]
    rest = a.shape[2:]
    a = a.reshape(cout, cin, -1).permute(2, 0, 1)  # [P, Cout, Cin] per kernel position
    go, gi = -(-cout // m), -(-cin // m)
    a = F.pad(a, (0, gi * m - cin, 0, go * m - cout), value=-1.0)
    blocks = a.reshape(a.shape[0], go, m, gi, m).permute(0, 1, 3, 2, 4).reshape(-1, m * m)
    order = blocks.argsort(dim=1, descending=True, stable=True)
    keep = torch.zeros_like(blocks, dtype=torch.bool)
    rows = torch.zeros(blocks.shape[0], m, dtype=torch.long, device=a.device)
    cols = torch.zeros_like(rows)
    ar = torch.arange(blocks.shape[0], device=a.device)
    for rank in range(m * m):
        pos = order[:, rank]
        r, c = pos // m, pos % m
        ok = (rows[ar, r] < n) & (cols[ar, c] < n) & (blocks[ar, pos] >= 0)
        keep[ar[ok], pos[ok]] = True
        rows[ar[ok], r[ok]] += 1
        cols[ar[ok], c[ok]] += 1
    keep = keep.reshape(a.shape[0], go, gi, m, m).permute(0, 1, 3, 2, 4).reshape(a.shape[0], go * m, gi * m)
    keep = keep[:, :cout, :cin].permute(1, 2, 0).reshape(cout, cin, *rest)
    return keep


def _masks(w: torch.Tensor, scheme: str, n: int, m: int) -> tuple[torch.Tensor, torch.Tensor]:
    if scheme == "dense":
        ones = torch.ones_like(w, dtype=torch.bool)
        return ones, ones
    if scheme == "bdwp":
        return ff_mask(w, n, m), bp_mask(w, n, m)
    if scheme == "forward-only":
        f = ff_mask(w, n, m)
        return f, f
    if scheme == "transposable":
        t = transposable_mask(w, n, m)
        return t, t
    raise ValueError(f"unknown scheme {scheme!r}; allowed: {', '.join(SCHEMES)}")


class _BDWPFunction(torch.autograd.Function):
    """y = op(x, W * mask_ff); dX uses W * mask_bp; dW is dense (+ SR-STE decay)."""

    @staticmethod
    def forward(ctx, x, w, b, mask_ff, mask_bp, lam, conv):
        ctx.conv = conv
        ctx.lam = lam
        ctx.save_for_backward(x, w, mask_ff, mask_bp)
        ctx.has_bias = b is not None
        wf = w * mask_ff
        if conv is None:
            return F.linear(x, wf, b)
        stride, padding, dilation, groups = conv
        return F.conv2d(x, wf, b, stride, padding, dilation, groups)

    @staticmethod
    def backward(ctx, gy):
        x, w, mask_ff, mask_bp = ctx.saved_tensors
        wb = w * mask_bp
        if ctx.conv is None:
            gx = gy @ wb
            gw = gy.reshape(-1, gy.shape[-1]).t() @ x.reshape(-1, x.shape[-1])
            gb = gy.reshape(-1, gy.shape[-1]).sum(0) if ctx.has_bias else None
        else:
            stride, padding, dilation, groups = ctx.conv
            gx = torch.nn.grad.conv2d_input(x.shape, wb, gy, stride, padding, dilation, groups)
            gw = torch.nn.grad.conv2d_weight(x, w.shape, gy, stride, padding, dilation, groups)
            gb = gy.sum((0, 2, 3)) if ctx.has_bias else None
        if ctx.lam:
            gw = gw + ctx.lam * (~mask_ff) * w
        return gx, gw, gb, None, None, None, None


class _NMMixin:
    def _setup(self, scheme: str, n: int, m: int, srste_lambda: float) -> None:
        if scheme not in SCHEMES:
            raise ValueError(f"unknown scheme {scheme!r}; allowed: {', '.join(SCHEMES)}")
        self.scheme, self.n, self.m, self.srste_lambda = scheme, n, m, srste_lambda

    def masks(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Current (forward, backward) masks computed from the dense weights."""
        return _masks(self.weight, self.scheme, self.n, self.m)


class BDWPConv2d(nn.Conv2d, _NMMixin):
    """``nn.Conv2d`` trained with N:M masks (see the module docstring)."""

    def __init__(self, *args, scheme: str = "bdwp", n: int = 2, m: int = 4, srste_lambda: float = 0.0, **kw):
        super().__init__(*args, **kw)
        self._setup(scheme, n, m, srste_lambda)

    def forward(self, x):
        mf, mb = self.masks()
        conv = (self.stride, self.padding, self.dilation, self.groups)
        return _BDWPFunction.apply(x, self.weight, self.bias, mf, mb, self.srste_lambda, conv)


class BDWPLinear(nn.Linear, _NMMixin):
    """``nn.Linear`` trained with N:M masks (see the module docstring)."""

    def __init__(self, *args, scheme: str = "bdwp", n: int = 2, m: int = 4, srste_lambda: float = 0.0, **kw):
        super().__init__(*args, **kw)
        self._setup(scheme, n, m, srste_lambda)

    def forward(self, x):
        mf, mb = self.masks()
        return _BDWPFunction.apply(x, self.weight, self.bias, mf, mb, self.srste_lambda, None)
