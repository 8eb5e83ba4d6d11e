"""``sparsim reproduce dataflows --quick``: the report is written, its numbers are the run's, and
the mapper is never slower than the best plain dataflow of the same case."""

from __future__ import annotations

import pandas as pd

from reports.dataflows_report import PAPER, run_study
from simulator.cli import main


def test_quick_report(tmp_path, capsys):
    out = tmp_path / "df"
    assert main(["reproduce", "dataflows", "--quick", "--out", str(out)]) == 0
    text = (out / "README.md").read_text()
    tot = pd.read_csv(out / "totals.csv")
    assert {"README.md", "totals.csv", "layers.csv", "cycles_vs_ws.png"} <= {p.name for p in out.iterdir()}
    assert f"{PAPER['with_stalls_os_ahead_of_ws'] * 100:.1f}%" in text
    ws = tot[(tot.network == "resnet18") & (tot.timing == "scalesim") & (tot.memory == "compute-only")
             & (tot.mapping == "ws")].cycles.item()  # fmt: skip
    assert f"WS {ws:,} cycles" in text
    keys = ["network", "array", "timing", "memory"]
    best_plain = tot[tot.mapping.isin(["ws", "os", "is"])].groupby(keys).cycles.min()
    mapper = tot[tot.mapping == "mapper ws|os|is"].set_index(keys).cycles
    assert (mapper <= best_plain.reindex(mapper.index)).all()
    ws_only = tot[tot.mapping == "mapper ws"].set_index(keys).cycles
    plain_ws = tot[tot.mapping == "ws"].set_index(keys).cycles
    assert (ws_only <= plain_ws.reindex(ws_only.index)).all()


def test_plain_os_in_the_study_is_the_fold_model():

    from dataflow.nm_array.mapping import Mapping
    from reports.dataflows_report import ARRAYS
    from simulator.nm_array.fold import simulate_gemms
    from workloads.lowering import lower_to_gemms
    from workloads.zoo import load_zoo_trace

    tot, _ = run_study(quick=True)
    g = lower_to_gemms(load_zoo_trace("resnet18"))
    cfg = ARRAYS["32x32"].replace({"pe.weight_double_buffer": False})
    r = tot[(tot.network == "resnet18") & (tot.timing == "scalesim") & (tot.memory == "compute-only")
            & (tot.mapping == "os")].cycles.item()  # fmt: skip
    assert r == simulate_gemms(g, cfg, mappings=[Mapping("os")] * len(g)).cycles.sum()
