"""The accumulate step every per-cycle kernel of the array uses, in Python and in numba."""

from __future__ import annotations

import numba
import numpy as np
from numba.extending import overload

from simulator.common.bits import wrap_signed

__all__ = ["acc_add"]


def acc_add(a, b, bits):
    """``a + b`` wrapped to signed ``bits`` for integers; plain addition for floats."""
    if isinstance(a, float | np.floating):
        return a + b
    return wrap_signed(int(a) + int(b), bits)


@overload(acc_add)
def _acc_add_ol(a, b, bits):
    if isinstance(a, numba.types.Float):

        def impl(a, b, bits):
            return a + b

        return impl

    def impl_int(a, b, bits):
        return wrap_signed(a + b, bits)

    return impl_int
