"""Two's-complement wrap-around: the one helper every integer datapath model uses.

Why one helper: the array's functional, per-cycle and RTL-bench models, the output buffer and the
hash-accumulate unit all wrap sums to a signed accumulator width. If each wrote the formula out,
one could drift (an off-by-one in the mask) and the cross-checks would compare two wrong models.
:func:`wrap_signed` takes a Python int (any size), a numpy integer array, or, inside numba code,
an ``int64`` scalar (a numba overload of the same function).
"""

from __future__ import annotations

import numpy as np
from numba.extending import overload

__all__ = ["wrap_signed", "signed_range"]


def wrap_signed(values, bits: int):
    """``values`` wrapped to signed ``bits``-bit two's complement.

    A Python ``int`` gives an ``int``; anything else gives an ``int64`` array. At ``bits >= 64``
    arrays are returned as ``int64`` (their own wrap-around is already 64-bit).
    """
    if isinstance(values, int) and not isinstance(values, bool):
        half = 1 << (bits - 1)
        return ((values + half) & ((1 << bits) - 1)) - half
    v = np.asarray(values, dtype=np.int64)
    if bits >= 64:
        return v
    half = np.int64(1) << np.int64(bits - 1)
    mask = (np.int64(1) << np.int64(bits)) - np.int64(1)
    return ((v + half) & mask) - half


@overload(wrap_signed)
def _wrap_signed_numba(values, bits):
    def impl(values, bits):
        if bits >= 64:
            return values
        half = np.int64(1) << (bits - 1)
        mask = (np.int64(1) << bits) - 1
        return ((values + half) & mask) - half

    return impl


def signed_range(bits: int) -> tuple[int, int]:
    """``(lowest, highest)`` value of a signed ``bits``-bit integer."""
    return -(1 << (bits - 1)), (1 << (bits - 1)) - 1
