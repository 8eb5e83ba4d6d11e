"""Pure-Python twin of the PIUMA engine (:mod:`simulator.spgemm.cl`), written independently.

Why a twin: the numba engine is one loop over per-thread state machines with integer registers;
a slip in one phase transition would silently change every SpGEMM figure. This twin writes each
algorithm the way one reads it, as a loop nest: every hardware thread is a Python generator that
``yield``\\ s its instructions (:class:`Ins`), and a small event loop issues them with the same
machine rules (round-robin fine-grained multithreading, earliest core first, LRU caches as ordered
dicts, one shared DRAM channel behind per-core DMA engines, banked scratchpads, barriers). The
tests run both on random small machines and matrices and demand equal cycles and statistics.

A generator's code between two ``yield``\\ s runs when the engine issues the next instruction, so
shared state (SMASH's table, a core's next row) changes at issue time, as in hardware.
"""

from __future__ import annotations

import heapq
import math
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass

from simulator.hash_unit.config import slot_of
from simulator.spgemm.cl import ADDRESS, PRIVATE_STRIDE, PRIVATE_TABLE_SLOTS
from simulator.spgemm.config import ALGORITHMS, C_ENTRY_BYTES, PARTIAL_BYTES, PiumaConfig
from simulator.spgemm.machine import EngineInputs

__all__ = ["Ins", "run_engine_twin", "probe_slots"]


def probe_slots(local: int, j: int, base: int, fmask: int) -> Iterator[int]:
    """The scratchpad slots a SMASH atomic tries for (row ``local`` of its window, column ``j``),
    in order: the hash unit's first slot (:func:`simulator.hash_unit.config.slot_of`), then
    linear probing within the table (or fragment) of ``fmask + 1`` slots at ``base``."""
    h0 = slot_of(j, fmask, local)
    for n in range(fmask + 1):
        yield base + ((h0 + n) & fmask)


@dataclass(frozen=True, slots=True)
class Ins:
    """One instruction: an optional cache load, scratchpad access and posted store, or a park at
    a barrier (``scope`` core or machine; ``resume``: the thread has work after it)."""

    load: int = -1
    bank: int = -1
    occupancy: int = 1
    store: int = 0
    park: bool = False
    scope: str = "core"
    resume: bool = False


ALU = Ins()


class _Stats(dict):
    def __missing__(self, key):
        return 0


