"""``sparsim simulate``: outputs, and one clear line + exit 2 (nothing written) on bad input."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd
import pytest

from simulator.cli import main

GOOD_TOPO = (
    "Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,\n"
    "Conv1,16,16,3,3,8,16,1,\n"
)
GOOD_ARCH = "pe.rows: 8\npe.cols: 8\npe.supported_m: [1, 4]\n"
HEADER = "Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,"


def _run(tmp_path, capsys, topo=GOOD_TOPO, arch=GOOD_ARCH, arch_name="a.yaml", extra=()):
    (tmp_path / "t.csv").write_text(topo)
    (tmp_path / arch_name).write_text(arch)
    out = tmp_path / "out"
    rc = main(
        [
            "simulate",
            "--arch",
            str(tmp_path / arch_name),
            "--workload",
            str(tmp_path / "t.csv"),
            "--out",
            str(out),
            *extra,
        ]
    )
    return rc, capsys.readouterr(), out


def test_simulate_writes_tables(tmp_path, capsys):
    rc, io, out = _run(tmp_path, capsys, extra=["--batch", "2"])
    assert rc == 0
    stats = pd.read_parquet(out / "layers.parquet")
    assert stats.loc[0, "gemm_m"] == 2 * 14 * 14
    assert pd.read_csv(out / "layers.csv").shape == stats.shape
    rep = pd.read_csv(out / "COMPUTE_REPORT.csv", skipinitialspace=True)
    assert rep.loc[0, "Total Cycles"] == stats.loc[0, "cycles"] - 1
    assert "total: 1 layers" in io.out
    assert not list(tmp_path.glob(".out.*"))


def test_dense_training_step_runs_without_an_nm(tmp_path, capsys):
    """``--training dense`` (no ``--nm``: a dense step has none) runs and says so; its passes do
    every dense MAC."""
    rc, io, out = _run(tmp_path, capsys, extra=["--training", "dense", "--clock-ghz", "0.5"])
    assert rc == 0, io.err
    passes = pd.read_csv(out / "passes.csv")
    assert {"FF", "WU"} <= set(passes["pass"]) and (passes.macs == passes.dense_macs).all()  # one layer: no BP
    assert "training step: " in io.out and ", dense, options" in io.out and "at 0.5 GHz" in io.out


def test_banked_buffers_show_their_stalls(tmp_path, capsys):
    """8 one-word banks under an 8x8 OS array with a K-contiguous ifmap: every column of X (8 words
    72 apart, all in one bank) takes 8 cycles; the summary names the geometry and the stalls."""
    rc, io, out = _run(tmp_path, capsys, arch=GOOD_ARCH + "pe.dataflow: os\nbuffers.banks: 8\n")
    assert rc == 0
    stats = pd.read_parquet(out / "layers.parquet")
    (tmp_path / "free").mkdir()
    free_rc, _, free_out = _run(tmp_path / "free", capsys, arch=GOOD_ARCH + "pe.dataflow: os\n")
    free = pd.read_parquet(free_out / "layers.parquet")
    assert free_rc == 0 and free.loc[0, "sram_stall_cycles"] == 0
    assert stats.loc[0, "sram_stall_cycles"] > 0
    assert stats.loc[0, "cycles"] == free.loc[0, "cycles"] + stats.loc[0, "sram_stall_cycles"]
    assert "operand buffers of 8 banks" in io.out and "bank stalls" in io.out and "on SRAM bank conflicts" in io.out


BAD = {
    "missing_column": (HEADER + "\nConv1,16,16,3,3,8,\n", GOOD_ARCH, "Num Filter"),
    "non_integer": (GOOD_TOPO.replace(",8,16,", ",8,1.5,"), GOOD_ARCH, "Num Filter"),
    "negative": (GOOD_TOPO.replace(",16,16,", ",-16,16,"), GOOD_ARCH, "IFMAP Height"),
    "n_greater_m": (HEADER + " Sparsity,\nConv1,16,16,3,3,8,16,1,5:4,\n", GOOD_ARCH, "must not exceed"),
    "m_unsupported": (HEADER + " Sparsity,\nConv1,16,16,3,3,8,16,1,2:8,\n", GOOD_ARCH, "M = 8 is not supported"),
    "kernel_too_big": (GOOD_TOPO.replace(",3,3,", ",17,3,"), GOOD_ARCH, "Filter Height"),
    "bad_header": ("foo,bar\n1,2\n", GOOD_ARCH, "header"),
    "empty_topology": (HEADER + "\n", GOOD_ARCH, "at least one layer"),
    "unknown_key": (GOOD_TOPO, GOOD_ARCH + "colour: red\n", "colour"),
    "zero_rows": (GOOD_TOPO, "pe.rows: 0\npe.cols: 8\n", "rows"),
    "bad_yaml": (GOOD_TOPO, "pe.rows: [8\n", "valid YAML"),
    "bad_sparsity_text": (HEADER + " Sparsity,\nConv1,16,16,3,3,8,16,1,half,\n", GOOD_ARCH, "N:M"),
    "bad_layout": (GOOD_TOPO, GOOD_ARCH + "buffers.banks: 8\nbuffers.ifmap_layout: rows\n", "ifmap_layout"),
    "negative_banks": (GOOD_TOPO, GOOD_ARCH + "buffers.banks: -4\n", "buffers.banks"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_input_one_line_exit_2_nothing_written(tmp_path, capsys, case):
    topo, arch, needle = BAD[case]
    rc, io, out = _run(tmp_path, capsys, topo=topo, arch=arch)
    assert rc == 2
    lines = io.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("sparsim: error: ")
    assert needle in lines[0]
    assert not out.exists()
    assert not list(tmp_path.glob(".out.*"))


def test_bad_input_leaves_previous_output_untouched(tmp_path, capsys):
    rc, _, out = _run(tmp_path, capsys)
    assert rc == 0
    before = (out / "layers.csv").read_text()
    rc, io, out = _run(tmp_path, capsys, topo=BAD["negative"][0])
    assert rc == 2 and (out / "layers.csv").read_text() == before


def test_bad_cfg_extension(tmp_path, capsys):
    rc, io, _ = _run(tmp_path, capsys, arch_name="a.json")
    assert rc == 2 and "extension" in io.err


def test_console_script_exit_code(tmp_path):
    (tmp_path / "t.csv").write_text(GOOD_TOPO.replace(",8,16,", ",8,x,"))
    (tmp_path / "a.yaml").write_text(GOOD_ARCH)
    p = subprocess.run(
        [
            sys.executable,
            "-m",
            "simulator.cli",
            "simulate",
            "--arch",
            str(tmp_path / "a.yaml"),
            "--workload",
            str(tmp_path / "t.csv"),
            "--out",
            str(tmp_path / "o"),
        ],
        capture_output=True,
        text=True,
    )
    assert p.returncode == 2 and p.stderr.count("\n") == 1 and "Num Filter" in p.stderr


def test_mapping_auto_writes_a_file_that_pins_the_same_run(tmp_path, capsys):
    """--mapping auto --write-mapping FILE, then --mapping FILE (YAML and CSV, and a run's own
    layers.csv): the same per-layer mappings and cycles."""
    from tests.conftest import REPO

    arch = str(REPO / "examples" / "arch" / "nm_ws32x32.yaml")
    base = ["simulate", "--arch", arch, "--workload", "zoo:resnet18"]
    assert main([*base, "--out", str(tmp_path / "a"), "--mapping", "auto", "--objective", "edp",
                 "--write-mapping", str(tmp_path / "m.yaml")]) == 0  # fmt: skip
    assert "mapper: edp" in capsys.readouterr().out
    auto = pd.read_csv(tmp_path / "a" / "layers.csv")
    assert {"objective", "objective_value", "mapping_candidates"} <= set(auto.columns)
    assert (auto["loop_order"] != "plain").any()
    for i, src in enumerate((tmp_path / "m.yaml", tmp_path / "a" / "layers.csv")):
        assert main([*base, "--out", str(tmp_path / f"b{i}"), "--mapping", str(src)]) == 0
        pinned = pd.read_csv(tmp_path / f"b{i}" / "layers.csv")
        cols = ["dataflow", "tile_p", "tile_k", "tile_n", "loop_order", "cycles", "dram_bytes"]
        pd.testing.assert_frame_equal(pinned[cols], auto[cols])
    plain = tmp_path / "p"
    assert main([*base, "--out", str(plain), "--write-mapping", str(tmp_path / "p.csv")]) == 0
    assert (pd.read_csv(tmp_path / "p.csv")["loop_order"] == "plain").all()
    assert pd.read_csv(plain / "layers.csv")["cycles"].sum() > auto["cycles"].sum()


def test_training_mapping_round_trip(tmp_path, capsys):
    from tests.conftest import REPO

    arch = str(REPO / "examples" / "arch" / "nm_ws32x32.yaml")
    base = ["simulate", "--arch", arch, "--workload", "zoo:resnet18", "--training", "bdwp"]
    assert main([*base, "--out", str(tmp_path / "a"), "--mapping", "auto", "--write-mapping",
                 str(tmp_path / "m.csv")]) == 0  # fmt: skip
    assert main([*base, "--out", str(tmp_path / "b"), "--mapping", str(tmp_path / "m.csv")]) == 0
    a, b = (pd.read_csv(tmp_path / x / "passes.csv") for x in "ab")
    assert set(pd.read_csv(tmp_path / "m.csv")["pass"]) == {"FF", "BP", "WU"}
    assert (a["cycles"] == b["cycles"]).all()
