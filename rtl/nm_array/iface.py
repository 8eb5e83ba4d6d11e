"""The N:M array's one interface declaration: port names, directions, widths and bit packing.

Why one declaration: the Amaranth design (:mod:`rtl.nm_array.design`), the cocotb test bench
(:mod:`rtl.nm_array.tb`) and the Python stimulus builder (:mod:`rtl.nm_array.stimulus`) all
take port names and the bit position of every lane from here, so a change of width or order
cannot silently desynchronise them. Verilog port names are the signature's member names.

Ports of the weight-stationary array (``In`` = driven by the feeder/controller, ``Out`` = driven
by the array)::

    w_load          In  1            shift the shadow-weight chain down one row this cycle
    w_val           In  C x ob       weight values entering the top row (lane j = column j)
    w_idx           In  C x ib       their positions inside the M-group
    a_valid         In  R            row i receives an activation group this cycle
    a_first         In  R            ... and it is its fold's first streamed row (t = 0): swap
    a_val           In  R x M x ob   row i's M activations (lane q = position q of the group)
    y_valid         Out C            a partial sum leaves the bottom of column j
    y_val           Out C x acc      its value (signed, wrapped to ``acc_bits``)

Ports of the output-stationary array (``cfg.pe.dataflow == "os"``; see
:mod:`dataflow.nm_array.output_stationary`)::

    w_valid         In  C            column j receives a weight this cycle (it moves down)
    w_first         In  C            ... the fold's first (t = 0): the PE starts a new output
    w_last          In  C            ... the fold's last: the PE puts its output on the bus
    w_val, w_idx    In  C x ob, ib   the weight (value, index in its M-group)
    a_valid         In  R            row i receives an activation group this cycle (moves right)
    a_val           In  R x M x ob   row i's M activations
    y_valid, y_val  Out C, C x acc   column j's output bus (an output leaves in this cycle)

``ob`` = ``operand_bits``, ``ib`` = ``max(1, ceil(log2 M))``, ``acc`` = ``acc_bits``. Vectors
are little-endian by lane: lane ``k`` of a ``n x w`` port occupies bits ``[k*w, (k+1)*w)``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from amaranth.hdl import signed, unsigned
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from simulator.nm_array.config import ArrayConfig

__all__ = ["NMArrayPorts", "index_bits", "pack_lanes", "unpack_lanes"]


def index_bits(m: int) -> int:
    """Bits of a PE's stored index (at least 1, so a dense array still has a port)."""
    return max(1, math.ceil(math.log2(m))) if m > 1 else 1


@dataclass(frozen=True, slots=True)
class NMArrayPorts:
    """Widths of an array built for ``cfg`` with ``m``-lane activation groups."""

    cfg: ArrayConfig
    m: int

    @property
    def ob(self) -> int:
        return self.cfg.pe.operand_bits

    @property
    def ib(self) -> int:
        return index_bits(self.m)

    @property
    def acc(self) -> int:
        return self.cfg.pe.acc_bits

    def signature(self) -> wiring.Signature:
        """The Amaranth signature of the array component (its dataflow's port set)."""
        r, c, m = self.cfg.rows, self.cfg.cols, self.m
        if self.cfg.pe.dataflow == "os":
            return wiring.Signature(
                {
                    "w_valid": In(c),
                    "w_first": In(c),
                    "w_last": In(c),
                    "w_val": In(data.ArrayLayout(signed(self.ob), c)),
                    "w_idx": In(data.ArrayLayout(unsigned(self.ib), c)),
                    "a_valid": In(r),
                    "a_val": In(data.ArrayLayout(data.ArrayLayout(signed(self.ob), m), r)),
                    "y_valid": Out(c),
                    "y_val": Out(data.ArrayLayout(signed(self.acc), c)),
                }
            )
        return wiring.Signature(
            {
                "w_load": In(1),
                "w_val": In(data.ArrayLayout(signed(self.ob), c)),
                "w_idx": In(data.ArrayLayout(unsigned(self.ib), c)),
                "a_valid": In(r),
                "a_first": In(r),
                "a_val": In(data.ArrayLayout(data.ArrayLayout(signed(self.ob), m), r)),
                "y_valid": Out(c),
                "y_val": Out(data.ArrayLayout(signed(self.acc), c)),
            }
        )

    def widths(self) -> dict[str, tuple[int, int]]:
        """``port -> (lanes, bits per lane)`` as the test bench packs them."""
        r, c, m = self.cfg.rows, self.cfg.cols, self.m
        if self.cfg.pe.dataflow == "os":
            return {
                "w_valid": (c, 1),
                "w_first": (c, 1),
                "w_last": (c, 1),
                "w_val": (c, self.ob),
                "w_idx": (c, self.ib),
                "a_valid": (r, 1),
                "a_val": (r * m, self.ob),
                "y_valid": (c, 1),
                "y_val": (c, self.acc),
            }
        return {
            "w_load": (1, 1),
            "w_val": (c, self.ob),
            "w_idx": (c, self.ib),
            "a_valid": (r, 1),
            "a_first": (r, 1),
            "a_val": (r * m, self.ob),
            "y_valid": (c, 1),
            "y_val": (c, self.acc),
        }


def pack_lanes(values: Sequence[int], bits: int) -> int:
    """Pack lane values (two's complement for negatives) into one integer, lane 0 lowest."""
    mask = (1 << bits) - 1
    word = 0
    for k, v in enumerate(values):
        word |= (int(v) & mask) << (k * bits)
    return word


def unpack_lanes(word: int, lanes: int, bits: int, signed_: bool) -> list[int]:
    """Inverse of :func:`pack_lanes`."""
    mask = (1 << bits) - 1
    out = []
    for k in range(lanes):
        v = (word >> (k * bits)) & mask
        if signed_ and v >> (bits - 1):
            v -= 1 << bits
        out.append(v)
    return out
