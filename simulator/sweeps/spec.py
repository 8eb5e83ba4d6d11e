"""Sweep specifications: a validated YAML file expanded into content-addressed points.

A spec names a block, a base config, the axes, how to sample them, the workloads, the metrics to
keep, derived metrics and baselines::

    name: nm-array-resnet18
    block: nm_array                 # nm_array | sat | spgemm | mobile (simulator: optional)
    base: {memory.bw_bytes_per_cycle: 32}   # config names are dotted: part.field
    axes:
      pe.rows: [16, 32, 64]                     # a list
      pe.cols: {range: [16, 128], step: 16}     # inclusive range
      buffers.ifmap_kb: {log2: [32, 512]}       # powers of two
      clock_ghz: {uniform: [0.1, 0.4]}          # continuous: random or lhs sampling only
    sampling: grid                  # or {method: random | lhs, points: 200, seed: 0}
    # or, instead of axes and sampling, an explicit list of settings (a reproduction's points):
    # points: [{pe.dataflow: ws, mapping: ws}, {pe.dataflow: ws, pe.dataflows: [ws, os], mapping: auto}]
    workloads: [{zoo: resnet18}]
    metrics: [cycles, energy_pj, area_mm2]
    baselines: {dense32: {pe.rows: 32, pe.cols: 32, nm: "1:1"}}
    derived: {speedup: dense32, perf_per_area: true, energy: true}
    report: {objective: cycles, top_k: 10, heatmap: [pe.rows, pe.cols]}

``base``, a baseline and a point may also write a part nested (``pe: {rows: 32}``), as a config
file does; an axis is always one dotted name. A name the array config had before it was
composed of parts (``rows``, ``ifmap_sram_kb``) is refused with its new name.

Why validate everything first: every point's config is built (``dataclasses.replace`` semantics:
the dataclass re-validates) and every workload loaded before the first point runs, so a bad axis
value stops the sweep with one line instead of failing point 731 an hour in.

Why content hashes: a point's key is the SHA-256 of (block, simulator, the full resolved config,
the run parameters, the workload's *content* identity, sparsim's version). The same point in two
sweeps, or in a resumed sweep, has the same key, and a changed trace file or a new sparsim version
gives new keys instead of stale results.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from simulator.common.block import Block, get_block
from simulator.common.config import parts_of, read_yaml
from simulator.common.errors import SparsimInputError
from simulator.common.files import file_digest
from simulator.sweeps.blocks import resolve_workload

__all__ = ["SweepSpec", "Task", "load_spec", "parse_spec", "expand", "point_key", "MAX_POINTS"]

MAX_POINTS = 1_000_000
TOP_KEYS = (
    "name",
    "block",
    "simulator",
    "base",
    "axes",
    "points",
    "sampling",
    "workloads",
    "metrics",
    "derived",
    "baselines",
    "report",
)
DERIVED = ("speedup", "perf_per_area", "energy")
REPORT_KEYS = ("objective", "top_k", "heatmap", "pareto")


@dataclass(frozen=True)
class Axis:
    """A discrete axis has ``values``; a continuous one ``low``/``high`` (``log``, ``integer``)."""

    name: str
    values: tuple = ()
    low: float = 0.0
    high: float = 0.0
    log: bool = False
    integer: bool = False

    @property
    def continuous(self) -> bool:
        return not self.values


@dataclass(frozen=True)
class Task:
    """One point to run; everything a worker needs, picklable and small."""

    key: str
    block: str
    simulator: str
    config: dict
    params: dict
    workload: str
    load: dict
    axes: dict
    baseline: str = ""
    #: False for a baseline that is not also a sample of the axes (reports keep it out of the
    #: sensitivity plots, heatmaps and top-k, and mark it on the Pareto plots)
    in_sweep: bool = True
    #: send the run's per-row table back to the driver too (in-memory sweeps of the reports);
    #: not part of the key: the same point, whether or not its rows are kept
    keep_table: bool = False


@dataclass(frozen=True)
class SweepSpec:
    path: str
    text: str
    name: str
    block: Block
    base: dict
    axes: tuple[Axis, ...]
    sampling: dict
    workloads: tuple[dict, ...]
    metrics: tuple[str, ...]
    derived: dict
    baselines: dict
    report: dict
    sha: str = field(default="")
    #: an explicit list of settings (``points:``) instead of a sample of the axes
    points: tuple[dict, ...] = ()

    @property
    def axis_names(self) -> tuple[str, ...]:
        return tuple(a.name for a in self.axes)


def _num(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def _axis(name: str, spec: Any, where: str) -> Axis:
    w = f"{where}.{name}"
    if isinstance(spec, list):
        if not spec:
            raise SparsimInputError(w, "values", spec, "a non-empty list")
        if len(spec) > MAX_POINTS:
            raise SparsimInputError(w, "values", f"{len(spec):,} values", f"at most {MAX_POINTS:,}")
        return Axis(name, tuple(tuple(v) if isinstance(v, list) else v for v in spec))
    if not isinstance(spec, dict):
        raise SparsimInputError(
            w, "axis", spec, "a list of values or a mapping with range, log2, uniform or loguniform"
        )
    kinds = [k for k in ("range", "log2", "uniform", "loguniform") if k in spec]
    if len(kinds) != 1:
        raise SparsimInputError(w, "axis", spec, "exactly one of range, log2, uniform, loguniform")
    kind = kinds[0]
    allowed = {kind, "step"} if kind == "range" else {kind, "integer"} if kind in ("uniform", "loguniform") else {kind}
    extra = set(spec) - allowed
    if extra:
        key = sorted(extra)[0]
        raise SparsimInputError(w, key, spec[key], f"allowed keys with {kind}: {', '.join(sorted(allowed))}")
    bounds = spec[kind]
    if not isinstance(bounds, list) or len(bounds) != 2 or not all(_num(b) for b in bounds):
        raise SparsimInputError(w, kind, bounds, "[low, high], two numbers")
    lo, hi = bounds
    if kind == "range":
        step = spec.get("step", 1)
        if not _num(step) or step <= 0:
            raise SparsimInputError(w, "step", step, "a positive number")
        if lo > hi:
            raise SparsimInputError(w, "range", bounds, "empty range: low must be <= high")
        count = (hi - lo) / step  # counted before anything is built: a range may be astronomically long
        if not math.isfinite(count) or count + 1 > MAX_POINTS:
            raise SparsimInputError(w, "range", bounds, f"at most {MAX_POINTS:,} values (step {step})")
        n = int(math.floor(count + 1e-9)) + 1
        ints = all(isinstance(v, int) for v in (lo, hi, step))
        vals = tuple(lo + i * step if ints else round(lo + i * step, 12) for i in range(n))
        return Axis(name, vals)
    if kind == "log2":
        if not all(isinstance(b, int) and 0 < b < 1 << 62 for b in bounds):
            raise SparsimInputError(w, "log2", bounds, "two positive integers below 2**62")
        vals = tuple(1 << e for e in range(0, 63) if lo <= (1 << e) <= hi)
        if not vals:
            raise SparsimInputError(w, "log2", bounds, "empty range: no power of two between low and high")
        return Axis(name, vals)
    integer = spec.get("integer", False)
    if not isinstance(integer, bool):
        raise SparsimInputError(w, "integer", integer, "true or false")
    if not lo < hi:
        raise SparsimInputError(w, kind, bounds, "empty range: low must be < high")
    if kind == "loguniform" and lo <= 0:
        raise SparsimInputError(w, kind, bounds, "loguniform needs low > 0")
    if integer and math.ceil(lo) > math.floor(hi):
        raise SparsimInputError(w, kind, bounds, "empty range: no integer between low and high")
    return Axis(name, (), float(lo), float(hi), kind == "loguniform", integer)


def _sampling(spec: Any, axes: tuple[Axis, ...], where: str) -> dict:
    if spec is None or spec == "grid":
        spec = {"method": "grid"}
    if isinstance(spec, str):
        spec = {"method": spec}
    if not isinstance(spec, dict):
        raise SparsimInputError(where, "sampling", spec, "grid, or {method: grid|random|lhs, points: N, seed: S}")
    method = spec.get("method", "grid")
    if method not in ("grid", "random", "lhs"):
        raise SparsimInputError(where, "sampling.method", method, "allowed: grid, random, lhs")
    extra = set(spec) - ({"method"} if method == "grid" else {"method", "points", "seed"})
    if extra:
        key = sorted(extra)[0]
        raise SparsimInputError(where, f"sampling.{key}", spec[key], f"not a key of {method} sampling")
    if method == "grid":
        cont = [a.name for a in axes if a.continuous]
        if cont:
            raise SparsimInputError(where, f"axes.{cont[0]}", "continuous", "grid sampling needs listed values")
        return {"method": "grid"}
    points, seed = spec.get("points"), spec.get("seed", 0)
    if isinstance(points, bool) or not isinstance(points, int) or not 1 <= points <= MAX_POINTS:
        raise SparsimInputError(where, "sampling.points", points, f"an integer from 1 to {MAX_POINTS:,}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise SparsimInputError(where, "sampling.seed", seed, "a non-negative integer")
    return {"method": method, "points": points, "seed": seed}


def parse_spec(data: Any, path: str, text: str = "") -> SweepSpec:
    """Validate a spec mapping (see the module docstring); errors name ``path`` and the field.

    The steps, each its own function: the top-level keys and the block, the names a spec may set
    (base), the points (axes and sampling, or an explicit list), the workloads, the metrics, the
    baselines and derived metrics, the report.
    """
    block = _top(data, path)
    data = _files_relative(data, block, Path(path).resolve().parent)
    names = block.names()
    base = _names(data.get("base"), "base", block, names, path)
    axes, sampling, points = _points_or_axes(data, block, names, path)
    workloads = _workloads(data["workloads"], block, path)
    metrics = _metrics(data.get("metrics", list(block.totals)), block, path)
    baselines = data.get("baselines") or {}
    if not isinstance(baselines, dict):
        raise SparsimInputError(path, "baselines", baselines, "a mapping of name to parameter overrides")
    baselines = {str(k): _names(v, f"baselines.{k}", block, names, path) for k, v in baselines.items()}
    derived = _derived(data.get("derived") or {}, block, baselines, path)
    report = _report(data.get("report") or {}, block, {a.name for a in axes}, path)
    spec = SweepSpec(
        path=path,
        text=text,
        name=str(data.get("name", Path(path).stem)),
        block=block,
        base=base,
        axes=axes,
        sampling=sampling,
        workloads=workloads,
        metrics=tuple(metrics),
        derived=dict(derived),
        baselines=baselines,
        report=report,
        points=points,
    )
    return _with_sha(spec)


def _files_relative(data: dict, block: Block, base_dir: Path) -> dict:
    """Every config value that names a file (a DRAM YAML as ``memory.dram``) made relative to the
    spec's directory, in ``base``, ``axes``, ``points`` and ``baselines``, dotted or nested."""
    names = block.file_names()
    if not names:
        return data

    def fix(mapping: Any, axis: bool = False) -> Any:
        if not isinstance(mapping, dict):
            return mapping
        out = dict(mapping)
        for name in names:
            head, _, tail = name.partition(".")
            if name in out:
                v = out[name]
                if axis and isinstance(v, list):
                    out[name] = [block.resolve_file(name, x, base_dir) for x in v]
                elif not axis:
                    out[name] = block.resolve_file(name, v, base_dir)
            if not axis and tail and isinstance(out.get(head), dict) and tail in out[head]:
                out[head] = {**out[head], tail: block.resolve_file(name, out[head][tail], base_dir)}
        return out

    data = dict(data)
    if "base" in data:
        data["base"] = fix(data["base"])
    if "axes" in data:
        data["axes"] = fix(data["axes"], axis=True)
    if isinstance(data.get("points"), list):
        data["points"] = [fix(p) for p in data["points"]]
    if isinstance(data.get("baselines"), dict):
        data["baselines"] = {k: fix(v) for k, v in data["baselines"].items()}
    return data


