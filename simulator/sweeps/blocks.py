"""What the sweep driver does with any block: resolve a spec's workload once, load it once per
process, and run one point through the block protocol (:mod:`simulator.common.block`).

Why nothing block-specific lives here: a point is ``block.run(workload, config, **params).totals``,
the same call ``sparsim`` and :func:`simulator.simulate` make (:mod:`simulator.sweeps.worker`); a
block's sweepable names, its metrics (with fixed types, so every Parquet part has one schema) and
its workload entries are the block's own.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from simulator.common.block import Block, get_block

__all__ = ["resolve_workload", "load_workload"]


def resolve_workload(block: Block, entry: Any, base_dir: Path, where: str) -> dict[str, Any]:
    """A spec's workload entry checked and loaded once (a bad file stops the sweep before it starts)."""
    wl = block.workload_spec(entry, base_dir, where)
    load_workload(block.name, wl["load"])
    return wl


def _freeze(v):
    return tuple(v) if isinstance(v, list) else v


def load_workload(block: str, load: dict[str, Any]):
    """The block's workload for ``load``, cached per process: a worker loads a workload once,
    however many points use it."""
    return _cached_load(block, tuple(sorted((k, _freeze(v)) for k, v in load.items())))


@functools.lru_cache(maxsize=16)
def _cached_load(block: str, load: tuple):
    return get_block(block).load_workload({k: (list(v) if isinstance(v, tuple) else v) for k, v in load})

