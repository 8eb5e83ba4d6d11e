"""Every dataflow (WS, OS, IS) at every level: the per-cycle model (numba) equals its numpy twin,
equals the fold schedule's cycles, and accumulates to the plain product, on random array shapes,
GEMMs, N:M ratios, controller policies and SRAM tilings; SCALE-Sim's OS/IS arithmetic; hazards."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from dataflow.nm_array.dataflows import build_schedule, get_dataflow
from dataflow.nm_array.schedule import ORDERS, Tiling, fold_count
from simulator.common.bits import wrap_signed
from simulator.nm_array.cl import accumulate_folds, run_nm_array_cycles
from simulator.nm_array.config import ArrayConfig, PEArray
from workloads.nm import nm_compress, nm_topn_mask

NM = [(1, 1), (1, 2), (2, 4), (1, 4), (3, 4), (1, 8), (2, 8), (4, 8)]


def _problem(seed, p, k, ncol, n, m):
    rng = np.random.default_rng(seed)
    x = rng.integers(-128, 128, (p, k))
    w = rng.integers(-128, 128, (k, ncol))
    w = w * nm_topn_mask(w, n, m)
    values, idx = nm_compress(w, n, m)
    return x, w, values, idx


@st.composite
def cases(draw):
    df = draw(st.sampled_from(["ws", "os", "is"]))
    r, c = draw(st.integers(1, 6)), draw(st.integers(1, 6))
    p, k, ncol = draw(st.integers(1, 14)), draw(st.integers(1, 20)), draw(st.integers(1, 14))
    n, m = draw(st.sampled_from(NM))
    db = draw(st.booleans())
    cfg = ArrayConfig(pe=PEArray(rows=r, cols=c, dataflow=df, weight_double_buffer=db, supported_m=(1, 2, 4, 8)))
    tiled = draw(st.booleans())
    tiling = None
    if tiled:
        tiling = Tiling(pt=draw(st.integers(1, 16)), kt=draw(st.integers(1, 24)), nt=draw(st.integers(1, 16)),
                        order=draw(st.sampled_from(ORDERS)))  # fmt: skip
    return cfg, p, k, ncol, n, m, tiling, draw(st.integers(0, 2**31))


@given(cases())
def test_per_cycle_equals_twin_equals_fold_and_the_product(case):
    cfg, p, k, ncol, n, m, tiling, seed = case
    x, w, values, idx = _problem(seed, p, k, ncol, n, m)
    nn, mm = (1, 1) if n == m else (n, m)
    sched = build_schedule(cfg.pe.dataflow, p, values.shape[0], ncol, cfg, tiling)
    df = get_dataflow(cfg.pe.dataflow)
    assert sched.folds == fold_count(df, p, values.shape[0], ncol, cfg,
                                     (tiling or df.plain_tiling(p, values.shape[0], ncol, cfg))
                                     .clipped(p, values.shape[0], ncol))  # fmt: skip
    fast = run_nm_array_cycles(x, values, idx, nn, mm, cfg, schedule=sched)
    slow = run_nm_array_cycles(x, values, idx, nn, mm, cfg, schedule=sched, engine="numpy")
    np.testing.assert_array_equal(fast.psum_value, slow.psum_value)
    np.testing.assert_array_equal(fast.psum_cycle, slow.psum_cycle)
    assert fast.total_cycles == slow.total_cycles == sched.total_cycles
    y, done = accumulate_folds(fast, cfg.pe.acc_bits)
    np.testing.assert_array_equal(y, wrap_signed(x.astype(np.int64) @ w.astype(np.int64), cfg.pe.acc_bits))
    assert (done >= 0).all() and done.max() <= sched.total_cycles - 1  # every output, all inside the schedule
    assert fast.psum_cycle.max() == sched.total_cycles - 1  # the last emission ends the schedule


@pytest.mark.parametrize("dataflow", ["ws", "os", "is"])
def test_every_output_leaves_at_its_closed_form_cycle(dataflow):
    cfg = ArrayConfig(pe=PEArray(rows=3, cols=4, dataflow=dataflow, supported_m=(1, 4)))
    x, w, values, idx = _problem(7, 9, 22, 7, 2, 4)
    res = run_nm_array_cycles(x, values, idx, 2, 4, cfg)
    s = res.schedule
    for f in range(s.folds):
        a_ext = {"ws": s.p_used, "is": s.n_used, "os": np.full(s.folds, cfg.rows)}[dataflow]
        for a in range(int(a_ext[f])):
            for j in range(cfg.cols):
                assert res.psum_cycle[f, a, j] == s.exit_cycle(f, a, j)


@pytest.mark.parametrize("dataflow", ["ws", "os", "is"])
def test_a_schedule_tighter_than_the_hardware_allows_is_a_hazard(dataflow):
    """The per-cycle model has teeth: the double-buffered schedule is the tightest the hardware
    allows (SCALE-Sim's non-overlapped one has slack); one cycle earlier collides and is refused."""
    cfg = ArrayConfig(pe=PEArray(rows=3, cols=3, dataflow=dataflow, weight_double_buffer=True))
    x, w, values, idx = _problem(3, 5, 8, 7, 1, 1)
    tight = build_schedule(dataflow, 5, 8, 7, cfg)
    run_nm_array_cycles(x, values, idx, 1, 1, cfg, schedule=tight)
    start = tight.stream_start.copy()
    start[1:] -= 1
    load = start if dataflow == "os" else tight.load_start
    bad = dataclasses.replace(tight, stream_start=start, load_start=load)
    with pytest.raises(RuntimeError, match="schedule hazard"):
        run_nm_array_cycles(x, values, idx, 1, 1, cfg, schedule=bad)


@pytest.mark.parametrize(
    "dataflow,cycles,ifmap,filt,ofmap,util",
    [  # SCALE-Sim 3.0.0 on Conv2_1a (54x54 output, K = 576, N = 64), 32x32, CALC bandwidth
        ("os", 117391, 3359232, 3391488, 198400, 89.42347008314033),
        ("is", 261647, 1679616, 3391488, 3359232, 33.54037267080773),
    ],
)
def test_scalesim_os_is_arithmetic_on_conv2_1a(dataflow, cycles, ifmap, filt, ofmap, util, scalesim_dir):
    from simulator.nm_array.fold import simulate_layers
    from simulator.nm_array.scalesim_reports import compute_report
    from workloads.io import load_workload

    layers = load_workload(scalesim_dir / "topologies" / "resnet18.csv").iloc[[1]]
    cfg = ArrayConfig(pe=PEArray(rows=32, cols=32, dataflow=dataflow, word_bytes=1, psum_bytes=1, supported_m=(1,)))
    s = simulate_layers(layers, cfg)
    rep = compute_report(s, cfg)
    assert int(rep["Total Cycles"].iloc[0]) == cycles
    got = (s.sram_ifmap_reads.iloc[0], s.sram_filter_reads.iloc[0], s.sram_ofmap_writes.iloc[0])
    assert got == (ifmap, filt, ofmap)
    assert rep["Mapping Efficiency %"].iloc[0] == pytest.approx(99.04891304347827, rel=1e-9)
    assert rep["Compute Util %"].iloc[0] == pytest.approx(util, rel=1e-9)


def test_scalesim_nm_is_weight_stationary_only(scalesim_dir):
    from simulator.common.errors import SparsimInputError
    from simulator.nm_array.fold import simulate_layers
    from workloads.io import load_workload

    layers = load_workload(scalesim_dir / "topologies" / "conv2_1a_2of4.csv")
    cfg = ArrayConfig(pe=PEArray(rows=32, cols=32, dataflow="os", supported_m=(1, 4)))
    with pytest.raises(SparsimInputError, match="weight-stationary only"):
        simulate_layers(layers, cfg)
