"""``sparsim reproduce memory --quick``: the report is written from the run's own numbers."""

from __future__ import annotations

import pandas as pd

from simulator.cli import main


def test_quick_report(tmp_path):
    out = tmp_path / "mem"
    assert main(["reproduce", "memory", "--quick", "--out", str(out)]) == 0
    tot = pd.read_csv(out / "totals.csv")
    r = tot.set_index(["memory", "dataflow"]).cycles
    assert set(tot.network) == {"resnet18"}
    # a memory system never makes the array faster than compute alone; HBM2 stalls least of the DRAMs
    for mem in ("simple 16 B/cycle", "ddr4-3200", "lpddr4x-4266", "hbm2"):
        for df in ("ws", "os", "is"):
            assert r[(mem, df)] >= r[("compute-only", df)]
    assert r[("hbm2", "ws")] < r[("ddr4-3200", "ws")]
    text = (out / "README.md").read_text()
    assert "Quick mode" in text and f"{int(r[('ddr4-3200', 'os')]):,}" in text

    # scale-out: one array here is the single-array study's run; no memory limit comes near the ideal
    scale = pd.read_csv(out / "scaleout.csv")
    s = scale.set_index(["memory", "dataflow", "arrays"])
    for df in ("ws", "os"):
        assert s.cycles[("ddr4-3200", df, 1)] == r[("ddr4-3200", df)]
        assert 3.5 <= s.speedup[("compute-only", df, 4)] <= 4.0
        # sharing one DDR4 never helps more than no memory limit does
        assert s.speedup[("ddr4-3200", df, 4)] <= s.speedup[("compute-only", df, 4)] + 1e-9
    four = pd.read_csv(out / "four_arrays_layers.csv")
    assert (four.network == "resnet18").all() and len(four) == 2 * 21
    # every layer's speed-up is its private-memory speed-up over its contention, exactly
    assert ((four.speedup - four.private_speedup / four.contention).abs() < 1e-9).all()
    assert (four.peak_share_4 <= 1.0).all() and (four.partition_speedup <= 4.0 + 1e-9).all()
    assert f"{int(four[four.dataflow == 'os'].cycles_4.sum()):,}" in text
    assert (out / "scaleout.png").stat().st_size > 1000

    # banked SRAM: conflict-free buffers are the floor; 32 one-word banks with each operand stored
    # along the dimension its dataflow reads are conflict-free; NHWC buffers slow OS down
    banks = pd.read_csv(out / "banks.csv")
    assert (banks.cycles >= banks.compute_cycles).all() and (banks.vs_conflict_free >= 1.0).all()
    b = banks.set_index(["memory", "dataflow", "layout", "banks"])
    for df in ("ws", "os", "is"):
        assert b.sram_stall_cycles[("compute-only", df, "per dataflow", 32)] == 0
    assert b.vs_conflict_free[("compute-only", "os", "nhwc", 32)] > 10
    assert "## Banked operand SRAM" in text

    # address maps: ours is the reference row; Ramulator's two are there, ChRaBaRoCo (channel on
    # top) is slower on every dataflow; LPDDR4X's idle latencies are its datasheet's sums exactly
    maps = pd.read_csv(out / "address_maps.csv")
    assert set(maps.address_map) == {"ro-ra-ba-co-bg-ch", "RoBaRaCoCh", "ChRaBaRoCo"}
    assert (maps[maps.address_map == "ro-ra-ba-co-bg-ch"].vs_ours == 1.0).all()
    assert (maps[maps.address_map == "ChRaBaRoCo"].vs_ours > 1.0).all()
    lp = pd.read_csv(out / "lpddr4x.csv")
    lat = lp[~lp.measure.str.contains("GB/s")]
    assert len(lat) == 3 and ((lat.model_ns - lat.datasheet_ns).abs() < 1e-9).all()
    stream = lp[lp.measure.str.contains("GB/s")].iloc[0]
    assert 0.9 * stream.datasheet_ns <= stream.model_ns <= stream.datasheet_ns
    assert "## The DRAM address map" in text and "Ramulator 2.1 has no LPDDR4 model" in text
