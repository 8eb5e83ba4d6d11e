"""Banked operand SRAM (simulator.nm_array.sram_banks): the fast form against its enumerating twin,
hand-derived stalls, and how the stalls flow into a layer's cycles, the mapper and the reports."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from dataflow.nm_array.dataflows import build_schedule
from dataflow.nm_array.schedule import ORDERS, Tiling, condensed_rows
from simulator.common.bounds import layer_bounds, sram_bound_share
from simulator.common.errors import SparsimInputError
from simulator.nm_array.config import ArrayConfig, Buffers, Memory, PEArray
from simulator.nm_array.fold import simulate_layers
from simulator.nm_array.sram_banks import block_cost_table, fold_demands, sram_stalls, stretched
from simulator.nm_array.twin import twin_fold_stalls
from workloads.io import load_workload
from workloads.zoo import TRACE_DIR


@st.composite
def banked_case(draw):
    df = draw(st.sampled_from(["ws", "os", "is"]))
    n, m = draw(st.sampled_from([(1, 1), (1, 1), (2, 4), (1, 4), (2, 8), (3, 8)]))
    cfg = ArrayConfig(
        pe=PEArray(
            rows=draw(st.integers(1, 9)),
            cols=draw(st.integers(1, 9)),
            dataflow=df,
            weight_double_buffer=draw(st.booleans()),
        ),
        buffers=Buffers(
            banks=draw(st.sampled_from([1, 2, 3, 4, 5, 8, 16])),
            bank_ports=draw(st.integers(1, 3)),
            bank_width_words=draw(st.sampled_from([1, 2, 3, 4, 8])),
            ifmap_layout=draw(st.sampled_from("kp")),
            filter_layout=draw(st.sampled_from("nk")),
            ofmap_layout=draw(st.sampled_from("np")),
        ),
    )
    k, p, ncol = draw(st.integers(1, 40)), draw(st.integers(1, 30)), draw(st.integers(1, 20))
    kc = condensed_rows(k, n, m)
    tiling = None
    if draw(st.booleans()):
        tiling = Tiling(draw(st.integers(1, p)), draw(st.integers(1, kc)), draw(st.integers(1, ncol)),
                        draw(st.sampled_from(ORDERS)))  # fmt: skip
    sched = build_schedule(df, p, kc, ncol, cfg, tiling, copies=draw(st.integers(1, 2)))
    return sched, cfg, k, n, m


@given(banked_case())
def test_fast_form_equals_the_enumerating_twin(case):
    sched, cfg, k, n, m = case
    assert sram_stalls(sched, cfg, k, n, m).tolist() == twin_fold_stalls(sched, cfg, k, n, m)


def test_the_twin_comparison_sees_real_conflicts():
    """The random cases above are not all zeros: on a fixed sample most folds of most cases stall."""
    rng = np.random.default_rng(5)
    stalled = 0
    for _ in range(60):
        df = ["ws", "os", "is"][rng.integers(3)]
        cfg = ArrayConfig(
            pe=PEArray(rows=int(rng.integers(2, 9)), cols=int(rng.integers(2, 9)), dataflow=df),
            buffers=Buffers(banks=int(rng.choice([2, 4])), ifmap_layout=str(rng.choice(["k", "p"]))),
        )
        sched = build_schedule(df, int(rng.integers(4, 30)), int(rng.integers(4, 40)), int(rng.integers(4, 20)), cfg)
        fast = sram_stalls(sched, cfg, sched.kc, 1, 1)
        assert fast.tolist() == twin_fold_stalls(sched, cfg, sched.kc, 1, 1)
        stalled += int(fast.sum() > 0)
    assert stalled >= 30


def test_strided_reads_in_one_bank_cost_one_cycle_per_word():
    """WS with the ifmap stored P-contiguous: a streamed row X[p, k0:k0+4] is 4 words P = 64 apart,
    all in bank p % 8; one port serves them in 4 cycles, two ports in 2."""
    for ports, per_row in ((1, 3), (2, 1)):
        cfg = ArrayConfig(
            pe=PEArray(rows=4, cols=4, dataflow="ws"), buffers=Buffers(banks=8, bank_ports=ports, ifmap_layout="p")
        )
        sched = build_schedule("ws", 64, 8, 4, cfg)  # 2 row folds of 4 x 64 streamed rows
        assert sram_stalls(sched, cfg, 8, 1, 1).tolist() == [64 * per_row] * 2


def test_a_misaligned_row_costs_one_more_line():
    """WS, K-contiguous ifmap, 8 banks of 4-word lines: a 32-word row spans 8 lines (one per bank)
    when it starts on a line boundary and 9 (two in one bank: 2 cycles) when it does not. With
    K = 66 the rows of odd p start 2 words into a line: the folds over k 0..31 and 32..63 stall one
    cycle per odd p (5 of P = 10), the fold over k 64..65 (2 words) never."""
    cfg = ArrayConfig(pe=PEArray(rows=32, cols=8, dataflow="ws"), buffers=Buffers(banks=8, bank_width_words=4))
    sched = build_schedule("ws", 10, 66, 8, cfg)
    assert sram_stalls(sched, cfg, 66, 1, 1).tolist() == [5, 5, 0]
    aligned = build_schedule("ws", 10, 64, 8, cfg)
    assert sram_stalls(aligned, cfg, 64, 1, 1).tolist() == [0, 0]
    table = block_cost_table(1, 0, 32, 1, 4, 8, 1)
    assert table.tolist() == [1 if r % 4 == 0 else 2 for r in range(32)]


def test_os_nm_reads_a_group_block_once_for_its_n_rows():
    """OS 2:4 on a P-contiguous ifmap: each group's 4 columns x pu rows are one access, due once per
    2 streamed rows; with 8 one-word banks and pu = 2, a block is 8 words, one per bank (1 cycle),
    so the ifmap needs half of its window and never stalls; with 2 banks it needs 4 cycles per
    group, 2 per streamed row: it stalls as many cycles as it streams."""
    k, n, m = 16, 2, 4
    kc = condensed_rows(k, n, m)
    for banks, stall in ((8, 0), (2, kc)):
        cfg = ArrayConfig(
            pe=PEArray(rows=2, cols=2, dataflow="os"),
            buffers=Buffers(banks=banks, bank_width_words=1, ifmap_layout="p"),
        )
        sched = build_schedule("os", 2, kc, 2, cfg)
        demand, window = fold_demands(sched, cfg, k, n, m)["ifmap"]
        assert window.tolist() == [kc] and demand.tolist() == [(k // m) * (1 if banks == 8 else 4)]
        assert sram_stalls(sched, cfg, k, n, m).tolist() == [stall]


@pytest.fixture(scope="module")
def resnet18():
    return load_workload(TRACE_DIR / "resnet18.csv")


def test_enough_one_word_banks_are_conflict_free_on_resnet18(resnet18):
    """32 one-word banks under a 32x32 array, each operand stored along the dimension its dataflow
    reads: every access is at most 32 consecutive words, one per bank, so ResNet-18 runs exactly as
    on conflict-free buffers; stored the other way it stalls."""
    natural = {"ws": ("k", "n", "n"), "os": ("p", "n", "n"), "is": ("p", "k", "p")}
    for df, (xl, wl, yl) in natural.items():
        base = ArrayConfig(pe=PEArray(rows=32, cols=32, dataflow=df))
        ideal = simulate_layers(resnet18, base)
        cfg = base.replace(
            {"buffers.banks": 32, "buffers.ifmap_layout": xl, "buffers.filter_layout": wl, "buffers.ofmap_layout": yl}
        )
        banked = simulate_layers(resnet18, cfg)
        assert (banked["sram_stall_cycles"] == 0).all()
        pd.testing.assert_series_equal(banked["cycles"], ideal["cycles"])
        other = cfg.replace({"buffers.ifmap_layout": "p" if xl == "k" else "k"})
        assert simulate_layers(resnet18, other)["sram_stall_cycles"].sum() > 0


def test_stalls_add_to_cycles_and_widen_the_dram_windows(resnet18):
    base = ArrayConfig(pe=PEArray(rows=32, cols=32, dataflow="ws"), memory=Memory(bw_bytes_per_cycle=8.0))
    cfg = base.replace({"buffers.banks": 16})  # 32-word rows over 16 banks: 2 cycles each
    plain, banked = simulate_layers(resnet18, base), simulate_layers(resnet18, cfg)
    assert (banked["compute_cycles"] == plain["compute_cycles"]).all()
    assert (banked["cycles"] == banked["compute_cycles"] + banked["stall_cycles"]).all()
    dram_banked = banked["stall_cycles"] - banked["sram_stall_cycles"]
    dram_plain = plain["stall_cycles"]
    assert (banked["sram_stall_cycles"] > 0).any() and (dram_banked <= dram_plain).all()
    assert (dram_banked < dram_plain).any()  # longer folds hide some of the memory's stalls
    assert (banked["dram_bytes"] == plain["dram_bytes"]).all()


def test_stretched_moves_later_folds():
    cfg = ArrayConfig(pe=PEArray(rows=4, cols=4, dataflow="ws"))
    sched = build_schedule("ws", 8, 12, 4, cfg)
    s = stretched(sched, np.array([2, 0, 5]))
    assert (s.load_start - sched.load_start).tolist() == [0, 2, 2]
    assert s.total_cycles == sched.total_cycles + 7
    assert stretched(sched, np.zeros(3, dtype=np.int64)) is sched


def test_layer_bounds_and_share():
    t = pd.DataFrame({"compute_cycles": [10, 10, 10, 10], "stall_cycles": [0, 30, 30, 12],
                      "sram_stall_cycles": [0, 20, 5, 6], "cycles": [10, 40, 40, 22]})  # fmt: skip
    assert layer_bounds(t).tolist() == ["compute", "SRAM", "DRAM", "compute"]
    assert sram_bound_share(t) == pytest.approx(40 / 112)


@pytest.mark.parametrize(
    "field, value",
    [("buffers.banks", -1), ("buffers.banks", 1025), ("buffers.banks", "8"), ("buffers.bank_ports", 0),
     ("buffers.bank_width_words", 0), ("buffers.bank_width_words", 512), ("buffers.ifmap_layout", "n"),
     ("buffers.filter_layout", "p"), ("buffers.ofmap_layout", "K")],
)  # fmt: skip
def test_bad_banking_fields_name_the_field(field, value):
    with pytest.raises(SparsimInputError) as err:
        ArrayConfig.from_dict({"pe.rows": 4, "pe.cols": 4, field: value})
    assert err.value.field == field


def test_line_set_bounded_before_tables_are_built():
    with pytest.raises(SparsimInputError) as err:
        ArrayConfig.from_dict({"pe": {"rows": 4, "cols": 4}, "buffers": {"banks": 1024, "bank_width_words": 128}})
    assert err.value.field == "buffers.bank_width_words"


def test_per_cycle_model_and_rtl_refuse_banked_configs(monkeypatch):
    from simulator.nm_array.cl import run_nm_array_cycles

    cfg = ArrayConfig(pe=PEArray(rows=2, cols=2), buffers=Buffers(banks=4))
    with pytest.raises(SparsimInputError) as err:
        run_nm_array_cycles(np.ones((2, 2)), np.ones((2, 2)), np.zeros((2, 2)), 1, 1, cfg)
    assert err.value.field == "buffers.banks"
    pytest.importorskip("amaranth")
    import gc
    import warnings

    from amaranth.hdl._ir import UnusedElaboratable

    from rtl.nm_array.design import NMArray

    # Amaranth only warns once some design has been elaborated in the process (as in CI, after
    # the RTL tests); make it warn here regardless
    monkeypatch.setattr(UnusedElaboratable, "_MustUse__silence", False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(SparsimInputError) as refused:
            NMArray(cfg, 1)
        del refused  # its traceback holds the half-built design
        gc.collect()  # a refused design is not an elaboratable left unused
    assert not [w for w in caught if "never used" in str(w.message)]


def test_mapper_steers_around_bank_conflicts(resnet18):
    """A reconfigurable array whose buffers suit WS only: the mapper (which simulates the stalls of
    its candidates with banks) never does worse than any one dataflow's plain schedule, and beats
    OS and IS's, which conflict on every access."""
    from simulator.nm_array.block import NMArrayBlock

    cfg = ArrayConfig(
        pe=PEArray(rows=16, cols=16, dataflow="ws", dataflows=("ws", "os", "is")), buffers=Buffers(banks=16)
    )
    layers = resnet18.iloc[[1, 7, 12]]
    block = NMArrayBlock()
    auto = block.run(layers, cfg, mapping="auto").table
    for df in ("ws", "os", "is"):
        fixed = block.run(layers, cfg, mapping=df).table
        assert (auto["cycles"].to_numpy() <= fixed["cycles"].to_numpy()).all()
    assert auto["cycles"].sum() < block.run(layers, cfg, mapping="os").table["cycles"].sum()


