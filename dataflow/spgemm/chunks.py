"""Row chunking for row-wise SpGEMM: consecutive row ranges of about equal work.

Why by flops, not rows: power-law matrices (R-MAT) have a few rows with most of the partial
products; equal row counts would leave one thread (or core) with most of the work. Used by the
host kernel (chunks per thread) and by SMASH's window distribution (one block per core).
"""

from __future__ import annotations

import numpy as np

__all__ = ["flop_chunks"]


def flop_chunks(flops: np.ndarray, chunks: int) -> np.ndarray:
    """Row boundaries of at most ``chunks`` consecutive row ranges with about equal flops
    (duplicate boundaries of empty ranges are dropped)."""
    cum = np.concatenate([[0], np.cumsum(flops, dtype=np.int64)])
    targets = np.linspace(0, cum[-1], chunks + 1)
    bounds = np.searchsorted(cum, targets, side="left")
    bounds[0], bounds[-1] = 0, len(flops)
    return np.unique(bounds).astype(np.int64)
