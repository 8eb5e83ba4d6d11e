"""Amaranth RTL of the N:M systolic array (PE and R x C array), weight- or output-stationary by the
config's ``dataflow`` (a generate-time parameter).

Same semantics and timing as the per-cycle model :mod:`simulator.nm_array.cl` (its docstring and
:mod:`dataflow.nm_array.weight_stationary` have the timing diagram); the controller/feeder is outside the array,
so the test bench (and, in a chip, a sequencer) drives the schedule's per-cycle inputs.

One PE, per cycle (``sync`` = registered at the clock edge ending the cycle)::

            w_in (from the PE above)                 shadow <= w_in           when w_load
              |                                      active <= shadow         when a_valid & a_first
      a_in -->[ x = a_in[idx]  (M:1 mux) ]--> a_out  a_out  <= a_in           (one column per cycle)
              |  w = a_first ? shadow : active
      p_in -->[ p_out <= p_in + w * x      ]         p_out  <= wrap(p_in + w*x) when a_valid
              |
            p_out (to the PE below)

So the PE in row ``i``, column ``j`` multiplies the activation that entered row ``i`` ``j``
cycles earlier, and the bottom row's partial-sum registers are the array's outputs: the value
registered at the edge ending cycle ``c`` is output ``(f, t, j)`` with exit cycle ``c``.

Output-stationary PE (:mod:`dataflow.nm_array.output_stationary`), per cycle::

            w_in (valid, first, last, value, index; from the PE above)     w_out <= w_in
              |
      a_in -->[ x = a_in[idx] (M:1 mux) ]--> a_out                         a_out <= a_in
              |  total = (first ? 0 : acc) + value * x                      acc   <= total when w_in.valid
              +--> done = valid & last: total goes onto the column's output bus

Weights and activations of element ``t`` meet at PE(i, j) at ``s + t + i + j``; the column's bus
register captures the ``total`` of the one PE that is done, so the value registered at the edge
ending cycle ``c`` is output ``(f, i, j)`` with exit cycle ``c``, as in the per-cycle model.
"""

from __future__ import annotations

from amaranth.hdl import Const, Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from rtl.nm_array.iface import NMArrayPorts
from simulator.common.errors import SparsimInputError
from simulator.nm_array.config import ArrayConfig, check_conflict_free

__all__ = ["NMProcessingElement", "NMOutputStationaryPE", "NMArray"]


class NMProcessingElement(wiring.Component):
    """One PE with a shadow and an active weight register and an M:1 operand multiplexer.

    Ports: ``w_load`` (In 1); ``w_in_val``/``w_in_idx`` (In ob/ib) from above and
    ``w_out_val``/``w_out_idx`` (Out) to below, the shadow chain; ``a_in_valid``, ``a_in_first``,
    ``a_in`` (In 1, 1, M x ob) from the left and the registered ``a_out_*`` to the right;
    ``p_in`` (In acc) from above and the registered ``p_out``/``p_out_valid`` (Out) below.
    """

    def __init__(self, ports: NMArrayPorts):
        self._p = ports
        ob, ib, acc, m = ports.ob, ports.ib, ports.acc, ports.m
        super().__init__(
            {
                "w_load": In(1),
                "w_in_val": In(signed(ob)),
                "w_in_idx": In(unsigned(ib)),
                "w_out_val": Out(signed(ob)),
                "w_out_idx": Out(unsigned(ib)),
                "a_in_valid": In(1),
                "a_in_first": In(1),
                "a_in": In(data.ArrayLayout(signed(ob), m)),
                "a_out_valid": Out(1),
                "a_out_first": Out(1),
                "a_out": Out(data.ArrayLayout(signed(ob), m)),
                "p_in": In(signed(acc)),
                "p_out": Out(signed(acc)),
                "p_out_valid": Out(1),
            }
        )

    def elaborate(self, platform):
        p = self._p
        mod = Module()
        shadow_val = Signal(signed(p.ob))
        shadow_idx = Signal(unsigned(p.ib))
        active_val = Signal(signed(p.ob))
        active_idx = Signal(unsigned(p.ib))
        with mod.If(self.w_load):
            mod.d.sync += [shadow_val.eq(self.w_in_val), shadow_idx.eq(self.w_in_idx)]
        mod.d.comb += [self.w_out_val.eq(shadow_val), self.w_out_idx.eq(shadow_idx)]

        take = self.a_in_valid & self.a_in_first
        w = Signal(signed(p.ob))
        idx = Signal(unsigned(p.ib))
        mod.d.comb += [w.eq(Mux(take, shadow_val, active_val)), idx.eq(Mux(take, shadow_idx, active_idx))]
        with mod.If(take):
            mod.d.sync += [active_val.eq(shadow_val), active_idx.eq(shadow_idx)]

        x = Signal(signed(p.ob))
        if p.m == 1:
            mod.d.comb += x.eq(self.a_in[0])
        else:
            with mod.Switch(idx):
                for q in range(p.m):
                    with mod.Case(q):
                        mod.d.comb += x.eq(self.a_in[q])
                with mod.Default():
                    mod.d.comb += x.eq(0)

        total = Signal(signed(p.acc))
        mod.d.comb += total.eq((self.p_in + w * x)[: p.acc].as_signed())
        with mod.If(self.a_in_valid):
            mod.d.sync += self.p_out.eq(total)
        mod.d.sync += [
            self.p_out_valid.eq(self.a_in_valid),
            self.a_out_valid.eq(self.a_in_valid),
            self.a_out_first.eq(self.a_in_first),
            self.a_out.eq(self.a_in),
        ]
        return mod