def _top(data: Any, path: str) -> Block:
    """The spec's top-level keys and its block (and the model level, if the spec names one)."""
    if not isinstance(data, dict):
        raise SparsimInputError(path, "<document>", type(data).__name__, "a YAML mapping (see examples/sweeps)")
    for k in data:
        if k not in TOP_KEYS:
            raise SparsimInputError(path, str(k), data[k], f"unknown key; allowed: {', '.join(TOP_KEYS)}")
    for k in ("block", "workloads"):
        if k not in data:
            raise SparsimInputError(path, k, None, "required")
    if ("axes" in data) == ("points" in data):
        raise SparsimInputError(path, "axes", data.get("axes"), "exactly one of axes (a grid or a sample) or points "
                                "(an explicit list)")  # fmt: skip
    block = get_block(data["block"], path)
    sim = data.get("simulator", block.simulator)
    if sim != block.simulator:
        raise SparsimInputError(path, "simulator", sim, f"block {block.name} runs: {block.simulator}")
    return block


def _names(mapping: Any, where: str, block: Block, names: tuple[str, ...], path: str) -> dict:
    """A mapping of names a spec may set (config fields, sweepable parameters), as given."""
    if mapping is None:
        return {}
    if not isinstance(mapping, dict):
        raise SparsimInputError(path, where, mapping, "a mapping of config fields / run parameters")
    parts = parts_of(block.config_type) if where != "axes" else {}
    out = {}
    for k, v in mapping.items():
        if k in parts and isinstance(v, dict):  # a part written nested, as in a config file
            for kk, vv in v.items():
                out[f"{k}.{kk}"] = vv
        else:
            out[k] = v
    for k in out:
        if k not in names:
            try:
                block.check_name(str(k), out[k], path)
            except SparsimInputError as err:
                raise SparsimInputError(path, f"{where}.{k}", out[k], err.allowed) from None
            raise SparsimInputError(
                path, f"{where}.{k}", out[k], f"unknown {block.name} parameter; allowed: {', '.join(names)}"
            )
    return out


