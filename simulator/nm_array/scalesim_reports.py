"""SCALE-Sim-format reports written from sparsim's per-layer statistics.

Why: users compare against SCALE-Sim by diffing its CSVs, so a column carrying SCALE-Sim's name
must mean what SCALE-Sim's means. We write only the columns we reproduce exactly on SCALE-Sim
3.0.0's own runs (ResNet-18 at 32x32 WS, OS, IS and at 8x16 OS, IS: a parity test over every column
written, ``tests/simulator/nm_array/test_scalesim_reports.py``) and leave the others out:

``COMPUTE_REPORT.csv``
    ``LayerID``; ``Total Cycles`` (SCALE-Sim reports the index of the last busy cycle, one less
    than the number of cycles: we write ``cycles - 1``); ``Stall Cycles``; ``Overall Util %``
    (dense-equivalent MACs / (PEs x Total Cycles), above 100 in N:M mode); ``Mapping Efficiency
    %``; ``Compute Util %`` (SCALE-Sim's per-fold utilisation, averaged).
    Left out: ``Total Cycles (incl. prefetch)``. SCALE-Sim computes it as its OFMAP DRAM stop cycle
    minus the earliest IFMAP/filter DRAM start cycle of its trace-driven read and write buffers;
    our memory model is analytical and does not produce those trace times.
``BANDWIDTH_REPORT.csv``
    ``LayerID``, ``Avg IFMAP SRAM BW``, ``Avg FILTER SRAM BW``, ``Avg OFMAP SRAM BW`` (SRAM
    accesses / Total Cycles, as SCALE-Sim divides). Left out: the three DRAM bandwidths (same
    reason: trace start/stop cycles).
``DETAILED_ACCESS_REPORT.csv``
    ``LayerID``, ``SRAM IFMAP Reads``, ``SRAM Filter Reads``, ``SRAM OFMAP Writes``. Left out:
    every start/stop cycle and the DRAM reads/writes (SCALE-Sim counts DRAM words its buffers
    requested, in its own layout; ours are bytes of our memory model, in ``layers.csv``).

The cycle columns equal SCALE-Sim's when the config is SCALE-Sim's (``InterfaceBandwidth: CALC``:
no stalls); with a finite ``memory.bw_bytes_per_cycle`` the cycles and ``Stall Cycles`` are our
memory model's, which SCALE-Sim does not have.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from simulator.nm_array.config import ArrayConfig

__all__ = ["compute_report", "bandwidth_report", "detailed_access_report", "write_scalesim_reports", "REPORTS",
           "read_scalesim_csv"]  # fmt: skip

_COMPUTE = ("LayerID", "Total Cycles", "Stall Cycles", "Overall Util %", "Mapping Efficiency %", "Compute Util %")


def _accesses(v: pd.Series) -> pd.Series:
    """SRAM access counts as SCALE-Sim writes them: integers (a fractional count under SCALE-Sim's
    N:M read rule stays fractional)."""
    return v.map(lambda x: int(x) if float(x).is_integer() else float(x))


def compute_report(stats: pd.DataFrame, cfg: ArrayConfig) -> pd.DataFrame:
    """SCALE-Sim ``COMPUTE_REPORT`` columns we reproduce, one row per layer."""
    last = stats["cycles"] - 1
    return pd.DataFrame(
        {
            "LayerID": stats["layer"],
            "Total Cycles": last,
            "Stall Cycles": stats["stall_cycles"],
            "Overall Util %": stats["dense_macs"] * 100 / (last * cfg.pes),
            "Mapping Efficiency %": stats["mapping_efficiency"] * 100,
            "Compute Util %": stats["scalesim_compute_util"] * 100,
        },
        columns=list(_COMPUTE),
    )


def bandwidth_report(stats: pd.DataFrame, cfg: ArrayConfig) -> pd.DataFrame:
    """SCALE-Sim ``BANDWIDTH_REPORT`` columns we reproduce: average SRAM words per cycle."""
    last = stats["cycles"] - 1
    return pd.DataFrame(
        {
            "LayerID": stats["layer"],
            "Avg IFMAP SRAM BW": stats["sram_ifmap_reads"] / last,
            "Avg FILTER SRAM BW": stats["sram_filter_reads"] / last,
            "Avg OFMAP SRAM BW": stats["sram_ofmap_writes"] / last,
        }
    )


def detailed_access_report(stats: pd.DataFrame, cfg: ArrayConfig) -> pd.DataFrame:
    """SCALE-Sim ``DETAILED_ACCESS_REPORT`` columns we reproduce: SRAM accesses per operand."""
    return pd.DataFrame(
        {
            "LayerID": stats["layer"],
            "SRAM IFMAP Reads": _accesses(stats["sram_ifmap_reads"]),
            "SRAM Filter Reads": _accesses(stats["sram_filter_reads"]),
            "SRAM OFMAP Writes": _accesses(stats["sram_ofmap_writes"]),
        }
    )


#: file name -> builder
REPORTS = {
    "COMPUTE_REPORT.csv": compute_report,
    "BANDWIDTH_REPORT.csv": bandwidth_report,
    "DETAILED_ACCESS_REPORT.csv": detailed_access_report,
}


def _write(df: pd.DataFrame, path: Path) -> None:
    """SCALE-Sim's layout: ``", "`` separators and a trailing comma on every line."""
    lines = [", ".join(df.columns) + ","]
    for row in df.itertuples(index=False):
        lines.append(", ".join(str(v) for v in row) + ",")
    path.write_text("\n".join(lines) + "\n")


def read_scalesim_csv(path: str | Path) -> pd.DataFrame:
    """A SCALE-Sim report (its own or ours) as a DataFrame: ``", "`` separators and the trailing
    comma's empty column removed, column names stripped."""
    df = pd.read_csv(path, skipinitialspace=True)
    df.columns = [str(c).strip() for c in df.columns]
    return df.loc[:, ~df.columns.str.startswith("Unnamed")]


def write_scalesim_reports(stats: pd.DataFrame, cfg: ArrayConfig, out_dir: str | Path) -> list[str]:
    """Write the three reports into ``out_dir``; returns their file names."""
    for name, build in REPORTS.items():
        _write(build(stats, cfg), Path(out_dir) / name)
    return list(REPORTS)
