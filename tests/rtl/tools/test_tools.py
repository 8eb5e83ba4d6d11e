"""Verilog export, the ``sparsim rtl`` commands, area synthesis and the interface's bit packing."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rtl.nm_array.iface import NMArrayPorts, pack_lanes, unpack_lanes
from rtl.tools.area import gate_equivalents, synthesize_nm_array
from simulator.cli import main
from simulator.nm_array.config import ArrayConfig, PEArray


@given(bits=st.integers(1, 40), data=st.data())
def test_pack_unpack_roundtrip(bits, data):
    lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    vals = data.draw(st.lists(st.integers(lo, hi), min_size=1, max_size=12))
    word = pack_lanes(vals, bits)
    assert 0 <= word < 1 << (bits * len(vals))
    assert unpack_lanes(word, len(vals), bits, signed_=True) == vals


def test_port_widths_follow_the_signature():
    ports = NMArrayPorts(ArrayConfig(pe=PEArray(rows=3, cols=5)), 8)
    sig = ports.signature()
    from amaranth.hdl import Shape

    for name, (lanes, bits) in ports.widths().items():
        assert Shape.cast(sig.members[name].shape).width == lanes * bits, name


@pytest.mark.rtl
def test_generate_writes_verilog_with_interface_ports(tmp_path, capsys):
    assert (
        main(
            [
                "rtl",
                "generate",
                "nm_array",
                "--rows",
                "3",
                "--cols",
                "5",
                "--n",
                "2",
                "--m",
                "8",
                "--out",
                str(tmp_path),
            ]
        )
        == 0
    )
    text = (tmp_path / "nm_array.v").read_text()
    top = text[text.index("module nm_array(") :]
    for name, (lanes, bits) in NMArrayPorts(ArrayConfig(pe=PEArray(rows=3, cols=5)), 8).widths().items():
        width = lanes * bits
        decl = rf"(input|output)\s+{'' if width == 1 else re.escape(f'[{width - 1}:0]')}\s*{name};"
        assert re.search(decl, top), name


@pytest.mark.rtl
def test_rtl_test_command_prints_the_scoreboard(tmp_path, capsys):
    rc = main(
        [
            "rtl",
            "test",
            "nm_array",
            "--rows",
            "3",
            "--cols",
            "4",
            "--n",
            "1",
            "--m",
            "4",
            "--t",
            "5",
            "--k",
            "19",
            "--ncol",
            "6",
            "--build-dir",
            str(tmp_path),
        ]
    )
    out = capsys.readouterr().out
    assert rc == 0
    m = re.search(r"outputs checked: (\d+), value mismatches: 0, cycle mismatches: 0", out)
    assert m and int(m.group(1)) == 5 * 2 * 2 * 4  # T x row folds x col folds x cols


@pytest.mark.rtl
@pytest.mark.parametrize("bits", [4, 12])
def test_rtl_test_command_drives_operands_of_the_datapath_width(bits, tmp_path, capsys):
    """The stimulus follows --operand-bits (it used to be 8-bit always, which a 4-bit datapath
    cannot take): the narrow and the wide datapath both check clean."""
    argv = ["rtl", "test", "nm_array", "--rows", "2", "--cols", "3", "--n", "2", "--m", "4", "--t", "4", "--k", "10",
            "--ncol", "4", "--operand-bits", str(bits), "--acc-bits", "24", "--build-dir", str(tmp_path)]  # fmt: skip
    assert main(argv) == 0
    assert re.search(r"outputs checked: \d+, value mismatches: 0, cycle mismatches: 0", capsys.readouterr().out)


@pytest.mark.rtl
def test_area_grows_with_activation_lanes():
    dense = synthesize_nm_array(ArrayConfig(pe=PEArray(rows=2, cols=2)), 1)
    nm8 = synthesize_nm_array(ArrayConfig(pe=PEArray(rows=2, cols=2, supported_m=(1, 8))), 8)
    assert dense["ge"].sum() > 0
    assert nm8["ge"].sum() > dense["ge"].sum()
    ff = lambda t: int(t[t.cell.str.contains("DFF")]["count"].sum())  # noqa: E731
    # 8 lanes of 8-bit activations are registered in every PE that forwards them
    assert ff(nm8) - ff(dense) >= 2 * 7 * 8


def test_unknown_cell_is_an_error():
    with pytest.raises(ValueError, match="no gate-equivalent weight"):
        gate_equivalents({"$_AOI3_": 3})
    t = gate_equivalents({"$_SDFFE_PP0P_": 2, "$_NAND_": 3})
    assert t.set_index("cell").loc["$_SDFFE_PP0P_", "ge"] == pytest.approx(2 * (5.67 + 1.33 + 2.33))
