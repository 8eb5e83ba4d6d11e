"""The LLM serving model (simulator.llm.cl): the whole run's shared simulation against each step
simulated on its own, the physical bounds, and capacity."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator.common.errors import SparsimInputError
from simulator.llm.cl import decode_attention_kernel, plans, simulate_phase, simulate_serving
from simulator.nm_array.config import ArrayConfig, Buffers, Memory, PEArray, System
from workloads.llm.model import BUILTINS, LLMConfig
from workloads.llm.phases import decode_step, prefill

TINY = LLMConfig(name="tiny", family="llama", layers=2, hidden=64, heads=4, kv_heads=2, head_dim=16, ffn=96,
                 vocab=200, gated_mlp=True, max_positions=4096)  # fmt: skip


def array(rows=8, cols=8, dataflow="ws", bw=8.0, dram=None, arrays=1, kb=4.0, dataflows=(), partition="auto"):
    mem = Memory(dram=dram) if dram else Memory(bw_bytes_per_cycle=bw)
    return ArrayConfig(pe=PEArray(rows=rows, cols=cols, dataflow=dataflow, supported_m=(1, 4), dataflows=dataflows),
                       buffers=Buffers(ifmap_kb=kb, filter_kb=kb, ofmap_kb=kb), memory=mem,
                       system=System(arrays=arrays, partition=partition))  # fmt: skip


#: a system where the partitioner mixes tensor and data parallelism per operator in both phases
MIXED = array(arrays=4, bw=4.0, dataflows=("ws", "os", "is"))


def test_the_partitioner_mixes_tensor_and_data_per_operator():
    """With ``auto``, each operator may take the faster of its tensor and data split (the arrays
    share the memory, so no operator's split constrains the next's; a tensor-split row-parallel
    operator brings its all-reduce): the mix is never slower than either plan alone, and here
    it wins both phases, with the choice per operator in ``layers.csv``."""
    run = simulate_serving(TINY, MIXED, batch=2, prompt=9, generate=5, nm=(2, 4), mapping="auto")
    for phase in ("prefill", "decode"):
        assert run.chosen[phase].kind == "mixed"
        tried = run.info[f"{phase}_plans_tried"]
        mixed = next(v for k, v in tried.items() if k.startswith("mixed"))
        assert mixed < min(tried["tensor"], tried["data"])
        how = set(run.layers.loc[run.layers["phase"] == phase, "partition"])
        assert any(h.startswith("tensor") for h in how) and any(h.startswith("data") for h in how)
    dec = run.layers[run.layers["phase"] == "decode"].set_index("name")["partition"]
    # an all-reduce row appears exactly for the row-parallel operators the mix tensor-splits
    for op in ("o_proj", "down_proj"):
        assert (f"{op}_allreduce" in dec.index) == dec[op].startswith("tensor")


@pytest.mark.parametrize(("cfg", "mapping"), [(array(), "plain"), (array(dataflow="os", bw=2.0), "plain"),
                         (array(dram="lpddr4x-4266"), "plain"), (array(arrays=2, partition="tensor"), "plain"),
                         (array(arrays=3, partition="pipeline"), "plain"), (array(arrays=3, partition="data"), "plain"),
                         (array(arrays=2, bw=4.0), "auto"),
                         (array(dataflows=("ws", "os", "is"), bw=4.0), "auto"), (MIXED, "auto")],
                         ids=["ws", "os", "dram", "tensor", "pipeline", "data", "system-auto", "mapper",
                              "mixed"])  # fmt: skip
def test_decode_over_64_steps_equals_each_step_simulated_alone(cfg, mapping):
    """The shared simulation (every distinct GEMM once) gives every step's figures exactly as
    simulating that step's whole table on its own (with the mapper: the run's one decode
    attention kernel, chosen at the first decode step)."""
    run = simulate_serving(TINY, cfg, batch=2, prompt=9, generate=65, nm=(2, 4), attention_block=4,
                           mapping=mapping)  # fmt: skip
    pre_plan, dec_plan = run.chosen["prefill"], run.chosen["decode"]
    arrays = cfg.system.arrays
    assert run.info["prefill_partition"] == pre_plan.describe(arrays, TINY.layers)
    assert run.info["decode_partition"] == dec_plan.describe(arrays, TINY.layers)
    assert pre_plan in plans(cfg, 2) or (pre_plan.kind == "mixed" and cfg.system.partition == "auto")
    kernel = decode_attention_kernel(decode_step(TINY, 2, 10, (2, 4)), cfg, TINY, dec_plan, mapping, "cycles")
    assert (kernel is not None) == (mapping == "auto")
    steps = run.steps
    assert list(steps["step"]) == list(range(65)) and list(steps["context"]) == [9, *range(10, 74)]
    alone = [simulate_phase(TINY, cfg, prefill(TINY, 2, 9, (2, 4), 4), 2, (2, 4), mapping=mapping, plan=pre_plan)]
    alone += [simulate_phase(TINY, cfg, decode_step(TINY, 2, c, (2, 4)), 2, (2, 4), step=c - 9, mapping=mapping,
                             pinned=kernel, plan=dec_plan) for c in range(10, 74)]  # fmt: skip
    pd.testing.assert_frame_equal(steps, pd.concat(alone, ignore_index=True), check_exact=False, rtol=1e-12)
    assert steps["cycles"].dtype == np.int64 and (steps["cycles"] > 0).all()
    # the layer table adds up to the steps
    for phase in ("prefill", "decode"):
        lay = run.layers[run.layers["phase"] == phase]
        st_ = steps[steps["phase"] == phase]
        assert lay["cycles"].sum() == st_["cycles"].sum()
        assert lay["dram_bytes"].sum() == st_["dram_bytes"].sum()
        assert lay["share"].sum() == pytest.approx(1.0)


def test_prefill_counts_the_causal_tiles():
    run = simulate_serving(TINY, array(), batch=1, prompt=10, generate=1, attention_block=4)
    assert (run.info["causal_tiles"], run.info["dense_tiles"]) == (6, 9)  # 3 query blocks: 1 + 2 + 3 of 3x3
    qk = run.layers[(run.layers["phase"] == "prefill") & (run.layers["name"] == "qk")]
    # every computed tile's MACs: query blocks of 4, 4, 2 against 4, 8, 10 keys, per group of 2 q heads
    g, dh = TINY.group, TINY.head_dim
    macs = TINY.layers * TINY.kv_heads * sum(g * q * dh * k for q, k in [(4, 4), (4, 8), (2, 10)])
    assert int(qk["dense_macs"].iloc[0]) == macs
    assert len(run.steps) == 1  # generate 1: the prefill's token only


@settings(max_examples=25, deadline=None)
@given(rows=st.sampled_from([4, 8, 16]), cols=st.sampled_from([4, 8, 16]), df=st.sampled_from(["ws", "os", "is"]),
       bw=st.sampled_from([0.5, 2.0, 16.0, 256.0]), batch=st.integers(1, 4), prompt=st.integers(1, 40),
       generate=st.integers(1, 6), nm=st.sampled_from([(1, 1), (2, 4), (1, 4)]),
       kv=st.sampled_from([1, 2, 4]), arrays=st.sampled_from([1, 2, 3]),
       kb=st.sampled_from([0.5, 4.0, 64.0]), att=st.sampled_from([(1, 1), (2, 4)]))  # fmt: skip
def test_no_step_is_below_its_physical_bound(rows, cols, df, bw, batch, prompt, generate, nm, kv, arrays, kb, att):
    model = LLMConfig(name="p", family="llama", layers=1, hidden=32, heads=4, kv_heads=kv, head_dim=8, ffn=48,
                      vocab=64, gated_mlp=True)  # fmt: skip
    cfg = array(rows, cols, df, bw, arrays=arrays, kb=kb)
    steps = simulate_serving(model, cfg, batch=batch, prompt=prompt, generate=generate, nm=nm,
                             attention_nm=att).steps  # fmt: skip
    assert (steps["cycles"] >= np.floor(steps["compute_bound_cycles"])).all()
    assert (steps["cycles"] >= np.floor(steps["memory_bound_cycles"])).all()
    assert (steps["bound_ratio"] >= 1 - 1e-9).all()
    # the bytes the bound counts are moved at least once
    assert (steps["dram_bytes"] >= steps["weight_bytes"] + steps["kv_read_bytes"] - 1).all()


def test_attention_products_are_dense_unless_the_run_asks_for_nm():
    """Attention products are activation x activation: dense by default, whatever the weights'
    N:M. ``attention_nm`` prunes K and V (a pruned KV cache): the products issue N/M of their
    MACs, a decode step reads the cache at N/M of the values plus index bits (2:4 int8: 0.625 of
    the bytes), and the long-context decode steps get faster; the weights do not change."""
    cfg = array(dataflows=("ws", "os", "is"))
    dense = simulate_serving(TINY, cfg, batch=2, prompt=96, generate=4, nm=(2, 4))
    sparse = simulate_serving(TINY, cfg, batch=2, prompt=96, generate=4, nm=(2, 4), attention_nm=(2, 4))
    tmpl = decode_step(TINY, 2, 97, (2, 4)).gemms
    att = tmpl[tmpl["part"] == "attention"]
    assert len(att) == 2 and (att["nm_n"] == att["nm_m"]).all()  # dense by default
    tmpl = decode_step(TINY, 2, 97, (2, 4), (2, 4)).gemms
    assert (tmpl.loc[tmpl["part"] == "attention", ["nm_n", "nm_m"]].to_numpy() == [2, 4]).all()
    d, s = (r.steps[r.steps["phase"] == "decode"] for r in (dense, sparse))
    np.testing.assert_allclose(s["kv_read_bytes"], d["kv_read_bytes"] * 0.625)
    assert (s["weight_bytes"] == d["weight_bytes"]).all()
    lay = {k: r.layers[r.layers["name"].isin(["qk", "pv"])].set_index(["phase", "name"])[["dense_macs", "macs"]]
           for k, r in (("d", dense), ("s", sparse))}  # fmt: skip
    assert (lay["s"]["dense_macs"] == lay["d"]["dense_macs"]).all()
    qk = lay["s"].index.get_level_values("name") == "qk"
    # K along head_dim (16, a multiple of 4): exactly half; V along the tokens: ceil(keys / 4) * 2
    assert (lay["s"]["macs"][qk] * 2 == lay["d"]["macs"][qk]).all()
    ratio = lay["s"]["macs"][~qk] / lay["d"]["macs"][~qk]
    assert ((ratio >= 0.5) & (ratio < 0.52)).all()
    assert (s["cycles"].to_numpy() < d["cycles"].to_numpy()).all()
    assert sparse.info["kv_bytes_per_token"] == pytest.approx(dense.info["kv_bytes_per_token"] * 0.625)


def test_kv_bytes_per_token_and_parameters():
    m = BUILTINS["llama3_8b"]
    assert m.kv_bytes_per_token(2) == 2 * 32 * 8 * 128 * 2
    assert m.parameter_count() == pytest.approx(8.03e9, rel=5e-3)


def test_a_model_that_does_not_fit_is_one_line():
    cfg = array(dram="lpddr4x-4266")
    cap = cfg.memory.dram_config().capacity_bytes
    with pytest.raises(SparsimInputError) as err:
        simulate_serving(BUILTINS["llama3_70b"], cfg, batch=1, prompt=16, generate=2)
    msg = str(err.value)
    assert "memory" in msg and "the memory holds" in msg and f"{cap / 1e9:.2f} GB" in msg


def test_a_sweep_of_the_llm_block(tmp_path):
    """batch, nm, arrays and memory as axes of one sweep; 2:4 weights move fewer bytes."""
    import json

    from simulator import sweep

    cfg = tmp_path / "config.json"
    model = {"model_type": "llama", "hidden_size": 64, "intermediate_size": 96, "vocab_size": 256,
             "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2}  # fmt: skip
    cfg.write_text(json.dumps(model))
    spec = {"block": "llm", "base": {"pe.rows": 8, "pe.cols": 8, "pe.supported_m": [1, 4], "prompt": 8,
                                     "generate": 3},
            "axes": {"batch": [1, 2], "nm": [None, "2:4"], "system.arrays": [1, 2],
                     "memory.dram": ["lpddr5x-8533", "hbm3"]},
            "workloads": [{"model": str(cfg)}]}  # fmt: skip
    points = sweep(spec, jobs=1)
    assert len(points) == 16 and (points["status"] == "ok").all()
    assert {"ttft_s", "tpot_s", "tokens_per_s", "energy_per_token_j", "decode_bound_ratio"} <= set(points.columns)
    dense = points[points["nm"].isna()].set_index(["batch", "system.arrays", "memory.dram"]).sort_index()
    sparse = points[points["nm"] == "2:4"].set_index(["batch", "system.arrays", "memory.dram"]).sort_index()
    assert (sparse["weight_bytes"] < dense["weight_bytes"]).all()
    assert (sparse["dram_bytes"] < dense["dram_bytes"]).all()


@pytest.mark.parametrize("model", [BUILTINS["gpt2"], TINY], ids=["gpt2-small", "llama-style"])
def test_a_causal_lm_training_step_runs_the_sat_path(model):
    """FF, BP and WU of every layer of a causal LM at sequence S, through the SAT block: every
    layer's linears and tiled causal attention, the LM head on every position; BDWP 2:4 issues
    fewer MACs than dense and is not slower."""
    from simulator import simulate
    from workloads.llm.phases import training_step

    seq = 64
    table = training_step(model, 2, seq, block=32)
    assert len(table) == model.layers * (len(model.linears()) + 2 * 2) + 1
    cfg = array(16, 16, bw=64.0, kb=64.0)
    dense = simulate(table, cfg, training="dense")
    bdwp = simulate(table, cfg, training="bdwp", nm="2:4")
    passes = bdwp.table
    assert set(passes["pass"]) == {"FF", "BP", "WU"}
    ff = passes[passes["pass"] == "FF"]
    q = ff[ff["name"] == "L0.q_proj"].iloc[0]
    assert (q.gemm_m, q.gemm_k, q.gemm_n) == (2 * seq, model.hidden, model.q_width)
    head = ff[ff["name"] == "lm_head"].iloc[0]
    assert (head.gemm_m, head.gemm_n) == (2 * seq, model.vocab)
    assert bdwp.totals["macs"] < dense.totals["macs"] and bdwp.totals["dense_macs"] == dense.totals["dense_macs"]
    assert bdwp.totals["cycles"] <= dense.totals["cycles"]


def test_a_pipeline_that_cannot_win_is_not_simulated_and_the_choice_is_unchanged():
    """Branch and bound over plans: a pipeline whose MAC floor is above the best plan simulated
    before it is left out (``*_plans_pruned``, with its floor), the floor is below what that plan
    really takes, and the choice is what simulating every plan gives."""
    from simulator.llm.cl import _mixed, _totals, plan_floor, run_phases

    cfg = array(arrays=4, bw=64.0, partition="auto")
    run = simulate_serving(TINY, cfg, batch=4, prompt=32, generate=3, nm=(2, 4))
    pruned = run.info["prefill_plans_pruned"]
    assert pruned  # 4 arrays, a compute-bound prefill: a pipeline is about 4x slower
    phase = prefill(TINY, 4, 32, (2, 4), 128)
    every = {}
    for plan in plans(cfg, 4):
        (rows,) = run_phases([phase], cfg, TINY, plan)
        every[plan.describe(4, TINY.layers)] = (plan, _totals(rows)["cycles"], rows)
    t, d = every["tensor"], every["data"]
    mix, rows = _mixed(phase, t[2], d[2])
    best = min([c for _, c, _ in every.values()] + [_totals(rows)["cycles"]])
    assert run.steps["cycles"].iloc[0] == round(best)
    for name, floor in pruned.items():
        plan, cycles, _ = every[name]
        assert floor == plan_floor(phase, plan, cfg, TINY) and best < floor <= cycles
        assert name not in run.info["prefill_plans_tried"]