class _Machine:
    """The shared hardware state and the algorithms' thread programs."""

    def __init__(self, inp: EngineInputs, m: PiumaConfig, dma_bpc: float):
        self.m, self.inp = m, inp
        self.st = _Stats()
        self.dram_free = 0.0
        self.dma_free = [0.0] * m.cores
        self.caches = [[OrderedDict() for _ in range(m.cache_sets)] for _ in range(m.cores)]
        self.bank_free = [[0.0] * m.scratchpad_banks for _ in range(m.cores)]
        self.table = [dict() for _ in range(m.cores)]  # SMASH: slot -> key
        bounds, core_start = inp.win[0], inp.win[3]
        self.next_row = [int(bounds[core_start[c]]) if core_start[c] < core_start[c + 1] else 0 for c in range(m.cores)]
        self.line = m.line_bytes
        self.line_cycles = m.line_bytes / m.dram_bytes_per_cycle
        self.dma_bpc = dma_bpc

    # ------------------------------------------------------------------ memory system
    def load(self, c: int, addr: int, t: float) -> float:
        line = addr // self.line
        ways = self.caches[c][line % len(self.caches[c])]
        if line in ways:
            self.st["cache_hits"] += 1
            ways.move_to_end(line)
            return max(t + self.m.cache_hit_cycles, ways[line])
        self.st["cache_misses"] += 1
        if len(ways) == self.m.cache_ways:
            ways.popitem(last=False)
        start = max(t + self.m.cache_hit_cycles, self.dram_free)
        self.dram_free = start + self.line_cycles
        self.st["dram_read_bytes"] += self.line
        ways[line] = start + self.line_cycles + self.m.dram_latency_cycles
        return ways[line]

    def post(self, c: int, nbytes: int, t: float) -> None:
        self.st["dram_write_bytes"] += nbytes
        self.dma_free[c] = max(self.dma_free[c], t) + nbytes / self.dma_bpc
        self.dram_free = max(self.dram_free, self.dma_free[c]) + nbytes / self.m.dram_bytes_per_cycle

    def scratchpad(self, c: int, bank: int, occupancy: int, t: float) -> float:
        self.st["sp_accesses"] += 1
        start = max(t, self.bank_free[c][bank])
        self.st["bank_wait_cycles"] += start - t
        self.bank_free[c][bank] = start + occupancy
        return start + self.m.sp_latency_cycles

    # ------------------------------------------------------------------ thread programs
    def program(self, name: str, c: int, t: int) -> Iterator[Ins]:
        alg = ALGORITHMS[name]
        g = c * self.m.threads_per_core + t
        if alg.dataflow == "inner":
            return self._inner(g)
        if alg.dataflow == "outer":
            return self._outer(g)
        if alg.smash:
            return self._smash(alg.version, c, t)
        return self._static_rows(alg.accumulator, g)

    def _private(self, g: int, slot: int, nbytes: int) -> int:
        return ADDRESS["private"] + g * PRIVATE_STRIDE + (slot % PRIVATE_TABLE_SLOTS) * nbytes

    def _static_rows(self, acc: str, g: int) -> Iterator[Ins]:
        """Gustavson with a thread-private accumulator (``spa`` or Nagasaka ``hash``); row i on
        global thread i mod (cores x threads)."""
        a_ptr, a_idx, b_ptr, b_idx, c_nnz, pp_off, _ = self.inp.rowwise
        probes = self.inp.hash_probes
        nthreads = self.m.cores * self.m.threads_per_core
        for row in range(g, len(a_ptr) - 1, nthreads):
            yield Ins(load=ADDRESS["a_ptr"] + row * 8)
            yield ALU  # row pointers arrived
            pp = pp_off[row]
            for p in range(a_ptr[row], a_ptr[row + 1]):
                yield Ins(load=ADDRESS["a_idx"] + p * 4)
                k = a_idx[p]
                yield Ins(load=ADDRESS["b_ptr"] + k * 8)
                for q in range(b_ptr[k], b_ptr[k + 1]):
                    j = b_idx[q]
                    yield Ins(load=ADDRESS["b_idx"] + q * 4)
                    if acc == "spa":
                        yield Ins(load=ADDRESS["private"] + g * PRIVATE_STRIDE + j * 8)  # LD acc[j]
                    else:
                        slot = slot_of(j, (1 << 28) - 1)
                        for n in range(int(probes[pp])):
                            self.st["probes"] += 1
                            yield Ins(load=self._private(g, slot + n, 16))
                    yield ALU  # FMA and the store into the cached accumulator
                    pp += 1
                yield ALU  # row k of B done
            yield ALU  # row of A done
            for left in range(int(c_nnz[row]), 0, -1):  # read the row back, post it to C
                yield Ins(load=self._private(g, left, 8), store=C_ENTRY_BYTES)
            yield ALU
        yield Ins(park=True)

    def _smash(self, version: int, c: int, t: int) -> Iterator[Ins]:
        """SMASH: the core's threads share windows of rows and one scratchpad table."""
        a_ptr, a_idx, b_ptr, b_idx, _, _, ncols = self.inp.rowwise
        bounds, masks, split_w, core_start, fragments = self.inp.win
        threads, banks = self.m.threads_per_core, self.m.scratchpad_banks
        table = self.table[c]
        first, last = int(core_start[c]), int(core_start[c + 1])
        if first == last:
            yield Ins(park=True)
            return
        for w in range(first, last):
            mask = int(masks[w])
            split = version == 3 and bool(split_w[w])
            while self.next_row[c] < bounds[w + 1]:
                row = self.next_row[c]
                self.next_row[c] += 1
                yield Ins(load=ADDRESS["a_ptr"] + row * 8)
                yield ALU
                local = row - int(bounds[w])
                for p in range(a_ptr[row], a_ptr[row + 1]):
                    yield Ins(load=ADDRESS["a_idx"] + p * 4)
                    k = a_idx[p]
                    yield Ins(load=ADDRESS["b_ptr"] + k * 8)
                    for q in range(b_ptr[k], b_ptr[k + 1]):
                        j = int(b_idx[q])
                        yield Ins(load=ADDRESS["b_idx"] + q * 4)
                        yield from self._atomic_add(version, table, local, j, mask, split, fragments, ncols)
                    yield ALU
                yield ALU
                yield ALU
            yield Ins(park=True, resume=True)  # the table is complete: write it back
            for s in range(t, mask + 1, threads):
                full = table.pop(s, None) is not None
                yield Ins(bank=s % banks, occupancy=self.m.sp_atomic_cycles, store=C_ENTRY_BYTES if full else 0)
            yield Ins(park=True, resume=w + 1 < last)

    def _atomic_add(self, version, table, local, j, mask, split, fragments, ncols) -> Iterator[Ins]:
        """Linear probing with atomic compare-and-add; V1 adds the value with a second atomic."""
        if split:
            size = max((mask + 1) // fragments, 1)
            base, fmask = (local % fragments) * size, size - 1
        else:
            base, fmask = 0, mask
        key = local * ncols + j
        banks, occ = self.m.scratchpad_banks, self.m.sp_atomic_cycles
        for n, s in enumerate(probe_slots(local, j, base, fmask)):
            bank = (s // (fmask + 1)) % banks if split else s % banks
            self.st["probes"] += 1
            self.st["sp_atomics"] += 1
            if table.get(s, key) == key:
                table[s] = key
                yield Ins(bank=bank, occupancy=occ)
                if version == 1:
                    self.st["probes"] += 1
                    self.st["sp_atomics"] += 1
                    yield Ins(bank=bank, occupancy=occ)
                return
            if n == fmask:
                self.st["table_overflows"] += 1
            yield Ins(bank=bank, occupancy=occ)

    def _inner(self, g: int) -> Iterator[Ins]:
        a_ptr, a_idx = self.inp.rowwise[:2]
        bt_ptr, bt_idx, nz_cols = self.inp.inner
        nthreads = self.m.cores * self.m.threads_per_core
        for i in range(g, len(a_ptr) - 1, nthreads):
            if a_ptr[i] == a_ptr[i + 1]:
                yield ALU
                continue
            yield Ins(load=ADDRESS["a_ptr"] + i * 8)
            for j in nz_cols:
                yield Ins(load=ADDRESS["bt_ptr"] + j * 8)
                p, q, hit = a_ptr[i], bt_ptr[j], False
                while p < a_ptr[i + 1] and q < bt_ptr[j + 1]:
                    self.st["merge_steps"] += 1
                    if a_idx[p] == bt_idx[q]:
                        yield Ins(load=ADDRESS["a_idx"] + p * 4)
                        hit, p, q = True, p + 1, q + 1
                    elif a_idx[p] < bt_idx[q]:
                        yield Ins(load=ADDRESS["a_idx"] + p * 4)
                        p += 1
                    else:
                        yield Ins(load=ADDRESS["bt_idx"] + q * 4)
                        q += 1
                yield Ins(store=C_ENTRY_BYTES if hit else 0)
            yield ALU
        yield Ins(park=True)

    def _outer(self, g: int) -> Iterator[Ins]:
        b_ptr, a_cptr = self.inp.rowwise[2], self.inp.outer
        inp = self.inp
        nthreads = self.m.cores * self.m.threads_per_core
        for k in range(g, len(a_cptr) - 1, nthreads):
            yield Ins(load=ADDRESS["b_idx"] + b_ptr[k] * 4)
            for p in range(a_cptr[k], a_cptr[k + 1]):
                for q in range(b_ptr[k], b_ptr[k + 1]):
                    yield Ins(load=ADDRESS["b_idx"] + q * 4, store=PARTIAL_BYTES)
                yield Ins(load=ADDRESS["a_idx"] + p * 4)
            yield ALU
        yield Ins(park=True, scope="machine", resume=True)
        per = -(-inp.n_partial // nthreads)
        every = max(1, inp.n_partial // max(inp.n_out, 1))
        for stage in range(1, inp.passes + 2):
            for item in range(g * per, min(inp.n_partial, (g + 1) * per)):
                if stage <= inp.passes:
                    store = PARTIAL_BYTES  # a sort pass: scatter the partial product
                else:
                    store = C_ENTRY_BYTES if item % every == 0 else 0  # combine: one store per output
                yield Ins(load=ADDRESS["partials"] + item * PARTIAL_BYTES, store=store)
            yield Ins(park=True, scope="machine", resume=stage <= inp.passes)


def run_engine_twin(inp: EngineInputs, m: PiumaConfig, name: str, *, dma_bytes_per_cycle: float | None = None) -> dict:
    """Run ``name`` on ``m``; the statistics by name (:data:`simulator.spgemm.cl.STAT_NAMES`)."""
    mach = _Machine(inp, m, m.dma_bytes_per_cycle if dma_bytes_per_cycle is None else dma_bytes_per_cycle)
    cores, threads = m.cores, m.threads_per_core
    progs = [[mach.program(name, c, t) for t in range(threads)] for c in range(cores)]
    clock = [0.0] * cores
    ready = [set(range(threads)) for _ in range(cores)]
    pending: list[list[tuple[float, int]]] = [[] for _ in range(cores)]
    last = [0] * cores  # round-robin: the thread issued last
    parked = [0] * cores
    machine_parked: list[bool] = []  # resume flags of threads parked at a machine barrier
    issued = 0
    while True:
        live = [c for c in range(cores) if ready[c] or pending[c]]
        if not live:
            if len(machine_parked) == cores * threads and all(machine_parked):
                machine_parked.clear()
                release = max(clock)
                for c in range(cores):
                    clock[c] = release
                    pending[c] = [(release + 1.0, t) for t in range(threads)]
                continue
            break
        c = min(live, key=lambda k: (clock[k], k))
        now = clock[c]
        while pending[c] and pending[c][0][0] <= now:
            ready[c].add(heapq.heappop(pending[c])[1])
        if not ready[c]:
            clock[c] = pending[c][0][0]
            continue
        after = [t for t in sorted(ready[c]) if t > last[c]]
        t = after[0] if after else min(ready[c])
        ready[c].discard(t)
        last[c] = t
        issued += 1
        ins = next(progs[c][t])
        done = now + m.alu_cycles
        if ins.store:
            mach.post(c, ins.store, now)
        if ins.load >= 0:
            done = mach.load(c, ins.load, now)
        if ins.bank >= 0:
            done = mach.scratchpad(c, ins.bank, ins.occupancy, now)
        clock[c] = now + 1.0
        if not ins.park:
            heapq.heappush(pending[c], (done, t))
        elif ins.scope == "machine":
            machine_parked.append(ins.resume)
        else:
            parked[c] += 1
            if parked[c] == threads:
                parked[c] = 0
                if ins.resume:
                    for tt in range(threads):
                        heapq.heappush(pending[c], (now + 1.0, tt))
    st = mach.st
    out = {
        "cycles": math.ceil(max(max(clock), mach.dram_free)),
        "instructions": issued,
        **{k: st[k] for k in ("dram_read_bytes", "dram_write_bytes", "cache_hits", "cache_misses", "sp_accesses")},
        **{k: st[k] for k in ("sp_atomics", "probes", "merge_steps", "table_overflows")},
        "bank_wait_cycles": float(st["bank_wait_cycles"]),
    }
    return out
