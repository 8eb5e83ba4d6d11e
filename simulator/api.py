"""sparsim as a library: :func:`simulate`, :func:`sweep`, :func:`load_arch`, :func:`load_workload`.

Why one front door: the CLI, the sweep driver and the reproduction reports all run a block
through the same checks (:mod:`simulator.common.block`); a notebook should get exactly those
checks and exactly those numbers without knowing which module holds which model::

    from simulator import simulate
    r = simulate("zoo:resnet18", "examples/arch/nm_ws32x32.yaml", nm="2:4")
    r.totals["cycles"], r.table[["name", "cycles"]], r.plot(), r.to_dir("runs/r18")

Every function raises only :class:`~simulator.common.errors.SparsimInputError` for bad input: one
line naming where the value came from, the field, the value and what is allowed. Nothing here
writes a file unless asked (``Result.to_dir``, ``sweep(out=...)``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from simulator.common.block import get_block
from simulator.common.config import replace_flat
from simulator.common.errors import SparsimInputError, input_context
from simulator.common.result import Result
from simulator.common.validate import check_int
from simulator.common.work import limits

if TYPE_CHECKING:
    from simulator.sweeps.spec import SweepSpec

__all__ = ["simulate", "sweep", "load_arch", "load_workload", "replay_dram", "dram_against_ramulator", "Result",
           "SparsimInputError", "TRAINING_SCHEMES"]  # fmt: skip

#: where a refused run parameter comes from, in messages (the CLI names its option instead)
PARAMS = "params"
#: ``training=`` values: the SAT block's N:M training schemes
TRAINING_SCHEMES = ("bdwp", "forward-only", "transposable", "dense")


def _block_for(arch: Any, block: str | None, training: str | None) -> str:
    """The block a call means: named, implied by ``training``, or by the config object's type."""
    if block is not None:
        get_block(block, "block")
        return block
    if training is not None:
        return "sat"
    from workloads.llm.model import LLMConfig

    if isinstance(arch, LLMConfig):
        raise SparsimInputError("arch", "arch", "an LLMConfig", "the hardware; the model is the workload")
    from simulator.mobile.config import CoreConfig
    from simulator.spgemm.config import PiumaConfig

    if isinstance(arch, CoreConfig):
        return "mobile"
    if isinstance(arch, PiumaConfig):
        return "spgemm"
    return "nm_array"


# --------------------------------------------------------------------------- architectures
def load_arch(arch: Any, *, block: str = "nm_array") -> Any:
    """The block's frozen config from a path, a preset name, a dict of its fields or a config.

    ``nm_array``/``sat``: a sparsim YAML or SCALE-Sim ``.cfg`` path, an array preset
    (:func:`simulator.nm_array.config.presets`), a dict of :class:`ArrayConfig` fields or an
    ``ArrayConfig``. ``mobile``: a core preset (``a76``, ...), a core YAML, a dict or a
    ``CoreConfig`` (``None``: the A76). ``spgemm``: a machine YAML, a dict or a ``PiumaConfig``
    (``None``: the default machine).
    """
    from simulator.common.config import dataclass_from_mapping

    b = get_block(block, "block")
    cls = b.config_type
    if isinstance(arch, cls):
        return arch
    if isinstance(arch, Mapping):
        return dataclass_from_mapping(dict(arch), cls, "arch", f"{cls.__name__} field")
    if b.name in ("nm_array", "sat", "llm"):
        from simulator.nm_array.config import load_arch as load_array

        return load_array(_path_or_name(arch))
    if b.name == "mobile":
        from simulator.mobile.config import load_core

        return load_core(None if arch is None else _path_or_name(arch))
    from simulator.spgemm.config import load_machine

    return load_machine(None if arch is None else _path_or_name(arch))


def _path_or_name(arch: Any) -> str:
    if isinstance(arch, str | Path):
        return str(arch)
    raise SparsimInputError("arch", "arch", type(arch).__name__, "a path, a preset name, a dict of fields or a config")


