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