class NMOutputStationaryPE(wiring.Component):
    """One output-stationary PE: an accumulator and an M:1 operand multiplexer.

    Ports: ``w_in_valid``/``w_in_first``/``w_in_last`` (In 1), ``w_in_val``/``w_in_idx`` (In
    ob/ib) from above and the registered ``w_out_*`` below; ``a_in_valid`` (In 1), ``a_in`` (In
    M x ob) from the left and the registered ``a_out_*`` to the right; ``done`` (Out 1) and
    ``total`` (Out acc), combinational, for the column's output bus.
    """

    def __init__(self, ports: NMArrayPorts):
        self._p = ports
        ob, ib, acc, m = ports.ob, ports.ib, ports.acc, ports.m
        super().__init__(
            {
                "w_in_valid": In(1),
                "w_in_first": In(1),
                "w_in_last": In(1),
                "w_in_val": In(signed(ob)),
                "w_in_idx": In(unsigned(ib)),
                "w_out_valid": Out(1),
                "w_out_first": Out(1),
                "w_out_last": Out(1),
                "w_out_val": Out(signed(ob)),
                "w_out_idx": Out(unsigned(ib)),
                "a_in_valid": In(1),
                "a_in": In(data.ArrayLayout(signed(ob), m)),
                "a_out_valid": Out(1),
                "a_out": Out(data.ArrayLayout(signed(ob), m)),
                "done": Out(1),
                "total": Out(signed(acc)),
            }
        )

    def elaborate(self, platform):
        p = self._p
        mod = Module()
        acc = Signal(signed(p.acc))
        x = Signal(signed(p.ob))
        if p.m == 1:
            mod.d.comb += x.eq(self.a_in[0])
        else:
            with mod.Switch(self.w_in_idx):
                for q in range(p.m):
                    with mod.Case(q):
                        mod.d.comb += x.eq(self.a_in[q])
                with mod.Default():
                    mod.d.comb += x.eq(0)
        base = Signal(signed(p.acc))
        mod.d.comb += [
            base.eq(Mux(self.w_in_first, 0, acc)),
            self.total.eq((base + self.w_in_val * x)[: p.acc].as_signed()),
            self.done.eq(self.w_in_valid & self.w_in_last),
        ]
        with mod.If(self.w_in_valid):
            mod.d.sync += acc.eq(self.total)
        mod.d.sync += [
            self.w_out_valid.eq(self.w_in_valid),
            self.w_out_first.eq(self.w_in_first),
            self.w_out_last.eq(self.w_in_last),
            self.w_out_val.eq(self.w_in_val),
            self.w_out_idx.eq(self.w_in_idx),
            self.a_out_valid.eq(self.a_in_valid),
            self.a_out.eq(self.a_in),
        ]
        return mod


