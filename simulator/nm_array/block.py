"""The N:M array behind the block protocol: inference (``nm_array``) and one training step (``sat``).

Workload: a layer table (:mod:`workloads.layers`), given in sweeps as a zoo trace or a trace file.
Run parameters beside :class:`simulator.nm_array.config.ArrayConfig`'s fields (ours):

=========  ====================================================================================
nm_array   ``nm`` ("N:M" applied to every conv/linear weight; matmuls of two activations stay
           dense; unset keeps the workload's own annotation), ``batch``, ``sram_kb`` (sets all
           three operand buffers at once, overriding their own fields), ``mapping`` (``plain``,
           ``auto``: the mapper, or one dataflow's plain schedule), ``objective`` (the mapper's)
sat        ``scheme``, ``nm``, ``interleave``, ``pregen``, ``offline``, ``batch``,
           ``sram_kb``, ``mapping``, ``objective``
=========  ====================================================================================

A point that sets ``nm`` but not ``supported_m`` gets ``supported_m = (1, M)``: the cheapest array
that runs it, which is what its area is then charged for.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pandas as pd

from simulator.common.block import Block, Param
from simulator.common.bounds import dram_bound_share, sram_bound_share, utilization
from simulator.common.errors import SparsimInputError
from simulator.common.files import file_digest, spec_file
from simulator.common.validate import (
    boolean,
    choice,
    positive_int_or_none,
    positive_number_or_none,
)
from simulator.common.work import Work
from simulator.nm_array.config import ArrayConfig

__all__ = [
    "NMArrayBlock",
    "with_nm",
    "ArrayBlock",
    "nm_pair",
    "nm_text",
    "mapping_params",
    "dram_bound_share",
    "sram_bound_share",
]


def nm_text(value: Any, field: str) -> str:
    from workloads.nm import parse_nm

    if not isinstance(value, str):
        raise SparsimInputError("", field, value, 'a string "N:M" with 1 <= N <= M, e.g. "2:4"')
    n, m = parse_nm(value, "", field)
    return f"{n}:{m}"


def nm_text_or_none(value: Any, field: str) -> str | None:
    return None if value is None else nm_text(value, field)


def nm_pair(nm: str) -> tuple[int, int]:
    n, m = nm.split(":")
    return int(n), int(m)


def with_nm(layers: pd.DataFrame, nm: str | None, batch: int | None) -> pd.DataFrame:
    """``layers`` at ``batch`` with ``nm`` on every conv/linear weight (``None`` keeps each)."""
    if batch is not None:
        layers = layers.assign(batch=batch)
    if nm is None:
        return layers
    n, m = nm_pair(nm)
    weight = layers["op"].isin(("conv", "gemm")).to_numpy()
    layers = layers.copy()
    layers.loc[weight, "nm_n"] = n
    layers.loc[weight, "nm_m"] = m
    return layers


def _mapping_file(value: Any, field: str) -> str | None:
    """An existing mapping file (.yaml/.yml/.csv), as a path string, or ``None``."""
    if value is None:
        return None
    if not isinstance(value, str | Path) or Path(value).suffix.lower() not in (".yaml", ".yml", ".csv"):
        raise SparsimInputError("", field, value, "the path of a .yaml/.yml/.csv mapping file (or null)")
    if not Path(value).is_file():
        raise SparsimInputError("", field, str(value), "an existing mapping file")
    return str(value)


def mapping_params() -> dict[str, Param]:
    from dataflow.nm_array.mapper import OBJECTIVES
    from simulator.nm_array.map_layers import MAPPING_CHOICES

    return {
        "mapping": Param("plain", choice(*MAPPING_CHOICES), "plain schedule, auto (the mapper) or one dataflow"),
        "objective": Param("cycles", choice(*OBJECTIVES), "what the mapper minimises (mapping: auto)"),
        "mapping_file": Param(
            None,
            _mapping_file,
            "a mapping file (.yaml/.csv) pinning every layer's mapping; "
            "replaces mapping (one run only, not a sweep axis)",
            sweep=False,
        ),
    }


def _mapping(params: dict) -> str:
    """What :func:`simulator.nm_array.map_layers.resolve_mappings` takes: a choice or a file."""
    return params.get("mapping_file") or params["mapping"]


class ArrayBlock(Block):
    config_type = ArrayConfig
    workload_type = "layer table (pandas DataFrame, workloads.layers)"
    workload_kinds = ("zoo", "trace", "layers")
    has_area = True
    has_energy = True

    def _sparse_nm(self, params: dict) -> str | None:
        """The N:M the array must run (None: dense or the workload's own annotation)."""
        return params.get("nm")

    def file_names(self) -> tuple[str, ...]:
        return ("memory.dram",)

    def resolve_file(self, name: str, value: Any, base_dir: Path) -> Any:
        from simulator.nm_array.config import dram_relative_to

        return dram_relative_to(value, base_dir) if name == "memory.dram" else value

    def adjust_config(self, fields: dict, params: dict) -> dict:
        if params.get("sram_kb") is not None:
            for key in ("buffers.ifmap_kb", "buffers.filter_kb", "buffers.ofmap_kb"):
                fields[key] = params["sram_kb"]
        nm = self._sparse_nm(params)
        if nm is not None and "pe.supported_m" not in fields:
            n, m = nm_pair(nm)
            fields["pe.supported_m"] = (1,) if n == m else (1, m)
        return fields

    #: the system partitions this block runs (``tensor`` is an LLM's: block ``llm``)
    partitions = ("auto", "split_m", "split_n", "pipeline")

    def check_config(self, config: ArrayConfig, params: dict) -> None:
        if config.is_system and config.system.partition not in self.partitions:
            raise SparsimInputError("", "system.partition", config.system.partition,
                                    f"one of {', '.join(self.partitions)} for block {self.name}")  # fmt: skip
        if params.get("private_memory") and not config.is_system:
            raise SparsimInputError("", "private_memory", True, "false on one array (it has its memory to itself)")
        nm = self._sparse_nm(params)
        if nm is not None:
            n, m = nm_pair(nm)
            if n != m and m not in config.pe.supported_m:
                raise SparsimInputError(
                    "", "nm", nm, f"M must be one of the array's pe.supported_m {list(config.pe.supported_m)}"
                )
        if "mapping" in params:
            from simulator.nm_array.map_layers import check_mapping_request

            if params.get("mapping_file") is not None and params["mapping"] != "plain":
                raise SparsimInputError("", "mapping", params["mapping"],
                                        "plain (the default) when mapping_file pins the mappings")  # fmt: skip
            check_mapping_request(_mapping(params), params["objective"], config, "mapping")
            if params["mapping"] != "auto" and params["objective"] != "cycles":
                raise SparsimInputError("", "objective", params["objective"], "only with mapping: auto (the mapper's)")
        from simulator.nm_array.area import array_area

        array_area(config)  # a lane count without an area entry is refused before running

    def workload_spec(self, entry: Any, base_dir: Path, where: str) -> dict[str, Any]:
        """``{zoo: NAME}``, ``{trace: FILE}`` or ``{layers: [row, ...], name: LABEL}`` (a layer
        table written out in the spec, as a reproduction builds one: a slice of a zoo trace)."""
        extra = {"name"} if isinstance(entry, dict) and "layers" in entry else set()
        if (not isinstance(entry, dict) or len(set(entry) & set(self.workload_kinds)) != 1
                or set(entry) - set(self.workload_kinds) - extra):  # fmt: skip
            raise SparsimInputError(
                where, "workload", entry, f"a mapping with one of: {', '.join(self.workload_kinds)}"
            )
        if "layers" in entry:
            from workloads.layers import layer_table

            rows = entry["layers"]
            if not isinstance(rows, list) or not rows or not all(isinstance(r, dict) for r in rows):
                raise SparsimInputError(where, "layers", type(rows).__name__, "a non-empty list of layer mappings")
            table = layer_table(rows, f"{where}.layers")  # refused now, not in a worker
            text = table.to_json(orient="records")
            label = str(entry.get("name", "layers"))
            sha = hashlib.sha256(text.encode()).hexdigest()[:16]
            return {"label": label, "id": {"layers": label, "sha": sha}, "load": {"layers_json": text}}
        if "zoo" in entry:
            from workloads.zoo import TRACE_DIR

            name = entry["zoo"]
            names = sorted(p.stem for p in TRACE_DIR.glob("*.csv"))
            if not isinstance(name, str) or name not in names:
                raise SparsimInputError(where, "zoo", name, f"one of {', '.join(names)}")
            path = TRACE_DIR / f"{name}.csv"
            wl = {"label": name, "id": {"zoo": name, "sha": file_digest(path)}, "load": {"path": str(path)}}
        else:
            path = spec_file(entry["trace"], base_dir, where, "trace")
            wl = {"label": path.stem, "id": {"trace": path.name, "sha": file_digest(path)}, "load": {"path": str(path)}}
        return wl

    def load_workload(self, load: dict[str, Any]) -> pd.DataFrame:
        if "layers_json" in load:
            import io

            from workloads.layers import validate_layer_table

            return validate_layer_table(pd.read_json(io.StringIO(load["layers_json"]), orient="records"), "layers")
        from workloads.io import load_workload

        return load_workload(load["path"])

    def estimate(self, workload: pd.DataFrame, config: ArrayConfig, **params: Any) -> Work:
        """Folds (or DRAM requests) of the workload's GEMMs (:mod:`simulator.nm_array.estimate`)."""
        from simulator.nm_array.estimate import estimate_gemms

        return estimate_gemms(self._gemms(workload, params), config, params.get("mapping_file") or params["mapping"])

    def numba_modules(self, config: ArrayConfig) -> tuple[str, ...]:
        """The DRAM model's kernels (the fold model itself is numpy)."""
        return ("simulator.nm_array.dram_memory", "simulator.dram.cl") if config.memory.is_dram else ()

    def _gemms(self, workload: pd.DataFrame, params: dict) -> pd.DataFrame:
        """The GEMMs a run lowers ``workload`` to (a training step's: its passes)."""
        from workloads.lowering import lower_to_gemms

        return lower_to_gemms(with_nm(workload, params.get("nm"), params.get("batch")))

    @staticmethod
    def _area(cfg: ArrayConfig) -> dict[str, float]:
        """The array's area, or the sum of a system's arrays' (each with its own SRAMs)."""
        from simulator.nm_array.area import array_area

        if not cfg.is_system:
            return array_area(cfg)
        parts = [array_area(a) for a in cfg.system_arrays()]
        return {k: float(sum(p[k] for p in parts)) for k in parts[0]}


class NMArrayBlock(ArrayBlock):
    """Inference on the N:M systolic array (fold-level cycle model, :mod:`simulator.nm_array.fold`):
    one row per layer."""

    name = "nm_array"
    simulator = "fold"
    command = "simulate"
    params = {
        "nm": Param(None, nm_text_or_none, "N:M on every weight (null: the workload's own)"),
        "batch": Param(None, positive_int_or_none, "batch size of every layer (null: the workload's own)"),
        "sram_kb": Param(None, positive_number_or_none, "all three operand buffers, KiB", config_only=True),
        "private_memory": Param(
            False,
            boolean,
            "a system of arrays: each array gets its own copy of the memory "
            "(no contention: the counterfactual that separates partitioning from sharing)",
        ),
        **mapping_params(),
    }
    totals = {
        "cycles": "int",
        "compute_cycles": "int",
        "stall_cycles": "int",
        "sram_stall_cycles": "int",
        "dense_macs": "int",
        "macs": "int",
        "utilization": "float",
        "dram_bytes": "int",
        "sram_bytes": "int",
        "dram_bw_required": "float",
        "dram_bound_share": "float",
        "sram_bound_share": "float",
        "energy_pj": "float",
        "energy_mac_pj": "float",
        "energy_sram_pj": "float",
        "energy_dram_pj": "float",
        "pe_ge": "float",
        "sram_ge": "float",
        "area_ge": "float",
        "area_mm2": "float",
    }

    def _run(
        self, workload: pd.DataFrame, config: ArrayConfig, *, nm=None, batch=None, mapping="plain",
        objective="cycles", mapping_file=None, private_memory=False,
    ) -> tuple[pd.DataFrame, dict[str, Any]]:  # fmt: skip
        from simulator.nm_array.energy import energy_pj
        from simulator.nm_array.fold import simulate_gemms
        from simulator.nm_array.map_layers import resolve_mappings
        from workloads.lowering import lower_to_gemms

        layers = with_nm(workload, nm, batch)
        mapping = mapping_file or mapping
        gemms = lower_to_gemms(layers)
        if config.is_system:
            from simulator.nm_array.system import simulate_system

            samples = layers["batch"].unique() if len(layers) else [1]
            one = lower_to_gemms(layers.assign(batch=1)) if len(samples) == 1 else None
            result = simulate_system(gemms, config, mapping=mapping, objective=objective, per_sample=one,
                                     samples=int(samples[0]), private_memory=private_memory)  # fmt: skip
            stats, per_array, mapper_cols = result.layers, result.arrays, None
        else:
            mappings, mapper_cols = resolve_mappings(gemms, config, mapping, objective)
            stats = simulate_gemms(gemms, config, mappings=mappings)
        stats["sram_bytes"] = (stats["sram_ifmap_reads"] + stats["sram_filter_reads"]) * config.pe.word_bytes + stats[
            "sram_ofmap_writes"
        ] * config.pe.psum_bytes
        table = pd.concat([stats, energy_pj(stats, config)] + ([mapper_cols] if mapper_cols is not None else []),
                          axis=1)  # fmt: skip
        given = workload if batch is None else workload.assign(batch=batch)
        return table, {"workload": given, "arrays": per_array if config.is_system else None}

    def write(self, result, folder: Path) -> None:
        """``layers.csv``/``.parquet``, ``workload.csv``, ``arrays.csv`` (a system) and SCALE-Sim's
        three reports (the columns we reproduce)."""
        from simulator.nm_array.scalesim_reports import write_scalesim_reports

        if result.arrays is not None:
            result.arrays.to_csv(folder / "arrays.csv", index=False)
        result.table.to_csv(folder / "layers.csv", index=False)
        result.table.to_parquet(folder / "layers.parquet", index=False)
        result.workload.to_csv(folder / "workload.csv", index=False)
        write_scalesim_reports(result.table, result.config, folder)

    def summarize(self, table: pd.DataFrame, config: ArrayConfig, **params) -> dict[str, Any]:
        cycles = int(table["cycles"].sum())
        dense = int(table["dense_macs"].sum())
        out = {
            k: int(table[k].sum())
            for k in ("cycles", "compute_cycles", "stall_cycles", "sram_stall_cycles", "macs", "dram_bytes")
        }
        out.update(
            dense_macs=dense,
            utilization=utilization(dense, config.system_pes, cycles),
            sram_bytes=int(table["sram_bytes"].sum()),
            dram_bw_required=float(table["dram_bw_required"].max()),
            dram_bound_share=dram_bound_share(table),
            sram_bound_share=sram_bound_share(table),
        )
        out.update(
            {k: float(table[k].sum()) for k in ("energy_pj", "energy_mac_pj", "energy_sram_pj", "energy_dram_pj")}
        )
        out.update(self._area(config))
        return {k: out[k] for k in self.totals}
