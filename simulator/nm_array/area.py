"""Silicon area of an N:M array configuration, for performance-per-area in sweeps.

Why from the RTL tables: the PE cost of N:M support (activation lanes, the M:1 multiplexer) is
measured, not guessed: ``simulator/nm_array/data/rtl_area.csv`` (package data) holds Yosys
gate-equivalent (GE) counts of our Amaranth array (see :mod:`rtl.tools.area_table`). What the table
does not cover is ours and stated here:

* **PE array.** A shape and lane count that were synthesised use their measured GE. Any other
  shape is ``rows * cols * GE-per-PE`` of the largest synthesised array with the same lane count
  (16x16): its PEs are mostly interior PEs, which dominate large arrays; smaller synthesised
  arrays have more of the cheaper boundary PEs. Lanes are the largest M in ``supported_m``
  (1 = dense-only); a lane count never synthesised is refused, not extrapolated.
* **SRAM.** 0.75 GE per bit: a 45 nm 6T bit cell of about 0.35 um^2 at about 60% array
  efficiency (decoders, sense amplifiers, column muxes), over Nangate's NAND2_X1 of 0.798 um^2.
  All three double-buffered operand buffers count at their configured size.
* **mm^2** is GE x 0.798 um^2 (45 nm), so the number is comparable with the energy table's 45 nm
  technology (:mod:`simulator.nm_array.energy`).
"""

from __future__ import annotations

import functools
from importlib import resources
from pathlib import Path

import pandas as pd

from simulator.common.errors import SparsimInputError
from simulator.nm_array.config import ArrayConfig

__all__ = ["SRAM_GE_PER_BIT", "NAND2_UM2", "array_area", "area_table"]

SRAM_GE_PER_BIT = 0.75
NAND2_UM2 = 0.798


@functools.cache
def area_table(path: str | None = None) -> pd.DataFrame:
    """The synthesised area table (package data ``simulator/nm_array/data/rtl_area.csv``, read
    through :mod:`importlib.resources` so a wheel install finds it, unless ``path``)."""
    if path is None:
        with resources.files("simulator.nm_array").joinpath("data", "rtl_area.csv").open("rb") as fh:
            return pd.read_csv(fh)
    p = Path(path)
    if not p.exists():
        raise SparsimInputError("area model", "table", str(p), "run `python -m rtl.tools.area_table` to synthesise it")
    return pd.read_csv(p)


def array_area(cfg: ArrayConfig) -> dict[str, float]:
    """``{"pe_ge", "sram_ge", "area_ge", "area_mm2"}`` of ``cfg`` (see the module docstring)."""
    t = area_table()
    lanes = max(cfg.pe.supported_m)
    same = t[t.lanes_m == lanes]
    if same.empty:
        raise SparsimInputError(
            "area model",
            "supported_m",
            list(cfg.pe.supported_m),
            f"largest M must be a synthesised lane count: {', '.join(map(str, sorted(t.lanes_m.unique())))}",
        )
    exact = same[(same.rows == cfg.rows) & (same.cols == cfg.cols)]
    if len(exact):
        pe_ge = float(exact["ge"].iloc[0])
    else:
        largest = same.loc[(same.rows * same.cols).idxmax()]
        pe_ge = cfg.rows * cfg.cols * float(largest["ge_per_pe"])
    kb = cfg.buffers.ifmap_kb + cfg.buffers.filter_kb + cfg.buffers.ofmap_kb
    sram_ge = kb * 1024 * 8 * SRAM_GE_PER_BIT
    total = pe_ge + sram_ge
    return {"pe_ge": pe_ge, "sram_ge": sram_ge, "area_ge": total, "area_mm2": total * NAND2_UM2 * 1e-6}
