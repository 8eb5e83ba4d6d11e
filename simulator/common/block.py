"""The block protocol: what every hardware block offers the CLI, the sweep driver and the reports.

Why one protocol: sparsim models several blocks (the N:M array for inference and for a training
step, the PIUMA-like SpGEMM machine, the Cortex-A76-class core). Each has its own frozen config
dataclass and its own workload, but every user of a block needs the same few things: run it and
get a tidy table back, total that table, and know which names can be set or swept. A block that
implements :class:`Block` and is listed in :data:`REGISTRY` works in ``sparsim`` and in sweeps
with no other change.

::

    workload ──┐
    config  ───┼─> block.run(workload, config, **params) ─> Result (simulator.common.result)
    params  ───┘    checks every parameter (declared only),   .table: tidy DataFrame, one row per
                    then the block's own _run, then its          layer / pass / run (shared column
                    summarize                                    names: cycles, dram_bytes, ...)
                                                               .totals: the sweep's metrics
                                                               .arrays, .info: named extras

Shared column names (a block that has the quantity uses this name and unit):

=================  ==========================================================
``cycles``         total cycles of the row (compute and stalls)
``seconds``        wall time of the simulated hardware
``dram_bytes``     bytes moved to or from DRAM
``energy_pj``      energy, picojoules
``dense_macs``     multiply-accumulates of the dense computation
``macs``           multiply-accumulates the hardware issued (sparsity skips the rest)
=================  ==========================================================
"""

from __future__ import annotations

import dataclasses
import importlib
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import pandas as pd

from simulator.common.coldstart import announce_cold_start
from simulator.common.config import config_from_flat, field_names, flat_values, parts_of, renamed_message
from simulator.common.errors import SparsimInputError
from simulator.common.result import Result
from simulator.common.work import Work, check_work, progress

__all__ = ["Param", "Block", "REGISTRY", "get_block", "SHARED_COLUMNS"]

SHARED_COLUMNS = ("cycles", "seconds", "dram_bytes", "energy_pj", "dense_macs", "macs")


@dataclass(frozen=True)
class Param:
    """A run parameter: its default, a checker ``(value, field) -> normalised value`` that raises
    :class:`SparsimInputError` naming ``field``, and what it means. ``config_only`` parameters
    are shorthands that set config fields (see :meth:`Block.adjust_config`) and are not passed
    to :meth:`Block.run`. ``sweep=False`` parameters (a file of the caller's, host timing) are
    for one run only: a sweep spec may not name them, since a point's key could not hash them."""

    default: Any
    check: Callable[[Any, str], Any]
    help: str = ""
    config_only: bool = False
    sweep: bool = True


