"""The SAT training-step model: bounds, the effect of each dataflow option, energy, the CLI."""

from __future__ import annotations

import pandas as pd
import pytest

from dataflow.nm_array.training import interleave
from simulator.cli import main
from simulator.common.errors import SparsimInputError
from simulator.nm_array.config import ArrayConfig, Buffers, PEArray
from simulator.sat.cl import simulate_training_step, training_summary
from simulator.sat.config import PruningUnit, SATOptions, parse_sat_options
from workloads.training import training_passes
from workloads.zoo import load_zoo_trace

CFG = ArrayConfig(pe=PEArray(rows=32, cols=32), buffers=Buffers(ifmap_kb=512, filter_kb=512, ofmap_kb=1024))
NONE = SATOptions(interleave=False, pregen=False, offline=False)


@pytest.fixture(scope="module")
def r18():
    return load_zoo_trace("resnet18", batch=8)


@pytest.mark.parametrize("nm", [(2, 4), (2, 8), (1, 8)])
def test_compute_bound_speedup_never_beats_the_ideal_bound(r18, nm):
    dense = simulate_training_step(r18, CFG, scheme="dense", nm=(1, 1), options=NONE).cycles.sum()
    sparse = simulate_training_step(r18, CFG, scheme="bdwp", nm=nm, options=NONE).cycles.sum()
    bound = 3 / (2 * nm[0] / nm[1] + 1)
    assert 1.2 < dense / sparse <= bound


def test_bdwp_beats_forward_only_beats_dense(r18):
    c = {
        s: simulate_training_step(r18, CFG, scheme=s, nm=(2, 8)).cycles.sum()
        for s in ("dense", "forward-only", "bdwp")
    }
    assert c["bdwp"] < c["forward-only"] < c["dense"]


def test_interleave_packs_depthwise_copies():
    mb = load_zoo_trace("mobilenet_v1")
    p = training_passes(mb, "dense", (1, 1))
    packed = interleave(p, CFG)
    row = (p.name == "features.1.0") & (p["pass"] == "FF")
    assert p.loc[row, "count"].item() == 32 and p.loc[row, "gemm_k"].item() == 9
    assert packed.loc[row, "count"].item() == 11 and packed.loc[row, "gemm_k"].item() == 27  # 3 per fold
    on = simulate_training_step(mb, CFG, scheme="dense", nm=(1, 1), options=SATOptions(interleave=True))
    off = simulate_training_step(mb, CFG, scheme="dense", nm=(1, 1), options=SATOptions(interleave=False))
    assert on.cycles.sum() < off.cycles.sum()
    assert on.macs.sum() == off.macs.sum()  # same useful work


def test_pregen_hides_pruning(r18):
    slow = PruningUnit(lanes=1)
    on = simulate_training_step(r18, CFG, scheme="bdwp", nm=(2, 8), pruning=slow, options=SATOptions(pregen=True))
    off = simulate_training_step(r18, CFG, scheme="bdwp", nm=(2, 8), pruning=slow, options=SATOptions(pregen=False))
    assert on.exposed_prune_cycles.sum() < off.exposed_prune_cycles.sum()
    assert off.exposed_prune_cycles.sum() == off.prune_cycles.sum() > 0


def test_offline_scheduling_hides_io_and_reuses_dy(r18):
    cfg = CFG.replace({"memory.bw_bytes_per_cycle": 16.0})
    on = simulate_training_step(r18, cfg, scheme="bdwp", nm=(2, 8), options=SATOptions(offline=True))
    off = simulate_training_step(r18, cfg, scheme="bdwp", nm=(2, 8), options=SATOptions(offline=False))
    assert on.exposed_io_cycles.sum() < off.exposed_io_cycles.sum()
    wu_on = on[on["pass"] == "WU"].dram_filter_bytes.sum()
    wu_off = off[off["pass"] == "WU"].dram_filter_bytes.sum()
    assert wu_on < wu_off
    # FF of every layer first, then BP/WU from the last layer back
    order = on["pass"].tolist()
    assert order[: order.count("FF")] == ["FF"] * order.count("FF")


def test_energy_and_summary(r18):
    res = simulate_training_step(r18, CFG, scheme="bdwp", nm=(2, 4))
    s = training_summary(res, clock_ghz=0.2)
    assert s["energy_pj"] > 0 and s["gops_per_watt"] > 0 and s["dense_equivalent_gops"] > 0
    assert s["cycles"] == s["cycles_ff"] + s["cycles_bp"] + s["cycles_wu"] == res.cycles.sum()
    parts = res[["energy_mac_pj", "energy_sram_pj", "energy_dram_pj", "energy_prune_pj"]].sum(axis=1)
    assert parts.sum() == pytest.approx(res.energy_pj.sum())


def test_parse_options():
    assert parse_sat_options("pregen") == SATOptions(interleave=False, pregen=True, offline=False)
    assert parse_sat_options("none") == NONE and parse_sat_options("all") == SATOptions()
    with pytest.raises(SparsimInputError, match="allowed"):
        parse_sat_options("warp")


def test_cli_training(tmp_path, capsys):
    arch = tmp_path / "a.yaml"
    arch.write_text("pe.rows: 16\npe.cols: 16\npe.supported_m: [1, 4]\n")
    out = tmp_path / "o"
    rc = main(
        [
            "simulate",
            "--arch",
            str(arch),
            "--workload",
            "zoo:resnet18",
            "--training",
            "bdwp",
            "--nm",
            "2:4",
            "--out",
            str(out),
        ]
    )
    assert rc == 0
    t = pd.read_parquet(out / "passes.parquet")
    assert set(t["pass"]) == {"FF", "BP", "WU"} and (t[t["pass"] == "FF"].nm == "2:4").all()
    assert "GOPS/W" in capsys.readouterr().out
    rc = main(
        [
            "simulate",
            "--arch",
            str(arch),
            "--workload",
            "zoo:resnet18",
            "--training",
            "bdwp",
            "--nm",
            "2:8",
            "--out",
            str(tmp_path / "p"),
        ]
    )
    err = capsys.readouterr().err
    assert rc == 2 and "--nm: nm = '2:8': M must be one of the array's pe.supported_m [1, 4]" in err
