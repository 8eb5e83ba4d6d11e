"""``sparsim reproduce sparsebytenn --quick``: every table and figure is computed and consistent."""

from __future__ import annotations

import pandas as pd
import pytest

from reports.sparsebytenn_report import break_even

pytest.importorskip("torch")


def test_break_even_interpolates():
    assert break_even([0.3, 0.5, 0.7], [0.5, 0.9, 1.3]) == pytest.approx(0.55)
    assert break_even([0.3, 0.5], [1.2, 1.5]) == 0.3
    assert break_even([0.3, 0.5], [0.2, 0.5]) is None


def test_quick_reproduction(tmp_path):
    from simulator.cli import main

    out = tmp_path / "sb"
    assert main(["reproduce", "sparsebytenn", "--quick", "--out", str(out)]) == 0
    net = pd.read_csv(out / "network.csv")
    assert set(net.engine) == {"dense", "unstructured", "block4", "group"}
    grp = net[net.engine == "group"].set_index("sparsity")
    assert grp.loc[0.7, "core_ms"] < grp.loc[0.3, "core_ms"] < grp.loc[0.0, "core_ms"]
    layers = pd.read_csv(out / "layers.csv")
    assert len(layers) == 28 * len(net)
    text = (out / "README.md").read_text()
    assert "1.27x" in text and "1.29x" in text and "2/3" in text
    cores = pd.read_csv(out / "cores.csv").set_index("preset")
    assert list(cores.index) == ["a76", "a75", "a73", "a55"]
    # the A76 row is the main sweep's core: the same dense time, the same group speed-up at 30%
    dense = float(net.loc[net.engine == "dense", "core_ms"].iloc[0])
    assert cores.loc["a76", "dense_ms"] == pytest.approx(dense, rel=1e-12)
    assert cores.loc["a76", "group_30"] == pytest.approx(dense / grp.loc[0.3, "core_ms"], rel=1e-12)
    # the same MACs cost more on the narrower cores, and 90% pruning beats 70% on every one
    assert (cores.dense_ms.drop("a76") > cores.loc["a76", "dense_ms"]).all()
    assert (cores.unstructured_90 > cores.unstructured_70).all() and (cores.group_70 > cores.group_30).all()
    assert "On the other core presets" in text and "Elsen et al." in text
    for png in ("core_speedup.png", "host_speedup.png"):
        assert (out / png).stat().st_size > 5000
