"""The array's three software levels agree: functional (values), per-cycle (numba and its numpy
twin: values and the exit cycle of every output) and fold-level (cycle totals)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from dataflow.nm_array.schedule import condensed_rows
from dataflow.nm_array.weight_stationary import ws_schedule, ws_total_cycles
from simulator.common.bits import wrap_signed
from simulator.nm_array.cl import accumulate_folds, run_nm_array_cycles
from simulator.nm_array.config import ArrayConfig, PEArray
from simulator.nm_array.fl import nm_gemm_fl
from simulator.nm_array.fold import simulate_gemms
from workloads.nm import nm_compress, nm_decompress, nm_topn_mask

NM = [(1, 1), (1, 2), (2, 4), (1, 4), (3, 4), (1, 8), (2, 8), (4, 8)]


def _problem(rng, t, k, ncol, n, m, lo=-128, hi=128):
    x = rng.integers(lo, hi, (t, k))
    w = rng.integers(lo, hi, (k, ncol))
    w = w * nm_topn_mask(w, n, m)
    values, idx = nm_compress(w, n, m)
    return x, w, values, idx


def _gemm_row(t, k, ncol, n, m):
    return pd.DataFrame(
        [
            dict(
                layer=0,
                name="g",
                op="gemm",
                count=1,
                gemm_m=t,
                gemm_k=k,
                gemm_n=ncol,
                nm_n=n,
                nm_m=m,
                compat="native",
                out_h=0,
                out_w=0,
                ifmap_elems=t * k,
                weight_elems=k * ncol,
                ofmap_elems=t * ncol,
                dense_macs=t * k * ncol,
            )
        ]
    )


@given(
    rows=st.integers(1, 9),
    cols=st.integers(1, 9),
    t=st.integers(1, 12),
    k=st.integers(1, 40),
    ncol=st.integers(1, 20),
    nm=st.sampled_from(NM),
    db=st.booleans(),
    seed=st.integers(0, 2**31),
)
def test_per_cycle_matches_functional_and_fold_model(rows, cols, t, k, ncol, nm, db, seed):
    n, m = nm
    cfg = ArrayConfig(pe=PEArray(rows=rows, cols=cols, weight_double_buffer=db))
    x, w, values, idx = _problem(np.random.default_rng(seed), t, k, ncol, n, m)
    res = run_nm_array_cycles(x, values, idx, n, m, cfg)
    y, _ = accumulate_folds(res, cfg.pe.acc_bits)
    # values: bit-exact against the functional model and a plain matmul
    np.testing.assert_array_equal(y, nm_gemm_fl(x, values, idx, n, m, cfg))
    np.testing.assert_array_equal(y, wrap_signed(x @ w, 32))
    # cycles: every output leaves at the schedule's exit cycle; totals equal the fold models'
    s = res.schedule
    f, tt, j = np.nonzero(res.psum_cycle >= 0)
    np.testing.assert_array_equal(res.psum_cycle[f, tt, j], s.stream_start[f] + tt + rows - 1 + j)
    assert (res.psum_cycle >= 0).all()  # every column emits, unused ones carry zeros
    unused = np.arange(cols)[None, None, :] >= s.n_used[:, None, None]
    assert (res.psum_value[np.broadcast_to(unused, res.psum_value.shape)] == 0).all()
    kc = values.shape[0]
    assert res.total_cycles == ws_total_cycles(t, kc, ncol, cfg) == s.total_cycles
    stats = simulate_gemms(_gemm_row(t, k, ncol, n, m), cfg.replace({"pe.supported_m": (1, 2, 4, 8)}))
    assert int(stats["compute_cycles"].iloc[0]) == res.total_cycles


@given(
    rows=st.integers(1, 6),
    cols=st.integers(1, 6),
    t=st.integers(1, 6),
    k=st.integers(1, 20),
    ncol=st.integers(1, 9),
    nm=st.sampled_from(NM),
    db=st.booleans(),
    seed=st.integers(0, 2**31),
)
def test_numba_kernel_matches_numpy_twin(rows, cols, t, k, ncol, nm, db, seed):
    n, m = nm
    cfg = ArrayConfig(pe=PEArray(rows=rows, cols=cols, weight_double_buffer=db))
    x, _, values, idx = _problem(np.random.default_rng(seed), t, k, ncol, n, m)
    a = run_nm_array_cycles(x, values, idx, n, m, cfg, engine="numba")
    b = run_nm_array_cycles(x, values, idx, n, m, cfg, engine="numpy")
    np.testing.assert_array_equal(a.psum_value, b.psum_value)
    np.testing.assert_array_equal(a.psum_cycle, b.psum_cycle)
    assert a.total_cycles == b.total_cycles


@pytest.mark.parametrize("engine", ["numba", "numpy"])
def test_float_mode(engine):
    rng = np.random.default_rng(3)
    cfg = ArrayConfig(pe=PEArray(rows=4, cols=3))
    x = rng.standard_normal((7, 13))
    w = rng.standard_normal((13, 5))
    w = w * nm_topn_mask(w, 2, 4)
    values, idx = nm_compress(w, 2, 4)
    y, _ = accumulate_folds(run_nm_array_cycles(x, values, idx, 2, 4, cfg, engine=engine), 32)
    np.testing.assert_allclose(y, x @ w, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(nm_gemm_fl(x, values, idx, 2, 4), x @ w, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("engine", ["numba", "numpy"])
def test_integer_wraparound_is_defined(engine):
    """12-bit accumulators overflow on every column; all levels wrap the same way."""
    rng = np.random.default_rng(5)
    cfg = ArrayConfig(pe=PEArray(rows=3, cols=2, acc_bits=12))
    x = rng.integers(100, 128, (4, 10))
    w = rng.integers(100, 128, (10, 3))
    values, idx = nm_compress(w, 1, 1)
    y, _ = accumulate_folds(run_nm_array_cycles(x, values, idx, 1, 1, cfg, engine=engine), 12)
    exact = x @ w
    assert np.abs(exact).max() > 2**11  # really overflows
    np.testing.assert_array_equal(y, wrap_signed(exact, 12))
    np.testing.assert_array_equal(nm_gemm_fl(x, values, idx, 1, 1, cfg), wrap_signed(exact, 12))
    assert y.min() >= -(2**11) and y.max() < 2**11


def test_functional_rejects_out_of_range_operands():
    from simulator.common.errors import SparsimInputError

    with pytest.raises(SparsimInputError, match="signed 8 bits"):
        nm_gemm_fl(np.array([[200]]), np.array([[1]]), np.array([[0]]), 1, 1)


def test_functional_matches_decompressed_matmul_k_not_multiple_of_m():
    rng = np.random.default_rng(11)
    x, w, values, idx = _problem(rng, 5, 13, 6, 2, 8)
    assert values.shape[0] == condensed_rows(13, 2, 8) == 4
    dense = nm_decompress(values, idx, 2, 8, 13)
    np.testing.assert_array_equal(dense, w)
    np.testing.assert_array_equal(nm_gemm_fl(x, values, idx, 2, 8), x @ dense)


# ---- the cross-check has teeth -------------------------------------------------------------------


def test_broken_schedule_is_caught_by_hazard_check():
    """Start double-buffered weight loads one cycle too early: PEs still waiting for the current
    fold's weights would take shifted ones. The per-cycle model must refuse."""
    cfg = ArrayConfig(pe=PEArray(rows=4, cols=4, weight_double_buffer=True))
    rng = np.random.default_rng(0)
    x, _, values, idx = _problem(rng, 20, 12, 8, 1, 1)
    good = ws_schedule(20, values.shape[0], 8, cfg)
    early = dataclasses.replace(good, load_start=np.where(np.arange(good.folds) > 0, good.load_start - 1, 0))
    run_nm_array_cycles(x, values, idx, 1, 1, cfg, schedule=good)
    for engine in ("numba", "numpy"):
        with pytest.raises(RuntimeError, match="hazard"):
            run_nm_array_cycles(x, values, idx, 1, 1, cfg, schedule=early, engine=engine)


def test_wrong_index_select_is_caught():
    """A model whose multiplexer ignores the stored index (always picks 0) must disagree."""
    rng = np.random.default_rng(1)
    cfg = ArrayConfig(pe=PEArray(rows=4, cols=4))
    x, w, values, idx = _problem(rng, 6, 16, 4, 2, 4)
    good, _ = accumulate_folds(run_nm_array_cycles(x, values, idx, 2, 4, cfg), 32)
    broken, _ = accumulate_folds(run_nm_array_cycles(x, values, np.zeros_like(idx), 2, 4, cfg), 32)
    np.testing.assert_array_equal(good, x @ w)
    assert (broken != good).any()
