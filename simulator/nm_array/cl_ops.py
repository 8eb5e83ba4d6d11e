"""The steps every per-cycle kernel of the array shares: the accumulate (in Python and in numba)
and a stream's delay line (numba)."""

from __future__ import annotations

import numba
import numpy as np
from numba.extending import overload

from simulator.common.bits import wrap_signed

__all__ = ["acc_add", "stream_enter"]


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


@numba.njit(cache=True, inline="always")
def stream_enter(cyc, lane, start, length, folds, fold_of, ring_cyc, ring_f, ring_t, slot):
    """One lane (a row's or a column's stream) of a delay line at cycle ``cyc``.

    Fold ``f``'s element ``t`` enters lane ``lane`` at ``start[f] + lane + t`` for ``t`` below
    ``length[f]``. A register chain of the array's width *is* a delay line, so the kernels keep
    one ring per lane: what entered at cycle ``e`` sits in slot ``e % width`` and a PE ``d``
    places along reads slot ``(cyc - d) % width``. This step moves the lane's fold pointer
    (``fold_of[lane]``) past finished folds and records ``(cyc, f, t)`` in ``slot``, or marks the
    slot empty; it returns ``(f, t)``, ``f = -1`` when nothing enters (the caller then writes the
    element's payload for ``f >= 0``).
    """
    f = fold_of[lane]
    while f < folds and cyc >= start[f] + lane + length[f]:
        f += 1
    fold_of[lane] = f
    if f < folds and cyc >= start[f] + lane:
        t = cyc - start[f] - lane
        ring_cyc[lane, slot] = cyc
        ring_f[lane, slot] = f
        ring_t[lane, slot] = t
        return f, t
    ring_cyc[lane, slot] = -1
    return -1, 0
