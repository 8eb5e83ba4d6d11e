"""The blocks a sweep can explore, behind one small protocol.

Why adapters: each earlier model has its own entry point (:func:`simulator.simulate.simulate`,
:func:`simulator.sat.simulate_training_step`, :func:`simulator.piuma.simulate_spgemm`,
:func:`simulator.mobile_latency.network_latency`) and its own frozen config dataclass. A sweep needs
the same five things from every one of them: which names may be swept (config fields and run
parameters), how to build and validate a point *before* anything runs, what a workload is and how to
identify it by content, how to run a point, and which metrics (with fixed types, so every Parquet
part has one schema) come back.

Run parameters beside the config fields (ours):

=========  ====================================================================================
nm_array   ``nm`` ("N:M" applied to every conv/linear weight; matmuls of two activations stay
           dense; unset keeps the workload's own annotation), ``batch``, ``sram_kb`` (sets all
           three operand buffers at once, overriding their own fields)
sat        ``scheme``, ``nm``, ``interleave``, ``pregen``, ``offline``, ``clock_mhz``, ``batch``,
           ``sram_kb``
piuma      ``algorithm``
mobile     ``engine``, ``sparsity``, ``scope``, ``channel_padding``
=========  ====================================================================================

For ``nm_array`` and ``sat``, a point that sets ``nm`` but neither ``base`` nor the axes set
``supported_m`` gets ``supported_m = (1, M)``: the cheapest array that runs it, which is what its
area is then charged for.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from simulator.a76_core import CoreConfig
from simulator.config import ArrayConfig
from simulator.errors import SparsimInputError
from simulator.piuma import CYCLE_ALGORITHMS, PiumaConfig

__all__ = ["BLOCKS", "Block", "get_block"]


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def _nm_pair(nm: str) -> tuple[int, int]:
    n, m = nm.split(":")
    return int(n), int(m)


def _nm(value: Any, field: str = "nm") -> str:
    from workloads.nm import parse_nm

    if not isinstance(value, str):
        raise SparsimInputError("", field, value, 'a string "N:M" with 1 <= N <= M, e.g. "2:4"')
    n, m = parse_nm(value, "", field)
    return f"{n}:{m}"


def _choice(*allowed: str):
    def check(value: Any, field: str) -> Any:
        if value not in allowed:
            raise SparsimInputError("", field, value, f"allowed: {', '.join(allowed)}")
        return value

    return check


def _bool(value: Any, field: str) -> bool:
    if not isinstance(value, bool):
        raise SparsimInputError("", field, value, "true or false")
    return value


def _pos_int_or_none(value: Any, field: str) -> int | None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise SparsimInputError("", field, value, "a positive integer (or null: the workload's own)")
    return value


def _pos_float(value: Any, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value <= 0:
        raise SparsimInputError("", field, value, "a positive number")
    return float(value)


def _pos_float_or_none(value: Any, field: str) -> float | None:
    return None if value is None else _pos_float(value, field)


def _fraction(value: Any, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0.0 <= value < 1.0:
        raise SparsimInputError("", field, value, "a number in [0, 1)")
    return float(value)


def _nm_or_none(value: Any, field: str) -> str | None:
    return None if value is None else _nm(value, field)


@dataclass(frozen=True)
class Param:
    """A run parameter: its default and a checker ``(value, field) -> normalised value``."""

    default: Any
    check: Any


class Block:
    """Protocol and shared behaviour; subclasses fill the class attributes and three methods."""

    name: str = ""
    simulator: str = ""
    config_cls: type = object
    params: dict[str, Param] = {}
    workload_kinds: tuple[str, ...] = ()
    #: metric name -> "int" | "float" (the Parquet type)
    metrics: dict[str, str] = {}
    has_area = False
    has_energy = False

    # -------------------------------------------------------------- names and point building
    def config_fields(self) -> tuple[str, ...]:
        return tuple(f.name for f in dataclasses.fields(self.config_cls))

    def names(self) -> tuple[str, ...]:
        """Everything a spec may set in ``base`` or sweep as an axis."""
        return self.config_fields() + tuple(self.params)

    def build(self, values: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        """Validated (config, params) of one point; raises :class:`SparsimInputError` naming the
        field. ``values`` holds only names from :meth:`names`."""
        fields = set(self.config_fields())
        kw = {k: (tuple(v) if isinstance(v, list) else v) for k, v in values.items() if k in fields}
        params = {}
        for name, p in self.params.items():
            params[name] = p.check(values[name], name) if name in values else p.default
        kw = self._adjust(kw, params)
        for f in dataclasses.fields(self.config_cls):
            if f.name not in kw and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise SparsimInputError("", f.name, None, "required: set it in base or as an axis")
        cfg = self.config_cls(**kw)
        self._check(cfg, params)
        return cfg, params

    def _adjust(self, kw: dict, params: dict) -> dict:
        return kw

    def _check(self, cfg, params: dict) -> None:
        return None

    @staticmethod
    def config_dict(cfg) -> dict[str, Any]:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in dataclasses.asdict(cfg).items()}

    def config_from_dict(self, d: dict[str, Any]):
        return self.config_cls(**{k: (tuple(v) if isinstance(v, list) else v) for k, v in d.items()})

    # -------------------------------------------------------------- workloads
    def workload(self, entry: Any, base_dir: Path, where: str) -> dict[str, Any]:
        """Canonical workload dict: ``label``, ``id`` (hashed: content, not paths) and ``load``
        (what :meth:`load` needs). Loads it once to validate."""
        if not isinstance(entry, dict) or len(set(entry) & set(self.workload_kinds)) != 1:
            raise SparsimInputError(
                where, "workload", entry, f"a mapping with one of: {', '.join(self.workload_kinds)}"
            )
        wl = self._workload(entry, base_dir, where)
        self.load(wl["load"])
        return wl

    def _workload(self, entry: dict, base_dir: Path, where: str) -> dict[str, Any]:
        raise NotImplementedError

    @staticmethod
    def _file(value: Any, base_dir: Path, where: str, field: str) -> Path:
        p = Path(str(value))
        p = p if p.is_absolute() else base_dir / p
        if not p.is_file():
            raise SparsimInputError(where, field, str(value), "an existing file (relative paths start at the spec)")
        return p.resolve()

    def load(self, load: dict[str, Any]):
        return _cached_load(self.name, tuple(sorted((k, _freeze(v)) for k, v in load.items())))

    def _load(self, load: dict[str, Any]):
        raise NotImplementedError

    # -------------------------------------------------------------- running
    def run(self, cfg, params: dict[str, Any], data) -> dict[str, Any]:
        raise NotImplementedError


def _freeze(v):
    return tuple(v) if isinstance(v, list) else v


@functools.lru_cache(maxsize=16)
def _cached_load(block: str, load: tuple):
    """Per process: each worker loads a workload once, however many points use it."""
    return BLOCKS[block]._load(dict(load))


# ================================================================================ array blocks


class _ArrayBlock(Block):
    workload_kinds = ("zoo", "trace")
    has_area = True
    has_energy = True
    config_cls = ArrayConfig

    def _sparse_nm(self, params: dict) -> str | None:
        """The N:M the array must run (None: dense or the workload's own annotation)."""
        return params.get("nm")

    def _adjust(self, kw: dict, params: dict) -> dict:
        if params.get("sram_kb") is not None:
            for key in ("ifmap_sram_kb", "filter_sram_kb", "ofmap_sram_kb"):
                kw[key] = params["sram_kb"]
        nm = self._sparse_nm(params)
        if nm is not None and "supported_m" not in kw:
            n, m = _nm_pair(nm)
            kw["supported_m"] = (1,) if n == m else (1, m)
        return kw

    def _check(self, cfg, params: dict) -> None:
        nm = self._sparse_nm(params)
        if nm is not None:
            n, m = _nm_pair(nm)
            if n != m and m not in cfg.supported_m:
                raise SparsimInputError(
                    "", "nm", nm, f"M must be one of the array's supported_m {list(cfg.supported_m)}"
                )
        from simulator.area import array_area

        array_area(cfg)  # a lane count without an area entry is refused before running

    def _workload(self, entry: dict, base_dir: Path, where: str) -> dict[str, Any]:
        if "zoo" in entry:
            from workloads.zoo import TRACE_DIR

            name = entry["zoo"]
            path = TRACE_DIR / f"{name}.csv"
            if not isinstance(name, str) or not path.is_file():
                names = sorted(p.stem for p in TRACE_DIR.glob("*.csv"))
                raise SparsimInputError(where, "zoo", name, f"one of {', '.join(names)}")
            return {"label": name, "id": {"zoo": name, "sha": _digest(path)}, "load": {"path": str(path)}}
        path = self._file(entry["trace"], base_dir, where, "trace")
        return {"label": path.stem, "id": {"trace": path.name, "sha": _digest(path)}, "load": {"path": str(path)}}

    def _load(self, load: dict[str, Any]):
        from workloads.io import load_workload

        return load_workload(load["path"])

    @staticmethod
    def _with_nm(layers, nm: str | None, batch: int | None):
        if batch is not None:
            layers = layers.assign(batch=batch)
        if nm is None:
            return layers
        n, m = _nm_pair(nm)
        weight = layers["op"].isin(("conv", "gemm")).to_numpy()
        layers = layers.copy()
        layers.loc[weight, "nm_n"] = n
        layers.loc[weight, "nm_m"] = m
        return layers

    @staticmethod
    def _dram_bytes(s) -> int:
        return int((s.dram_ifmap_bytes + s.dram_filter_bytes + s.dram_ofmap_bytes + s.dram_psum_read_bytes).sum())

    @staticmethod
    def _area(cfg) -> dict[str, float]:
        from simulator.area import array_area

        return array_area(cfg)


class NMArrayBlock(_ArrayBlock):
    """Inference on the N:M systolic array (fold-level cycle model, :mod:`simulator.nm_array_fold`)."""

    name = "nm_array"
    simulator = "fold"
    params = {
        "nm": Param(None, _nm_or_none),
        "batch": Param(None, _pos_int_or_none),
        "sram_kb": Param(None, _pos_float_or_none),
    }
    metrics = {
        "cycles": "int",
        "compute_cycles": "int",
        "stall_cycles": "int",
        "dense_macs": "int",
        "macs": "int",
        "utilization": "float",
        "dram_bytes": "int",
        "sram_bytes": "int",
        "dram_bw_required": "float",
        "energy_pj": "float",
        "energy_mac_pj": "float",
        "energy_sram_pj": "float",
        "energy_dram_pj": "float",
        "pe_ge": "float",
        "sram_ge": "float",
        "area_ge": "float",
        "area_mm2": "float",
    }

    def run(self, cfg, params, data) -> dict[str, Any]:
        from simulator.energy import energy_pj
        from simulator.nm_array_fold import simulate_layers

        s = simulate_layers(self._with_nm(data, params["nm"], params["batch"]), cfg)
        e = energy_pj(s, cfg)
        cycles = int(s["total_cycles"].sum())
        dense = int(s["dense_macs"].sum())
        out = {
            "cycles": cycles,
            "compute_cycles": int(s["compute_cycles"].sum()),
            "stall_cycles": int(s["stall_cycles"].sum()),
            "dense_macs": dense,
            "macs": int(s["macs"].sum()),
            "utilization": dense / (cfg.pes * cycles) if cycles else float("nan"),
            "dram_bytes": self._dram_bytes(s),
            "sram_bytes": int(
                (s.sram_ifmap_reads + s.sram_filter_reads).sum() * cfg.word_bytes
                + s.sram_ofmap_writes.sum() * cfg.psum_bytes
            ),
            "dram_bw_required": float(s["dram_bw_required"].max()),
        }
        out.update({k: float(e[k].sum()) for k in ("energy_pj", "energy_mac_pj", "energy_sram_pj", "energy_dram_pj")})
        out.update(self._area(cfg))
        return out


class SATBlock(_ArrayBlock):
    """One training step (FF, BP, WU) with SAT's dataflow options (:mod:`simulator.sat`)."""

    name = "sat"
    simulator = "training_step"
    params = {
        "scheme": Param("bdwp", _choice("bdwp", "forward-only", "transposable", "dense")),
        "nm": Param("2:4", _nm),
        "interleave": Param(True, _bool),
        "pregen": Param(True, _bool),
        "offline": Param(True, _bool),
        "clock_mhz": Param(200.0, _pos_float),
        "batch": Param(None, _pos_int_or_none),
        "sram_kb": Param(None, _pos_float_or_none),
    }
    metrics = {
        "cycles": "int",
        "cycles_ff": "int",
        "cycles_bp": "int",
        "cycles_wu": "int",
        "dense_macs": "int",
        "macs": "int",
        "dram_bytes": "int",
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

    def run(self, cfg, params, data) -> dict[str, Any]:
        from simulator.sat import SATOptions, simulate_training_step

        layers = data if params["batch"] is None else data.assign(batch=params["batch"])
        n, m = _nm_pair(params["nm"])
        opts = SATOptions(interleave=params["interleave"], pregen=params["pregen"], offline=params["offline"])
        r = simulate_training_step(
            layers, cfg, scheme=params["scheme"], nm=(n, m), options=opts, clock_mhz=params["clock_mhz"]
        )
        s, sm = r.passes, r.summary
        by = sm["cycles_by_pass"]
        out = {
            "cycles": int(sm["cycles_per_step"]),
            "cycles_ff": int(by.get("FF", 0)),
            "cycles_bp": int(by.get("BP", 0)),
            "cycles_wu": int(by.get("WU", 0)),
            "dense_macs": int(s["dense_macs"].sum()),
            "macs": int(s["macs"].sum()),
            "dram_bytes": self._dram_bytes(s),
            "seconds": float(sm["seconds_per_step"]),
            "dense_equivalent_gops": float(sm["dense_equivalent_gops"]),
            "energy_pj": float(s["energy_pj"].sum()),
            "gops_per_watt": float(sm["gops_per_watt"]),
        }
        out.update(self._area(cfg))
        return out


# ================================================================================ SMASH machine


class PiumaBlock(Block):
    """SpGEMM on the PIUMA-like machine (:func:`simulator.piuma.simulate_spgemm`)."""

    name = "piuma"
    simulator = "cycle"
    workload_kinds = ("matrix",)
    metrics = {
        "cycles": "int",
        "seconds": "float",
        "instructions": "int",
        "issue_utilization": "float",
        "dram_read_bytes": "int",
        "dram_write_bytes": "int",
        "cache_hit_rate": "float",
        "sp_accesses": "int",
        "sp_atomics": "int",
        "probes": "int",
        "bank_wait_cycles": "int",
        "flops": "int",
        "nnz_c": "int",
        "windows": "int",
        "table_overflows": "int",
    }

    config_cls = PiumaConfig
    params = {"algorithm": Param("smash_v3", _choice(*CYCLE_ALGORITHMS))}

    def _operand(self, spec: Any, base_dir: Path, where: str, field: str) -> tuple[dict, str]:
        from workloads.matrices import MATRICES

        if isinstance(spec, str) and spec in MATRICES:
            return {"name": spec}, spec
        path = self._file(spec, base_dir, where, field)
        if path.suffix != ".mtx":
            raise SparsimInputError(where, field, str(spec), "a built-in matrix name or a Matrix Market .mtx file")
        return {"name": path.name, "sha": _digest(path), "path": str(path)}, path.stem

    def _workload(self, entry: dict, base_dir: Path, where: str) -> dict[str, Any]:
        seed = entry.get("seed", 0)
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise SparsimInputError(where, "seed", seed, "a non-negative integer")
        a, a_label = self._operand(entry["matrix"], base_dir, where, "matrix")
        b_spec = entry.get("b", "same")
        if b_spec in ("same", "transpose"):
            b, label = {"op": b_spec}, a_label + (" x A^T" if b_spec == "transpose" else " x A")
        else:
            b, b_label = self._operand(b_spec, base_dir, where, "b")
            label = f"{a_label} x {b_label}"
        wid = {"a": {k: v for k, v in a.items() if k != "path"}, "b": {k: v for k, v in b.items() if k != "path"}}
        wid["seed"] = seed
        load = {"a": a.get("path", a["name"]), "b": b.get("path", b.get("name", b.get("op"))), "seed": seed}
        load["b_op"] = b.get("op", "")
        wl = {"label": label, "id": wid, "load": load}
        pair = self.load(load)
        if pair[0].shape[1] != pair[1].shape[0]:
            raise SparsimInputError(
                where, "b", b_spec, f"inner dimensions must match: A is {pair[0].shape}, B is {pair[1].shape}"
            )
        return wl

    def workload(self, entry: Any, base_dir: Path, where: str) -> dict[str, Any]:
        if not isinstance(entry, dict) or "matrix" not in entry:
            raise SparsimInputError(where, "workload", entry, "a mapping with matrix (and optional b, seed)")
        unknown = set(entry) - {"matrix", "b", "seed"}
        if unknown:
            key = sorted(unknown)[0]
            raise SparsimInputError(where, key, entry[key], "allowed keys: matrix, b, seed")
        return self._workload(entry, base_dir, where)

    def _load(self, load: dict[str, Any]):
        from workloads.matrices import load_matrix

        a = load_matrix(load["a"], seed=load["seed"])
        if load["b_op"] == "same":
            b = a
        elif load["b_op"] == "transpose":
            b = a.T.tocsr()
        else:
            b = load_matrix(load["b"], seed=load["seed"])
        return a, b

    def run(self, cfg, params, data) -> dict[str, Any]:
        from simulator.piuma import simulate_spgemm

        a, b = data
        _, st = simulate_spgemm(a, b, params["algorithm"], cfg, compute_c=False)
        return {k: (int(st[k]) if t == "int" else float(st[k])) for k, t in self.metrics.items()}


# ================================================================================ mobile core


class MobileBlock(Block):
    """A pruned mobile CNN on the Cortex-A76-class core model (:mod:`simulator.mobile_latency`)."""

    name = "mobile"
    simulator = "a76"
    workload_kinds = ("model",)
    params = {
        "engine": Param("dense", _choice("dense", "unstructured", "block4", "group")),
        "sparsity": Param(0.0, _fraction),
        "scope": Param("layer", _choice("layer", "network")),
        "channel_padding": Param("zero", _choice("zero", "none")),
    }
    metrics = {
        "cycles": "int",
        "ms": "float",
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

    config_cls = CoreConfig

    def workload(self, entry: Any, base_dir: Path, where: str) -> dict[str, Any]:
        from simulator.mobile_run import parse_input_shape
        from workloads.mobile_models import MOBILE_MODELS

        if not isinstance(entry, dict) or "model" not in entry or set(entry) - {"model", "input"}:
            raise SparsimInputError(where, "workload", entry, "a mapping with model (and optional input C,H,W)")
        try:
            shape = parse_input_shape(entry.get("input"))
        except SparsimInputError as err:
            raise SparsimInputError(where, "input", err.value, err.allowed) from None
        model = entry["model"]
        if isinstance(model, str) and model in MOBILE_MODELS:
            wid = {"model": model}
            load = {"model": model}
            label = model
        else:
            path = self._file(model, base_dir, where, "model")
            if path.suffix != ".onnx":
                raise SparsimInputError(where, "model", model, f"one of {', '.join(MOBILE_MODELS)} or an .onnx file")
            wid = {"model": path.name, "sha": _digest(path)}
            load = {"model": str(path)}
            label = path.stem
        shape = shape or (MOBILE_MODELS[model][1] if "sha" not in wid else None)
        wid["input"] = list(shape) if shape else None
        load["input"] = list(shape) if shape else None
        if shape:
            label += f" {shape[1]}x{shape[2]}"
        wl = {"label": label, "id": wid, "load": load}
        self.load(load)
        return wl

    def _load(self, load: dict[str, Any]):
        return (load["model"], tuple(load["input"]) if load["input"] else None)

    def run(self, cfg, params, data) -> dict[str, Any]:
        from simulator.mobile_latency import network_latency

        p = params
        layers, masks = _mobile_layers(data[0], data[1], p["engine"], p["sparsity"], p["scope"], p["channel_padding"])
        t = network_latency(layers, p["engine"], masks, cfg)
        out = {k: int(t[k].sum()) for k, ty in self.metrics.items() if ty == "int"}
        out["ms"] = float(t["ms"].sum())
        return out


@functools.lru_cache(maxsize=8)
def _mobile_layers(model: str, shape, engine: str, sparsity: float, scope: str, padding: str):
    """Layers (channel-rearranged for the group engine, as ``sparsim mobile`` does) and masks."""
    from simulator.mobile_latency import prune_layers
    from simulator.mobile_run import prepare_layers

    layers, _ = prepare_layers(model, engine, sparsity, shape)
    return layers, prune_layers(layers, engine, sparsity, scope, padding)


BLOCKS: dict[str, Block] = {b.name: b for b in (NMArrayBlock(), SATBlock(), PiumaBlock(), MobileBlock())}


def get_block(name: Any, where: str) -> Block:
    if name not in BLOCKS:
        raise SparsimInputError(where, "block", name, f"allowed: {', '.join(BLOCKS)}")
    return BLOCKS[name]
