"""sparsim's simulator: the hardware blocks, their models, sweeps and the CLI.

The library's front door (see :mod:`simulator.api`)::

    from simulator import simulate, sweep, load_arch, load_workload, replay_dram, Result, SparsimInputError
    from simulator import dram_against_ramulator  # the DRAM model beside Ramulator 2's goldens

The names are imported on first use, so ``import simulator.common.errors`` (which every floor
does) does not pull in the blocks, and ``sparsim --help`` starts fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from simulator.common.version import __version__

if TYPE_CHECKING:  # pragma: no cover - for type checkers and editors only
    from simulator.api import (
        Result,
        SparsimInputError,
        dram_against_ramulator,
        load_arch,
        load_workload,
        replay_dram,
        simulate,
        sweep,
    )

__all__ = ["__version__", "simulate", "sweep", "load_arch", "load_workload", "replay_dram", "dram_against_ramulator",
           "Result", "SparsimInputError"]  # fmt: skip

_API = set(__all__) - {"__version__"}  # imported from simulator.api on first use


def __getattr__(name: str) -> Any:
    if name in _API:
        return getattr(importlib.import_module("simulator.api"), name)
    raise AttributeError(f"module 'simulator' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | _API)