# --------------------------------------------------------------------------- workloads
def load_workload(workload: Any, *, block: str = "nm_array", batch: int | None = None) -> Any:
    """What the block runs, from the forms a user has at hand.

    ``nm_array``/``sat``: a path (SCALE-Sim topology, layer table CSV/Parquet, ONNX file), a zoo
    name (``zoo:resnet18`` or ``resnet18``), a layer-table DataFrame or a list of layer dicts
    (:mod:`workloads.layers`); ``batch`` sets every layer's batch. ``mobile``: a model name, an
    ``.onnx`` path or a :class:`~simulator.mobile.block.MobileModel`. ``spgemm``: a pair (A, B) of
    scipy.sparse matrices or of built-in matrix names / Matrix Market paths, or one of them (A x A).
    """
    b = get_block(block, "block")
    if b.name in ("nm_array", "sat"):
        return _layers(workload, batch)
    if b.name == "llm":
        return _llm(workload)
    if batch is not None:
        raise SparsimInputError("batch", "batch", batch, f"null for block {b.name} (it has no batch)")
    if b.name == "mobile":
        from simulator.mobile.block import MobileModel
        from workloads.mobile_models import load_mobile_model, resolve_model_name

        if isinstance(workload, MobileModel):
            return workload
        if not isinstance(workload, str | Path):
            raise SparsimInputError("workload", "workload", type(workload).__name__,
                                    "a model name, an .onnx path or a MobileModel")  # fmt: skip
        model = MobileModel(resolve_model_name(str(workload)))
        load_mobile_model(model.model)  # an unknown name or a bad file: one line now, not mid-run
        return model
    return _matrices(workload)


def _llm(workload: Any) -> Any:
    from workloads.llm.model import LLMConfig, from_hf_config, load_llm

    if isinstance(workload, LLMConfig):
        return workload
    if isinstance(workload, Mapping):  # a parsed Hugging Face config.json
        return from_hf_config(dict(workload), "workload")
    if isinstance(workload, Path):
        workload = str(workload)
    if not isinstance(workload, str):
        raise SparsimInputError("workload", "workload", type(workload).__name__,
                                "zoo:NAME, a config.json path, its parsed dict or an LLMConfig")  # fmt: skip
    return load_llm(workload if workload.startswith("zoo:") or Path(workload).suffix else f"zoo:{workload}")


def _layers(workload: Any, batch: int | None) -> pd.DataFrame:
    from workloads.io import load_workload as load_file
    from workloads.layers import layer_table, validate_layer_table

    if batch is not None:  # the bound of the array blocks' batch parameter (validate.positive_int_or_none)
        check_int("batch", "batch", batch, 1, 1 << 20)
    if isinstance(workload, pd.DataFrame):
        layers = validate_layer_table(workload, "workload")
    elif isinstance(workload, Sequence) and not isinstance(workload, str | bytes):
        if not all(isinstance(r, Mapping) for r in workload):
            raise SparsimInputError("workload", "workload", "a list", "a list of layer dicts (workloads.layers)")
        layers = layer_table(workload, "workload")
    elif isinstance(workload, str | Path):
        return load_file(str(workload), batch=batch)
    else:
        raise SparsimInputError("workload", "workload", type(workload).__name__,
                                "a path, zoo:NAME, a layer-table DataFrame or a list of layer dicts")  # fmt: skip
    return layers if batch is None else layers.assign(batch=batch)


def _matrices(workload: Any) -> tuple:
    import scipy.sparse as sp

    from workloads.matrices import load_matrix

    def one(m: Any):
        if sp.issparse(m):
            return m.tocsr()
        if isinstance(m, str | Path):
            return load_matrix(str(m))
        raise SparsimInputError("workload", "matrix", type(m).__name__, "a scipy.sparse matrix, a name or a .mtx path")

    if isinstance(workload, tuple | list):
        if len(workload) != 2:
            raise SparsimInputError("workload", "workload", f"{len(workload)} items", "a pair (A, B)")
        return one(workload[0]), one(workload[1])
    a = one(workload)
    return a, a