class NMArray(wiring.Component):
    """``R x C`` array of :class:`NMProcessingElement`, ports as in :mod:`rtl.nm_array.iface`.

    Parameters
    ----------
    cfg : ArrayConfig
        Rows, columns and datapath widths (the same dataclass the cycle models take).
    m : int
        Activation lanes per row (the largest group size M the array runs; layers with a smaller
        M, and dense layers, use the low lanes).
    """

    def __init__(self, cfg: ArrayConfig, m: int):
        try:
            check_conflict_free(cfg, "NMArray")
        except SparsimInputError:
            self._MustUse__silence = True  # refused, not forgotten: no "created but never used" warning
            raise
        self.cfg = cfg
        self.ports = NMArrayPorts(cfg, m)
        super().__init__(self.ports.signature())

    def elaborate(self, platform):
        if self.cfg.pe.dataflow == "os":
            return self._elaborate_os()
        mod = Module()
        r, c = self.cfg.rows, self.cfg.cols
        pe = [[NMProcessingElement(self.ports) for _ in range(c)] for _ in range(r)]
        for i in range(r):
            for j in range(c):
                mod.submodules[f"pe_{i}_{j}"] = e = pe[i][j]
                mod.d.comb += e.w_load.eq(self.w_load)
                if i == 0:
                    mod.d.comb += [
                        e.w_in_val.eq(self.w_val[j]),
                        e.w_in_idx.eq(self.w_idx[j]),
                        e.p_in.eq(Const(0, signed(self.ports.acc))),
                    ]
                else:
                    up = pe[i - 1][j]
                    mod.d.comb += [e.w_in_val.eq(up.w_out_val), e.w_in_idx.eq(up.w_out_idx), e.p_in.eq(up.p_out)]
                if j == 0:
                    mod.d.comb += [
                        e.a_in_valid.eq(self.a_valid[i]),
                        e.a_in_first.eq(self.a_first[i]),
                        e.a_in.eq(self.a_val[i]),
                    ]
                else:
                    left = pe[i][j - 1]
                    mod.d.comb += [
                        e.a_in_valid.eq(left.a_out_valid),
                        e.a_in_first.eq(left.a_out_first),
                        e.a_in.eq(left.a_out),
                    ]
        for j in range(c):
            mod.d.comb += [self.y_val[j].eq(pe[r - 1][j].p_out), self.y_valid[j].eq(pe[r - 1][j].p_out_valid)]
        return mod

    def _elaborate_os(self):
        mod = Module()
        r, c, acc = self.cfg.rows, self.cfg.cols, self.ports.acc
        pe = [[NMOutputStationaryPE(self.ports) for _ in range(c)] for _ in range(r)]
        for i in range(r):
            for j in range(c):
                mod.submodules[f"pe_{i}_{j}"] = e = pe[i][j]
                if i == 0:
                    mod.d.comb += [
                        e.w_in_valid.eq(self.w_valid[j]),
                        e.w_in_first.eq(self.w_first[j]),
                        e.w_in_last.eq(self.w_last[j]),
                        e.w_in_val.eq(self.w_val[j]),
                        e.w_in_idx.eq(self.w_idx[j]),
                    ]
                else:
                    up = pe[i - 1][j]
                    mod.d.comb += [
                        e.w_in_valid.eq(up.w_out_valid),
                        e.w_in_first.eq(up.w_out_first),
                        e.w_in_last.eq(up.w_out_last),
                        e.w_in_val.eq(up.w_out_val),
                        e.w_in_idx.eq(up.w_out_idx),
                    ]
                if j == 0:
                    mod.d.comb += [e.a_in_valid.eq(self.a_valid[i]), e.a_in.eq(self.a_val[i])]
                else:
                    left = pe[i][j - 1]
                    mod.d.comb += [e.a_in_valid.eq(left.a_out_valid), e.a_in.eq(left.a_out)]
        for j in range(c):
            # at most one PE of a column is done in a cycle (the schedule guarantees it): OR them
            bus = Const(0, signed(acc))
            any_done = Const(0, 1)
            for i in range(r):
                bus = bus | Mux(pe[i][j].done, pe[i][j].total, 0)
                any_done = any_done | pe[i][j].done
            mod.d.sync += [self.y_val[j].eq(bus), self.y_valid[j].eq(any_done)]
        return mod
