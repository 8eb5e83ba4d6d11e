"""Functional model of the N:M systolic array: the oracle for values.

``Y[T, N] = X[T, K] x W[K, N]`` with ``W`` given N:M-compressed (values + indices, see
:mod:`workloads.nm`). Row ``g*N + s`` of the compressed weight belongs to group ``g`` and multiplies
``X[:, g*M + index]``; this is exactly the PE's M:1 operand multiplexer, evaluated as a whole.

Integer mode (``X``, ``W`` integer): operands must fit signed ``operand_bits``; the result is the
exact sum wrapped to a signed ``acc_bits`` two's-complement integer. Wrap-around is defined on the
final value; because addition modulo 2**acc_bits is associative, every accumulation order (the
array's per-PE adds, the output buffer's fold adds) gives this same value.
Float mode (``X`` or ``W`` floating): float64 arithmetic, no wrapping.
"""

from __future__ import annotations

import numpy as np

from simulator.common.bits import signed_range, wrap_signed
from simulator.common.errors import SparsimInputError
from simulator.nm_array.config import ArrayConfig

__all__ = ["check_operand_range", "nm_gemm_fl"]


def check_operand_range(a: np.ndarray, bits: int, name: str) -> None:
    """Raise unless every integer in ``a`` fits signed ``bits``."""
    if a.size == 0:
        return
    lo, hi = signed_range(bits)
    amin, amax = int(a.min()), int(a.max())
    if amin < lo or amax > hi:
        bad = amin if amin < lo else amax
        raise SparsimInputError("nm_gemm_fl", name, bad, f"operands must fit signed {bits} bits [{lo}, {hi}]")


def nm_gemm_fl(
    x: np.ndarray,
    values: np.ndarray,
    indices: np.ndarray,
    n: int,
    m: int,
    cfg: ArrayConfig | None = None,
) -> np.ndarray:
    """Evaluate the array's GEMM on compressed weights.

    Parameters
    ----------
    x : [T, K] activations (K is zero-padded to a multiple of M here).
    values, indices : [Kc, Ncol] compressed weight, ``Kc = ceil(K/M) * N``.
    n, m : the N:M pattern (``1, 1`` is dense: ``indices`` are all 0).
    cfg : integer widths (``operand_bits``, ``acc_bits``); defaults to 8/32.
    """
    x = np.asarray(x)
    values = np.asarray(values)
    kc = values.shape[0]
    groups = kc // n
    kpad = groups * m
    if x.shape[1] > kpad:
        raise SparsimInputError("nm_gemm_fl", "x.shape[1]", x.shape[1], f"at most ceil(K/M)*M = {kpad}")
    if x.shape[1] < kpad:
        x = np.concatenate([x, np.zeros((x.shape[0], kpad - x.shape[1]), dtype=x.dtype)], axis=1)
    # Decompress into the dense [Kpad, Ncol] weight, then one matmul: same products, fast.
    idx = np.asarray(indices).astype(np.int64).reshape(groups, n, -1)
    integer = np.issubdtype(x.dtype, np.integer) and np.issubdtype(values.dtype, np.integer)
    if integer:
        bits = 8 if cfg is None else cfg.pe.operand_bits
        acc = 32 if cfg is None else cfg.pe.acc_bits
        check_operand_range(x, bits, "x")
        check_operand_range(values, bits, "values")
        dense = np.zeros((groups, m, values.shape[1]), dtype=np.int64)
        np.add.at(
            dense,
            (np.arange(groups)[:, None, None], idx, np.arange(values.shape[1])[None, None, :]),
            values.astype(np.int64).reshape(groups, n, -1),
        )
        y = x.astype(np.int64) @ dense.reshape(kpad, -1)
        return wrap_signed(y, acc)
    dense = np.zeros((groups, m, values.shape[1]), dtype=np.float64)
    np.add.at(
        dense,
        (np.arange(groups)[:, None, None], idx, np.arange(values.shape[1])[None, None, :]),
        values.astype(np.float64).reshape(groups, n, -1),
    )
    return x.astype(np.float64) @ dense.reshape(kpad, -1)