def _points_or_axes(data: dict, block: Block, names, path: str) -> tuple[tuple[Axis, ...], dict, tuple[dict, ...]]:
    """``axes`` (with ``sampling``), or ``points``: an explicit list of settings, each a mapping
    like ``base`` (what a reproduction runs: points whose settings go together, such as a
    dataflow and the config that allows it). The axes of a points spec are the names its points
    set, with the values they take in order."""
    if "axes" in data:
        raw_axes = data["axes"]
        if not isinstance(raw_axes, dict) or not raw_axes:
            raise SparsimInputError(path, "axes", raw_axes, "a non-empty mapping of axis name to values")
        _names(raw_axes, "axes", block, names, path)
        axes = tuple(_axis(str(k), v, f"{path}: axes") for k, v in raw_axes.items())
        return axes, _sampling(data.get("sampling"), axes, path), ()
    raw = data["points"]
    if not isinstance(raw, list) or not raw:
        raise SparsimInputError(path, "points", raw, "a non-empty list of mappings")
    if len(raw) > MAX_POINTS:
        raise SparsimInputError(path, "points", f"{len(raw):,} points", f"at most {MAX_POINTS:,}")
    if "sampling" in data:
        raise SparsimInputError(path, "sampling", data["sampling"], "absent with points (they are the sample)")
    points = tuple(_names(pt, f"points[{i}]", block, names, path) for i, pt in enumerate(raw))
    order = list(dict.fromkeys(k for pt in points for k in pt))
    if not order:
        raise SparsimInputError(path, "points", raw, "at least one point that sets a name")
    values = {k: list(dict.fromkeys(_hashable(pt[k]) for pt in points if k in pt)) for k in order}
    return tuple(Axis(k, tuple(values[k])) for k in order), {"method": "points"}, points