def test_block_totals_carry_the_sram_statistics(resnet18):
    from simulator.nm_array.block import NMArrayBlock

    block = NMArrayBlock()
    cfg = ArrayConfig(
        pe=PEArray(rows=32, cols=32, dataflow="os"), buffers=Buffers(banks=32)
    )  # X read along P, stored K-contiguous
    res = block.run(resnet18, cfg)
    table, tot = res.table, res.totals
    assert tot["sram_stall_cycles"] == int(table["sram_stall_cycles"].sum()) > 0
    assert tot["sram_bound_share"] > 0.5 and tot["dram_bound_share"] == 0.0


def test_systems_and_the_training_step_carry_bank_stalls(resnet18):
    """The scale-out model and the SAT step run each part through the fold model, so their layer
    tables carry the critical array's bank stalls, and each part stalls less than the whole."""
    from simulator.nm_array.block import NMArrayBlock
    from simulator.sat.block import SATBlock

    cfg = ArrayConfig(pe=PEArray(rows=16, cols=16, dataflow="ws"), buffers=Buffers(banks=8))
    layers = resnet18.iloc[:6]
    one = NMArrayBlock().run(layers, cfg).table
    four = NMArrayBlock().run(layers, cfg.replace({"system.arrays": 4, "system.partition": "split_m"})).table
    assert (one["sram_stall_cycles"] > 0).all() and (four["sram_stall_cycles"] > 0).all()
    assert (four["sram_stall_cycles"] < one["sram_stall_cycles"]).all()
    res = SATBlock().run(layers, cfg, scheme="bdwp", nm="2:8")
    step, tot = res.table, res.totals
    assert tot["sram_stall_cycles"] == int(step["sram_stall_cycles"].sum()) > 0
    dense = SATBlock().run(layers, cfg.replace({"buffers.banks": 0}), scheme="bdwp", nm="2:8").table
    assert (step["cycles"] >= dense["cycles"]).all() and step["cycles"].sum() > dense["cycles"].sum()


