"""Host kernels for mobile CNN layers (batch 1, CHW, float32): dense and sparse, really executed.

Why real kernels: a sparsity pattern only pays if a kernel can turn skipped weights into skipped
work; these kernels are what the core model (:mod:`simulator.mobile.config`, next) times, and they run
here for real so their results and host speed can be checked.

- ``dense_conv``: im2col + one BLAS GEMM (numpy), the baseline.
- ``spmm_unstructured``: XNNPACK-style 1x1 conv as SpMM in CHW: per output channel, per non-zero
  weight, broadcast the weight and FMA it into the row of pixels (vectorised over pixels).
- ``spmm_block``: MNN-style 1x4 (or XNNPACK 2-wide) blocks: per block of b output channels and one
  input channel, b weights times one row of input pixels into b output rows.
- ``spmm_group``: our group kernel for 1x1 conv and FC: same storage as 1x4 (G = 4 outputs share
  one input-channel list), computed pixel tile by pixel tile, so a tile of the input stays in L1
  while every group consumes it and the 4 x tile accumulators stay hot.
- ``conv3x3_group``: group pattern for k x k conv: a group keeps whole input-channel kernels;
  direct convolution over the kept input channels only.
- ``depthwise3x3``: depthwise k x k (stride 1 or 2), with an optional kernel-position mask.
- ``eltwise``: the weightless operators an engine runs as passes of their own (hard-swish,
  residual add, per-channel scale, global average pooling), vectorised numpy; never pruned, so
  they cost the same dense and sparse and are timed only to put them beside the weight layers.

Compressed formats come from :func:`compress_csr`, :func:`compress_blocks`,
:func:`compress_group3x3`; every kernel is checked against :func:`reference_conv` (numpy).
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = [
    "reference_conv",
    "dense_conv",
    "compress_csr",
    "compress_blocks",
    "compress_group3x3",
    "spmm_unstructured",
    "spmm_block",
    "spmm_group",
    "conv3x3_group",
    "depthwise3x3",
    "eltwise",
]


def reference_conv(x: np.ndarray, w: np.ndarray, stride: int = 1, pad: int = 0, groups: int = 1) -> np.ndarray:
    """Plain numpy convolution (float64 accumulation): the oracle. ``x [C, H, W]``, ``w [O, C/g, k, k]``."""
    c, h, wd = x.shape
    o, cg, k, _ = w.shape
    xp = np.pad(x.astype(np.float64), ((0, 0), (pad, pad), (pad, pad)))
    ho = (h + 2 * pad - k) // stride + 1
    wo = (wd + 2 * pad - k) // stride + 1
    y = np.zeros((o, ho, wo))
    og = o // groups
    for g in range(groups):
        xs = xp[g * cg : (g + 1) * cg]
        for i in range(k):
            for j in range(k):
                patch = xs[:, i : i + stride * ho : stride, j : j + stride * wo : stride]  # [cg, ho, wo]
                y[g * og : (g + 1) * og] += np.einsum("oc,chw->ohw", w[g * og : (g + 1) * og, :, i, j], patch)
    return y


def _im2col(x: np.ndarray, k: int, stride: int, pad: int) -> np.ndarray:
    c, h, wd = x.shape
    xp = np.pad(x, ((0, 0), (pad, pad), (pad, pad)))
    ho = (h + 2 * pad - k) // stride + 1
    wo = (wd + 2 * pad - k) // stride + 1
    cols = np.empty((c, k, k, ho, wo), dtype=x.dtype)
    for i in range(k):
        for j in range(k):
            cols[:, i, j] = xp[:, i : i + stride * ho : stride, j : j + stride * wo : stride]
    return cols.reshape(c * k * k, ho * wo)


def dense_conv(x: np.ndarray, w: np.ndarray, stride: int = 1, pad: int = 0) -> np.ndarray:
    """im2col + BLAS (``groups = 1``); 1x1 stride 1 needs no im2col."""
    o, c, k, _ = w.shape
    h, wd = x.shape[1:]
    ho = (h + 2 * pad - k) // stride + 1
    wo = (wd + 2 * pad - k) // stride + 1
    cols = x.reshape(c, h * wd) if (k == 1 and stride == 1 and pad == 0) else _im2col(x, k, stride, pad)
    return (w.reshape(o, -1) @ cols).reshape(o, ho, wo)


# ------------------------------------------------------------------------------------ formats


def compress_csr(w2: np.ndarray):
    """Unstructured ``[O, C]`` weight -> (ptr, idx, val) per output channel."""
    nz = w2 != 0
    ptr = np.zeros(w2.shape[0] + 1, dtype=np.int64)
    np.cumsum(nz.sum(axis=1), out=ptr[1:])
    rows, cols = np.nonzero(nz)
    return ptr, cols.astype(np.int64), w2[rows, cols].astype(np.float32)


def compress_blocks(w2: np.ndarray, b: int):
    """``[O, C]`` weight whose zeros come in b-row blocks -> (ptr per block row, input channel per
    block, values ``[blocks, b]``). O must be a multiple of b (pad with zero channels)."""
    o, c = w2.shape
    g = w2.reshape(o // b, b, c)
    keep = (g != 0).any(axis=1)  # [O/b, C]
    ptr = np.zeros(o // b + 1, dtype=np.int64)
    np.cumsum(keep.sum(axis=1), out=ptr[1:])
    gi, ci = np.nonzero(keep)
    vals = g[gi, :, ci].astype(np.float32)  # [blocks, b]
    return ptr, ci.astype(np.int64), np.ascontiguousarray(vals)


def compress_group3x3(w: np.ndarray, g: int = 4):
    """k x k conv whose zeros are whole input-channel kernels per group of g outputs ->
    (ptr per group, input channel per kept kernel, values ``[kept, g, k, k]``)."""
    o, c, k, _ = w.shape
    gw = w.reshape(o // g, g, c, k, k)
    keep = (gw != 0).any(axis=(1, 3, 4))
    ptr = np.zeros(o // g + 1, dtype=np.int64)
    np.cumsum(keep.sum(axis=1), out=ptr[1:])
    gi, ci = np.nonzero(keep)
    vals = np.ascontiguousarray(gw[gi, :, ci].astype(np.float32))  # [kept, g, k, k]
    return ptr, ci.astype(np.int64), vals


# ------------------------------------------------------------------------------------ kernels


@numba.njit(cache=True, fastmath=True)
def spmm_unstructured(x2, ptr, idx, val, out_ch):
    """``y[O, P] = W x2`` with W in CSR rows; x2 is ``[C, P]``."""
    p = x2.shape[1]
    y = np.zeros((out_ch, p), dtype=np.float32)
    for o in range(out_ch):
        for t in range(ptr[o], ptr[o + 1]):
            wv = val[t]
            xr = x2[idx[t]]
            for q in range(p):
                y[o, q] += wv * xr[q]
    return y


@numba.njit(cache=True, fastmath=True)
def spmm_block(x2, ptr, idx, vals, out_ch):
    """Blocks of b output channels x one input channel (b = vals.shape[1])."""
    p = x2.shape[1]
    b = vals.shape[1]
    y = np.zeros((out_ch, p), dtype=np.float32)
    for gb in range(ptr.shape[0] - 1):
        for t in range(ptr[gb], ptr[gb + 1]):
            xr = x2[idx[t]]
            for r in range(b):
                wv = vals[t, r]
                yr = y[gb * b + r]
                for q in range(p):
                    yr[q] += wv * xr[q]
    return y


@numba.njit(cache=True, fastmath=True)
def spmm_group(x2, ptr, idx, vals, out_ch, tile=128):
    """Groups of 4 outputs sharing an input-channel list, computed pixel tile by pixel tile: the
    tile of every input row stays in L1 while all groups consume it, and each kept input channel
    is loaded once for 4 outputs (4 FMAs per input load, 4 weights in one vector register)."""
    p = x2.shape[1]
    y = np.zeros((out_ch, p), dtype=np.float32)
    for p0 in range(0, p, tile):
        e = min(p0 + tile, p)
        n = e - p0
        for gb in range(ptr.shape[0] - 1):
            for t in range(ptr[gb], ptr[gb + 1]):
                xr = x2[idx[t], p0:e]
                for r in range(4):
                    wv = vals[t, r]
                    yr = y[gb * 4 + r, p0:e]
                    for q in range(n):  # from 0: numba knows q >= 0, so the loop vectorises
                        yr[q] += wv * xr[q]
    return y


@numba.njit(cache=True, fastmath=True, inline="always")
def _tap(y_plane, x_plane, wv, i, j, ho, wo, stride):
    """One kernel tap of a direct convolution: ``y += wv * x`` shifted by ``(i, j)``, strided."""
    for yy in range(ho):
        row = x_plane[yy * stride + i]
        out = y_plane[yy]
        for xx in range(wo):
            out[xx] += wv * row[xx * stride + j]


@numba.njit(cache=True, fastmath=True)
def conv3x3_group(xp, ptr, idx, vals, out_ch, ho, wo, stride):
    """k x k conv over kept input-channel kernels; ``xp`` is the padded input ``[C, Hp, Wp]``."""
    k = vals.shape[2]
    y = np.zeros((out_ch, ho, wo), dtype=np.float32)
    for gb in range(ptr.shape[0] - 1):
        for t in range(ptr[gb], ptr[gb + 1]):
            c = idx[t]
            for r in range(4):
                o = gb * 4 + r
                for i in range(k):
                    for j in range(k):
                        wv = vals[t, r, i, j]
                        if wv != 0.0:
                            _tap(y[o], xp[c], wv, i, j, ho, wo, stride)
    return y


@numba.njit(cache=True, fastmath=True)
def depthwise3x3(xp, w, ho, wo, stride):
    """Depthwise k x k over the padded input ``[C, Hp, Wp]``; zero weights are skipped."""
    c, k = w.shape[0], w.shape[2]
    y = np.zeros((c, ho, wo), dtype=np.float32)
    for ch in range(c):
        for i in range(k):
            for j in range(k):
                wv = w[ch, 0, i, j]
                if wv != 0.0:
                    _tap(y[ch], xp[ch], wv, i, j, ho, wo, stride)
    return y


def eltwise(kind: str, x: np.ndarray, b: np.ndarray | None = None) -> np.ndarray:
    """One element-wise operator on ``x[C, H, W]`` as the engines compute it (fp32 throughout):
    ``hswish`` ``x * min(max(x + 3, 0), 6) / 6`` (Howard et al. 2019, eq. 2; XNNPACK multiplies by
    1/6), ``add`` ``x + b`` (same shape), ``mul`` ``x * b`` with ``b[C]`` one scale per channel
    (squeeze-excite), ``gap`` the mean over the plane, ``[C, 1, 1]``."""
    if kind == "hswish":
        return x * (np.clip(x + np.float32(3), 0, 6) * np.float32(1 / 6))
    if kind == "add":
        return x + b
    if kind == "mul":
        return x * b.reshape(-1, 1, 1)
    if kind == "gap":
        return x.mean(axis=(1, 2), keepdims=True, dtype=np.float32)
    raise ValueError(f"eltwise kind {kind!r}: hswish, add, mul or gap")