# --------------------------------------------------------------------------- running
def simulate(
    workload: Any,
    arch: Any = None,
    *,
    block: str | None = None,
    mapping: str | None = None,
    objective: str | None = None,
    training: str | None = None,
    max_work: float | str | None = None,
    progress: str | None = None,
    **params: Any,
) -> Result:
    """Run ``workload`` on ``arch``: build -> check -> run -> summarise, as ``sparsim`` does.

    Parameters
    ----------
    workload, arch : see :func:`load_workload` and :func:`load_arch` (any of their forms).
    block : ``nm_array`` (inference, default), ``sat`` (a training step), ``spgemm`` (SpGEMM) or
        ``mobile``; implied by ``training`` or by a config object's type when not given.
    mapping : N:M array: ``plain`` (default), ``auto`` (the mapper), ``ws``/``os``/``is``, or
        the path of a mapping file (``.yaml``/``.csv``).
    objective : what ``mapping="auto"`` minimises (``cycles``, ``energy``, ``edp``, ``dram_bytes``).
    training : a training step under this N:M scheme (block ``sat``): ``bdwp``, ``forward-only``,
        ``transposable``, ``dense``.
    max_work : refuse a run estimated to take longer (seconds or ``"30m"``, ``"2h"``; default one
        hour, :mod:`simulator.common.work`); the refusal names the estimate.
    progress : ``"auto"`` (a bar on a terminal for runs over ~2 s), ``"on"`` or ``"off"``.
    **params : the block's declared parameters (``get_block(name).params``), e.g. ``nm="2:4"``,
        ``batch=8``, ``sram_kb=128`` (config shorthands are applied to the config first).

    Returns
    -------
    Result : ``.table`` (tidy, one row per layer / pass / run), ``.totals``, named extras.
    """
    name = _block_for(arch, block, training)
    b = get_block(name, "block")
    if training is not None:
        if name != "sat":
            raise SparsimInputError("training", "training", training, f"only with block sat (not {name})")
        if training not in TRAINING_SCHEMES:
            raise SparsimInputError("training", "training", training, f"one of {', '.join(TRAINING_SCHEMES)}")
        if "scheme" in params:
            raise SparsimInputError("scheme", "scheme", params["scheme"], "give the scheme once, as training=")
        if training == "dense" and "nm" in params:
            allowed = "only with a sparse training scheme (bdwp, forward-only, transposable)"
            raise SparsimInputError(PARAMS, "nm", params["nm"], allowed)
        params["scheme"] = training
    if name in ("nm_array", "sat"):
        _mapping_params(params, mapping, objective)
    elif name == "llm":
        if objective is not None:
            if mapping != "auto":
                raise SparsimInputError("objective", "objective", objective, "only with mapping='auto' (the mapper's)")
            params["objective"] = objective
        if mapping is not None:
            params["mapping"] = mapping
    elif mapping is not None or objective is not None:
        field = "mapping" if mapping is not None else "objective"
        raise SparsimInputError(field, field, mapping if mapping is not None else objective,
                                f"only for the N:M array (block {name} has no mapper)")  # fmt: skip
    cfg = load_arch(arch, block=name)
    batch = params.pop("batch", None) if name in ("nm_array", "sat") else None
    checked = b.check_params(params, PARAMS)
    cfg = _apply_shorthands(b, cfg, checked, params)
    with input_context(PARAMS):  # a parameter the hardware cannot honour: it names the parameter
        b.check_config(cfg, checked)
    label = workload if isinstance(workload, str | Path) else "workload"
    with limits(max_work, progress, "max_work"), input_context(str(label)):
        wl = load_workload(workload, block=name, batch=batch)
        return b.run(wl, cfg, **b.run_params(checked))