def _hashable(v: Any) -> Any:
    return tuple(_hashable(x) for x in v) if isinstance(v, list | tuple) else v


def _workloads(wl: Any, block: Block, path: str) -> tuple[dict, ...]:
    if not isinstance(wl, list) or not wl:
        raise SparsimInputError(path, "workloads", wl, "a non-empty list")
    base_dir = Path(path).resolve().parent
    workloads = tuple(resolve_workload(block, e, base_dir, f"{path}: workloads[{i}]") for i, e in enumerate(wl))
    labels = [w["label"] for w in workloads]
    if len(set(labels)) != len(labels):
        raise SparsimInputError(path, "workloads", labels, "distinct workloads")
    return workloads


def _metrics(metrics: Any, block: Block, path: str) -> list[str]:
    if not isinstance(metrics, list) or not metrics:
        raise SparsimInputError(path, "metrics", metrics, f"a non-empty list of: {', '.join(block.totals)}")
    for m in metrics:
        if m not in block.totals:
            raise SparsimInputError(path, "metrics", m, f"{block.name} reports: {', '.join(block.totals)}")
    return metrics


def _derived(derived: Any, block: Block, baselines: dict, path: str) -> dict:
    if not isinstance(derived, dict):
        raise SparsimInputError(path, "derived", derived, f"a mapping with keys from: {', '.join(DERIVED)}")
    for k, v in derived.items():
        if k not in DERIVED:
            raise SparsimInputError(path, f"derived.{k}", v, f"allowed: {', '.join(DERIVED)}")
        if k == "speedup":
            if v not in baselines:
                raise SparsimInputError(path, "derived.speedup", v, f"a name from baselines: {', '.join(baselines)}")
        elif v is not True and v is not False:
            raise SparsimInputError(path, f"derived.{k}", v, "true or false")
    if derived.get("perf_per_area") and not block.has_area:
        raise SparsimInputError(path, "derived.perf_per_area", True, "needs an area model: blocks nm_array, sat")
    if derived.get("energy") and not block.has_energy:
        raise SparsimInputError(path, "derived.energy", True, "needs an energy model: blocks nm_array, sat")
    return derived


