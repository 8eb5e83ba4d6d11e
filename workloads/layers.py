"""The layer table: one row per layer, the common currency of every sparsim workload.

Why a table: traces from torch/ONNX, SCALE-Sim topologies and hand-built examples all become the
same pandas DataFrame, which lowers to GEMMs (:mod:`workloads.lowering`) and feeds every simulator.
Each row is self-describing: its convolution arithmetic (``compat``) and its sparsity annotation
(``nm_n``, ``nm_m``, ``nm_dim``) travel with it.

Columns
-------
name : str
op : ``"conv"``, ``"gemm"`` or ``"matmul"``. A linear layer is a GEMM (its weight is the stationary
    ``[k, n]`` operand); conv1d is a conv with ``in_h = k_h = 1``. A ``matmul`` multiplies two
    activations (attention's ``Q K^T`` and ``P V``): ``batch * groups`` independent ``[m, k] x [k, n]``
    products (``groups`` = heads), dense only, since there is no weight to prune.
batch : int >= 1
in_h, in_w, in_c : conv input (ignored for gemm, stored as 0)
out_c : conv output channels
k_h, k_w, stride_h, stride_w, pad_h, pad_w, dil_h, dil_w, groups : conv hyper-parameters;
    depthwise is ``groups == in_c == out_c``
gemm_m, gemm_k, gemm_n : GEMM dims per batch element (ops ``gemm``, ``matmul``); a gemm has
    ``batch * gemm_m`` rows and ``groups`` independent weights (1 for a linear layer)
nm_n, nm_m : weight sparsity, at most ``nm_n`` non-zeros in every ``nm_m`` weights; ``1:1`` is dense
nm_dim : the dimension the N:M groups run along; ``"K"``, the reduced (GEMM K) dimension
compat : ``"native"`` (standard convolution arithmetic) or ``"scalesim"`` (SCALE-Sim's rounding
    of output sizes and its N:M condensing, used only for topologies imported from SCALE-Sim)
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

from simulator.common.errors import SparsimInputError

__all__ = [
    "LAYER_COLUMNS",
    "conv_layer",
    "gemm_layer",
    "layer_table",
    "validate_layer_table",
    "conv_output_size",
]

_INT_COLUMNS = (
    "batch",
    "in_h",
    "in_w",
    "in_c",
    "out_c",
    "k_h",
    "k_w",
    "stride_h",
    "stride_w",
    "pad_h",
    "pad_w",
    "dil_h",
    "dil_w",
    "groups",
    "gemm_m",
    "gemm_k",
    "gemm_n",
    "nm_n",
    "nm_m",
)
LAYER_COLUMNS = ("name", "op", *_INT_COLUMNS, "nm_dim", "compat")

#: upper bounds per column (ours): far above any real network, low enough that every product the
#: simulators form stays inside int64 and every per-layer array stays small
_SPATIAL = (1 << 16, "larger than any image or feature map")
_BOUNDS = {
    **{c: _SPATIAL for c in ("in_h", "in_w", "k_h", "k_w", "stride_h", "stride_w", "pad_h", "pad_w", "dil_h", "dil_w")},
    **{c: (1 << 20, "more channels than any network has") for c in ("in_c", "out_c", "groups")},
    "batch": (1 << 20, "a batch of a million"),
    **{c: (1 << 24, "a GEMM side of 16 million") for c in ("gemm_m", "gemm_k", "gemm_n")},
    "nm_n": (1024, "N of N:M"),
    "nm_m": (1024, "M of N:M"),
}
#: dense MACs of one layer: int64 statistics must hold them with room to add a whole network
MAX_LAYER_MACS = 1 << 60

_OPS = ("conv", "gemm", "matmul")
_COMPAT = ("native", "scalesim")
_NM_DIMS = ("K",)


def conv_output_size(size: int, kernel: int, stride: int, pad: int, dilation: int, compat: str) -> int:
    """Output length of one convolution axis.

    ``native``: the standard ``floor((size + 2*pad - dilation*(kernel-1) - 1) / stride) + 1``.
    ``scalesim``: SCALE-Sim's ``ceil((size - kernel + stride) / stride)``, no padding or dilation;
    it rounds up, so its ResNet-18 Conv1 (224, 7x7, stride 2) gives 110, where PyTorch gives 109
    without padding (112 with its padding of 3). Reproduced only for imported SCALE-Sim topologies.
    Returns a value < 1 when the kernel does not fit; callers report that as an error.
    """
    if compat == "scalesim":
        return math.ceil((size - kernel + stride) / stride) if size >= kernel else 0
    return (size + 2 * pad - dilation * (kernel - 1) - 1) // stride + 1


def conv_layer(
    name: str,
    *,
    in_h: int,
    in_w: int,
    in_c: int,
    out_c: int,
    k_h: int,
    k_w: int | None = None,
    stride: int | tuple[int, int] = 1,
    padding: int | tuple[int, int] = 0,
    dilation: int | tuple[int, int] = 1,
    groups: int = 1,
    batch: int = 1,
    nm: tuple[int, int] = (1, 1),
    compat: str = "native",
) -> dict[str, Any]:
    """One conv row (a dict for :func:`layer_table`)."""
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    dh, dw = (dilation, dilation) if isinstance(dilation, int) else dilation
    return dict(
        name=name,
        op="conv",
        batch=batch,
        in_h=in_h,
        in_w=in_w,
        in_c=in_c,
        out_c=out_c,
        k_h=k_h,
        k_w=k_h if k_w is None else k_w,
        stride_h=sh,
        stride_w=sw,
        pad_h=ph,
        pad_w=pw,
        dil_h=dh,
        dil_w=dw,
        groups=groups,
        gemm_m=0,
        gemm_k=0,
        gemm_n=0,
        nm_n=nm[0],
        nm_m=nm[1],
        nm_dim="K",
        compat=compat,
    )


def gemm_layer(
    name: str,
    *,
    m: int,
    k: int,
    n: int,
    batch: int = 1,
    nm: tuple[int, int] = (1, 1),
    compat: str = "native",
    op: str = "gemm",
    groups: int = 1,
) -> dict[str, Any]:
    """One GEMM row: ``[batch*m, k] x [k, n]``, the weight being the ``[k, n]`` operand.

    With ``op="matmul"``: ``batch * groups`` products of two activations (no weight).
    """
    return dict(
        name=name,
        op=op,
        batch=batch,
        in_h=0,
        in_w=0,
        in_c=0,
        out_c=0,
        k_h=0,
        k_w=0,
        stride_h=0,
        stride_w=0,
        pad_h=0,
        pad_w=0,
        dil_h=0,
        dil_w=0,
        groups=groups,
        gemm_m=m,
        gemm_k=k,
        gemm_n=n,
        nm_n=nm[0],
        nm_m=nm[1],
        nm_dim="K",
        compat=compat,
    )


def layer_table(rows: Iterable[Mapping[str, Any]], source: str = "layers") -> pd.DataFrame:
    """Build and validate a layer table from row dicts."""
    df = pd.DataFrame(list(rows))
    if df.empty:
        raise SparsimInputError(source, "layers", 0, "at least one layer is required")
    return validate_layer_table(df, source)


def _row_label(source: str, df: pd.DataFrame, i: int) -> str:
    return f"{source} layer {i} ({df['name'].iloc[i]!s})"


def validate_layer_table(df: pd.DataFrame, source: str = "layers") -> pd.DataFrame:
    """Check every column and every row; return a copy with canonical column order and dtypes.

    Raises :class:`SparsimInputError` naming the layer, the field, the value and what is allowed.
    """
    missing = [c for c in LAYER_COLUMNS if c not in df.columns]
    if missing:
        raise SparsimInputError(
            source, "columns", missing[0], f"missing; a layer table has: {', '.join(LAYER_COLUMNS)}"
        )
    if len(df) == 0:
        raise SparsimInputError(source, "layers", 0, "at least one layer is required")
    out = df.loc[:, list(LAYER_COLUMNS)].reset_index(drop=True).copy()
    for col in _INT_COLUMNS:
        values = out[col].tolist()
        hi, why = _BOUNDS[col]
        for i, v in enumerate(values):
            ok = isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) and float(v).is_integer()
            if not ok or not 0 <= v <= hi:
                raise SparsimInputError(
                    _row_label(source, out, i), col, v, f"must be an integer from 0 to {hi} ({why})"
                )
        out[col] = out[col].astype("int64")
    out["name"] = out["name"].astype(str)
    for i in range(len(out)):
        _validate_row(out.iloc[i], _row_label(source, out, i))
    return out


def _dense_macs(r: pd.Series) -> int:
    """The layer's dense MACs in Python integers (no overflow), as :mod:`workloads.lowering` counts."""
    b, g = int(r.batch), int(r.groups)
    if r.op == "conv":
        ho = conv_output_size(int(r.in_h), int(r.k_h), int(r.stride_h), int(r.pad_h), int(r.dil_h), r.compat)
        wo = conv_output_size(int(r.in_w), int(r.k_w), int(r.stride_w), int(r.pad_w), int(r.dil_w), r.compat)
        return b * ho * wo * int(r.in_c) * int(r.k_h) * int(r.k_w) * int(r.out_c) // g
    return b * g * int(r.gemm_m) * int(r.gemm_k) * int(r.gemm_n)


