"""A layer's mapping onto the N:M array: its dataflow and its SRAM tiling.

``Mapping("ws")`` is the dataflow's plain schedule (one array fold per SRAM tile, SCALE-Sim's);
a :class:`~dataflow.nm_array.schedule.Tiling` gives tile sizes and a loop order. The mapper
(:mod:`dataflow.nm_array.mapper`) chooses mappings; mapping files pin or edit them.
"""

from __future__ import annotations

from dataclasses import dataclass

from dataflow.nm_array.schedule import Tiling

__all__ = ["Mapping"]


@dataclass(frozen=True, slots=True)
class Mapping:
    """``dataflow``: ``ws``, ``os`` or ``is``; ``tiling``: None for the plain schedule."""

    dataflow: str
    tiling: Tiling | None = None

    def describe(self) -> dict:
        """The columns a per-layer table carries for this mapping."""
        t = self.tiling
        return {
            "dataflow": self.dataflow,
            "tile_p": t.pt if t else 0,
            "tile_k": t.kt if t else 0,
            "tile_n": t.nt if t else 0,
            "loop_order": t.order if t else "plain",
        }