def _report(report: Any, block: Block, axis_names: set[str], path: str) -> dict:
    if not isinstance(report, dict):
        raise SparsimInputError(path, "report", report, f"a mapping with keys from: {', '.join(REPORT_KEYS)}")
    for k in report:
        if k not in REPORT_KEYS:
            raise SparsimInputError(path, f"report.{k}", report[k], f"allowed: {', '.join(REPORT_KEYS)}")
    obj = report.get("objective", "cycles")
    if obj not in block.totals:
        raise SparsimInputError(path, "report.objective", obj, f"a metric of {block.name}")
    top_k = report.get("top_k", 10)
    if isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1:
        raise SparsimInputError(path, "report.top_k", top_k, "a positive integer")
    heat = report.get("heatmap")
    if heat is not None and (not isinstance(heat, list) or len(heat) != 2 or not all(h in axis_names for h in heat)):
        raise SparsimInputError(path, "report.heatmap", heat, "two axis names")
    pareto = report.get("pareto")
    if pareto is not None:
        if not isinstance(pareto, list) or not all(isinstance(p, list) and len(p) == 2 for p in pareto):
            raise SparsimInputError(path, "report.pareto", pareto, "a list of [x_metric, y_metric] pairs")
        for p in pareto:
            for m in p:
                if m not in block.totals and m not in axis_names:
                    raise SparsimInputError(path, "report.pareto", m, f"a metric of {block.name} or a numeric axis")
    return {"objective": obj, "top_k": top_k, "heatmap": heat, "pareto": pareto}


def _with_sha(spec: SweepSpec) -> SweepSpec:
    canon = json.dumps(
        {
            "block": spec.block.name,
            "base": spec.base,
            "axes": [vars(a) for a in spec.axes],
            "sampling": spec.sampling,
            "points": spec.points,
            "workloads": [w["id"] for w in spec.workloads],
            "metrics": spec.metrics,
            "derived": spec.derived,
            "baselines": spec.baselines,
        },
        sort_keys=True,
        default=list,
    )
    return replace(spec, sha=hashlib.sha256(canon.encode()).hexdigest()[:16])


def load_spec(path: str | Path) -> SweepSpec:
    """Read and validate a spec file (``yaml.safe_load``)."""
    data = read_yaml(path)
    return parse_spec(data, str(path), Path(path).read_text())


# ----------------------------------------------------------------------------- points