def _validate_row(r: pd.Series, where: str) -> None:
    if r.op not in _OPS:
        raise SparsimInputError(where, "op", r.op, f"allowed: {', '.join(_OPS)}")
    if r.compat not in _COMPAT:
        raise SparsimInputError(where, "compat", r.compat, f"allowed: {', '.join(_COMPAT)}")
    if r.nm_dim not in _NM_DIMS:
        raise SparsimInputError(where, "nm_dim", r.nm_dim, f"allowed: {', '.join(_NM_DIMS)}")
    if r.batch < 1:
        raise SparsimInputError(where, "batch", int(r.batch), "must be >= 1")
    if r.nm_m < 1:
        raise SparsimInputError(where, "nm_m", int(r.nm_m), "M must be >= 1")
    if not 1 <= r.nm_n <= r.nm_m:
        raise SparsimInputError(where, "nm_n", int(r.nm_n), f"N must be in 1..M (M = {int(r.nm_m)})")
    if r.op in ("gemm", "matmul"):
        for col in ("gemm_m", "gemm_k", "gemm_n", "groups"):
            if r[col] < 1:
                raise SparsimInputError(where, col, int(r[col]), "must be >= 1")
        if r.op == "matmul" and r.nm_n != r.nm_m:
            raise SparsimInputError(
                where, "nm", f"{int(r.nm_n)}:{int(r.nm_m)}", "a matmul of two activations has no weight: dense only"
            )
        _check_macs(r, where)
        return
    for col in ("in_h", "in_w", "in_c", "out_c", "k_h", "k_w", "stride_h", "stride_w", "dil_h", "dil_w", "groups"):
        if r[col] < 1:
            raise SparsimInputError(where, col, int(r[col]), "must be >= 1")
    if r.in_c % r.groups or r.out_c % r.groups:
        raise SparsimInputError(
            where, "groups", int(r.groups), f"must divide in_c ({int(r.in_c)}) and out_c ({int(r.out_c)})"
        )
    if r.compat == "scalesim" and (r.pad_h or r.pad_w or r.dil_h != 1 or r.dil_w != 1):
        raise SparsimInputError(where, "compat", r.compat, "SCALE-Sim arithmetic has no padding or dilation")
    for axis in ("h", "w"):
        size = conv_output_size(
            int(r[f"in_{axis}"]),
            int(r[f"k_{axis}"]),
            int(r[f"stride_{axis}"]),
            int(r[f"pad_{axis}"]),
            int(r[f"dil_{axis}"]),
            r.compat,
        )
        if size < 1:
            raise SparsimInputError(
                where,
                f"k_{axis}",
                int(r[f"k_{axis}"]),
                f"kernel (dilated) larger than the padded input {axis} "
                f"({int(r[f'in_{axis}'])} + 2*{int(r[f'pad_{axis}'])})",
            )
    _check_macs(r, where)


def _check_macs(r: pd.Series, where: str) -> None:
    macs = _dense_macs(r)
    if macs > MAX_LAYER_MACS:
        raise SparsimInputError(where, "dense MACs", f"{macs:.3e}", f"at most 2**60 per layer ({MAX_LAYER_MACS:.3e})")
