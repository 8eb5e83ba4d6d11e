"""Amaranth RTL of the hash-accumulate unit; behaviour and timing as :mod:`simulator.hash_unit.cl`.

The table is a memory with a synchronous, non-transparent read port, so a write made in one cycle
is invisible to the read issued in the same cycle; stage B forwards it (one-deep register)::

          in (key, value) --accept--> read mem[h(key)] --+
                                                          v
     fwd (addr, entry) written last cycle ---> [ B: slot = fwd hit ? fwd : read data ]
                                                 empty -> write (1, key, value)
                                                 same  -> write (1, key, slot.value + value)
                                                 other -> read next slot, stay (in_ready = 0)

Ports (:func:`hash_unit_signature`): ``in_valid``/``in_ready``/``in_key``/``in_value``,
``drain``/``draining``, ``out_valid``/``out_ready``/``out_key``/``out_value``, ``drain_done``,
``overflow`` (sticky).
"""

from __future__ import annotations

from amaranth.hdl import Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from simulator.hash_unit.config import KEY_MULTIPLIER, HashUnitConfig

__all__ = ["hash_unit_signature", "HashAccumulateUnit"]


def hash_unit_signature(cfg: HashUnitConfig) -> wiring.Signature:
    """The unit's one interface declaration (RTL ports, test bench names, widths)."""
    return wiring.Signature(
        {
            "in_valid": In(1),
            "in_ready": Out(1),
            "in_key": In(unsigned(cfg.key_bits)),
            "in_value": In(signed(cfg.value_bits)),
            "drain": In(1),
            "draining": Out(1),
            "out_valid": Out(1),
            "out_ready": In(1),
            "out_key": Out(unsigned(cfg.key_bits)),
            "out_value": Out(signed(cfg.value_bits)),
            "drain_done": Out(1),
            "overflow": Out(1),
        }
    )


class HashAccumulateUnit(wiring.Component):
    """See the module docstring; ``cfg`` is shared with the per-cycle model."""

    def __init__(self, cfg: HashUnitConfig):
        self.cfg = cfg
        super().__init__(hash_unit_signature(cfg))

    def elaborate(self, platform):
        cfg = self.cfg
        sb = cfg.slot_bits
        mod = Module()
        entry = data.StructLayout({"valid": 1, "key": unsigned(cfg.key_bits), "value": signed(cfg.value_bits)})
        mod.submodules.mem = mem = Memory(shape=entry, depth=cfg.slots, init=[])
        rd = mem.read_port(domain="sync", transparent_for=())
        wr = mem.write_port()

        b_valid = Signal()
        b_key = Signal(unsigned(cfg.key_bits))
        b_val = Signal(signed(cfg.value_bits))
        b_addr = Signal(unsigned(sb))
        b_probes = Signal(range(cfg.slots + 1))
        fwd_valid = Signal()
        fwd_addr = Signal(unsigned(sb))
        fwd_entry = Signal(entry)
        draining = Signal()
        done = Signal()
        d_slot = Signal(range(cfg.slots + 1))
        d_exam = Signal()

        slot = Signal(entry)
        mod.d.comb += slot.eq(Mux(fwd_valid & (fwd_addr == b_addr), fwd_entry, rd.data))
        empty = ~slot.valid
        hit = slot.valid & (slot.key == b_key)
        last = b_probes == cfg.slots - 1
        b_write = b_valid & (empty | hit)
        b_stays = b_valid & ~empty & ~hit & ~last
        running = ~draining & ~done
        accept = self.in_valid & self.in_ready
        mod.d.comb += [
            self.in_ready.eq(running & ~b_stays),
            self.draining.eq(draining),
            self.drain_done.eq(done),
        ]
        in_hash = Signal(unsigned(sb))
        mod.d.comb += in_hash.eq((self.in_key * KEY_MULTIPLIER)[:sb])
        take_drain = running & self.drain & ~b_valid & ~accept

        # read port: a probing B item, else a newly accepted item, else the drain scan; otherwise
        # disabled so the read data holds (a read port's enable is 1 unless driven)
        mod.d.comb += rd.en.eq(0)
        with mod.If(b_stays):
            mod.d.comb += [rd.addr.eq(b_addr + 1), rd.en.eq(1)]
        with mod.Elif(accept):
            mod.d.comb += [rd.addr.eq(in_hash), rd.en.eq(1)]
        with mod.Elif(draining & ~d_exam):
            mod.d.comb += [rd.addr.eq(d_slot), rd.en.eq(1)]

        # drain examine: offer a valid entry until out_ready, then clear it
        offer = draining & d_exam & rd.data.valid
        d_next = draining & d_exam & (~rd.data.valid | self.out_ready)
        mod.d.comb += [self.out_valid.eq(offer), self.out_key.eq(rd.data.key), self.out_value.eq(rd.data.value)]

        new = Signal(entry)
        mod.d.comb += [
            new.valid.eq(1),
            new.key.eq(b_key),
            new.value.eq(Mux(empty, b_val, (slot.value + b_val)[: cfg.value_bits].as_signed())),
        ]
        with mod.If(b_write):
            mod.d.comb += [wr.addr.eq(b_addr), wr.data.eq(new), wr.en.eq(1)]
        with mod.Elif(offer & self.out_ready):
            mod.d.comb += [wr.addr.eq(d_slot), wr.data.eq(0), wr.en.eq(1)]
        mod.d.sync += [fwd_valid.eq(wr.en), fwd_addr.eq(wr.addr), fwd_entry.eq(wr.data)]

        with mod.If(b_valid & ~empty & ~hit & last):
            mod.d.sync += self.overflow.eq(1)

        with mod.If(b_stays):
            mod.d.sync += [b_addr.eq(b_addr + 1), b_probes.eq(b_probes + 1)]
        with mod.Elif(accept):
            mod.d.sync += [
                b_valid.eq(1),
                b_key.eq(self.in_key),
                b_val.eq(self.in_value),
                b_addr.eq(in_hash),
                b_probes.eq(0),
            ]
        with mod.Else():
            mod.d.sync += b_valid.eq(0)

        with mod.If(done):
            mod.d.sync += done.eq(0)
        with mod.If(take_drain):
            mod.d.sync += [draining.eq(1), d_slot.eq(0), d_exam.eq(0)]
        with mod.Elif(draining):
            with mod.If(~d_exam):
                mod.d.sync += d_exam.eq(1)
            with mod.Elif(d_next):
                mod.d.sync += [d_exam.eq(0), d_slot.eq(d_slot + 1)]
                with mod.If(d_slot == cfg.slots - 1):
                    mod.d.sync += [draining.eq(0), done.eq(1)]
        return mod
