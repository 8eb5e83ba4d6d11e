"""Energy per action, and energy of a simulated run.

Why a table, not a model: architects swap in numbers for their technology. The default is ours,
taken from Horowitz, "Computing's energy problem", ISSCC 2014 (45 nm, 0.9 V): an 8-bit multiply
0.2 pJ plus a 32-bit add 0.1 pJ per MAC; a 32 KB SRAM read of 64 bits 20 pJ, i.e. 2.5 pJ/byte;
DRAM 1.3-2.6 nJ per 64 bits, we take the low end, 162.5 pJ/byte. The pruning unit's top-N-of-M
selection is charged as ``M log2 M`` 8-bit compares of about 0.03 pJ each (an 8-bit add).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from simulator.common.validate import check_number
from simulator.nm_array.config import ArrayConfig

__all__ = ["EnergyTable", "energy_pj"]


@dataclass(frozen=True, slots=True, kw_only=True)
class EnergyTable:
    """Energy per action in picojoules."""

    mac_pj: float = 0.3
    sram_pj_per_byte: float = 2.5
    dram_pj_per_byte: float = 162.5
    compare_pj: float = 0.03

    def __post_init__(self) -> None:
        for key in ("mac_pj", "sram_pj_per_byte", "dram_pj_per_byte", "compare_pj"):
            v = getattr(self, key)
            check_number("EnergyTable", key, v, 0, 1e9, unit="pJ")

    def prune_group_pj(self, m: int) -> float:
        """One top-N-of-M selection: ``M log2 M`` compares."""
        return 0.0 if m <= 1 else m * math.log2(m) * self.compare_pj


def energy_pj(stats: pd.DataFrame, cfg: ArrayConfig, table: EnergyTable = EnergyTable()) -> pd.DataFrame:
    """Per-row energy (pJ) by component for a statistics table of :mod:`simulator.nm_array.fold`.

    MACs: the MACs the array issued (``macs``: N:M-skipped ones are not issued). SRAM: operand
    reads at ``word_bytes`` and partial-sum writes at ``psum_bytes``. DRAM: every byte moved
    (``dram_bytes``).
    """
    sram_bytes = (stats["sram_ifmap_reads"] + stats["sram_filter_reads"]) * cfg.pe.word_bytes + stats[
        "sram_ofmap_writes"
    ] * cfg.pe.psum_bytes
    dram_bytes = stats["dram_bytes"]
    out = pd.DataFrame(
        {
            "energy_mac_pj": stats["macs"] * table.mac_pj,
            "energy_sram_pj": sram_bytes * table.sram_pj_per_byte,
            "energy_dram_pj": dram_bytes * table.dram_pj_per_byte,
        }
    )
    out["energy_pj"] = out.sum(axis=1)
    return out
