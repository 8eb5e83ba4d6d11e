"""A PIUMA-like many-threaded graph processor: configuration and the SpGEMM runs on it.

Why a machine model: SMASH's claim is about a machine (many threads hiding latency, a banked
scratchpad with atomics, little cache); the algorithms only differ in what they make that machine
do. This module holds the validated machine configuration and the entry point; the cycle-level
engine is :mod:`simulator.piuma_cl`.

Defaults (ours, from the published PIUMA silicon, Hot Chips 2023, where it gives numbers): 8 cores,
66 hardware threads per core, 4 MB scratchpad and 192 KB cache per core. Latencies and bandwidths
are our assumptions for a 1 GHz core clock and are all configurable.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from simulator.errors import SparsimInputError

__all__ = ["PiumaConfig", "load_machine"]


@dataclass(frozen=True, slots=True, kw_only=True)
class PiumaConfig:
    """The machine. Times in core cycles, sizes in bytes unless named ``_kb``.

    Parameters
    ----------
    cores, threads_per_core : fine-grained multithreaded cores; each cycle a core issues one
        instruction from the next ready thread in round-robin order.
    cache_kb, cache_ways, line_bytes, cache_hit_cycles : per-core set-associative LRU data cache
        (it caches DRAM; stores write through, write-allocate).
    dram_latency_cycles, dram_bytes_per_cycle : one DRAM channel shared by all cores; a line
        transfer occupies it ``line_bytes / dram_bytes_per_cycle`` cycles.
    scratchpad_kb, scratchpad_banks, sp_latency_cycles, sp_atomic_cycles : per-core scratchpad;
        a bank serves one access per cycle, an atomic read-modify-write occupies it
        ``sp_atomic_cycles``; the result returns ``sp_latency_cycles`` after the access starts.
    alu_cycles : latency of an ALU/compare instruction.
    clock_ghz : only to turn cycles into seconds in reports.
    """

    cores: int = 8
    threads_per_core: int = 66
    cache_kb: int = 192
    cache_ways: int = 4
    line_bytes: int = 64
    cache_hit_cycles: int = 4
    dram_latency_cycles: int = 120
    dram_bytes_per_cycle: float = 64.0
    scratchpad_kb: int = 4096
    scratchpad_banks: int = 16
    sp_latency_cycles: int = 3
    sp_atomic_cycles: int = 2
    alu_cycles: int = 1
    clock_ghz: float = 1.0

    def __post_init__(self) -> None:
        src = "PiumaConfig"
        ints = {
            "cores": (1, 1024), "threads_per_core": (1, 128), "cache_kb": (1, 1 << 20), "cache_ways": (1, 64),
            "line_bytes": (8, 4096), "cache_hit_cycles": (1, 1000), "dram_latency_cycles": (1, 100_000),
            "scratchpad_kb": (1, 1 << 22), "scratchpad_banks": (1, 1024), "sp_latency_cycles": (1, 1000),
            "sp_atomic_cycles": (1, 1000), "alu_cycles": (1, 1000),
        }
        for key, (lo, hi) in ints.items():
            v = getattr(self, key)
            if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
                raise SparsimInputError(src, key, v, f"an integer from {lo} to {hi}")
        for key in ("line_bytes", "scratchpad_banks"):
            v = getattr(self, key)
            if v & (v - 1):
                raise SparsimInputError(src, key, v, "a power of two")
        for key in ("dram_bytes_per_cycle", "clock_ghz"):
            v = getattr(self, key)
            if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v) or v <= 0:
                raise SparsimInputError(src, key, v, "a positive number")
        sets = self.cache_kb * 1024 // (self.line_bytes * self.cache_ways)
        if sets < 1 or sets & (sets - 1):
            raise SparsimInputError(src, "cache_kb", self.cache_kb,
                                    "cache_kb * 1024 / (line_bytes * cache_ways) must be a power of two")

    @property
    def cache_sets(self) -> int:
        return self.cache_kb * 1024 // (self.line_bytes * self.cache_ways)


def load_machine(path: str | Path | None) -> PiumaConfig:
    """YAML machine config (keys are :class:`PiumaConfig` fields); ``None`` gives the defaults."""
    if path is None:
        return PiumaConfig()
    import yaml

    p = Path(path)
    try:
        data: Any = yaml.safe_load(p.read_text())
    except OSError as err:
        raise SparsimInputError(str(p), "file", str(p), f"cannot be read ({err.strerror})") from None
    except yaml.YAMLError:
        raise SparsimInputError(str(p), "<yaml>", p.name, "valid YAML") from None
    if not isinstance(data, dict):
        raise SparsimInputError(str(p), "<document>", type(data).__name__, "a mapping of machine keys")
    names = {f.name for f in dataclasses.fields(PiumaConfig)}
    for k in data:
        if k not in names:
            raise SparsimInputError(str(p), str(k), data[k], f"unknown key; allowed: {', '.join(sorted(names))}")
    try:
        return PiumaConfig(**data)
    except SparsimInputError as err:
        raise SparsimInputError(str(p), err.field, err.value, err.allowed) from None
    except TypeError as err:
        raise SparsimInputError(str(p), "<keys>", str(err), "valid machine keys") from None
