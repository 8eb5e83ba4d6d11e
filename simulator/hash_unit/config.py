"""The hash-accumulate unit's configuration, shared by its functional, per-cycle and RTL levels
(behaviour: :mod:`simulator.hash_unit.cl`), and its hash function.

Why the hash lives here: it is the one hash of the project. The RTL unit computes it
(:mod:`rtl.hash_unit.design`), the per-cycle model checks the RTL against it, and the PIUMA-like
machine's scratchpad hashing (SMASH, the software-hash baseline, the host kernel) calls
:func:`slot_of` too, so the machine's tables are the RTL-verified unit's.
"""

from __future__ import annotations

from dataclasses import dataclass

from simulator.common.errors import SparsimInputError

__all__ = ["HashUnitConfig", "hash_slot", "slot_of", "KEY_MULTIPLIER", "ROW_MULTIPLIER"]

#: Nagasaka et al.'s key (column) multiplier
KEY_MULTIPLIER = 107
#: Knuth's multiplicative constant: spreads the rows of a SMASH window over one table
ROW_MULTIPLIER = 2654435761


@dataclass(frozen=True, slots=True, kw_only=True)
class HashUnitConfig:
    """Shared by the functional, per-cycle and RTL levels."""

    slots: int = 16
    key_bits: int = 16
    value_bits: int = 32

    def __post_init__(self):
        if self.slots < 2 or self.slots & (self.slots - 1) or self.slots > 4096:
            raise SparsimInputError("HashUnitConfig", "slots", self.slots, "a power of two from 2 to 4096")
        if not 1 <= self.key_bits <= 32:
            raise SparsimInputError("HashUnitConfig", "key_bits", self.key_bits, "1 to 32")
        if not 2 <= self.value_bits <= 64:
            raise SparsimInputError("HashUnitConfig", "value_bits", self.value_bits, "2 to 64")

    @property
    def slot_bits(self) -> int:
        return self.slots.bit_length() - 1


def slot_of(key: int, mask: int, row: int = 0) -> int:
    """The first slot of ``key`` in a table of ``mask + 1`` slots (a power of two), linear probing
    from there: ``(row * ROW_MULTIPLIER + key * KEY_MULTIPLIER) & mask``. The unit hashes one key
    stream (``row = 0``: ``(key * 107) & mask``); SMASH keys a window's table by (row in window,
    column). Plain integer arithmetic, so numba compiles it as it is; in 64-bit integers the
    product wraps, which leaves the masked low bits unchanged."""
    return (row * ROW_MULTIPLIER + key * KEY_MULTIPLIER) & mask


def hash_slot(key: int, cfg: HashUnitConfig) -> int:
    """The unit's first slot for ``key``."""
    return slot_of(key, cfg.slots - 1)
