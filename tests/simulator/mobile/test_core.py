"""The Cortex-A76-class core engine: numba engine = pure-Python twin, and its behaviour."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator.common.errors import SparsimInputError
from simulator.mobile.cl import CoreState
from simulator.mobile.config import CLASS_ID, CoreConfig, load_core
from simulator.mobile.streams import Library, unit_key
from simulator.mobile.twin import run_instances_twin

SMALL = CoreConfig(l1_kb=4, l2_kb=16, l3_kb=64, rob_size=32)  # small caches: misses happen in small tests
#: the microarchitectural options of the presets, each on the small core
VARIANTS = {
    "ooo-128bit": {},
    "ooo-64bit-1ld": {"vec_q_uops": 2, "load_pipes": 1, "decode_width": 3, "dispatch_uops": 6},
    "in-order": {"in_order": True, "vec_q_uops": 2, "load_pipes": 1, "decode_width": 2, "dispatch_uops": 4,
                 "q_load_issue_cycles": 2, "rob_size": 8},
    "no-l3": {"l3_kb": 0},
}


def _random_program(rng, n_tmpl: int, n_rows: int, n_inst: int, span: int):
    classes = list(CLASS_ID.values())
    rows = []
    toff = [0]
    for _ in range(n_tmpl):
        for i in range(n_rows):
            cls = int(rng.choice(classes))
            dst = int(rng.integers(-1, 72))
            srcs = [int(rng.integers(-1, 72)) for _ in range(3)]
            stream = int(rng.integers(1, 6))
            rows.append((cls, dst, *srcs, stream, int(rng.integers(0, 8)) * 16, int(i == 0 or rng.random() < 0.8)))
        toff.append(len(rows))
    inst = np.zeros((n_inst, 6), dtype=np.int64)
    inst[:, 0] = rng.integers(0, n_tmpl, n_inst)
    inst[:, 1:] = rng.integers(0, span, (n_inst, 5)) * 64
    return np.array(rows, dtype=np.int64), np.array(toff, dtype=np.int64), inst


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), span=st.sampled_from([8, 200, 5000]), perfect=st.booleans(),
       variant=st.sampled_from(sorted(VARIANTS)))  # fmt: skip
def test_engine_equals_twin_random(seed, span, perfect, variant):
    rng = np.random.default_rng(seed)
    rows, toff, inst = _random_program(rng, 3, 12, 60, span)
    cfg = dataclasses.replace(SMALL, perfect_l1=perfect, **VARIANTS[variant])
    state = CoreState(cfg)
    state.run(rows, toff, inst)
    cycles, stats = run_instances_twin(cfg, rows, toff, inst)
    assert state.cycles == cycles
    assert state.stats() == stats


@pytest.mark.parametrize("variant", sorted(VARIANTS))
@pytest.mark.parametrize("kernel", ["gemm", "xnn", "mnn", "grp", "dw"])
def test_engine_equals_twin_on_kernel_bodies(kernel, variant):
    cfg = dataclasses.replace(SMALL, **VARIANTS[variant])
    lib = Library()
    tid = lib.get(unit_key(kernel))
    rows, toff = lib.arrays()
    rng = np.random.default_rng(1)
    inst = np.zeros((150, 6), dtype=np.int64)
    inst[:, 0] = tid
    inst[:, 1:] = rng.integers(0, 3000, (150, 5)) * 64  # scattered: L1/L2/L3/DRAM all hit
    state = CoreState(cfg)
    state.run(rows, toff, inst)
    cycles, stats = run_instances_twin(cfg, rows, toff, inst)
    assert (state.cycles, state.stats()) == (cycles, stats)
    assert stats["l3_misses"] > 0


def test_twin_catches_a_changed_latency():
    lib = Library()
    tid = lib.get(unit_key("mnn"))
    rows, toff = lib.arrays()
    inst = np.zeros((50, 6), dtype=np.int64)
    inst[:, 0] = tid
    state = CoreState(SMALL)
    state.run(rows, toff, inst)
    cycles, _ = run_instances_twin(dataclasses.replace(SMALL, lat_ld_int=5), rows, toff, inst)
    assert cycles != state.cycles


def _body_cycles(key, n, cfg):
    lib = Library()
    tid = lib.get(key)
    rows, toff = lib.arrays()
    inst = np.zeros((n, 6), dtype=np.int64)
    inst[:, 0] = tid
    return CoreState(cfg).run(rows, toff, inst)


def test_fma_bound_loop_runs_at_two_fmla_per_cycle():
    cfg = CoreConfig(perfect_l1=True)
    per = (_body_cycles(("gemm_unit", 3), 400, cfg) - _body_cycles(("gemm_unit", 3), 200, cfg)) / 200
    assert per == pytest.approx(24 / 2)  # 24 FMLA on two 128-bit pipes
    one_pipe = dataclasses.replace(cfg)
    # removing the second FMA pipe is not a config knob; narrowing decode is: 30 instructions / 2 per cycle
    narrow = dataclasses.replace(one_pipe, decode_width=2)
    per2 = (_body_cycles(("gemm_unit", 3), 400, narrow) - _body_cycles(("gemm_unit", 3), 200, narrow)) / 200
    assert per2 == pytest.approx(30 / 2)


def test_64bit_asimd_pipes_halve_fmla_throughput():
    """A73/A75/A55: a Q-form FMLA takes both 64-bit pipes, so the 8x12 GEMM step takes 24 cycles."""
    cfg = CoreConfig(perfect_l1=True, vec_q_uops=2, load_pipes=1)
    per = (_body_cycles(("gemm_unit", 3), 400, cfg) - _body_cycles(("gemm_unit", 3), 200, cfg)) / 200
    assert per == pytest.approx(24)


def _prog(entries):
    """rows for one template from (class, dst, srcs) with every instruction its own decode slot."""
    rows = [(CLASS_ID[c], d, *(list(s) + [-1] * (3 - len(s))), 1, 0, 1) for c, d, s in entries]
    inst = np.zeros((1, 6), dtype=np.int64)
    return np.array(rows, dtype=np.int64), np.array([0, len(rows)], dtype=np.int64), inst


def test_in_order_issue_blocks_younger_independent_work():
    """fmla v0 <- v1 (waits for a 5-cycle load); the independent adds behind it may not pass it in order."""
    entries = [("ld_vec", 33, (1,)), ("fmla", 32, (32, 33)), *[("alu", 2 + i % 16, (20,)) for i in range(40)]]
    rows, toff, inst = _prog(entries)
    base = dict(perfect_l1=True, decode_width=2, dispatch_uops=4, vec_q_uops=2, load_pipes=1)
    ooo = CoreState(CoreConfig(**base)).run(rows, toff, inst)
    ino = CoreState(CoreConfig(**base, in_order=True)).run(rows, toff, inst)
    assert ino > ooo
    for cfg in (CoreConfig(**base), CoreConfig(**base, in_order=True)):
        assert run_instances_twin(cfg, rows, toff, inst)[0] == CoreState(cfg).run(rows, toff, inst)


def test_q_load_holds_in_order_issue():
    entries = [("ld_vec", 33 + i, (1,)) for i in range(6)]
    rows, toff, inst = _prog(entries)
    base = dict(perfect_l1=True, decode_width=2, dispatch_uops=4, load_pipes=1, in_order=True)
    one = CoreState(CoreConfig(**base)).run(rows, toff, inst)
    two = CoreState(CoreConfig(**base, q_load_issue_cycles=2)).run(rows, toff, inst)
    assert two - one == 5  # each of the 5 later loads one cycle later than on one load pipe alone


def test_streaming_from_dram_is_bandwidth_bound():
    """A sequential load stream over 4 MB with a deep prefetcher: one line per dram_line_cycles."""
    lib = Library()
    tid = lib.get(("pack", 1))  # one 16-byte load and store per instance
    rows, toff = lib.arrays()
    n = 1 << 16
    inst = np.zeros((n, 6), dtype=np.int64)
    inst[:, 0] = tid
    inst[:, 2] = np.arange(n) * 64  # a new line every instance
    inst[:, 5] = 1 << 40
    cfg = CoreConfig(prefetch_l2_lines=128)
    cycles = CoreState(cfg).run(rows, toff, inst)
    assert n * cfg.dram_line_cycles <= cycles <= 1.1 * n * cfg.dram_line_cycles
    fast = CoreState(dataclasses.replace(cfg, dram_gbps=340.0)).run(rows, toff, inst)
    assert fast < cycles / 2


def test_prefetch_hides_sequential_misses():
    lib = Library()
    tid = lib.get(("pack", 1))
    rows, toff = lib.arrays()
    n = 20000
    inst = np.zeros((n, 6), dtype=np.int64)
    inst[:, 0] = tid
    inst[:, 2] = np.arange(n) * 16
    inst[:, 5] = 1 << 40
    off = CoreState(CoreConfig(prefetch_l1_lines=0, prefetch_l2_lines=0)).run(rows, toff, inst)
    on = CoreState(CoreConfig()).run(rows, toff, inst)
    assert on < off


@pytest.mark.parametrize(
    "kwargs,field",
    [
        ({"decode_width": 0}, "decode_width"),
        ({"l1_ways": 3}, "l1_kb"),
        ({"line_bytes": 48}, "line_bytes"),
        ({"clock_ghz": -1.0}, "clock_ghz"),
        ({"lat_fmla": 0}, "lat_fmla"),
        ({"perfect_l1": 1}, "perfect_l1"),
        ({"vec_q_uops": 3}, "vec_q_uops"),
        ({"load_pipes": 0}, "load_pipes"),
        ({"in_order": "yes"}, "in_order"),
        ({"q_load_issue_cycles": 0}, "q_load_issue_cycles"),
        ({"l3_kb": -1}, "l3_kb"),
    ],
)
def test_config_rejects(kwargs, field):
    with pytest.raises(SparsimInputError, match=field):
        CoreConfig(**kwargs)


def test_load_core_yaml(tmp_path):
    f = tmp_path / "core.yaml"
    f.write_text("clock_ghz: 2.0\nl2_kb: 256\n")
    assert load_core(f).l2_kb == 256
    f.write_text("l4_kb: 1\n")
    with pytest.raises(SparsimInputError, match="l4_kb"):
        load_core(f)
    f.write_text("l2_kb: [1\n")
    with pytest.raises(SparsimInputError, match="valid YAML"):
        load_core(f)


@pytest.mark.parametrize("variant", sorted(VARIANTS))
@pytest.mark.parametrize("key", [("ew_unit", "hswish", 4), ("ew_unit", "add", 3), ("ew_unit", "mul", 4),
                                 ("ew_unit", "gap", 2), ("ew_pro", "mul"), ("ew_gap_epi",)])  # fmt: skip
def test_engine_equals_twin_on_elementwise_bodies(key, variant):
    cfg = dataclasses.replace(SMALL, **VARIANTS[variant])
    lib = Library()
    tid = lib.get(key)
    rows, toff = lib.arrays()
    inst = np.zeros((120, 6), dtype=np.int64)
    inst[:, 0] = tid
    inst[:, 1:] = np.random.default_rng(2).integers(0, 3000, (120, 5)) * 64
    state = CoreState(cfg)
    state.run(rows, toff, inst)
    assert (state.cycles, state.stats()) == run_instances_twin(cfg, rows, toff, inst)


def test_hswish_is_vector_pipe_bound():
    """5 vector ops per vector (XNNPACK's neon hswish) plus each store's data uop on a vector pipe:
    24 vector-pipe uops per 16 elements, 12 cycles on two 128-bit pipes once every access hits L1;
    on 64-bit pipes the 20 data-processing ops split in two: at least (40 + 4) / 2 = 22 cycles
    (the window, now holding twice the uops, adds a little)."""
    lib = Library()
    tid = lib.get(("ew_unit", "hswish", 4))
    rows, toff = lib.arrays()
    n = 400
    inst = np.zeros((n, 6), dtype=np.int64)
    inst[:, 0] = tid
    inst[:, 2] = np.arange(n) * 64
    inst[:, 4] = (1 << 30) + np.arange(n) * 64
    per = {}
    for name, over in {"128": {}, "64": {"vec_q_uops": 2}}.items():
        state = CoreState(dataclasses.replace(CoreConfig(), perfect_l1=True, **over))
        state.run(rows, toff, inst)
        per[name] = state.cycles / n
    assert 12.0 <= per["128"] <= 12.1
    assert 22.0 <= per["64"] <= 22.0 * 1.1
