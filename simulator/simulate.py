"""``sparsim simulate``: a workload on an array config, to tables and SCALE-Sim-format reports."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from reports.scalesim_report import write_compute_report
from simulator.config import ArrayConfig, load_arch
from simulator.nm_array_fold import simulate_layers
from simulator.outputs import atomic_output_dir, check_output_dir
from workloads.io import load_workload

__all__ = ["SimulationResult", "simulate", "write_simulation", "summary_table"]


@dataclass(frozen=True, slots=True)
class SimulationResult:
    """A finished run: the config, the layer table and one row of statistics per layer."""

    config: ArrayConfig
    layers: pd.DataFrame
    stats: pd.DataFrame


def simulate(
    arch: str | Path | ArrayConfig, workload: str | Path | pd.DataFrame, batch: int | None = None
) -> SimulationResult:
    """Load (if given paths), validate and simulate. Raises ``SparsimInputError`` on bad input."""
    cfg = arch if isinstance(arch, ArrayConfig) else load_arch(arch)
    if isinstance(workload, pd.DataFrame):
        layers = workload if batch is None else workload.assign(batch=batch)
        source = "workload"
    else:
        layers = load_workload(workload, batch=batch)
        source = str(workload)
    stats = simulate_layers(layers, cfg, source=source)
    return SimulationResult(cfg, layers, stats)


def summary_table(res: SimulationResult) -> str:
    """Human-readable per-layer summary with a total line."""
    s = res.stats
    view = pd.DataFrame(
        {
            "layer": s["name"],
            "M x K x N": s["gemm_m"].astype(str)
            + " x "
            + s["gemm_k"].astype(str)
            + " x "
            + s["gemm_n"].astype(str)
            + s["count"].map(lambda c: f" (x{c})" if c > 1 else ""),
            "N:M": s["nm"],
            "folds": s["folds"],
            "cycles": s["total_cycles"],
            "stalls": s["stall_cycles"],
            "util %": (s["utilization"] * 100).round(1),
            "DRAM MB": (
                (s["dram_ifmap_bytes"] + s["dram_filter_bytes"] + s["dram_ofmap_bytes"] + s["dram_psum_read_bytes"])
                / 1e6
            ).round(3),
        }
    )
    total_cycles = int(s["total_cycles"].sum())
    util = s["dense_macs"].sum() / (res.config.pes * total_cycles)
    cfg = res.config
    head = (
        f"array {cfg.rows}x{cfg.cols} {cfg.dataflow.upper()}"
        f"{' (weight double-buffered)' if cfg.weight_double_buffer else ''}, "
        f"DRAM {'unlimited' if cfg.dram_bw_bytes_per_cycle is None else f'{cfg.dram_bw_bytes_per_cycle:g} B/cycle'}"
    )
    tail = (
        f"total: {len(s)} layers, {total_cycles:,} cycles, {int(s['stall_cycles'].sum()):,} stall cycles, "
        f"{s['dense_macs'].sum():,} dense MACs, utilization {util * 100:.1f}%"
    )
    return "\n".join([head, view.to_string(index=False), tail])


def write_simulation(res: SimulationResult, out: str | Path) -> Path:
    """Write ``layers.csv``, ``layers.parquet``, ``workload.csv`` and ``COMPUTE_REPORT.csv``."""
    check_output_dir(out)
    with atomic_output_dir(out) as tmp:
        res.stats.to_csv(tmp / "layers.csv", index=False)
        res.stats.to_parquet(tmp / "layers.parquet", index=False)
        res.layers.to_csv(tmp / "workload.csv", index=False)
        write_compute_report(res.stats, res.config, tmp / "COMPUTE_REPORT.csv")
    return Path(out)