def _mapping_params(params: dict, mapping: str | None, objective: str | None) -> None:
    """``mapping``/``objective`` into the array blocks' parameters (a file goes to ``mapping_file``)."""
    from simulator.nm_array.map_layers import MAPPING_CHOICES

    if objective is not None:
        if mapping != "auto":
            raise SparsimInputError("objective", "objective", objective, "only with mapping='auto' (the mapper's)")
        params["objective"] = objective
    if mapping is None:
        return
    if isinstance(mapping, str) and mapping in MAPPING_CHOICES:
        params["mapping"] = mapping
    else:
        params["mapping_file"] = mapping


def _apply_shorthands(b, cfg: Any, checked: dict[str, Any], given: dict[str, Any]) -> Any:
    """Config fields set by shorthand parameters the caller gave (``sram_kb``); the array's own
    ``supported_m`` is kept (a given arch is the hardware: an N:M it cannot run is refused)."""
    shorthands = {k: checked[k] for k, p in b.params.items() if p.config_only and given.get(k) is not None}
    if not shorthands:
        return cfg
    fields = b.config_dict(cfg)
    changed = b.adjust_config(dict(fields), {**checked, **shorthands})
    return replace_flat(cfg, {k: v for k, v in changed.items() if fields.get(k) != v}, PARAMS)


def sweep(
    spec: str | Path | Mapping[str, Any] | SweepSpec,
    *,
    out: str | Path | None = None,
    executor: str = "local",
    jobs: int | None = None,
    scheduler: str | None = None,
    tables: bool = False,
    max_work: float | str | None = None,
) -> pd.DataFrame | tuple[pd.DataFrame, pd.DataFrame]:
    """Run a sweep spec (a YAML path, the same mapping in memory, or a parsed
    :class:`~simulator.sweeps.spec.SweepSpec`) and return its points.

    With ``out``, the points are stored there as ``sparsim sweep`` stores them (resumable,
    reportable by ``sparsim report``); without, they run into a private temporary folder that
    is removed afterwards, and only the returned table remains. One row per point: its key, the
    axes, the workload and the block's totals. Files an in-memory spec names are relative to
    the current directory. A point that fails is one :class:`SparsimInputError` naming it; an
    interrupted sweep (Ctrl-C, SIGTERM) raises :class:`KeyboardInterrupt` once its running points
    have finished (with ``out``, they stay stored for a resumed run).
    ``executor``: ``local`` (worker processes; ``jobs=1`` runs in this process), ``dask-local``
    or ``dask`` (with ``scheduler``, the address of a running Dask scheduler).

    ``tables=True`` returns ``(points, rows)``: ``rows`` holds every point's per-row table (one
    row per layer / pass / run, as :func:`simulate` gives it) with the point's ``key`` in front,
    so a report can join them on ``key``. ``max_work``: refuse a sweep whose estimated time (its
    points times a representative point's, over the workers) is longer (default one hour).
    A reproduction is built this way: in-memory specs (most
    with ``points:``, an explicit list of settings) and a render function of their tables.
    """
    import tempfile

    import yaml

    from simulator.sweeps.run import run_sweep
    from simulator.sweeps.spec import SweepSpec, load_spec, parse_spec
    from simulator.sweeps.store import read_points

    if jobs is not None and (isinstance(jobs, bool) or not isinstance(jobs, int) or not 1 <= jobs <= 1024):
        raise SparsimInputError("jobs", "jobs", jobs, "an integer from 1 to 1024, or None (one per core)")
    if isinstance(spec, SweepSpec):
        parsed = spec
    elif isinstance(spec, str | Path):
        parsed = load_spec(spec)
    elif isinstance(spec, Mapping):
        plain = _plain(spec)
        parsed = parse_spec(plain, "spec", yaml.safe_dump(plain, sort_keys=False))
    else:
        raise SparsimInputError("spec", "spec", type(spec).__name__, "a sweep spec mapping or the path of its YAML")
    with limits(max_work, None, "max_work"), tempfile.TemporaryDirectory(prefix="sparsim-sweep-") as tmp:
        target = Path(out) if out is not None else Path(tmp) / "points"
        outcome = run_sweep(parsed, target, executor=executor, jobs=jobs, scheduler=scheduler, progress="off",
                            keep_tables=tables)  # fmt: skip
        if outcome.status == "interrupted":  # Ctrl-C or SIGTERM: its running points finished; not a result
            raise KeyboardInterrupt
        if outcome.errors or outcome.infra_failures:
            first = outcome.first_infra_error or (outcome.messages[0] if outcome.messages else "")
            raise SparsimInputError("sweep", "points", f"{outcome.errors + outcome.infra_failures} failed",
                                    f"every point to run ({first})" if first else "every point to run")  # fmt: skip
        points = read_points(target)
    if not tables:
        return points
    rows = [t.assign(key=k)[["key", *t.columns]] for k, t in outcome.tables.items()]
    return points, (pd.concat(rows, ignore_index=True) if rows else pd.DataFrame({"key": []}))


