"""The hash-accumulate unit's hash (:func:`simulator.hash_unit.config.slot_of`), compiled once for
the machine's numba loops: the functional model, the engine and the host kernel all hash with the
RTL-verified unit's function, never a copy of it (the engine's Python twin calls it directly)."""

from __future__ import annotations

import numba

from simulator.hash_unit.config import slot_of

__all__ = ["slot"]

#: ``slot(key, mask, row)``: the first slot of ``key`` (linear probing from there)
slot = numba.njit(inline="always", cache=True)(slot_of)
