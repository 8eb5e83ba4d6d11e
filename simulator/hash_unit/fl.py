"""Functional oracle of the hash-accumulate unit: what the table holds after a stream of
(key, value) items, whatever the timing."""

from __future__ import annotations

from simulator.common.bits import wrap_signed
from simulator.hash_unit.config import HashUnitConfig

__all__ = ["hash_accumulate_fl"]


def hash_accumulate_fl(items: list[tuple[int, int]], cfg: HashUnitConfig) -> tuple[dict[int, int], int]:
    """Functional oracle: per-key wrapped sums of the accepted items, and how many were dropped
    because the table was full (a new key arriving when ``slots`` keys are present)."""
    table: dict[int, int] = {}
    dropped = 0
    for k, v in items:
        if k in table:
            table[k] = wrap_signed(table[k] + v, cfg.value_bits)
        elif len(table) < cfg.slots:
            table[k] = wrap_signed(v, cfg.value_bits)
        else:
            dropped += 1
    return table, dropped
