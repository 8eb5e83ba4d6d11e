"""The hash-accumulate unit's configuration, shared by its functional, per-cycle and RTL levels
(behaviour: :mod:`simulator.hash_unit.cl`), and its hash function."""

from __future__ import annotations

from dataclasses import dataclass

from simulator.common.errors import SparsimInputError

__all__ = ["HashUnitConfig", "hash_slot"]


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


def hash_slot(key: int, cfg: HashUnitConfig) -> int:
    return (key * 107) & (cfg.slots - 1)