def _samples(spec: SweepSpec) -> list[dict[str, Any]]:
    axes, s = spec.axes, spec.sampling
    if s["method"] == "points":
        if len(spec.points) * len(spec.workloads) > MAX_POINTS:
            n = len(spec.points) * len(spec.workloads)
            raise SparsimInputError(spec.path, "points", f"{n:,} points", f"at most {MAX_POINTS:,}")
        return [dict(p) for p in spec.points]
    if s["method"] == "grid":
        n = math.prod(len(a.values) for a in axes) * len(spec.workloads)
        if n > MAX_POINTS:
            raise SparsimInputError(spec.path, "axes", f"{n:,} points", f"at most {MAX_POINTS:,}; sample instead")
        return [
            dict(zip(spec.axis_names, combo, strict=True)) for combo in itertools.product(*(a.values for a in axes))
        ]
    rng = np.random.default_rng(s["seed"])
    n = s["points"]
    cols = {}
    for a in axes:
        if s["method"] == "lhs":
            u = (rng.permutation(n) + rng.random(n)) / n
        else:
            u = rng.random(n)
        if a.values:
            cols[a.name] = [a.values[min(int(x * len(a.values)), len(a.values) - 1)] for x in u]
        else:
            lo, hi = (math.log(a.low), math.log(a.high)) if a.log else (a.low, a.high)
            v = lo + u * (hi - lo)
            v = np.exp(v) if a.log else v
            if a.integer:
                v = np.clip(np.rint(v), math.ceil(a.low), math.floor(a.high))
                cols[a.name] = [int(x) for x in v]
            else:
                cols[a.name] = [float(x) for x in v]
    return [{name: cols[name][i] for name in spec.axis_names} for i in range(n)]


def point_key(block: str, simulator: str, config: dict, params: dict, workload_id: dict, version: str) -> str:
    """SHA-256 (first 24 hex digits) of the point's canonical JSON."""
    canon = json.dumps(
        {
            "block": block,
            "simulator": simulator,
            "config": config,
            "params": params,
            "workload": workload_id,
            "sparsim": version,
        },
        sort_keys=True,
        default=list,
    )
    return hashlib.sha256(canon.encode()).hexdigest()[:24]


def _storable(v: Any) -> Any:
    return json.dumps(list(v)) if isinstance(v, tuple | list) else v


def expand(spec: SweepSpec) -> list[Task]:
    """Every point (axes sample x workload) plus each baseline per workload, validated, deduplicated
    by key (a baseline that is also a sweep point is one task carrying the baseline's name)."""
    from simulator.common.version import __version__

    block = spec.block
    tasks: dict[str, Task] = {}

    def build(values: dict, where: str, shown: dict) -> tuple[dict, dict]:
        try:
            cfg, params = block.build({**spec.base, **values})
        except SparsimInputError as err:
            origin = (
                "axes"
                if err.field in values and err.field in spec.axis_names
                else ("baselines" if err.field in values else "base")
            )
            point = ", ".join(f"{k}={v!r}" for k, v in shown.items())
            raise SparsimInputError(
                f"{spec.path}: {where}{f' ({point})' if point else ''}", f"{origin}.{err.field}", err.value, err.allowed
            ) from None
        return block.config_dict(cfg), params

    def task(config: dict, params: dict, w: dict, axes: dict, **role) -> Task:
        files = {n: file_digest(Path(config[n])) for n in block.file_names()
                 if isinstance(config.get(n), str) and Path(config[n]).is_file()}  # fmt: skip
        key = point_key(block.name, block.simulator, {**config, **{f"{n}#sha256": d for n, d in files.items()}},
                        params, w["id"], __version__)  # fmt: skip
        return Task(key, block.name, block.simulator, config, params, w["label"], w["load"], axes, **role)

    for i, values in enumerate(_samples(spec)):
        config, params = build(values, f"point {i}", values)
        merged = {**spec.base, **values}  # a points spec: a name a point leaves unset takes its resolved value
        axes = {a: _storable(merged.get(a, config.get(a, params.get(a)))) for a in spec.axis_names}
        for w in spec.workloads:
            t = task(config, params, w, dict(axes))
            tasks.setdefault(t.key, t)
    for name, over in spec.baselines.items():
        config, params = build(over, f"baseline {name}", {})
        merged = {**spec.base, **over}
        axes = {a: _storable(merged.get(a, config.get(a, params.get(a)))) for a in spec.axis_names}
        for w in spec.workloads:
            t = task(config, params, w, dict(axes), baseline=name, in_sweep=False)
            old = tasks.get(t.key)
            if old is not None:  # also a sweep point, or another baseline's: one task, both names
                t = replace(old, baseline=f"{old.baseline},{name}" if old.baseline else name)
            tasks[t.key] = t
    return list(tasks.values())
