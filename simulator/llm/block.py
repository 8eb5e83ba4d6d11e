"""The LLM block: a serving run of a decoder-only transformer (prefill, then decode steps) on the
N:M array or a system of arrays, behind the block protocol (``llm``). One row per step.

Run parameters: ``batch`` (sequences), ``prompt`` (tokens per prompt), ``generate`` (new tokens
per sequence: the prefill makes the first, each decode step one more), ``nm`` (N:M on every
weight linear of the transformer layers), ``attention_nm`` (N:M on the attention products'
K and V; dense by default: both are activations), ``attention_block`` (the causal prefill's tile),
``mapping``, ``objective``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from simulator.common.block import Param
from simulator.common.errors import SparsimInputError
from simulator.common.validate import check_int
from simulator.common.work import Work
from simulator.nm_array.block import ArrayBlock, mapping_params, nm_pair, nm_text_or_none
from simulator.nm_array.config import ArrayConfig

__all__ = ["LLMBlock"]


def _tokens(hi: int):
    def check(value: Any, field: str) -> int:
        return check_int("", field, value, 1, hi)

    return check


def _dense(params: dict, key: str = "nm") -> tuple[int, int]:
    return (1, 1) if params.get(key) is None else nm_pair(params[key])


class LLMBlock(ArrayBlock):
    """LLM inference in phases (:mod:`simulator.llm.cl`): one row per step, the prefill first."""

    name = "llm"
    simulator = "serving"
    command = "llm"
    workload_type = "decoder-only transformer (workloads.llm.model.LLMConfig)"
    workload_kinds = ("model",)
    params = {
        "batch": Param(1, _tokens(1 << 16), "sequences served at once"),
        "prompt": Param(128, _tokens(1 << 22), "prompt tokens per sequence (prefill)"),
        "generate": Param(1, _tokens(1 << 22), "tokens generated per sequence (the first by the prefill)"),
        "nm": Param(None, nm_text_or_none, "N:M on every weight linear of the transformer layers (null: dense)"),
        "attention_nm": Param(None, nm_text_or_none, "N:M on the attention products' K and V, a pruned KV cache "
                              "(null: dense, activation x activation)"),
        "attention_block": Param(128, _tokens(1 << 16), "the causal prefill's attention tile (tokens)"),
        # the array's mapping parameters; no mapping file (its rows are a layer table's, not a phase's)
        **{k: p for k, p in mapping_params().items() if k != "mapping_file"},
    }
    totals = {
        "cycles": "int",
        "seconds": "float",
        "ttft_s": "float",
        "tpot_s": "float",
        "tokens_per_s": "float",
        "decode_tokens_per_s": "float",
        "energy_pj": "float",
        "energy_per_token_j": "float",
        "dram_bytes": "int",
        "dense_macs": "int",
        "macs": "int",
        "prefill_bound_ratio": "float",
        "decode_bound_ratio": "float",
        "memory_bound_share": "float",
        "weight_bytes": "float",
        "kv_cache_bytes": "float",
        "pe_ge": "float",
        "sram_ge": "float",
        "area_ge": "float",
        "area_mm2": "float",
    }

    partitions = ("auto", "tensor", "data", "pipeline")

    def check_config(self, config: ArrayConfig, params: dict) -> None:
        super().check_config(config, params)
        if config.is_system and config.system.shapes:
            raise SparsimInputError("", "system.shapes", list(config.system.shapes),
                                    "empty for an LLM (tensor and pipeline parallelism give every array the same "
                                    "slice: arrays of one shape)")  # fmt: skip

    # ------------------------------------------------------------------ workloads
    def workload_spec(self, entry: Any, base_dir: Path, where: str) -> dict[str, Any]:
        """``{model: zoo:NAME}`` or ``{model: config.json}`` (relative to the spec)."""
        from simulator.common.files import file_digest, spec_file

        if not isinstance(entry, dict) or set(entry) != {"model"} or not isinstance(entry["model"], str):
            raise SparsimInputError(where, "workload", entry, "a mapping {model: zoo:NAME or a config.json file}")
        spec = entry["model"]
        if spec.startswith("zoo:"):
            from workloads.llm.model import builtin

            builtin(spec[4:])
            return {"label": spec[4:], "id": {"model": spec}, "load": {"model": spec}}
        path = spec_file(spec, base_dir, where, "model")
        self.load_workload({"model": str(path)})  # refused now, not in a worker
        return {"label": path.parent.name if path.name == "config.json" else path.stem,
                "id": {"model": path.name, "sha": file_digest(path)}, "load": {"model": str(path)}}  # fmt: skip

    def load_workload(self, load: dict[str, Any]) -> Any:
        from workloads.llm.model import load_llm

        return load_llm(load["model"])

    # ------------------------------------------------------------------ running
    def estimate(self, workload: Any, config: ArrayConfig, **params: Any) -> Work:
        """The prefill's GEMMs, one decode step's and the attention pair at each context: the
        distinct GEMMs the run simulates (:mod:`simulator.llm.cl`), costed as the array block
        costs a layer table; the attention pairs from up to 16 contexts, scaled."""
        import numpy as np

        from simulator.nm_array.estimate import estimate_gemms
        from workloads.llm.phases import check_run, decode_step, prefill
        from workloads.lowering import lower_to_gemms

        model, nm = workload, _dense(params)
        b, s, t = params["batch"], params["prompt"], params["generate"]
        check_run(model, b, s, t, params["attention_block"])
        att_nm = _dense(params, "attention_nm")
        tables = [prefill(model, b, s, nm, params["attention_block"], att_nm).gemms]
        steps = t - 1
        template = decode_step(model, b, s + 1, nm, att_nm) if steps else None
        if steps:
            tables.append(template.gemms)
        gemms = lower_to_gemms(pd.concat(tables, ignore_index=True).drop(columns=["part", "repeat"]), validate=False)
        work = estimate_gemms(gemms, config, params["mapping"])
        if steps > 1:
            from simulator.llm.cl import _attention_phase

            sample = np.unique(np.linspace(s + 2, s + t - 1, min(16, steps - 1)).astype(np.int64))
            att = _attention_phase(template, sample).gemms
            one = estimate_gemms(lower_to_gemms(att.drop(columns=["part", "repeat"]), validate=False), config,
                                 params["mapping"])  # fmt: skip
            scale = (steps - 1) / len(sample)
            work = Work(work.amount + one.amount * scale, work.unit, work.seconds + one.seconds * scale, steps + 1,
                        "steps")  # fmt: skip
        else:
            work = Work(work.amount, work.unit, work.seconds, steps + 1, "steps")
        return work

    def _run(self, workload: Any, config: ArrayConfig, *, batch=1, prompt=128, generate=1, nm=None,
             attention_nm=None, attention_block=128, mapping="plain", objective="cycles",
             ) -> tuple[pd.DataFrame, dict[str, Any]]:  # fmt: skip
        from simulator.common.work import advance
        from simulator.llm.cl import simulate_serving

        run = simulate_serving(workload, config, batch=batch, prompt=prompt, generate=generate,
                               nm=_dense({"nm": nm}), attention_block=attention_block, mapping=mapping,
                               objective=objective, attention_nm=_dense({"nm": attention_nm}))  # fmt: skip
        advance(generate)
        return run.steps, {"workload": workload, "arrays": None, "info": {"layers": run.layers, **run.info}}

    def summarize(self, table: pd.DataFrame, config: ArrayConfig, **params) -> dict[str, Any]:
        from simulator.llm.metrics import serving_totals

        out = serving_totals(table, params.get("batch", 1))
        out.update(self._area(config))
        return {k: out[k] for k in self.totals}

    def write(self, result, folder: Path) -> None:
        """``steps.csv``/``.parquet`` (one row per step), ``layers.csv``/``.parquet`` (per phase
        and operator), ``arrays.csv`` (a system), ``model.json`` and ``totals.json``."""
        result.table.to_csv(folder / "steps.csv", index=False)
        result.table.to_parquet(folder / "steps.parquet", index=False)
        layers = result.info["layers"]
        layers.to_csv(folder / "layers.csv", index=False)
        layers.to_parquet(folder / "layers.parquet", index=False)
        if result.arrays is not None:
            result.arrays.to_csv(folder / "arrays.csv", index=False)
        (folder / "model.json").write_text(json.dumps(result.workload.to_dict(), indent=2) + "\n")
        facts = {k: v for k, v in result.info.items() if k != "layers"}
        (folder / "totals.json").write_text(json.dumps({"totals": dict(result.totals), "facts": facts}, indent=2,
                                                       default=float) + "\n")  # fmt: skip
