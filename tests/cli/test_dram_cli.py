"""``sparsim dram trace`` then ``sparsim dram replay``: the array's request stream round-trips
through the Ramulator2 trace format and replays with no timing violation."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from simulator.cli import main
from workloads.dram_trace import format_loadstore, read_loadstore


def test_loadstore_format_round_trip(tmp_path):
    addr = np.array([0, 64, 0x1234_5640, 4096])
    wr = np.array([False, True, False, True])
    f = tmp_path / "t.trace"
    f.write_bytes(format_loadstore(addr, wr))
    assert f.read_text().splitlines()[1] == "ST 0x40"
    a, w = read_loadstore(f)
    assert np.array_equal(a, addr) and np.array_equal(w, wr)
    f.write_text("LD 128\n\nST 0x80\n")  # decimal, hex, blank lines (Ramulator accepts both forms)
    a, w = read_loadstore(f)
    assert a.tolist() == [128, 128] and w.tolist() == [False, True]


def test_trace_then_replay(tmp_path, capsys):
    arch = tmp_path / "a.yaml"
    arch.write_text(
        "pe.rows: 16\npe.cols: 16\nmemory.dram: lpddr4x-4266\nbuffers.ifmap_kb: 32\nbuffers.filter_kb: 32\n"
    )
    topo = tmp_path / "t.csv"
    topo.write_text("Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, "
                    "Strides,\nconv1, 16, 16, 3, 3, 8, 16, 1,\nfc, 1, 1, 1, 1, 256, 10, 1,\n")  # fmt: skip
    assert main(["dram", "trace", "--arch", str(arch), "--workload", str(topo), "--out", str(tmp_path / "tr")]) == 0
    layers = pd.read_csv(tmp_path / "tr" / "layers.csv")
    assert len(layers) == 2 and (layers.requests > 0).all()
    first = tmp_path / "tr" / layers.file[0]
    a, w = read_loadstore(first)
    assert a.size == layers.requests[0] and int(w.sum()) == layers.writes[0]
    assert main(["dram", "replay", "--trace", str(first), "--dram", "lpddr4x-4266", "--out", str(tmp_path / "rp")]) == 0
    s = json.loads((tmp_path / "rp" / "summary.json").read_text())
    assert s["timing_violations"] == 0 and s["requests"] == a.size
    assert 0 < s["bandwidth_gbps"] <= s["peak_gbps"]
    cmds = pd.read_csv(tmp_path / "rp" / "commands.csv")
    assert (cmds.command == "RD").sum() + (cmds.command == "WR").sum() == a.size
