"""cocotb test bench of the N:M array: Driver -> DUT -> Monitor -> Scoreboard.

Runs inside the simulator (launched by :mod:`rtl.tools.runner`). Its configuration arrives as JSON
(``SPARSIM_TB_SPEC``: array config, activation lanes, the GEMM problem file, an optional mutation
of the reference model), because Amaranth's Verilog has no HDL parameters.

- Driver: applies :func:`rtl.nm_array.stimulus.build_stimulus` one cycle per clock.
- Monitor: after every rising edge records ``(cycle, column, value)`` for each ``y_valid`` lane.
- Scoreboard: the reference is the per-cycle model (every output's exit cycle and value) and the
  functional model (every accumulated output value). It counts outputs checked, value mismatches
  (an output at the right cycle with a wrong value, or a wrong accumulated result) and cycle
  mismatches (an expected output missing at its cycle, or an unexpected one), writes them to
  ``SPARSIM_TB_RESULT`` and fails the test unless both are zero.
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge, ReadOnly, RisingEdge

from dataflow.nm_array.dataflows import build_schedule
from rtl.nm_array.iface import NMArrayPorts, unpack_lanes
from rtl.nm_array.stimulus import build_stimulus
from simulator.common.bits import wrap_signed
from simulator.common.config import dataclass_from_mapping
from simulator.nm_array.cl import run_nm_array_cycles
from simulator.nm_array.config import ArrayConfig
from simulator.nm_array.fl import nm_gemm_fl


def reference_events(x, values, idx, n, m, cfg, sched, mutation: str | None):
    """Expected ``{(cycle, column): (value, fold, row of X, column of W)}`` from the per-cycle
    model (the emissions of unused rows and columns included: they carry zeros).

    ``mutation`` deliberately breaks the reference, to prove the check has teeth:
    ``cycle_off_by_one`` delays the last fold by one cycle, ``wrong_index`` makes every PE's
    multiplexer select position 0.
    """
    ref_sched = sched
    if mutation == "cycle_off_by_one":
        shifted = sched.stream_start.copy()
        shifted[-1] += 1
        ref_sched = dataclasses.replace(sched, stream_start=shifted, total_cycles=sched.total_cycles + 1)
    elif mutation == "wrong_index":
        idx = np.zeros_like(idx)
    elif mutation not in (None, ""):
        raise ValueError(f"unknown mutation {mutation!r}")
    res = run_nm_array_cycles(x, values, idx, n, m, cfg, schedule=ref_sched)
    events = {}
    f, t, j = np.nonzero(res.psum_cycle >= 0)
    for ff, tt, jj in zip(f.tolist(), t.tolist(), j.tolist(), strict=True):
        cyc = int(res.psum_cycle[ff, tt, jj])
        events[(cyc, jj)] = (int(res.psum_value[ff, tt, jj]), ff, int(sched.p0[ff]) + tt, int(sched.n0[ff]) + jj)
    return events


def observed_outputs(seen: dict, sched, ncol: int, acc_bits: int) -> tuple[np.ndarray, np.ndarray, int]:
    """What the RTL computed, read through the schedule alone (not the per-cycle model):
    ``(Y [P, Ncol] accumulated over folds and wrapped, the cycle each output's last partial sum
    left the array, emissions no fold's output window explains)``. Column ``j`` of fold ``f``
    emits element ``a`` at :meth:`~dataflow.nm_array.schedule.FoldSchedule.exit_cycle` (WS: X's
    row ``p0 + a``; OS: the array row ``a``, X's row ``p0 + a``); folds' windows never overlap."""
    r = sched.rows
    y = np.zeros((sched.t, ncol), dtype=np.int64)
    done = np.full((sched.t, ncol), -1, dtype=np.int64)
    if sched.dataflow == "os":
        base, extent = sched.stream_start + sched.k_used - 1, np.full(sched.folds, r)
    else:
        base, extent = sched.stream_start + r - 1, sched.p_used
    stray = 0
    for (cyc, j), v in seen.items():
        a = cyc - (base + j)
        hit = np.flatnonzero((a >= 0) & (a < extent))
        if len(hit) != 1:
            stray += 1
            continue
        f = int(hit[0])
        row, col = int(a[f]), j
        if col >= sched.n_used[f] or row >= sched.p_used[f]:  # unused rows/columns carry zeros
            stray += int(v != 0)
            continue
        pr, nc = int(sched.p0[f]) + row, int(sched.n0[f]) + col
        y[pr, nc] += v
        done[pr, nc] = max(done[pr, nc], cyc)
    return wrap_signed(y, acc_bits), done, stray


async def drive(dut, stim) -> None:
    names = list(stim.ports)
    for c in range(stim.cycles):
        for name in names:
            getattr(dut, name).value = stim.ports[name][c]
        await RisingEdge(dut.clk)


async def monitor(dut, ports: NMArrayPorts, cycles: int, seen: dict) -> None:
    cols, acc = ports.cfg.cols, ports.acc
    for c in range(cycles):
        await RisingEdge(dut.clk)
        await ReadOnly()
        valid = dut.y_valid.value.to_unsigned()
        if valid:
            vals = unpack_lanes(dut.y_val.value.to_unsigned(), cols, acc, signed_=True)
            for j in range(cols):
                if valid >> j & 1:
                    seen[(c, j)] = vals[j]


async def check_problem(dut, cfg: ArrayConfig, ports: NMArrayPorts, problem: dict) -> dict:
    """Reset, drive one GEMM, score it; return the scoreboard's counts."""
    prob = np.load(problem["file"])
    x, values, idx = prob["x"], prob["values"], prob["indices"]
    n, m = int(prob["n"]), int(prob["m"])
    sched = build_schedule(cfg.pe.dataflow, x.shape[0], values.shape[0], values.shape[1], cfg)
    stim = build_stimulus(x, values, idx, n, m, sched, ports)

    dut.rst.value = 1
    for name in stim.ports:
        getattr(dut, name).value = 0
    for _ in range(2):
        await RisingEdge(dut.clk)
    dut.rst.value = 0

    seen: dict = {}
    mon = cocotb.start_soon(monitor(dut, ports, stim.cycles, seen))
    await drive(dut, stim)
    await mon
    await FallingEdge(dut.clk)  # leave the read-only phase before the next problem drives

    expected = reference_events(x, values, idx, n, m, cfg, sched, problem.get("mutation"))
    cycle_mismatches = len(expected.keys() - seen.keys()) + len(seen.keys() - expected.keys())
    value_mismatches = sum(1 for key in expected.keys() & seen.keys() if expected[key][0] != seen[key])
    # Functional check: what the RTL emitted, accumulated over row folds, against the oracle.
    y = np.zeros((x.shape[0], values.shape[1]), dtype=np.int64)
    for key in expected.keys() & seen.keys():
        _, f, row, col = expected[key]
        if col < sched.n0[f] + sched.n_used[f] and row < sched.p0[f] + sched.p_used[f]:
            y[row, col] += seen[key]
    y = wrap_signed(y, cfg.pe.acc_bits)
    oracle = nm_gemm_fl(x, values, idx, n, m, cfg)
    functional_mismatches = int(np.count_nonzero(y != oracle))
    y_obs, done_obs, stray = observed_outputs(seen, sched, values.shape[1], cfg.pe.acc_bits)
    return {
        "outputs_checked": len(expected),
        "value_mismatches": value_mismatches + functional_mismatches,
        "cycle_mismatches": cycle_mismatches,
        "cycles": stim.cycles,
        "y": y_obs.tolist(),
        "done": done_obs.tolist(),
        "stray": stray,
    }


@cocotb.test()
async def nm_array_cross_check(dut):
    """Every problem of the spec, one after another (one simulator launch for many GEMMs)."""
    spec = json.loads(Path(os.environ["SPARSIM_TB_SPEC"]).read_text())
    cfg = dataclass_from_mapping(spec["config"], ArrayConfig, "bench spec", "array config")
    ports = NMArrayPorts(cfg, spec["lanes"])
    cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
    results = {}
    for problem in spec["problems"]:
        results[problem["tag"]] = await check_problem(dut, cfg, ports, problem)
        out = os.environ.get("SPARSIM_TB_RESULT")
        if out:
            Path(out).write_text(json.dumps(results))
    bad = {k: v for k, v in results.items() if v["value_mismatches"] or v["cycle_mismatches"]}
    assert not bad, bad
