"""From a mapping request to one mapping per lowered GEMM: the plain schedule, one dataflow's plain
schedule, the mapper's choice (:mod:`dataflow.nm_array.mapper`) or a mapping file
(:mod:`dataflow.nm_array.mapping_file`).

Why here and not in ``dataflow/``: the mapper is a pure function of the GEMM and the array except
for stall cycles under a finite DRAM bandwidth, which only the memory model
(:mod:`simulator.nm_array.memory`) knows; this module hands it that callback.

``mapping`` values: ``plain`` (the config's dataflow, plain schedule: the default), ``ws``/``os``/
``is`` (that dataflow's plain schedule; the array must run it, see ``ArrayConfig.dataflows``),
``auto`` (the mapper, minimising ``objective``) or the path of a mapping file.
"""

from __future__ import annotations

import functools
import math
from pathlib import Path

import pandas as pd

from dataflow.nm_array.cost import Gemm
from dataflow.nm_array.mapper import OBJECTIVES, Choice, map_gemm
from dataflow.nm_array.mapping import Mapping
from simulator.common.errors import SparsimInputError
from simulator.common.work import advance
from simulator.nm_array.config import ArrayConfig
from simulator.nm_array.energy import EnergyTable
from simulator.nm_array.fold import check_supported, gemm_of, layer_schedule, layer_stalls
from simulator.nm_array.memory import stall_lower_bound

__all__ = ["MAPPING_CHOICES", "resolve_mappings", "gemm_of", "MAPPER_COLUMNS"]

MAPPING_CHOICES = ("plain", "auto", "ws", "os", "is")
#: columns a table gains when the mapper chose its mappings
MAPPER_COLUMNS = ("objective", "objective_value", "mapping_candidates", "mapping_simulated")


#: the mapper's answers in this process, by everything they depend on (the GEMM, the array, the
#: objective, the unit energies, the share and ``exposed_io``): a sweep point or an LLM run maps
#: the same slice under several plans and phases (the decode attention kernel, a data-parallel
#: LM head); the error-message location is not part of an answer
_CHOICES: dict[tuple, Choice] = {}
_CHOICES_MAX = 1024


def check_mapping_request(mapping: str, objective: str, cfg: ArrayConfig, where: str = "--mapping") -> None:
    """Refuse a request the array or the mapper cannot honour, before any work."""
    if objective not in OBJECTIVES:
        raise SparsimInputError("--objective", "objective", objective, f"one of {', '.join(OBJECTIVES)}")
    if mapping in ("ws", "os", "is") and mapping not in cfg.pe.allowed_dataflows:
        raise SparsimInputError(
            where, "mapping", mapping,
            f"a dataflow the array runs ({', '.join(cfg.pe.allowed_dataflows)}); a reconfigurable array lists "
            f"it in `dataflows:`",
        )  # fmt: skip
    if mapping not in MAPPING_CHOICES and Path(mapping).suffix.lower() not in (".yaml", ".yml", ".csv"):
        raise SparsimInputError(
            where, "mapping", mapping, f"one of {', '.join(MAPPING_CHOICES)} or a .yaml/.csv mapping file"
        )


def resolve_mappings(
    gemms: pd.DataFrame,
    cfg: ArrayConfig,
    mapping: str = "plain",
    objective: str = "cycles",
    *,
    energy: EnergyTable = EnergyTable(),
    source: str = "workload",
    share: int = 1,
    exposed_io: bool = False,
) -> tuple[list[Mapping], pd.DataFrame | None]:
    """One mapping per row of ``gemms`` and, for ``auto``, the mapper's columns
    (:data:`MAPPER_COLUMNS`) per row; ``share``: arrays streaming through the memory at once
    (the stalls the mapper weighs are those of a system's part); ``exposed_io``: the mapper's
    cycles include each layer's exposed first load and last write-back (layers run back to back,
    as an LLM step's operators do)."""
    check_mapping_request(mapping, objective, cfg)
    if mapping == "plain":
        return [Mapping(cfg.pe.dataflow)] * len(gemms), None
    if mapping in ("ws", "os", "is"):
        return [Mapping(mapping)] * len(gemms), None
    if mapping != "auto":
        from dataflow.nm_array.mapping_file import read_mapping_file

        return read_mapping_file(mapping, gemms, cfg.pe.allowed_dataflows), None
    check_supported(gemms, cfg, source)
    memo: dict[Gemm, Choice] = {}
    choices = []
    for r in gemms.itertuples(index=False):
        g = gemm_of(r)
        key = (g, cfg, objective, energy, share, exposed_io)
        if g not in memo and key in _CHOICES:
            memo[g] = _CHOICES[key]
        if g not in memo:

            # a candidate is refined through the bounds and simulated in turn, usually one after
            # another: its schedule is built once for them
            @functools.lru_cache(maxsize=4)
            def schedule(mp: Mapping, r=r):
                return layer_schedule(r, cfg, mp, source)

            def stalls(mp: Mapping, limit: float = math.inf, r=r) -> float:
                # ``limit``: the mapper's cut-off (a candidate past it is worse than one in hand)
                _, tiling, sched, n, m, _ = schedule(mp)
                sram, mem = layer_stalls(sched, cfg, tiling, r, int(r.gemm_k), n, m, share, limit=limit,
                                         limit_prefetch=exposed_io)  # fmt: skip
                if mem.cut:
                    return math.inf
                return sram + mem.stall_cycles + (mem.prefetch_cycles + mem.drain_cycles if exposed_io else 0)

            def bound(mp: Mapping, tight: bool | str, r=r) -> float:
                _, tiling, sched, _, m, _ = schedule(mp)
                return stall_lower_bound(sched, cfg, tiling, ifmap_elems=int(r.ifmap_elems), nm_m=m, share=share,
                                         tight=tight, exposed_io=exposed_io)  # fmt: skip

            # behind a DRAM: byte counts first (cheap), then (exposed first load and last write-back)
            # those two batches exactly, then the batches' channels and bank groups
            stages = [False] + (["ends"] if exposed_io and cfg.memory.is_dram and cfg.memory.mode == "fold" else [])
            stages += [True] if cfg.memory.is_dram else []
            bounds = [functools.partial(bound, tight=t) for t in stages]
            where = f"{source} layer {r.layer} ({r.name})"
            memo[g] = map_gemm(g, cfg, objective, stall_cycles=stalls, energy=energy, where=where,
                               share=share, stall_bounds=bounds, exposed_io=exposed_io, cutoff=True)  # fmt: skip
            if len(_CHOICES) >= _CHOICES_MAX:
                _CHOICES.pop(next(iter(_CHOICES)))
            _CHOICES[key] = memo[g]
        choices.append(memo[g])
        advance()
    cols = pd.DataFrame(
        {
            "objective": [c.objective for c in choices],
            "objective_value": [c.value for c in choices],
            "mapping_candidates": [c.candidates for c in choices],
            "mapping_simulated": [c.simulated for c in choices],
        }
    )
    return [c.mapping for c in choices], cols
