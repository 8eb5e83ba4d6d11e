"""How the mobile kernels block their loops for the core's L2 (our choices, ours to sweep).

Why blocked: a pointwise layer's weights can exceed the 512 KB L2; streaming them again for every
pixel tile would make the kernels DRAM-bound. Both kernels keep one block of weights in half of
L2 (the other half holds activations and output) and run every pixel tile over it:

- dense packed GEMM (8 x 12 register tile): blocks of ``mc`` output rows, each row's packed
  weights ``k_dim * 4`` bytes per output channel in groups of 8 (32 bytes per k step);
- group kernel: consecutive output groups whose kept units (a 16-byte weight vector and an
  8-byte index each) fit the budget.
"""

from __future__ import annotations

import numpy as np

__all__ = ["gemm_row_block", "group_blocks", "UNIT_BYTES"]

#: one kept unit of a 4-channel group: four fp32 weights and an 8-byte index
UNIT_BYTES = 24


def gemm_row_block(l2_bytes: int, k_dim: int) -> int:
    """Output rows per block of the dense GEMM, so a block's packed weights fit half of L2."""
    return max(1, (l2_bytes // 2) // max(1, k_dim * 32))


def group_blocks(ptr: np.ndarray, budget_bytes: int) -> np.ndarray:
    """Boundaries of consecutive blocks of groups (CSR ``ptr`` over kept units) whose units fit
    ``budget_bytes``; a group larger than the budget is a block of its own."""
    starts = [0]
    acc = 0
    for g in range(len(ptr) - 1):
        size = int(ptr[g + 1] - ptr[g]) * UNIT_BYTES
        if acc and acc + size > budget_bytes:
            starts.append(g)
            acc = 0
        acc += size
    starts.append(len(ptr) - 1)
    return np.array(starts, dtype=np.int64)