class Block(ABC):
    """One hardware block behind the protocol (see the module docstring).

    Class attributes
    ----------------
    name : the block's name in specs and the registry.
    simulator : which model level ``run`` uses (``fold``, ``training_step``, ``cycle``, ...).
    command : the ``sparsim`` subcommand whose output folders :meth:`write` fills.
    config_type : the block's frozen config dataclass.
    workload_type : what ``run`` takes as its workload, in words.
    workload_kinds : the keys a sweep spec may use to name a workload.
    params : run parameters beside the config's fields.
    totals : name -> ``"int"`` or ``"float"`` of every value :meth:`summarize` returns.
    has_area, has_energy : whether ``summarize`` reports area and energy.
    """

    name: ClassVar[str] = ""
    simulator: ClassVar[str] = ""
    command: ClassVar[str] = ""
    config_type: ClassVar[type] = object
    workload_type: ClassVar[str] = ""
    workload_kinds: ClassVar[tuple[str, ...]] = ()
    params: ClassVar[dict[str, Param]] = {}
    totals: ClassVar[dict[str, str]] = {}
    has_area: ClassVar[bool] = False
    has_energy: ClassVar[bool] = False

    # ------------------------------------------------------------------ running
    def run(self, workload: Any, config: Any, **params: Any) -> Result:
        """Simulate ``workload`` on ``config``: every parameter checked (only declared ones, no
        config shorthand), then the block's model, then its totals, as one :class:`Result`."""
        if not isinstance(config, self.config_type):
            raise SparsimInputError("config", "config", type(config).__name__,
                                    f"a {self.config_type.__name__} (block {self.name})")  # fmt: skip
        for key in params:
            if key in self.params and self.params[key].config_only:
                raise SparsimInputError("", key, params[key], "a config shorthand: give it to simulator.simulate() "
                                        "or a sweep, or set the config fields it stands for")  # fmt: skip
        params = self.run_params(self.check_params(params))
        work = self.estimate(workload, config, **params)
        check_work(work, self.name)
        compile_s = announce_cold_start(self.numba_modules(config), f"the {self.name} block")
        with progress(dataclasses.replace(work, seconds=work.seconds + compile_s), self.name):
            table, extras = self._run(workload, config, **params)
        totals = self.summarize(table, config, **params)
        return Result(block=self.name, level=self.level(config), table=table, totals=totals, config=config,
                      params=params, **extras)  # fmt: skip

    @abstractmethod
    def _run(self, workload: Any, config: Any, **params: Any) -> tuple[pd.DataFrame, dict[str, Any]]:
        """The block's model: its tidy table and the named extras of :class:`Result` (``workload``,
        ``arrays``, ``info``). Parameters arrive checked, defaults filled in."""

    def estimate(self, workload: Any, config: Any, **params: Any) -> Work:
        """The run's work before it runs (:mod:`simulator.common.work`): :meth:`run` refuses it
        over the cap and shows a progress bar over its steps. Parameters arrive as for
        :meth:`_run`. A block whose runs are always short may keep this default (no work)."""
        return Work(0, "steps", 0.0)

    def numba_modules(self, config: Any) -> tuple[str, ...]:
        """The modules of numba kernels a run of ``config`` compiles on first use (a cold start
        is said on screen, :mod:`simulator.common.coldstart`)."""
        return ()

    @abstractmethod
    def summarize(self, table: pd.DataFrame, config: Any, **params: Any) -> dict[str, Any]:
        """The totals of a run's table: exactly the keys of :attr:`totals`."""

    def level(self, config: Any) -> str:
        """The model level that ran (a block whose level depends on the config says which)."""
        return self.simulator

    def write(self, result: Result, folder: Path) -> None:
        """Write ``result`` into the (fresh, temporary) ``folder`` as the CLI does."""
        result.table.to_csv(folder / "table.csv", index=False)
        result.table.to_parquet(folder / "table.parquet", index=False)

    def check_params(self, params: dict[str, Any], source: str = "") -> dict[str, Any]:
        """Every parameter normalised, defaults filled in; an unknown name is refused."""
        out = {}
        for key in params:
            if key not in self.params:
                raise SparsimInputError(source, key, params[key], f"unknown parameter of {self.name}; allowed: "
                                        f"{', '.join(self.params)}")  # fmt: skip
        for key, p in self.params.items():
            if key not in params:
                out[key] = p.default
                continue
            try:
                out[key] = p.check(params[key], key)
            except SparsimInputError as err:
                raise SparsimInputError(err.source or source, err.field, err.value, err.allowed) from None
        return out

    def run_params(self, params: dict[str, Any]) -> dict[str, Any]:
        """The parameters :meth:`run` takes (``config_only`` shorthands removed)."""
        return {k: v for k, v in params.items() if not self.params[k].config_only}

    # ------------------------------------------------------------------ configs
    def config_fields(self) -> tuple[str, ...]:
        """The config's names as a file or a sweep sets them (dotted for a composed config's parts)."""
        return field_names(self.config_type)

    def names(self) -> tuple[str, ...]:
        """Everything a sweep may set in ``base`` or as an axis: config fields and parameters."""
        return self.config_fields() + tuple(k for k, p in self.params.items() if p.sweep)

    def adjust_config(self, fields: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
        """Config fields implied by parameters (a shorthand, a cheapest-hardware rule)."""
        return fields

    def check_config(self, config: Any, params: dict[str, Any]) -> None:  # noqa: B027 - optional hook
        """Refuse a (config, params) pair that cannot run, before anything runs."""

    def resolve_file(self, name: str, value: Any, base_dir: Path) -> Any:
        """A config value that names a file, made relative to ``base_dir`` (the directory of the
        file that names it); any other value as it is. Blocks whose configs name files override."""
        return value

    def file_names(self) -> tuple[str, ...]:
        """The config names whose value may be a file (a point's key hashes that file's content)."""
        return ()

    def check_name(self, name: str, value: Any, source: str = "") -> None:
        """Refuse a name that is neither a config field nor a parameter (an old config name is told
        its new one)."""
        if name in self.config_fields() or name in self.params:
            return
        msg = renamed_message(self.config_type, name)
        if msg is not None:
            raise SparsimInputError(source, name, value, msg)

    def build(self, values: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        """A validated (config, params) from config fields and parameters by name."""
        fields = set(self.config_fields())
        for k, v in values.items():
            self.check_name(k, v)
        kw = {k: (tuple(v) if isinstance(v, list) else v) for k, v in values.items() if k in fields}
        params = self.check_params({k: v for k, v in values.items() if k not in fields})
        kw = self.adjust_config(kw, params)
        cfg = self.config_from_dict(kw, required="set it in base or as an axis")
        self.check_config(cfg, params)
        return cfg, params

    @staticmethod
    def config_dict(cfg: Any) -> dict[str, Any]:
        """Every config name (dotted for parts) and its value, lists for tuples: a spec's form, and
        what a sweep point's key is made of."""
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in flat_values(cfg).items()}

    def config_from_dict(self, d: dict[str, Any], required: str = "required") -> Any:
        """The config from :meth:`config_dict`'s form (a missing required name is refused)."""
        if parts_of(self.config_type):
            try:
                return config_from_flat(self.config_type, d, "")
            except SparsimInputError as err:
                if err.allowed == "required":
                    raise SparsimInputError(err.source, err.field, err.value, f"required: {required}") from None
                raise
        for f in dataclasses.fields(self.config_type):
            if f.name not in d and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise SparsimInputError("", f.name, None, f"required: {required}")
        return self.config_type(**{k: (tuple(v) if isinstance(v, list) else v) for k, v in d.items()})

    # ------------------------------------------------------------------ workloads (sweeps)
    def workload_spec(self, entry: Any, base_dir: Path, where: str) -> dict[str, Any]:
        """A sweep spec's workload entry as ``{"label", "id", "load"}``: ``id`` identifies the
        content (hashed, never a path), ``load`` is what :meth:`load_workload` needs."""
        raise SparsimInputError(where, "workload", entry, f"block {self.name} takes no workloads")

    def load_workload(self, load: dict[str, Any]) -> Any:
        """The workload ``run`` takes, from a :meth:`workload_spec` ``load`` mapping."""
        raise NotImplementedError


#: block name -> "module:Class"; adding a block is one line here and one package
REGISTRY: dict[str, str] = {
    "nm_array": "simulator.nm_array.block:NMArrayBlock",
    "sat": "simulator.sat.block:SATBlock",
    "spgemm": "simulator.spgemm.block:SpgemmBlock",
    "mobile": "simulator.mobile.block:MobileBlock",
    "llm": "simulator.llm.block:LLMBlock",
}
_INSTANCES: dict[str, Block] = {}
#: names blocks had before sparsim named each after its package (a spec that uses one is told)
RENAMED = {"piuma": "spgemm"}


def get_block(name: Any, where: str = "block") -> Block:
    """The registered block called ``name`` (imported on first use, so the CLI starts fast)."""
    if isinstance(name, str) and name in RENAMED:
        raise SparsimInputError(where, "block", name, f"renamed {RENAMED[name]} (each block is named after its "
                                "package); old results stores of it are refused, run its sweeps anew")  # fmt: skip
    if not isinstance(name, str) or name not in REGISTRY:
        raise SparsimInputError(where, "block", name, f"allowed: {', '.join(REGISTRY)}")
    if name not in _INSTANCES:
        module, cls = REGISTRY[name].split(":")
        _INSTANCES[name] = getattr(importlib.import_module(module), cls)()
    return _INSTANCES[name]
