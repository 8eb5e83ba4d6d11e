"""N:M structured sparsity: parsing, magnitude masks, and the compressed (values + indices) codec.

Why a codec separate from any dataflow: the array, the training passes and the RTL all consume the
same compressed form, so it is defined once. Along the reduced dimension K (axis 0 of a ``[K, N]``
weight), every group of M consecutive weights keeps at most N non-zeros. K not a multiple of M is
zero-padded to ``ceil(K/M)*M``; the compressed operand has ``Kc = ceil(K/M) * N`` rows.

Canonical encoding (ours): in every group the N kept positions are listed in ascending order; a
group with fewer than N non-zeros is filled with the smallest unused positions holding value 0.
So ``indices`` are distinct and sorted within each group, and the encoding of a matrix is unique.
"""

from __future__ import annotations

import re

import numpy as np

from simulator.common.errors import SparsimInputError

__all__ = [
    "parse_nm",
    "nm_rows",
    "nm_topn_mask",
    "is_nm",
    "nm_compress",
    "nm_decompress",
]


#: the largest group size M accepted anywhere (an array supports at most 64, ArrayConfig)
MAX_M = 1024


def parse_nm(text: str, source: str = "sparsity", field: str = "Sparsity") -> tuple[int, int]:
    """Parse ``"N:M"`` (also ``"dense"``) into ``(N, M)`` with ``1 <= N <= M``."""
    s = str(text).strip()
    if s.lower() in ("", "dense"):
        return 1, 1
    parts = s.split(":")
    # ASCII digits only: str.isdigit() also passes superscripts, which int() then rejects
    if len(parts) != 2 or not all(re.fullmatch(r"[0-9]{1,6}", p.strip()) for p in parts):
        raise SparsimInputError(source, field, text, "must be 'N:M' with positive integers, or 'dense'")
    n, m = int(parts[0]), int(parts[1])
    if m < 1 or n < 1:
        raise SparsimInputError(source, field, text, "N and M must be >= 1")
    if m > MAX_M:
        raise SparsimInputError(source, field, text, f"M must be at most {MAX_M} (a group is one PE's multiplexer)")
    if n > m:
        raise SparsimInputError(source, field, text, f"N ({n}) must not exceed M ({m})")
    return n, m


def nm_rows(k: int, n: int, m: int) -> int:
    """Rows of the compressed operand: ``ceil(K/M) * N`` (K zero-padded to a multiple of M)."""
    return -(-k // m) * n


def _grouped(w: np.ndarray, m: int) -> np.ndarray:
    """``[K, N] -> [G, M, N]`` with zero padding of K up to a multiple of M."""
    k = w.shape[0]
    g = -(-k // m)
    if g * m != k:
        pad = np.zeros((g * m - k, *w.shape[1:]), dtype=w.dtype)
        w = np.concatenate([w, pad], axis=0)
    return w.reshape(g, m, *w.shape[1:])


def nm_topn_mask(w: np.ndarray, n: int, m: int) -> np.ndarray:
    """Boolean mask keeping the N largest-magnitude weights of every group of M along axis 0.

    Ties are broken towards the lower position (stable), so the mask is deterministic.
    """
    w = np.asarray(w)
    if w.ndim != 2:
        raise SparsimInputError("nm_topn_mask", "w.ndim", w.ndim, "a 2-D [K, N] weight")
    k = w.shape[0]
    grouped = np.abs(_grouped(w, m))
    order = np.argsort(-grouped, axis=1, kind="stable")
    keep = np.zeros(grouped.shape, dtype=bool)
    np.put_along_axis(keep, order[:, :n, :], True, axis=1)
    return keep.reshape(-1, w.shape[1])[:k]


def is_nm(w: np.ndarray, n: int, m: int) -> bool:
    """True when every group of M along axis 0 holds at most N non-zeros."""
    return bool((np.count_nonzero(_grouped(np.asarray(w), m), axis=1) <= n).all())


def nm_compress(w: np.ndarray, n: int, m: int) -> tuple[np.ndarray, np.ndarray]:
    """Compress an N:M-sparse ``[K, N]`` weight to ``(values, indices)``, each ``[Kc, N]``.

    ``indices`` hold positions 0..M-1 inside the group (``uint8``). Raises if some group holds
    more than N non-zeros (apply :func:`nm_topn_mask` first).
    """
    w = np.asarray(w)
    if w.ndim != 2:
        raise SparsimInputError("nm_compress", "w.ndim", w.ndim, "a 2-D [K, N] weight")
    grouped = _grouped(w, m)  # [G, M, Ncol]
    nz = grouped != 0
    counts = nz.sum(axis=1)
    if (counts > n).any():
        g, col = np.argwhere(counts > n)[0]
        raise SparsimInputError(
            "nm_compress", f"group {g} of column {col}", int(counts[g, col]), f"at most {n} non-zeros in every {m}"
        )
    positions = np.arange(m)[None, :, None]
    # Non-zeros first, then zeros; each by position. Take N, then sort the kept positions.
    key = np.where(nz, 0, m) + positions
    chosen = np.sort(np.argsort(key, axis=1, kind="stable")[:, :n, :], axis=1)
    values = np.take_along_axis(grouped, chosen, axis=1)
    g = grouped.shape[0]
    return values.reshape(g * n, -1), chosen.reshape(g * n, -1).astype(np.uint8)


def nm_decompress(values: np.ndarray, indices: np.ndarray, n: int, m: int, k: int) -> np.ndarray:
    """Inverse of :func:`nm_compress`: the dense ``[K, N]`` weight."""
    values = np.asarray(values)
    indices = np.asarray(indices).astype(np.int64)
    kc, ncol = values.shape
    if kc % n:
        raise SparsimInputError("nm_decompress", "values.shape[0]", kc, f"a multiple of N = {n}")
    g = kc // n
    dense = np.zeros((g, m, ncol), dtype=values.dtype)
    np.put_along_axis(dense, indices.reshape(g, n, ncol), values.reshape(g, n, ncol), axis=1)
    return dense.reshape(g * m, ncol)[:k]
