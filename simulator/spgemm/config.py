"""The SpGEMM block's configuration: the PIUMA-like machine, SMASH's scratchpad table, and the
algorithms, each declared once.

Why one module: the functional model (:mod:`simulator.spgemm.fl`), the window distribution
(:mod:`dataflow.spgemm.windows`), the cycle engine and its twin (:mod:`simulator.spgemm.cl`,
:mod:`simulator.spgemm.twin`) and the CLI/sweeps must agree on what a machine, a table and
an algorithm are. An algorithm is named here with its dataflow and accumulator; the engines read
its integer ``code`` from :data:`ALGORITHMS`, nobody parses a name.

Machine defaults (ours, from the published PIUMA silicon, Hot Chips 2023, where it gives numbers):
8 cores, 66 hardware threads per core, 4 MB scratchpad and 192 KB cache per core. Latencies and
bandwidths are our assumptions for a 1 GHz core clock and are all configurable.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from simulator.common.errors import SparsimInputError
from simulator.common.validate import check_int, check_number

__all__ = [
    "Algorithm",
    "ALGORITHMS",
    "algorithm",
    "PiumaConfig",
    "SmashConfig",
    "load_machine",
    "C_ENTRY_BYTES",
    "PARTIAL_BYTES",
    "FL_MAX_FLOPS",
    "FL_MAX_FLOPS_OUTER",
    "ENGINE_MAX_FLOPS",
    "INNER_MAX_PAIRS",
    "check_work",
]

#: one entry of C as stored: a 4-byte column index and an 8-byte value
C_ENTRY_BYTES = 12
#: one partial product of the outer product: 4-byte row, 4-byte column, 8-byte value
PARTIAL_BYTES = 16

# Work and memory budgets, checked before anything is allocated (ours; each message says which):
#: the functional model holds up to 16 bytes per partial product (24 for outer): 8 GiB at 2**29
FL_MAX_FLOPS = 1 << 29
FL_MAX_FLOPS_OUTER = 1 << 28
#: the cycle engine simulates every partial product (~10-15 million instructions/s here):
#: 2**31 is some 10-20 minutes, and its per-product probe table 2 GiB
ENGINE_MAX_FLOPS = 1 << 31
#: inner product: (non-empty row of A, non-empty column of B) pairs merged, in either model
INNER_MAX_PAIRS = 50_000_000


@dataclass(frozen=True, slots=True)
class Algorithm:
    """One SpGEMM algorithm: ``dataflow`` (inner, outer or rowwise), its ``accumulator`` for the
    row-wise ones (``spa``, ``hash``, ``smash``), SMASH's ``version`` (0 otherwise) and the
    integer ``code`` the cycle engines switch on."""

    name: str
    code: int
    dataflow: str
    accumulator: str = ""
    version: int = 0

    @property
    def smash(self) -> bool:
        return self.accumulator == "smash"


ALGORITHMS: dict[str, Algorithm] = {
    a.name: a
    for a in (
        Algorithm("inner", 0, "inner"),
        Algorithm("outer", 1, "outer"),
        Algorithm("gustavson_spa", 2, "rowwise", "spa"),
        Algorithm("hash", 3, "rowwise", "hash"),
        Algorithm("smash_v1", 4, "rowwise", "smash", 1),
        Algorithm("smash_v2", 5, "rowwise", "smash", 2),
        Algorithm("smash_v3", 6, "rowwise", "smash", 3),
    )
}


def algorithm(name: object, source: str = "--algorithm") -> Algorithm:
    """The :class:`Algorithm` called ``name``, or one line naming the allowed ones."""
    if not isinstance(name, str) or name not in ALGORITHMS:
        raise SparsimInputError(source, "algorithm", name, f"allowed: {', '.join(ALGORITHMS)}")
    return ALGORITHMS[name]


def check_work(flops: int, limit: int, what: str, pairs: int | None = None) -> None:
    """Refuse a product beyond a budget above (``pairs``: the inner product's row/column pairs)."""
    if flops > limit:
        raise SparsimInputError("spgemm", "multiplications", f"{flops:,}", f"at most {limit:,} for {what}")
    if pairs is not None and pairs > INNER_MAX_PAIRS:
        raise SparsimInputError(
            "spgemm", "algorithm", "inner",
            f"{pairs:,} row/column pairs exceed {INNER_MAX_PAIRS:,}; the inner product merges every pair",
        )  # fmt: skip


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
    dma_bytes_per_cycle : per-core DMA engine that carries every posted store (results,
        write-back, partial products) to the DRAM channel without holding a thread.
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
    dma_bytes_per_cycle: float = 32.0
    clock_ghz: float = 1.0

    def __post_init__(self) -> None:
        src = "PiumaConfig"
        ints = {
            "cores": (1, 1024, ""),
            "threads_per_core": (1, 128, ""),
            "cache_kb": (1, 1 << 20, "at most 1 GiB per core"),
            "cache_ways": (1, 64, ""),
            "line_bytes": (8, 4096, ""),
            "cache_hit_cycles": (1, 1000, ""),
            "dram_latency_cycles": (1, 100_000, ""),
            "scratchpad_kb": (1, 1 << 22, "at most 4 GiB per core"),
            "scratchpad_banks": (1, 1024, ""),
            "sp_latency_cycles": (1, 1000, ""),
            "sp_atomic_cycles": (1, 1000, ""),
            "alu_cycles": (1, 1000, ""),
        }
        for key, (lo, hi, why) in ints.items():
            check_int(src, key, getattr(self, key), lo, hi, why)
        for key in ("line_bytes", "scratchpad_banks"):
            v = getattr(self, key)
            if v & (v - 1):
                raise SparsimInputError(src, key, v, "a power of two")
        # a store of 12 bytes at 1e-3 bytes/cycle already takes 12,000 cycles: slower channels
        # are typos, and tiny values would overflow the engine's time arithmetic
        for key in ("dram_bytes_per_cycle", "dma_bytes_per_cycle"):
            check_number(src, key, getattr(self, key), 1e-3, 1e6, unit="bytes/cycle")
        check_number(src, "clock_ghz", self.clock_ghz, 1e-3, 1e3, unit="GHz")
        if (self.cache_kb * 1024) % (self.line_bytes * self.cache_ways):
            raise SparsimInputError(
                src,
                "cache_kb",
                self.cache_kb,
                "must hold a whole number of sets (cache_kb * 1024 / (line_bytes * cache_ways))",
            )

    @property
    def cache_sets(self) -> int:
        return self.cache_kb * 1024 // (self.line_bytes * self.cache_ways)


@dataclass(frozen=True, slots=True, kw_only=True)
class SmashConfig:
    """Scratchpad hash table of SMASH (per core).

    ``table_bytes``: scratchpad bytes given to the table; ``word_bytes``: one key or value word;
    ``load_factor``: windows are cut so their flops stay below this fraction of the entries;
    ``fragments``: V3 splits the table into this many fragments (one per scratchpad bank, ours);
    the window's rows go round-robin to fragments, and a row too heavy for a fragment gets a
    window of its own over the whole table.
    """

    table_bytes: int = 4 * 1024 * 1024
    word_bytes: int = 8
    load_factor: float = 0.5
    fragments: int = 8

    def __post_init__(self):
        check_int("SmashConfig", "table_bytes", self.table_bytes, 64, 1 << 42)
        check_int("SmashConfig", "word_bytes", self.word_bytes, 1, 64)
        check_number("SmashConfig", "load_factor", self.load_factor, 0, 1, lo_open=True)
        if not isinstance(self.fragments, int) or self.fragments < 1 or self.fragments & (self.fragments - 1):
            raise SparsimInputError("SmashConfig", "fragments", self.fragments, "a power of two >= 1")

    def entries(self, version: int) -> int:
        """Table entries: V1 stores a two-word key and a value (3 words), V2/V3 one token and a
        value (2 words)."""
        words = 3 if version == 1 else 2
        return self.table_bytes // (words * self.word_bytes)

    @classmethod
    def for_machine(cls, m: PiumaConfig) -> SmashConfig:
        """The table our SMASH runs use on ``m``: the whole scratchpad, one fragment per bank
        (at most 64)."""
        return cls(table_bytes=m.scratchpad_kb * 1024, fragments=min(m.scratchpad_banks, 64))


def load_machine(path: str | Path | None) -> PiumaConfig:
    """YAML machine config (keys are :class:`PiumaConfig` fields); ``None`` gives the defaults."""
    if path is None:
        return PiumaConfig()
    from simulator.common.config import dataclass_from_yaml

    return dataclass_from_yaml(path, PiumaConfig, "machine")
