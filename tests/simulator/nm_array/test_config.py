from __future__ import annotations

import dataclasses

import pytest

from simulator.common.errors import SparsimInputError
from simulator.nm_array.config import ArrayConfig, Memory, PEArray, arch_from_yaml, load_arch


def test_yaml_roundtrip(tmp_path):
    import yaml

    cfg = ArrayConfig(
        pe=PEArray(rows=16, cols=8, supported_m=(1, 4), weight_double_buffer=True),
        memory=Memory(bw_bytes_per_cycle=32.0),
    )
    p = tmp_path / "a.yaml"
    p.write_text(yaml.safe_dump(cfg.to_dict()))
    assert arch_from_yaml(p) == cfg


def test_scalesim_cfg(scalesim_dir):
    cfg = load_arch(scalesim_dir / "configs/ws32x32_nm_layerwise.cfg")
    assert (cfg.rows, cfg.cols, cfg.buffers.ifmap_kb, cfg.memory.bw_bytes_per_cycle) == (32, 32, 64.0, None)
    assert 8 in cfg.pe.supported_m
    assert load_arch(scalesim_dir / "configs/scale_ws32x32.cfg").pe.supported_m == (1,)


def test_frozen_and_replace_revalidates():
    cfg = ArrayConfig(pe=PEArray(rows=4, cols=4))
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.pe.rows = 8  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.name = "other"  # type: ignore[misc]
    with pytest.raises(SparsimInputError, match="rows"):
        cfg.replace({"pe.rows": 0})


@pytest.mark.parametrize(
    "text,field",
    [
        ("pe.rows: 4\npe.cols: 4\nbogus: 1\n", "bogus"),
        ("pe.rows: 0\npe.cols: 4\n", "pe.rows"),
        ("pe.rows: 4\n", "pe.cols"),
        ("pe: {rows: 4, cols: 4, dataflow: rs}\n", "pe.dataflow"),
        ("pe.rows: 4\npe.cols: 4\npe.supported_m: [1, 0]\n", "pe.supported_m"),
        ("pe.rows: 4\npe.cols: 4\nmemory: {bw_bytes_per_cycle: -1}\n", "memory.bw_bytes_per_cycle"),
        ("pe.rows: 4.5\npe.cols: 4\n", "pe.rows"),
        ("rows: 4\ncols: 4\n", "rows"),
        ("pe.rows: 4\npe.cols: 4\nmemory: hbm2\n", "memory"),
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
