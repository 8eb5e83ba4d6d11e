"""The SAT block's configuration: the three dataflow switches of a training step and the pruning
unit, beside the array's own config (a SAT-like accelerator *is* the N:M array:
:class:`simulator.nm_array.config.ArrayConfig`). What each switch means is documented with the
model that honours it, :mod:`simulator.sat.cl`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from simulator.common.errors import SparsimInputError

__all__ = ["OPTION_NAMES", "SATOptions", "PruningUnit", "parse_sat_options"]

OPTION_NAMES = ("interleave", "pregen", "offline")


@dataclass(frozen=True, slots=True, kw_only=True)
class SATOptions:
    """The three dataflow switches (see :mod:`simulator.sat.cl`). All on by default."""

    interleave: bool = True
    pregen: bool = True
    offline: bool = True


def parse_sat_options(text: str | None) -> SATOptions:
    """``"interleave,pregen,offline"``, ``"all"`` or ``"none"`` into :class:`SATOptions`."""
    if text is None or text.strip().lower() == "all":
        return SATOptions()
    if text.strip().lower() == "none":
        return SATOptions(interleave=False, pregen=False, offline=False)
    names = [t.strip() for t in text.split(",") if t.strip()]
    for i, nm in enumerate(names):
        if nm not in OPTION_NAMES:
            raise SparsimInputError("--sat-options", "option", nm, f"allowed: {', '.join(OPTION_NAMES)}, all, none")
        if nm in names[:i]:
            raise SparsimInputError("--sat-options", "option", nm, "each option once")
    return SATOptions(**{k: k in names for k in OPTION_NAMES})


@dataclass(frozen=True, slots=True, kw_only=True)
class PruningUnit:
    """Top-N-of-M selection and compression of dense weights (ours).

    ``lanes`` groups of M weights enter per cycle (one per array column by default); a group
    leaves after ``ceil(log2 M) + 2`` pipeline stages (sorting network, select, pack).
    """

    lanes: int = 32

    def cycles(self, groups: int, m: int) -> int:
        if groups == 0 or m <= 1:
            return 0
        return -(-groups // self.lanes) + math.ceil(math.log2(m)) + 2
