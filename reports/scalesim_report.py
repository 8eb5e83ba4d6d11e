"""SCALE-Sim-format reports written from sparsim's per-layer statistics.

Why: users compare against SCALE-Sim by diffing its CSVs. Column meanings follow SCALE-Sim v3:

- ``Total Cycles``: SCALE-Sim reports the index of the last busy cycle (0-based), one less than
  the number of cycles; we write ``cycles - 1`` so the two files diff clean.
- ``Total Cycles (incl. prefetch)``: ours adds our memory model's exposed prefetch and drain
  (:mod:`simulator.nm_array.memory`); SCALE-Sim's comes from its trace-driven buffers (in CALC mode it
  assumes 10 words/cycle for the prefetch), so this column is not expected to match.
- ``Overall Util %``: dense-equivalent MACs / (PEs x Total Cycles); above 100 in N:M mode.
- ``Mapping Efficiency %``: mean fraction of PEs holding a weight.
- ``Compute Util %``: SCALE-Sim's per-fold ``used PEs * T / (PEs * (2R + 2C + T - 3))``, averaged.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from simulator.nm_array.config import ArrayConfig

__all__ = ["compute_report", "write_compute_report"]

_COLUMNS = (
    "LayerID",
    "Total Cycles (incl. prefetch)",
    "Total Cycles",
    "Stall Cycles",
    "Overall Util %",
    "Mapping Efficiency %",
    "Compute Util %",
)


def compute_report(stats: pd.DataFrame, cfg: ArrayConfig) -> pd.DataFrame:
    """SCALE-Sim ``COMPUTE_REPORT`` columns, one row per layer."""
    last = stats["cycles"] - 1
    return pd.DataFrame(
        {
            "LayerID": stats["layer"],
            "Total Cycles (incl. prefetch)": last + stats["prefetch_cycles"] + stats["drain_cycles"],
            "Total Cycles": last,
            "Stall Cycles": stats["stall_cycles"],
            "Overall Util %": stats["dense_macs"] * 100 / (last * cfg.pes),
            "Mapping Efficiency %": stats["mapping_efficiency"] * 100,
            "Compute Util %": stats["scalesim_compute_util"] * 100,
        },
        columns=list(_COLUMNS),
    )


def write_compute_report(stats: pd.DataFrame, cfg: ArrayConfig, path: str | Path) -> None:
    """Write ``COMPUTE_REPORT.csv`` in SCALE-Sim's layout (``", "`` separators, trailing comma)."""
    df = compute_report(stats, cfg)
    lines = [", ".join(df.columns) + ","]
    for row in df.itertuples(index=False):
        lines.append(", ".join(str(v) for v in row) + ",")
    Path(path).write_text("\n".join(lines) + "\n")
