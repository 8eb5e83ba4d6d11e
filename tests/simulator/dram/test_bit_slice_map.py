"""Bit-slice address maps (issue 31): a map given field by field as burst-index bits, so fields
need not be contiguous. Read from YAML, checked with one line per mistake, decoded and encoded
exactly, legal under the controller, and the fold form's numpy path under it equals the numba
kernels wherever the two can be compared (our contiguous map written as slices)."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from simulator.common.errors import SparsimInputError
from simulator.dram.checker import check
from simulator.dram.cl import DramState
from simulator.dram.config import load_dram
from simulator.dram.fl import decode, encode
from simulator.dram.twin import run_twin

from .test_controller import SMALL, _trace


def _as_slices(cfg):
    """A contiguous map written as a bit-slice map."""
    bits, pos, out = cfg.field_bits(), 0, {}
    for f in reversed(cfg.address_map.split("-")):
        out[f] = list(range(pos, pos + bits[f]))
        pos += bits[f]
    return out


#: DDR4-3200 with its bank-group bits split: one next to the channel-free burst index, one above
#: the column (a stream alternates two bank groups, then walks the row, then the other two)
SPLIT = {"bg": [0, 8], "co": [1, 2, 3, 4, 5, 6, 7], "ba": [9, 10], "ro": list(range(11, 27))}


def test_a_bit_slice_map_from_yaml_decodes_and_encodes(tmp_path):
    spec = tmp_path / "split.yaml"
    spec.write_text("name: split\naddress_map:\n  bg: [0, 8]\n  co: [1, 2, 3, 4, 5, 6, 7]\n  ba: [9, 10]\n"
                    f"  ro: {list(range(11, 27))}\n")  # fmt: skip
    cfg = load_dram(str(spec))
    assert cfg.bit_slices["bg"] == (0, 8) and cfg.bit_slices["ch"] == ()
    x = np.random.default_rng(1).integers(0, cfg.capacity_bytes // 64, 5000) * 64
    f = decode(cfg, x)
    assert np.array_equal(encode(cfg, **f), x)
    burst = x // 64
    assert np.array_equal(f["bg"], (burst & 1) | (((burst >> 8) & 1) << 1))
    assert np.array_equal(f["co"], (burst >> 1) & 127)
    # the canonical text is a value too (sweeps pass it as a string)
    assert load_dram("ddr4-3200", address_map=cfg.address_map) == dataclasses.replace(cfg, name="ddr4-3200")


@pytest.mark.parametrize("seed", range(6))
def test_the_controller_under_a_bit_slice_map_equals_its_twin_and_is_legal(seed):
    rng = np.random.default_rng(seed)
    bits = SMALL.field_bits()
    order = rng.permutation(sum(bits.values()))
    slices, pos = {}, 0
    for f, n in bits.items():
        slices[f] = [int(b) for b in order[pos:pos + n]]
        pos += n
    cfg = dataclasses.replace(SMALL, address_map=slices, pseudo_channels=2, dual_command_bus=bool(seed % 2))
    arrive, addr, wr = _trace(rng, cfg, 120, 4, 3)
    done, log = DramState(cfg).run(arrive, addr, wr, log=True)
    done_py, log_py = run_twin(cfg, arrive, addr, wr)
    assert np.array_equal(done, done_py)
    assert check(cfg, log) == []


def test_our_map_written_as_slices_gives_the_same_numbers_everywhere():
    """The same placement by two spellings: per-request cycles equal, and the fold form's numpy
    path (taken under a bit-slice map) equals its numba kernels, floors and ends included."""
    from simulator.nm_array.dram_memory import batch_floors, end_batches, simulate_dram

    from ..nm_array.test_dram_memory import _traffic

    d0 = load_dram("ddr4-3200")
    d1 = load_dram("ddr4-3200", address_map=_as_slices(d0))
    assert d1.bit_slices is not None
    for name, _, tr, _ in _traffic("resnet18", "os")[::4]:
        for mode in ("fold", "request"):
            assert simulate_dram(tr, 1.0, d0, mode) == simulate_dram(tr, 1.0, d1, mode), (name, mode)
        assert np.array_equal(batch_floors(tr, d0, ends=True)[1], batch_floors(tr, d1, ends=True)[1]), name
        assert end_batches(tr, 1.0, d0) == end_batches(tr, 1.0, d1), name


def test_a_split_map_changes_the_layer_and_the_array_config_takes_it():
    from simulator.api import load_arch, simulate

    arch = load_arch(str(Path(__file__).parents[3] / "examples" / "arch" / "nm_ws32x32_ddr4.yaml"))
    split_arch = arch.replace({"memory.address_map": SPLIT})
    assert isinstance(split_arch.memory.address_map, str) and hash(split_arch)
    ours = simulate("zoo:resnet18", arch).table
    split = simulate("zoo:resnet18", split_arch).table
    assert (ours.compute_cycles == split.compute_cycles).all()
    assert (ours.stall_cycles != split.stall_cycles).any()


@pytest.mark.parametrize(
    "slices,field",
    [({**SPLIT, "bg": [0]}, "address_map.bg"), ({**SPLIT, "bg": [0, 0]}, "address_map"),
     ({**SPLIT, "bg": [0, 27]}, "address_map"), ({**SPLIT, "xx": [1]}, "address_map"),
     ({**SPLIT, "bg": ["a", 8]}, "address_map.bg"), ({**SPLIT, "bg": [True, 8]}, "address_map.bg"),
     ("bg=0,x|co=1", "address_map")],
)  # fmt: skip
def test_a_bad_bit_slice_map_is_one_line_naming_the_field(slices, field):
    with pytest.raises(SparsimInputError) as err:
        load_dram("ddr4-3200", address_map=slices)
    assert err.value.field == field


def test_a_bad_bit_slice_map_in_a_file_exits_2_with_one_line(tmp_path):
    spec = tmp_path / "bad.yaml"
    spec.write_text("address_map:\n  bg: [0, 0]\n  co: [1, 2, 3, 4, 5, 6, 7]\n  ba: [9, 10]\n"
                    f"  ro: {list(range(11, 27))}\n")  # fmt: skip
    trace = tmp_path / "t.trace"
    trace.write_text("LD 0\nST 64\n")
    out = tmp_path / "out"
    r = subprocess.run([sys.executable, "-m", "simulator.cli", "dram", "replay", "--trace", str(trace), "--dram",
                        str(spec), "--out", str(out)], capture_output=True, text=True)  # fmt: skip
    assert r.returncode == 2 and "address_map" in r.stderr and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and not Path(out).exists()
