"""A pruned mobile CNN on the Cortex-A76-class core, behind the block protocol (``mobile``).

Workload: a :class:`MobileModel` (a zoo or PP-OCR model name, or an ONNX file, and the input
shape). An *engine* (dense, unstructured, block4, group; :mod:`simulator.mobile.latency`) names
both the kernels and the sparsity pattern they need; the group engine prunes a zoo model after
whole-network channel rearrangement (:mod:`workloads.rearrange`). One row per layer.

Why dense can run beside: "is sparsity worth it here" is a ratio, so ``compare_dense`` adds each
layer's dense-engine cycles on the same core (the CLI always asks for it; sweeps sweep the engine
instead). ``measure_host`` also times the real host kernels (:mod:`simulator.mobile.fl`);
a wall time is not a sweep metric, so it is a one-run parameter. What the rearrangement did is in
the result's ``info``. The model level (:meth:`MobileBlock.level`) names the core preset that ran.

Levels: there is no separate functional model of a core's timing. The value oracle of the
kernels is :mod:`simulator.mobile.fl` (numpy, checked against torch), the cycle model is
:mod:`simulator.mobile.cl` and its independent twin :mod:`simulator.mobile.twin`.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from simulator.common.block import Block, Param
from simulator.common.errors import SparsimInputError
from simulator.common.validate import boolean, choice, fraction
from simulator.common.work import Work
from simulator.mobile.config import CoreConfig
from simulator.mobile.latency import ENGINES, PRUNED_OPS

__all__ = ["MobileModel", "MobileBlock", "prepare_layers", "parse_input_shape", "mobile_summary"]


@dataclass(frozen=True, slots=True)
class MobileModel:
    """A model to run: a name of :data:`workloads.mobile_models.MOBILE_MODELS` or an ``.onnx``
    path, and the input ``(C, H, W)`` (``None``: the model's own)."""

    model: str
    input_shape: tuple[int, int, int] | None = None


def parse_input_shape(text: str | None, source: str = "--input") -> tuple[int, int, int] | None:
    """``"C,H,W"`` into a shape (each from 1 to 16384), or ``None``."""
    from simulator.common.validate import parse_int

    if text is None:
        return None
    parts = str(text).split(",")
    if len(parts) != 3:
        raise SparsimInputError(source, "input", text, "three positive integers C,H,W")
    return tuple(parse_int(p, source, "input", 1, 16384) for p in parts)  # type: ignore[return-value]


def prepare_layers(
    model: str, engine: str, sparsity: float, shape, rearrange: bool = True, elementwise: bool = False
) -> tuple[list, dict]:
    """The layers an engine runs: a zoo model pruned by the group engine is channel-rearranged
    first (unless ``rearrange`` is off); ``elementwise`` adds the element-wise operators."""
    from workloads.mobile_models import MOBILE_MODELS, from_torch, load_mobile_model, zoo_torch_model

    info: dict = {"rearranged": False}
    if not rearrange:
        return load_mobile_model(model, shape, elementwise), info
    if engine == "group" and sparsity > 0 and MOBILE_MODELS.get(model, ("",))[0] == "zoo":
        from simulator.common.optional import require

        torch = require("torch", "torch")  # before importing rearrange, which needs it
        from workloads.rearrange import rearrange

        shape = shape or MOBILE_MODELS[model][1]
        res = rearrange(zoo_torch_model(model), torch.randn(1, *shape), "group", sparsity)
        info.update(rearranged=True, kept_before=res.kept_before, kept_after=res.kept_after)
        return from_torch(res.model, shape, elementwise=elementwise), info
    if engine == "group" and sparsity > 0:
        info["rearrange_note"] = "not applied: rearrangement needs the torch graph (zoo models)"
    return load_mobile_model(model, shape, elementwise), info


@functools.lru_cache(maxsize=8)
def _pruned(
    model: str, shape, engine: str, sparsity: float, scope: str, padding: str, rearrange: bool, elementwise: bool
):
    """Layers (rearranged for the group engine), their masks and the rearrangement info; cached
    because a sweep runs many cores over one pruned model."""
    from simulator.mobile.latency import prune_layers

    layers, info = prepare_layers(model, engine, sparsity, shape, rearrange, elementwise)
    return layers, prune_layers(layers, engine, sparsity, scope, padding), info


#: seconds per MAC of the core model (measured: MobileNet-v2 at 224, 448 and 896 pixels,
#: 2.8e-8 to 3.2e-8; benchmarks/bench_work_estimate.py)
PER_MAC = 3.0e-8
#: seconds per MAC of the real host kernels (numpy/numba, timed several times each)
PER_HOST_MAC = 2.0e-9


@functools.lru_cache(maxsize=8)
def _own_layers(model: str, elementwise: bool) -> list:
    from workloads.mobile_models import load_mobile_model

    return load_mobile_model(model, None, elementwise)


class MobileBlock(Block):
    """Per-layer latency on the modelled core (:func:`simulator.mobile.latency.network_latency`)."""

    name = "mobile"
    simulator = "core"
    command = "mobile"
    config_type = CoreConfig
    workload_type = "MobileModel (model name or .onnx path, input shape)"
    workload_kinds = ("model",)
    params = {
        "engine": Param("dense", choice(*ENGINES), "kernels and their sparsity pattern"),
        "sparsity": Param(0.0, fraction, "fraction of pruned weights in the layers the engine prunes"),
        "scope": Param("layer", choice("layer", "network"), "prune each layer, or one network threshold"),
        "channel_padding": Param("zero", choice("zero", "none"), "Cout not a multiple of 4: pad or refuse"),
        "rearrange": Param(True, boolean, "group engine on a zoo model: rearrange channels before pruning"),
        "elementwise": Param(
            False, boolean, "zoo models: also run the element-wise operators (hard-swish, add, SE scale, pooling)"
        ),
        "compare_dense": Param(False, boolean, "add each layer's dense-engine cycles and the speed-up over them"),
        "measure_host": Param(
            False, boolean, "also run and time the real host kernels (one run only: wall time)", sweep=False
        ),
    }
    totals = {
        "cycles": "int",
        "seconds": "float",
        "macs": "int",
        "kept_macs": "int",
        "instructions": "int",
        "uops": "int",
        "loads": "int",
        "stores": "int",
        "l1_misses": "int",
        "l2_misses": "int",
        "l3_misses": "int",
        "fmla": "int",
    }

    def check_config(self, config: CoreConfig, params: dict) -> None:
        """The dense engine prunes nothing: a sparsity, scope or padding for it is refused (it
        would do nothing)."""
        if params.get("engine") != "dense":
            return
        for key in ("sparsity", "scope", "channel_padding"):
            if key in params and params[key] != self.params[key].default:
                raise SparsimInputError("", key, params[key], "its default with engine dense (it prunes nothing)")

    def level(self, config: CoreConfig) -> str:
        """``core:PRESET`` for a shipped preset's config, else ``core:custom``."""
        from simulator.mobile.config import preset_name

        return f"core:{preset_name(config) or 'custom'}"

    def estimate(self, workload: MobileModel, config: CoreConfig, **params: Any) -> Work:
        """MACs of the model at its input shape. Why scaled from the model's own shape: tracing
        at a 4096x4096 input is itself the long run (a real forward pass); a CNN's MACs grow
        with the input's area. The core model costs about :data:`PER_MAC` per MAC (its
        instruction streams and cache simulation are per output tile); ``compare_dense`` runs
        it twice, ``measure_host`` adds the real kernels (:data:`PER_HOST_MAC`)."""
        layers = _own_layers(workload.model, bool(params.get("elementwise")))
        macs = float(sum(L.macs for L in layers))
        own = layers[0].in_h * layers[0].in_w if layers else 1
        if workload.input_shape:
            macs *= workload.input_shape[1] * workload.input_shape[2] / max(own, 1)
        runs = 2 if params.get("compare_dense") and params.get("engine") != "dense" else 1
        seconds = runs * macs * PER_MAC + (runs * macs * PER_HOST_MAC if params.get("measure_host") else 0.0)
        return Work(macs, "MACs", seconds, len(layers) * runs, "layers")

    def numba_modules(self, config: CoreConfig) -> tuple[str, ...]:
        return ("simulator.mobile.cl", "simulator.mobile.fl", "simulator.mobile.streams")

    def _run(
        self,
        workload: MobileModel,
        config: CoreConfig,
        *,
        engine: str = "dense",
        sparsity: float = 0.0,
        scope: str = "layer",
        channel_padding: str = "zero",
        rearrange: bool = True,
        elementwise: bool = False,
        compare_dense: bool = False,
        measure_host: bool = False,
    ) -> tuple[pd.DataFrame, dict[str, Any]]:
        from simulator.mobile.latency import measure_host as host_times
        from simulator.mobile.latency import network_latency
        from workloads.mobile_patterns import kept_magnitude

        shape = tuple(workload.input_shape) if workload.input_shape else None
        layers, masks, info = _pruned(
            workload.model, shape, engine, float(sparsity), scope, channel_padding, rearrange, bool(elementwise)
        )
        table = network_latency(layers, engine, masks, config)
        table["kept_magnitude"] = [kept_magnitude(L.weight, masks[L.name]) if L.name in masks else 1.0 for L in layers]
        if compare_dense:
            dense = network_latency(layers, "dense", {}, config) if engine != "dense" else table
            table["dense_cycles"] = dense["cycles"].to_numpy()
            table["dense_seconds"] = dense["seconds"].to_numpy()
            table["speedup_vs_dense"] = table["dense_cycles"] / table["cycles"]
        if measure_host:
            host = host_times(layers, engine, masks)
            table["host_seconds"] = [np.nan if t is None else t for t in host]
            if compare_dense:
                host_dense = host_times(layers, "dense", {}) if engine != "dense" else host
                table["host_dense_seconds"] = [np.nan if t is None else t for t in host_dense]
        pruned = [L for L in layers if L.op in PRUNED_OPS[engine]]
        w_all = sum(L.weight.size for L in pruned) or 1
        info = {
            **info,
            "pruned_layers": len(masks),
            "weight_sparsity_pruned_layers": 1.0 - sum(int(m.sum()) for m in masks.values()) / w_all if masks else 0.0,
        }
        return table, {"info": info, "workload": workload}

    def write(self, result, folder: Path) -> None:
        """``layers.csv``/``.parquet`` and ``summary.json`` (:func:`mobile_summary`)."""
        import json

        result.table.to_csv(folder / "layers.csv", index=False)
        result.table.to_parquet(folder / "layers.parquet", index=False)
        (folder / "summary.json").write_text(json.dumps(mobile_summary(result), indent=2) + "\n")

    def summarize(self, table: pd.DataFrame, config: CoreConfig, **params) -> dict[str, Any]:
        out = {k: int(table[k].sum()) for k, ty in self.totals.items() if ty == "int"}
        out["seconds"] = float(table["seconds"].sum())
        return {k: out[k] for k in self.totals}

    # ------------------------------------------------------------------ sweep workloads
    def workload_spec(self, entry: Any, base_dir: Path, where: str) -> dict[str, Any]:
        from simulator.common.files import file_digest, spec_file
        from workloads.mobile_models import MOBILE_MODELS

        if not isinstance(entry, dict) or "model" not in entry or set(entry) - {"model", "input"}:
            raise SparsimInputError(where, "workload", entry, "a mapping with model (and optional input C,H,W)")
        try:
            shape = parse_input_shape(entry.get("input"))
        except SparsimInputError as err:
            raise SparsimInputError(where, "input", err.value, err.allowed) from None
        model = entry["model"]
        if isinstance(model, str) and model in MOBILE_MODELS:
            wid, load, label = {"model": model}, {"model": model}, model
            shape = shape or MOBILE_MODELS[model][1]
        else:
            path = spec_file(model, base_dir, where, "model")
            if path.suffix != ".onnx":
                raise SparsimInputError(where, "model", model, f"one of {', '.join(MOBILE_MODELS)} or an .onnx file")
            wid, load, label = {"model": path.name, "sha": file_digest(path)}, {"model": str(path)}, path.stem
        wid["input"] = list(shape) if shape else None
        load["input"] = list(shape) if shape else None
        if shape:
            label += f" {shape[1]}x{shape[2]}"
        from workloads.mobile_models import load_mobile_model

        load_mobile_model(load["model"], shape)  # refuse a model that cannot load, before any point runs
        return {"label": label, "id": wid, "load": load}

    def load_workload(self, load: dict[str, Any]) -> MobileModel:
        return MobileModel(load["model"], tuple(load["input"]) if load["input"] else None)


def mobile_summary(result) -> dict[str, Any]:
    """The run in one flat mapping (the CLI's ``summary.json``): the model, the parameters, the
    totals against dense and the host, and what pruning and rearrangement did."""
    table, totals, params, info = result.table, result.totals, dict(result.params), dict(result.info)
    core = result.config
    s = {
        "model": result.workload.model,
        **{k: v for k, v in params.items() if k not in ("compare_dense", "measure_host")},
        "sparsity_target": params["sparsity"],
        "layers": len(table),
        **{k: info[k] for k in ("pruned_layers", "weight_sparsity_pruned_layers")},
        "macs": totals["macs"],
        "kept_macs": totals["kept_macs"],
        "core_seconds": totals["seconds"],
    }
    if "dense_cycles" in table.columns:
        s.update(dense_core_seconds=float(table["dense_seconds"].sum()),
                 speedup_vs_dense=float(table["dense_cycles"].sum() / table["cycles"].sum()))  # fmt: skip
    s.update(core_clock_ghz=core.clock_ghz, core=result.level.split(":", 1)[1])
    s.update({k: v for k, v in info.items() if k not in ("pruned_layers", "weight_sparsity_pruned_layers")})
    if "host_seconds" in table.columns and "host_dense_seconds" in table.columns:
        both = table[["host_seconds", "host_dense_seconds"]].dropna()
        s.update(host_seconds=float(both["host_seconds"].sum()),
                 host_dense_seconds=float(both["host_dense_seconds"].sum()),
                 host_layers_measured=len(both))  # fmt: skip
        s["host_speedup_vs_dense"] = s["host_dense_seconds"] / s["host_seconds"]
    return s
