"""The hash-accumulate unit (SMASH's scratchpad atomic hash-add, as one hardware block):
its per-cycle model (config: :mod:`simulator.hash_unit.config`,
functional oracle: :mod:`simulator.hash_unit.fl`).

Why a unit: SMASH merges partial products by atomic adds into a hash table; in hardware that is a
small pipeline in front of a scratchpad bank. This block is the RTL-twinned piece of the SMASH
study (RTL: :mod:`rtl.hash_unit.design`; both are held to the per-cycle model here, cycle for cycle).

Behaviour (ours). A table of ``slots`` entries (power of two) ``{valid, key, value}`` in a memory
with a synchronous, non-transparent read port. Hash ``(key * 107) & (slots - 1)`` (Nagasaka's),
linear probing. Values are signed ``value_bits`` integers that wrap.

An accepted item's slot is read in its acceptance cycle; the item is resolved in stage B::

    cycle        c                   c+1
    input     (k, v) accepted,    B: compare slot h(k), write
              read slot h(k)

- B resolves its item in one cycle: empty slot -> allocate ``(k, v)``; same key -> write
  ``value + v`` (read-modify-write); other key -> probe the next slot: B keeps the item, reads
  the next slot this cycle and compares again next cycle (one cycle per extra probe, the input
  stalls meanwhile); after ``slots`` compares without success the item is dropped and the sticky
  ``overflow`` flag is set.
- Forwarding: a write made by B in cycle ``c`` is not in the data read during cycle ``c`` for
  the next item (the read is non-transparent), so in cycle ``c + 1`` B takes the slot from a
  one-deep forwarding register when the addresses match. Back-to-back hits on one key therefore
  run at one per cycle.
- ``in_ready`` is high when B is empty or resolves its item this cycle (and no drain is under
  way); an item is accepted in a cycle where ``in_valid`` and ``in_ready`` are both high.
- Drain: ``drain`` is taken in a cycle that starts with B empty; the unit then scans slots
  0..S-1, a read cycle and an examine cycle per slot; a valid entry is offered on ``out`` until
  ``out_ready`` and is then cleared. ``drain_done`` is high for one cycle after the last slot,
  then the unit accepts inputs again.

Cycle numbering: cycle 0 is the first cycle after reset; an event "at cycle c" is sampled at the
clock edge that ends cycle c.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from simulator.common.bits import wrap_signed
from simulator.hash_unit.config import HashUnitConfig, hash_slot

__all__ = ["HashUnitTrace", "Stimulus", "run_hash_unit_cl"]


@dataclass(frozen=True, slots=True)
class Stimulus:
    """What the test bench's driver does, identical for the RTL and the per-cycle model.

    ``items``: (key, value, idle) - the driver waits ``idle`` cycles with ``in_valid`` low, then
    offers the item until it is accepted. ``drain_gap``: cycles after the last acceptance before
    ``drain`` is raised (held until the unit starts draining). ``out_ready``: per-cycle pattern
    during the drain, repeated.
    """

    items: tuple[tuple[int, int, int], ...]
    drain_gap: int = 2
    out_ready: tuple[int, ...] = (1,)


@dataclass
class HashUnitTrace:
    """Observable events with their cycles."""

    accepted: list[tuple[int, int, int]] = field(default_factory=list)  # (cycle, key, value)
    drained: list[tuple[int, int, int]] = field(default_factory=list)  # (cycle, key, value)
    done_cycle: int = -1
    overflow_cycle: int = -1
    probes: int = 0


def run_hash_unit_cl(
    stim: Stimulus, cfg: HashUnitConfig, max_cycles: int = 1_000_000, broken: str | None = None
) -> HashUnitTrace:
    """Step the unit and its driver cycle by cycle (see the module docstring).

    ``broken`` injects a known bug, to prove the RTL cross-check catches it: ``"no_forwarding"``
    (B ignores the forwarding register) or ``"late_accept"`` (accepted items report one cycle late).
    """
    mask = cfg.slots - 1
    kmask = (1 << cfg.key_bits) - 1
    mem = [(0, 0, 0)] * cfg.slots  # (valid, key, value)
    rd_data = (0, 0, 0)  # read data registered at the last edge
    fwd = None  # (addr, entry) written in the previous cycle
    b = None  # [key, value, addr, compares so far]
    trace = HashUnitTrace()
    items = list(stim.items)
    nxt, wait = 0, (items[0][2] if items else 0)
    state = "run"  # run -> drain -> done -> run
    gap = stim.drain_gap if not items else None
    drain_req = False
    d_slot, d_exam = 0, False
    ready_i = 0
    for cyc in range(max_cycles):
        write = None
        rd_addr = None
        # ----------------------------------------------------------------- stage B
        b_stays = False
        if b is not None:
            key, val, addr, probes = b
            use_fwd = fwd is not None and fwd[0] == addr and broken != "no_forwarding"
            slot = fwd[1] if use_fwd else rd_data
            trace.probes += 1
            if not slot[0]:
                write = (addr, (1, key, wrap_signed(val, cfg.value_bits)))
            elif slot[1] == key:
                write = (addr, (1, key, wrap_signed(slot[2] + val, cfg.value_bits)))
            elif probes + 1 == cfg.slots:
                if trace.overflow_cycle < 0:
                    trace.overflow_cycle = cyc
            else:
                b_stays = True
                rd_addr = (addr + 1) & mask
        in_ready = state == "run" and not b_stays
        # ----------------------------------------------------------------- driver and input
        offered = None
        if state == "run" and nxt < len(items):
            if wait > 0:
                wait -= 1
            else:
                offered = items[nxt]
        accepted = offered is not None and in_ready
        if accepted:
            key_in = offered[0] & kmask
            rd_addr = hash_slot(key_in, cfg)
        # ----------------------------------------------------------------- drain
        take_drain = state == "run" and drain_req and b is None and not accepted
        out = None
        d_next = False
        if state == "drain":
            if not d_exam:
                rd_addr = d_slot
            elif rd_data[0]:
                if stim.out_ready[ready_i % len(stim.out_ready)]:
                    out = (rd_data[1], rd_data[2])
                    write = (d_slot, (0, 0, 0))
                    d_next = True
                ready_i += 1
            else:
                d_next = True
        # ----------------------------------------------------------------- clock edge
        if accepted:
            trace.accepted.append((cyc + (1 if broken == "late_accept" else 0), key_in, offered[1]))
        if out is not None:
            trace.drained.append((cyc, out[0], out[1]))
        if state == "done":
            trace.done_cycle = cyc
            return trace
        new_rd = mem[rd_addr] if rd_addr is not None else rd_data
        if write is not None:
            mem[write[0]] = write[1]
        fwd = write
        rd_data = new_rd
        if b is not None and not b_stays:
            b = None
        elif b_stays:
            b[2] = rd_addr
            b[3] += 1
        if accepted:
            b = [key_in, offered[1], rd_addr, 0]
            nxt += 1
            if nxt < len(items):
                wait = items[nxt][2]
            else:
                gap = stim.drain_gap
        if gap is not None and not drain_req and nxt == len(items) and not accepted:
            if gap == 0:
                drain_req = True
            else:
                gap -= 1
        if take_drain:
            state, d_slot, d_exam, drain_req = "drain", 0, False, False
        elif state == "drain":
            if not d_exam:
                d_exam = True
            elif d_next:
                d_exam = False
                d_slot += 1
                if d_slot == cfg.slots:
                    state = "done"
    raise RuntimeError("hash unit did not finish its drain within max_cycles")
