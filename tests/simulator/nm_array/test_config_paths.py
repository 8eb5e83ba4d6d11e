"""Files a config or a sweep spec names (a DRAM YAML as ``memory.dram``) are relative to the file
that names them, their errors name both files, and a sweep's key hashes their content."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from simulator.common.errors import SparsimInputError
from simulator.nm_array.config import load_arch
from simulator.sweeps.spec import expand, load_spec
from tests.conftest import REPO

DDR4 = (REPO / "simulator" / "dram" / "presets" / "ddr4-3200.yaml").read_text()


def _project(tmp_path: Path, dram_text: str = DDR4) -> Path:
    (tmp_path / "hw" / "mem").mkdir(parents=True)
    (tmp_path / "hw" / "mem" / "mine.yaml").write_text(dram_text)
    arch = tmp_path / "hw" / "arch.yaml"
    arch.write_text("pe: {rows: 16, cols: 16}\nmemory: {dram: mem/mine.yaml}\n")
    return arch


def test_a_dram_file_is_relative_to_the_arch_file(tmp_path, monkeypatch):
    arch = _project(tmp_path)
    monkeypatch.chdir(tmp_path)  # not the arch file's directory
    cfg = load_arch(arch)
    assert Path(cfg.memory.dram) == tmp_path / "hw" / "mem" / "mine.yaml"
    assert cfg.memory.dram_config().rcd == 22
    (tmp_path / "hw" / "arch2.yaml").write_text("pe.rows: 16\npe.cols: 16\nmemory.dram: mem/mine.yaml\n")
    assert load_arch(tmp_path / "hw" / "arch2.yaml").memory == cfg.memory  # dotted: the same
    assert load_arch("nm_system4_ddr4").memory.dram == "ddr4-3200"  # a preset name is not a path


def test_an_error_in_the_dram_file_names_both_files(tmp_path):
    arch = _project(tmp_path, DDR4.replace("rcd: 22 ", "rcd: 0  "))
    with pytest.raises(SparsimInputError) as err:
        load_arch(arch)
    msg = str(err.value)
    assert msg.startswith(str(arch)) and "memory.dram" in msg and "mine.yaml: rcd = 0" in msg
    missing = tmp_path / "a.yaml"
    missing.write_text("pe: {rows: 8, cols: 8}\nmemory: {dram: nowhere.yaml}\n")
    res = subprocess.run([sys.executable, "-m", "simulator.cli", "simulate", "--arch", str(missing), "--workload",
                          "zoo:resnet18", "--out", str(tmp_path / "o")], capture_output=True, text=True)  # fmt: skip
    assert res.returncode == 2 and len(res.stderr.strip().splitlines()) == 1
    assert str(missing) in res.stderr and "nowhere.yaml" in res.stderr and "Traceback" not in res.stderr


def test_a_sweeps_dram_file_is_relative_to_the_spec_and_its_content_is_in_the_key(tmp_path, monkeypatch):
    _project(tmp_path)
    spec = tmp_path / "hw" / "s.yaml"
    spec.write_text("block: nm_array\nbase: {pe.rows: 16, pe.cols: 16}\naxes:\n  memory.dram: [mem/mine.yaml, hbm2]\n"
                    "workloads: [{zoo: resnet18}]\n")  # fmt: skip
    monkeypatch.chdir(tmp_path)
    tasks = expand(load_spec(spec))
    assert {Path(t.config["memory.dram"]).name for t in tasks} == {"mine.yaml", "hbm2"}
    before = {t.config["memory.dram"]: t.key for t in tasks}
    mine = tmp_path / "hw" / "mem" / "mine.yaml"
    mine.write_text(DDR4.replace("rcd: 22 ", "rcd: 23 "))  # the file edited, its name unchanged
    after = {t.config["memory.dram"]: t.key for t in expand(load_spec(spec))}
    assert after["hbm2"] == before["hbm2"] and after[str(mine)] != before[str(mine)]
