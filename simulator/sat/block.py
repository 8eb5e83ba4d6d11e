"""The SAT block: one training step (FF, BP, WU of every layer) on the N:M array, behind the block
protocol (``sat``). One row per (layer, pass).

Levels (:mod:`simulator.sat`): the options are :mod:`simulator.sat.config` (the hardware is the
array's :class:`~simulator.nm_array.config.ArrayConfig`), the cycle model :mod:`simulator.sat.cl`.
Run parameters: ``scheme``, ``nm``, ``interleave``, ``pregen``, ``offline``,
``batch``, ``sram_kb``, ``mapping``, ``objective``, ``mapping_file``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from simulator.common.block import Param
from simulator.common.validate import boolean, choice, positive_int_or_none, positive_number_or_none
from simulator.nm_array.block import (
    ArrayBlock,
    dram_bound_share,
    mapping_params,
    nm_pair,
    nm_text,
    sram_bound_share,
)
from simulator.nm_array.config import ArrayConfig

__all__ = ["SATBlock"]


class SATBlock(ArrayBlock):
    """One training step (FF, BP, WU) with SAT's dataflow options
    (:mod:`simulator.sat.cl`): one row per (layer, pass)."""

    name = "sat"
    simulator = "training_step"
    command = "simulate"
    params = {
        "scheme": Param("bdwp", choice("bdwp", "forward-only", "transposable", "dense"), "N:M training scheme"),
        "nm": Param("2:4", nm_text, "N:M of the sparse passes"),
        "interleave": Param(True, boolean, "interleave mapping"),
        "pregen": Param(True, boolean, "weight pre-generation"),
        "offline": Param(True, boolean, "offline scheduling"),
        "batch": Param(None, positive_int_or_none, "batch size of every layer (null: the workload's own)"),
        "sram_kb": Param(None, positive_number_or_none, "all three operand buffers, KiB", config_only=True),
        **mapping_params(),
    }
    totals = {
        "cycles": "int",
        "cycles_ff": "int",
        "cycles_bp": "int",
        "cycles_wu": "int",
        "dense_macs": "int",
        "macs": "int",
        "dram_bytes": "int",
        "stall_cycles": "int",
        "sram_stall_cycles": "int",
        "dram_bound_share": "float",
        "sram_bound_share": "float",
        "seconds": "float",
        "dense_equivalent_gops": "float",
        "energy_pj": "float",
        "gops_per_watt": "float",
        "pe_ge": "float",
        "sram_ge": "float",
        "area_ge": "float",
        "area_mm2": "float",
    }

    def _sparse_nm(self, params: dict) -> str | None:
        return None if params["scheme"] == "dense" else params["nm"]

    def _run(
        self,
        workload: pd.DataFrame,
        config: ArrayConfig,
        *,
        scheme="bdwp",
        nm="2:4",
        interleave=True,
        pregen=True,
        offline=True,
        batch=None,
        mapping="plain",
        objective="cycles",
        mapping_file=None,
    ) -> tuple[pd.DataFrame, dict[str, Any]]:
        from simulator.sat.cl import simulate_training_step
        from simulator.sat.config import SATOptions

        layers = workload if batch is None else workload.assign(batch=batch)
        opts = SATOptions(interleave=interleave, pregen=pregen, offline=offline)
        table = simulate_training_step(layers, config, scheme=scheme, nm=nm_pair(nm), options=opts,
                                       mapping=mapping_file or mapping, objective=objective)  # fmt: skip
        table["seconds"] = table["cycles"] / (config.clock_ghz * 1e9)
        return table, {"workload": layers}

    def _gemms(self, workload: pd.DataFrame, params: dict) -> pd.DataFrame:
        from workloads.training import training_passes

        layers = workload if params.get("batch") is None else workload.assign(batch=params["batch"])
        return training_passes(layers, params["scheme"], nm_pair(params["nm"]))

    def write(self, result, folder: Path) -> None:
        """``passes.csv``/``.parquet`` (one row per layer and pass) and ``workload.csv``."""
        result.table.to_csv(folder / "passes.csv", index=False)
        result.table.to_parquet(folder / "passes.parquet", index=False)
        result.workload.to_csv(folder / "workload.csv", index=False)

    def summarize(self, table: pd.DataFrame, config: ArrayConfig, **params) -> dict[str, Any]:
        from simulator.sat.cl import training_summary

        out = training_summary(table, config.clock_ghz)
        out.update(
            stall_cycles=int(table["stall_cycles"].sum()),
            sram_stall_cycles=int(table["sram_stall_cycles"].sum()),
            dram_bound_share=dram_bound_share(table),
            sram_bound_share=sram_bound_share(table),
        )
        out.update(self._area(config))
        return {k: out[k] for k in self.totals}
