"""``sparsim mobile``: prune a mobile CNN to a pattern, predict its latency on the modelled core
(and optionally measure the host kernels), one row per layer.

Why dense is always run too: "is sparsity worth it here" is a ratio, so every run reports its
engine's speed-up over the dense engine on the same core, layer by layer.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from simulator.a76_core import CoreConfig
from simulator.errors import SparsimInputError
from simulator.mobile_latency import ENGINES, PRUNED_OPS, measure_host, network_latency, prune_layers
from workloads.mobile_models import MOBILE_MODELS, MobileLayer, from_torch, load_mobile_model, zoo_torch_model
from workloads.mobile_patterns import kept_magnitude

__all__ = ["MobileRun", "run_mobile", "parse_input_shape", "prepare_layers"]


@dataclass
class MobileRun:
    table: pd.DataFrame
    summary: dict = field(default_factory=dict)


def parse_input_shape(text: str | None) -> tuple[int, int, int] | None:
    if text is None:
        return None
    parts = text.split(",")
    if len(parts) != 3 or not all(p.strip().isdigit() and int(p) > 0 for p in parts):
        raise SparsimInputError("--input", "input", text, "three positive integers C,H,W")
    return tuple(int(p) for p in parts)  # type: ignore[return-value]


def prepare_layers(model: str, engine: str, sparsity: float, shape) -> tuple[list[MobileLayer], dict]:
    """The layers an engine runs: a zoo model pruned by the group engine is channel-rearranged first."""
    info: dict = {"rearranged": False}
    if engine == "group" and sparsity > 0 and MOBILE_MODELS.get(model, ("",))[0] == "zoo":
        import torch

        from workloads.rearrange import rearrange

        shape = shape or MOBILE_MODELS[model][1]
        res = rearrange(zoo_torch_model(model), torch.randn(1, *shape), "group", sparsity)
        info.update(rearranged=True, kept_before=res.kept_before, kept_after=res.kept_after)
        return from_torch(res.model, shape), info
    if engine == "group" and sparsity > 0:
        info["rearrange_note"] = "not applied: rearrangement needs the torch graph (zoo models)"
    return load_mobile_model(model, shape), info


def run_mobile(
    model: str,
    pattern: str,
    sparsity: float,
    core: CoreConfig | None = None,
    measure: bool = False,
    input_shape: tuple[int, int, int] | None = None,
    scope: str = "layer",
    channel_padding: str = "zero",
) -> MobileRun:
    if pattern not in ENGINES:
        raise SparsimInputError("--pattern", "pattern", pattern, f"allowed: {', '.join(ENGINES)}")
    if isinstance(sparsity, bool) or not 0.0 <= sparsity < 1.0:
        raise SparsimInputError("--sparsity", "sparsity", sparsity, "a number in [0, 1)")
    core = core or CoreConfig()
    layers, info = prepare_layers(model, pattern, sparsity, input_shape)
    masks = prune_layers(layers, pattern, sparsity, scope, channel_padding)
    table = network_latency(layers, pattern, masks, core)
    dense = network_latency(layers, "dense", {}, core) if pattern != "dense" else table
    table["dense_cycles"] = dense["cycles"].to_numpy()
    table["speedup_vs_dense"] = table["dense_cycles"] / table["cycles"]
    kept = [kept_magnitude(L.weight, masks[L.name]) if L.name in masks else 1.0 for L in layers]
    table["kept_magnitude"] = kept
    if measure:
        host = measure_host(layers, pattern, masks)
        host_dense = measure_host(layers, "dense", {}) if pattern != "dense" else host
        table["host_ms"] = [np.nan if t is None else t * 1e3 for t in host]
        table["host_dense_ms"] = [np.nan if t is None else t * 1e3 for t in host_dense]
    pruned = [L for L in layers if L.op in PRUNED_OPS[pattern]]
    w_all = sum(L.weight.size for L in pruned) or 1
    summary = {
        "model": model,
        "pattern": pattern,
        "sparsity_target": sparsity,
        "scope": scope,
        "channel_padding": channel_padding,
        "layers": len(layers),
        "pruned_layers": len(masks),
        "weight_sparsity_pruned_layers": 1.0 - sum(int(m.sum()) for m in masks.values()) / w_all if masks else 0.0,
        "macs": int(table["macs"].sum()),
        "kept_macs": int(table["kept_macs"].sum()),
        "core_ms": float(table["ms"].sum()),
        "dense_core_ms": float(dense["ms"].sum()),
        "speedup_vs_dense": float(dense["cycles"].sum() / table["cycles"].sum()),
        "core_freq_ghz": core.freq_ghz,
        **info,
    }
    if measure:
        both = table[["host_ms", "host_dense_ms"]].dropna()
        summary["host_ms"] = float(both["host_ms"].sum())
        summary["host_dense_ms"] = float(both["host_dense_ms"].sum())
        summary["host_speedup_vs_dense"] = summary["host_dense_ms"] / summary["host_ms"]
        summary["host_layers_measured"] = len(both)
    return MobileRun(table, summary)
