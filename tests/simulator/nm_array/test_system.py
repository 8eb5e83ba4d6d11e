"""Several arrays sharing one memory (simulator/nm_array/system.py): the ideal partitioned time on
an infinitely fast memory, conservation of work, the shared memory, the pipeline and bad input."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from dataflow.nm_array.partition import pipeline_cycles
from simulator.common.errors import SparsimInputError
from simulator.nm_array.config import ArrayConfig, Memory, PEArray, System
from simulator.nm_array.fold import simulate_gemms
from simulator.nm_array.system import simulate_system
from simulator.sat.cl import simulate_training_step
from workloads.lowering import lower_to_gemms
from workloads.zoo import load_zoo_trace


@pytest.fixture(scope="module")
def resnet50():
    return lower_to_gemms(load_zoo_trace("resnet50"))


@pytest.fixture(scope="module")
def resnet18():
    return lower_to_gemms(load_zoo_trace("resnet18"))


def test_os_split_m_on_infinite_memory_is_the_ideal_partitioned_time():
    """At batch 4, 7 rows x 4 arrays divides every ResNet-50 P but the classifier's (12544, 3136,
    784, 196 per sample): each array gets a quarter of the row folds, and with no memory stalls
    such a layer takes exactly a quarter as long."""
    gemms = lower_to_gemms(load_zoo_trace("resnet50").assign(batch=4))
    cfg = ArrayConfig(pe=PEArray(rows=7, cols=16, dataflow="os"), memory=Memory(bw_bytes_per_cycle=None))
    one = simulate_gemms(gemms, cfg)
    even = (gemms["gemm_m"] % (4 * 7) == 0).to_numpy()
    assert even.sum() == len(gemms) - 1
    for partition in ("split_m", "auto"):
        sys_ = simulate_system(gemms, cfg.replace({"system.arrays": 4, "system.partition": partition})).layers
        assert (sys_["cycles"][even] * 4 == one["cycles"][even]).all(), partition
        assert (sys_["stall_cycles"] == 0).all()
        assert np.allclose(sys_["balance"][even], 1.0)
        assert (sys_["cycles"] * 4 >= one["cycles"]).all()  # never better than ideal


def test_ws_split_n_reaches_the_ideal_where_the_columns_divide(resnet50):
    cfg = ArrayConfig(pe=PEArray(rows=16, cols=16, dataflow="ws"), memory=Memory(bw_bytes_per_cycle=None))
    one = simulate_gemms(resnet50, cfg)
    sys_ = simulate_system(resnet50, cfg.replace({"system.arrays": 4, "system.partition": "split_n"})).layers
    even = (resnet50["gemm_n"] % (4 * 16) == 0).to_numpy()
    assert even.sum() >= 40
    assert (sys_["cycles"][even] * 4 == one["cycles"][even]).all()
    assert (sys_["cycles"] * 4 >= one["cycles"]).all()  # never better than ideal


def test_system_cycles_are_the_slowest_independent_part(resnet18):
    """On an infinitely fast memory sharing changes nothing: each layer's cycles are the max of its
    parts simulated alone, on a heterogeneous system too."""
    cfg = ArrayConfig(
        pe=PEArray(rows=16, cols=16),
        memory=Memory(bw_bytes_per_cycle=None),
        system=System(arrays=3, shapes=("16x16", "32x8", "8x8"), partition="split_m"),
    )
    res = simulate_system(resnet18, cfg)
    arrays = cfg.system_arrays()
    from dataflow.nm_array.partition import split_row

    for row, got in zip(resnet18.to_dict("records"), res.layers.to_dict("records"), strict=True):
        mine = res.arrays[res.arrays["layer"] == row["layer"]]
        width = int(mine["array"].max()) + 1  # the mapper spreads a layer over the first `width` arrays
        parts = split_row(row, "split_m", [a.pes for a in arrays[:width]], got["split_quantum"])
        import pandas as pd

        alone = [int(simulate_gemms(pd.DataFrame([p]), a)["cycles"].iloc[0])
                 for p, a in zip(parts, arrays, strict=False) if p is not None]  # fmt: skip
        assert got["cycles"] == max(alone)
        assert got["active_arrays"] == len(alone) == len(mine)
        assert sorted(zip(mine["part_lo"], mine["part_hi"], strict=True)) == sorted(
            (p["part_lo"], p["part_hi"]) for p in parts if p is not None
        )


def test_one_array_system_is_the_single_array(resnet18):
    cfg = ArrayConfig(pe=PEArray(rows=32, cols=32, weight_double_buffer=True), memory=Memory(bw_bytes_per_cycle=16))
    one = simulate_gemms(resnet18, cfg)
    res = simulate_system(resnet18, cfg)
    for col in ("cycles", "compute_cycles", "stall_cycles", "dram_bytes", "macs", "sram_ifmap_reads"):
        assert (res.layers[col].to_numpy() == one[col].to_numpy()).all(), col


def test_work_is_conserved_and_per_array_rows_add_up(resnet18):
    cfg = ArrayConfig(pe=PEArray(rows=16, cols=16), memory=Memory(bw_bytes_per_cycle=32), system=System(arrays=4))
    res = simulate_system(resnet18, cfg)
    one = simulate_gemms(resnet18, cfg.system_arrays()[0])
    assert (res.layers["dense_macs"] == one["dense_macs"]).all()
    per = res.arrays.groupby("layer")
    assert (per["macs"].sum().to_numpy() == res.layers["macs"].to_numpy()).all()
    assert (per["dram_bytes"].sum().to_numpy() == res.layers["dram_bytes"].to_numpy()).all()
    assert (per["cycles"].max().to_numpy() == res.layers["cycles"].to_numpy()).all()
    assert set(res.layers["partition"]) <= {"split_m", "split_n"}
    assert ((res.layers["balance"] > 0) & (res.layers["balance"] <= 1)).all()


def test_shared_simple_memory_is_a_slower_channel(resnet18):
    """A part sharing a B bytes/cycle channel with 3 others runs as on a B/4 channel alone."""
    cfg = ArrayConfig(pe=PEArray(rows=16, cols=16), memory=Memory(bw_bytes_per_cycle=32))
    shared = simulate_gemms(resnet18, cfg, share=4)
    alone = simulate_gemms(resnet18, cfg.replace({"memory.bw_bytes_per_cycle": 8}))
    assert (shared["cycles"] == alone["cycles"]).all()
    assert shared["stall_cycles"].sum() > simulate_gemms(resnet18, cfg)["stall_cycles"].sum()


def test_shared_dram_model_slows_the_parts(resnet18):
    cfg = ArrayConfig(pe=PEArray(rows=32, cols=32, weight_double_buffer=True), memory=Memory(dram="ddr4-3200"))
    alone = simulate_gemms(resnet18, cfg)
    shared = simulate_gemms(resnet18, cfg, share=4)
    assert (shared["cycles"] >= alone["cycles"]).all()
    assert shared["stall_cycles"].sum() > alone["stall_cycles"].sum()


def test_pipeline_cycles_are_the_stage_formula():
    layers = load_zoo_trace("resnet18")
    batch, arrays = 8, 4
    gemms = lower_to_gemms(layers.assign(batch=batch))
    one = lower_to_gemms(layers.assign(batch=1))
    cfg = ArrayConfig(
        pe=PEArray(rows=16, cols=16),
        memory=Memory(bw_bytes_per_cycle=64),
        system=System(arrays=arrays, partition="pipeline"),
    )
    res = simulate_system(gemms, cfg, per_sample=one, samples=batch)
    assert res.partition == "pipeline"
    per_sample = simulate_gemms(one, cfg.system_arrays()[0], share=arrays)
    stage = res.arrays.groupby("array")["layer"].agg(["min", "max"])
    t = [int(per_sample["cycles"][lo : hi + 1].sum()) for lo, hi in zip(stage["min"], stage["max"], strict=True)]
    assert int(res.layers["cycles"].sum()) == pipeline_cycles(t, batch)
    assert (res.layers["macs"] == batch * per_sample["macs"]).all()
    # stages are contiguous and cover every layer once
    assert sorted(res.arrays["layer"]) == list(range(len(gemms)))
    with pytest.raises(SparsimInputError, match="partition"):
        simulate_system(gemms, cfg)  # no per-sample layers: a pipeline cannot be built


def test_auto_takes_the_cheaper_of_split_and_pipeline():
    layers = load_zoo_trace("resnet18")
    gemms = lower_to_gemms(layers.assign(batch=16))
    one = lower_to_gemms(layers.assign(batch=1))
    cfg = ArrayConfig(pe=PEArray(rows=16, cols=16), memory=Memory(bw_bytes_per_cycle=64), system=System(arrays=4))
    totals = {p: int(simulate_system(gemms, cfg.replace({"system.partition": p}), per_sample=one, samples=16)
                     .layers["cycles"].sum()) for p in ("split_m", "split_n", "pipeline")}  # fmt: skip
    auto = int(simulate_system(gemms, cfg, per_sample=one, samples=16).layers["cycles"].sum())
    assert auto <= min(totals.values())


def test_sat_step_on_four_arrays():
    layers = load_zoo_trace("resnet18")
    cfg = ArrayConfig(pe=PEArray(rows=32, cols=32), memory=Memory(bw_bytes_per_cycle=None))
    one = simulate_training_step(layers, cfg)
    four = simulate_training_step(layers, cfg.replace({"system.arrays": 4}))
    assert (four["macs"] == one["macs"]).all() and (four["dense_macs"] == one["dense_macs"]).all()
    assert list(four["pass"]) == list(one["pass"])
    speedup = one["cycles"].sum() / four["cycles"].sum()
    assert 2.0 < speedup <= 4.0
    with pytest.raises(SparsimInputError, match="partition"):
        simulate_training_step(layers, cfg.replace({"system.arrays": 4, "system.partition": "pipeline"}))


@pytest.mark.parametrize(
    "fields,field",
    [
        ({"system.arrays": 0}, "system.arrays"),
        ({"system.arrays": 10**6}, "system.arrays"),
        ({"system.arrays": 2.5}, "system.arrays"),
        ({"system.arrays": 2, "system.shapes": ["32x32"]}, "system.shapes"),
        ({"system.arrays": 1, "system.shapes": ["32by32"]}, "system.shapes"),
        ({"system.arrays": 1, "system.shapes": ["0x4"]}, "system.shapes"),
        ({"system.arrays": 1, "system.shapes": ["9999x4"]}, "system.shapes"),
        ({"system.partition": "diagonal"}, "system.partition"),
    ],
)
def test_bad_system_fields(fields, field):
    with pytest.raises(SparsimInputError) as err:
        ArrayConfig.from_dict({"pe.rows": 8, "pe.cols": 8, **fields})
    assert err.value.field == field


def test_cli_system_and_its_errors(tmp_path):
    arch = tmp_path / "sys.yaml"
    arch.write_text('pe: {rows: 16, cols: 16}\nsystem: {arrays: 2, shapes: ["16x16", "8x32"]}\n'
                    "memory.bw_bytes_per_cycle: 32\n")
    run = [sys.executable, "-m", "simulator.cli", "simulate", "--arch", str(arch), "--workload", "zoo:resnet18"]
    ok = subprocess.run([*run, "--out", str(tmp_path / "o")], capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    assert "system of 2 arrays (16x16, 8x32)" in ok.stdout and "DRAM 32 B/cycle" in ok.stdout
    import pandas as pd

    per_array = pd.read_csv(tmp_path / "o" / "arrays.csv")
    layers = pd.read_csv(tmp_path / "o" / "layers.csv")
    assert set(per_array["array"]) <= {0, 1} and (per_array["array_rows"].isin([16, 8])).all()
    # every layer's parts add up to its MACs, and its critical array's busy cycles are its cycles
    by_layer = per_array.groupby("layer")
    assert (by_layer["macs"].sum().to_numpy() == layers["macs"].to_numpy()).all()
    assert (by_layer["busy_cycles"].max().to_numpy() == layers["cycles"].to_numpy()).all()
    assert "array 1 (8x32)" in ok.stdout
    # the run's own layers.csv is a mapping file for every array's part: the same cycles again
    again = subprocess.run([*run, "--out", str(tmp_path / "p"), "--mapping", str(tmp_path / "o" / "layers.csv")],
                           capture_output=True, text=True)  # fmt: skip
    assert again.returncode == 0, again.stderr
    assert pd.read_csv(tmp_path / "p" / "layers.csv")["cycles"].tolist() == layers["cycles"].tolist()
    m = pd.read_csv(tmp_path / "o" / "layers.csv").assign(array=5)  # no array 5 in a system of 2
    m.to_csv(tmp_path / "m.csv", index=False)
    bad = subprocess.run([*run, "--out", str(tmp_path / "r"), "--mapping", str(tmp_path / "m.csv")],
                         capture_output=True, text=True)  # fmt: skip
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1 and "array = 5" in bad.stderr
    assert not (tmp_path / "r").exists()
    arch.write_text('pe.rows: 16\npe.cols: 16\nsystem.arrays: 3\nsystem.shapes: ["16x16"]\n')
    bad = subprocess.run([*run, "--out", str(tmp_path / "q")], capture_output=True, text=True)
    assert bad.returncode == 2 and "system.shapes" in bad.stderr and "Traceback" not in bad.stderr


def test_block_takes_a_mapping_file_on_a_system(tmp_path):
    """The block protocol (sweeps, reports) takes a mapping file on a system too (per array, see
    test_system_mapping_file.py); a mapper choice as before."""
    from simulator.nm_array.block import NMArrayBlock

    cfg = ArrayConfig(pe=PEArray(rows=8, cols=8), system=System(arrays=2))
    block = NMArrayBlock()
    block.check_config(cfg, {"mapping": "auto", "objective": "cycles"})
    block.check_config(cfg, {"mapping": "plain", "objective": "cycles", "mapping_file": str(tmp_path / "m.yaml")})


@pytest.mark.parametrize("dataflow", ["ws", "os", "is"])
def test_a_shared_dram_never_beats_its_peak(resnet18, dataflow):
    """Four arrays on one DDR4-3200 move each layer's bytes no faster than the DRAM's data-bus peak
    over the layer's whole time (cycles plus the exposed first fetch and last write-back)."""
    cfg = ArrayConfig(
        pe=PEArray(rows=32, cols=32, dataflow=dataflow, weight_double_buffer=True),
        memory=Memory(dram="ddr4-3200"),
        system=System(arrays=4),
    )
    peak = cfg.memory.dram_config().peak_gbps / cfg.clock_ghz  # bytes per array cycle
    lay = simulate_system(resnet18, cfg).layers
    t = lay["cycles"] + lay["prefetch_cycles"] + lay["drain_cycles"]
    assert (lay["dram_bytes"] <= peak * t).all()
    assert (lay["dram_bytes"] / t).max() > 0.5 * peak  # and the bound is not vacuous: some layer streams
