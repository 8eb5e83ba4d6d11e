from __future__ import annotations

import dataclasses

import pytest

from simulator.common.errors import SparsimInputError
from simulator.nm_array.config import ArrayConfig, arch_from_yaml, load_arch


def test_yaml_roundtrip(tmp_path):
    import yaml

    cfg = ArrayConfig(rows=16, cols=8, supported_m=(1, 4), dram_bw_bytes_per_cycle=32.0, weight_double_buffer=True)
    p = tmp_path / "a.yaml"
    p.write_text(yaml.safe_dump(cfg.to_dict()))
    assert arch_from_yaml(p) == cfg


def test_scalesim_cfg(scalesim_dir):
    cfg = load_arch(scalesim_dir / "configs/ws32x32_nm_layerwise.cfg")
    assert (cfg.rows, cfg.cols, cfg.ifmap_sram_kb, cfg.dram_bw_bytes_per_cycle) == (32, 32, 64.0, None)
    assert 8 in cfg.supported_m
    assert load_arch(scalesim_dir / "configs/scale_ws32x32.cfg").supported_m == (1,)


def test_frozen_and_replace_revalidates():
    cfg = ArrayConfig(rows=4, cols=4)
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.rows = 8  # type: ignore[misc]
    with pytest.raises(SparsimInputError, match="rows"):
        dataclasses.replace(cfg, rows=0)


@pytest.mark.parametrize(
    "text,field",
    [
        ("rows: 4\ncols: 4\nbogus: 1\n", "bogus"),
        ("rows: 0\ncols: 4\n", "rows"),
        ("rows: 4\n", "cols"),
        ("rows: 4\ncols: 4\ndataflow: rs\n", "dataflow"),
        ("rows: 4\ncols: 4\nsupported_m: [1, 0]\n", "supported_m"),
        ("rows: 4\ncols: 4\ndram_bw_bytes_per_cycle: -1\n", "dram_bw_bytes_per_cycle"),
        ("rows: 4.5\ncols: 4\n", "rows"),
        ("- 1\n- 2\n", "<document>"),
    ],
)
def test_bad_yaml(tmp_path, text, field):
    p = tmp_path / "bad.yaml"
    p.write_text(text)
    with pytest.raises(SparsimInputError) as err:
        arch_from_yaml(p)
    assert err.value.field == field


def test_bad_cfg_unknown_key(tmp_path):
    p = tmp_path / "bad.cfg"
    p.write_text(
        "[architecture_presets]\nArrayHeight: 8\nArrayWidth: 8\nIfmapSramSzkB: 1\n"
        "FilterSramSzkB: 1\nOfmapSramSzkB: 1\nArrayDepth: 3\n"
    )
    with pytest.raises(SparsimInputError, match="arraydepth"):
        load_arch(p)