def replay_dram(addresses: Any, writes: Any = None, *, arrive: Any = None, dram: str = "ddr4-3200",
                log: bool = False, **overrides: Any) -> pd.DataFrame:  # fmt: skip
    """Requests, one burst each, through the per-request DRAM controller (what ``sparsim dram
    replay`` runs): a row per request with its ``address``, ``write``, ``arrive`` and
    ``done_cycle`` (DRAM clocks of ``dram``, a preset or DRAM YAML, with ``overrides`` such as
    ``channels`` or ``address_map``). Addresses wrap at the capacity; ``arrive`` defaults to all
    at cycle 0. ``attrs``: ``dram`` (the :class:`~simulator.dram.config.DramConfig`),
    ``timing_violations`` (the command checker's count: 0 for a legal stream) and, with ``log``,
    ``commands`` (every command issued: cycle, channel, command, rank, bank group, bank, row)."""
    import numpy as np

    from simulator.dram.checker import check
    from simulator.dram.cl import DramState
    from simulator.dram.config import load_dram

    cfg = load_dram(dram, **overrides)

    def column(name: str, values: Any, kinds: str, what: str) -> np.ndarray:
        # integers (or booleans) only: a float arrival or a string flag would be cast silently
        a = np.asarray(values)
        if a.ndim != 1 or (a.size and (a.dtype.kind not in kinds or a.min() < 0)):
            raise SparsimInputError("replay_dram", name, f"{a.dtype} {a.shape}", what)
        return a

    addr = column("addresses", addresses, "iu", "a 1-D array of non-negative integer byte addresses")
    addr = addr.astype(np.int64) % cfg.capacity_bytes
    wr = np.zeros(addr.size, dtype=bool) if writes is None else \
        column("writes", writes, "biu", "a 1-D array of booleans, one per address").astype(bool)  # fmt: skip
    at = np.zeros(addr.size, dtype=np.int64) if arrive is None else \
        column("arrive", arrive, "iu", "a 1-D array of non-negative integer DRAM cycles, one per address")  # fmt: skip
    done, cmds = DramState(cfg).run(at, addr, wr, log=True)
    out = pd.DataFrame({"address": addr, "write": wr, "arrive": at, "done_cycle": done})
    out.attrs.update(dram=cfg, timing_violations=len(check(cfg, cmds)), **({"commands": cmds} if log else {}))
    return out


def dram_against_ramulator() -> pd.DataFrame:
    """The per-request DRAM controller beside Ramulator 2 on every committed golden trace
    (DDR4-3200 and HBM2: synthetic streams and ResNet-18 layers per dataflow; the goldens are
    ``simulator/dram/data/ramulator2_goldens.csv``, made by ``tools/ramulator/goldens.py``): per
    trace both cycle counts and the error, both bandwidths (GB/s), both row-hit rates, both wall
    times."""
    from simulator.nm_array.dram_traces import ramulator_comparison

    return ramulator_comparison()


def _plain(v: Any) -> Any:
    if isinstance(v, Mapping):
        return {str(k): _plain(x) for k, x in v.items()}
    if isinstance(v, tuple | list):
        return [_plain(x) for x in v]
    return v