def test_cost_table_work_bounded_at_the_config():
    """A table's work (residues x the widest access) is refused before anything is built."""
    with pytest.raises(SparsimInputError) as err:
        ArrayConfig(pe=PEArray(rows=4096, cols=4096), buffers=Buffers(banks=1024, bank_width_words=64))
    assert err.value.field == "buffers.banks" and "268,435,456" in err.value.allowed
    ArrayConfig(pe=PEArray(rows=4096, cols=4096), buffers=Buffers(banks=0))  # conflict-free: no table
    with pytest.raises(SparsimInputError) as err:  # a line width means nothing without banks
        Buffers(banks=0, bank_width_words=64)
    assert err.value.field == "bank_width_words" and "banks: 0" in err.value.allowed


@pytest.mark.parametrize("df, nm", [("ws", "1:1"), ("os", "1:1"), ("is", "1:1"), ("ws", "2:8"), ("os", "2:4")])
def test_fast_form_equals_the_twin_on_a_resnet18_layer(resnet18, df, nm):
    """The real access pattern of ResNet-18's last 3x3 convolution (7x7 x 4608 x 512) on a 32x32
    array with 8 two-word banks and NHWC buffers, dense and N:M."""
    from dataflow.nm_array.mapping import Mapping
    from simulator.nm_array.block import with_nm
    from simulator.nm_array.fold import layer_schedule
    from workloads.lowering import lower_to_gemms

    layers = resnet18 if nm == "1:1" else with_nm(resnet18, nm, None)
    r = list(lower_to_gemms(layers).itertuples(index=False))[-2]
    cfg = ArrayConfig(pe=PEArray(rows=32, cols=32, dataflow=df), buffers=Buffers(banks=8, bank_width_words=2))
    _, _, sched, n, m, _ = layer_schedule(r, cfg, Mapping(df))
    fast = sram_stalls(sched, cfg, int(r.gemm_k), n, m)
    assert fast.sum() > 0 and fast.tolist() == twin_fold_stalls(sched, cfg, int(r.gemm_k), n, m)
