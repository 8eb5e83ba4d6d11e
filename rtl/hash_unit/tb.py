"""cocotb bench of the hash-accumulate unit: Driver -> DUT -> Monitor -> Scoreboard.

The spec (JSON, ``SPARSIM_TB_SPEC``) lists streams; for each, the driver plays the
:class:`simulator.hash_unit.cl.Stimulus` protocol (idle cycles, offer until accepted, raise ``drain``
``drain_gap + 2`` cycles after the last acceptance, ``out_ready`` pattern), the monitor samples
every handshake at the falling clock edge (combinational ``in_ready``/``out_valid`` are settled
there), and the scoreboard compares every accepted input, every drained entry and the done and
overflow cycles with the per-cycle model, and the drained table with the functional model.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge, RisingEdge

from simulator.hash_unit.cl import Stimulus, run_hash_unit_cl
from simulator.hash_unit.config import HashUnitConfig
from simulator.hash_unit.fl import hash_accumulate_fl


async def play(dut, stim: Stimulus, max_cycles: int = 200_000) -> dict:
    """Drive one stream and monitor it; cycles count from the first cycle after reset."""
    dut.rst.value = 1
    dut.in_valid.value = 0
    dut.drain.value = 0
    dut.out_ready.value = 0
    for _ in range(2):
        await RisingEdge(dut.clk)
    dut.rst.value = 0
    accepted, drained = [], []
    overflow_cycle, done_cycle = -1, -1
    nxt, wait = 0, (stim.items[0][2] if stim.items else 0)
    last_accept = -1
    drain_at = None if stim.items else stim.drain_gap + 1
    k = 0
    for cyc in range(max_cycles):
        offering = nxt < len(stim.items) and wait == 0
        dut.in_valid.value = int(offering)
        if offering:
            key, value, _ = stim.items[nxt]
            dut.in_key.value = key & ((1 << len(dut.in_key)) - 1)
            dut.in_value.value = value
        dut.drain.value = int(drain_at is not None and cyc >= drain_at)
        dut.out_ready.value = stim.out_ready[k % len(stim.out_ready)]
        await FallingEdge(dut.clk)
        if offering and dut.in_ready.value:
            accepted.append((cyc, int(dut.in_key.value), dut.in_value.value.to_signed()))
            nxt += 1
            last_accept = cyc
            if nxt < len(stim.items):
                wait = stim.items[nxt][2]
            else:
                drain_at = last_accept + stim.drain_gap + 2
        elif nxt < len(stim.items) and wait > 0:
            wait -= 1
        if dut.out_valid.value:
            if stim.out_ready[k % len(stim.out_ready)]:
                drained.append((cyc, int(dut.out_key.value), dut.out_value.value.to_signed()))
            k += 1
        if dut.overflow.value and overflow_cycle < 0:
            overflow_cycle = cyc - 1  # sticky flag: set at the edge ending the dropping cycle
        if dut.drain_done.value:
            done_cycle = cyc
            await RisingEdge(dut.clk)
            break
        if dut.draining.value:
            drain_at = None
        await RisingEdge(dut.clk)
    return {"accepted": accepted, "drained": drained, "done": done_cycle, "overflow": overflow_cycle}


@cocotb.test()
async def hash_unit_cross_check(dut):
    spec = json.loads(Path(os.environ["SPARSIM_TB_SPEC"]).read_text())
    cfg = HashUnitConfig(**spec["config"])
    cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
    results = {}
    for s in spec["streams"]:
        stim = Stimulus(
            items=tuple(tuple(i) for i in s["items"]), drain_gap=s["drain_gap"], out_ready=tuple(s["out_ready"])
        )
        rtl = await play(dut, stim)
        ref = run_hash_unit_cl(stim, cfg, broken=s.get("broken"))
        exp_acc = [tuple(a) for a in ref.accepted]
        exp_out = [tuple(d) for d in ref.drained]
        acc_mis = len(set(exp_acc) ^ set(map(tuple, rtl["accepted"])))
        out_mis = len(set(exp_out) ^ set(map(tuple, rtl["drained"])))
        table, dropped = hash_accumulate_fl([(k, v) for _, k, v in rtl["accepted"]], cfg)
        func_mis = len(set(table.items()) ^ {(k, v) for _, k, v in rtl["drained"]})
        results[s["tag"]] = {
            "inputs": len(rtl["accepted"]),
            "drained": len(rtl["drained"]),
            "accept_mismatches": acc_mis,
            "drain_mismatches": out_mis,
            "functional_mismatches": func_mis,
            "done_match": rtl["done"] == ref.done_cycle,
            "overflow_match": rtl["overflow"] == ref.overflow_cycle,
            "dropped": dropped,
            "cycles": rtl["done"] + 1,
            "first_diffs": sorted(set(exp_out) ^ set(map(tuple, rtl["drained"])))[:6],
            "done": [rtl["done"], ref.done_cycle],
            "trace": {k: rtl[k] for k in ("accepted", "drained", "done", "overflow")},
        }
        Path(os.environ["SPARSIM_TB_RESULT"]).write_text(json.dumps(results))
    bad = {
        k: v
        for k, v in results.items()
        if v["accept_mismatches"]
        or v["drain_mismatches"]
        or v["functional_mismatches"]
        or not v["done_match"]
        or not v["overflow_match"]
    }
    assert not bad, bad
