"""Instruction streams of the mobile kernels: the work they describe is the layer's work."""

from __future__ import annotations

import numpy as np
import pytest

from simulator.mobile.config import CLASS_ID
from simulator.mobile.fl import compress_blocks, compress_csr
from simulator.mobile.streams import (
    Library,
    dw_instances,
    gemm_instances,
    grp_instances,
    mnn_instances,
    xnn_instances,
)
from workloads.mobile_patterns import prune_mask

RNG = np.random.default_rng(0)
BASES = (1 << 30, 2 << 30, 3 << 30, 4 << 30, 5 << 30)


def _fmla(lib: Library, inst: np.ndarray) -> int:
    rows, toff = lib.arrays()
    per = np.array([(rows[toff[t] : toff[t + 1], 0] == CLASS_ID["fmla"]).sum() for t in range(len(toff) - 1)])
    return int(per[inst[:, 0]].sum())


def _mask(cout, cin, pattern, s):
    w = RNG.standard_normal((cout, cin, 1, 1))
    return prune_mask(w, pattern, "1x1", s)[:, :, 0, 0].astype(np.float32)


def test_gemm_covers_every_mac():
    lib = Library()
    m, k, p = 32, 20, 96  # 8 | m, 12 | p: no padding lanes
    inst = gemm_instances(lib, m, k, p, BASES, 512 * 1024, np.arange(k) * p * 4)
    assert _fmla(lib, inst) * 4 == m * k * p


@pytest.mark.parametrize("s", [0.0, 0.5, 0.9])
def test_xnn_one_vector_fmla_per_nonzero_and_4_pixels(s):
    lib = Library()
    m2 = _mask(16, 24, "unstructured", s)
    ptr, idx, _ = compress_csr(m2)
    inst = xnn_instances(lib, 16, 64, ptr, idx, BASES)
    assert _fmla(lib, inst) * 4 == int(m2.sum()) * 64


@pytest.mark.parametrize("kernel,tile", [("mnn", 16), ("grp", 24)])
def test_block_kernels_cover_kept_blocks(kernel, tile):
    lib = Library()
    m2 = _mask(16, 24, "block4", 0.6)
    ptr, idx, _ = compress_blocks(m2, 4)
    p = 2 * tile * 3
    if kernel == "mnn":
        inst = mnn_instances(lib, 4, p, ptr, idx, BASES)
    else:
        inst = grp_instances(lib, 4, p, ptr, idx, BASES, 512 * 1024)
    assert _fmla(lib, inst) * 4 == int(m2.sum()) * p


def test_group_indices_address_the_kept_input_rows():
    lib = Library()
    m2 = np.zeros((4, 8), np.float32)
    m2[:, [1, 6]] = 1
    ptr, idx, _ = compress_blocks(m2, 4)
    inst = grp_instances(lib, 1, 24, ptr, idx, BASES, 512 * 1024)
    x_reads = sorted({int(a) for a in inst[:, 2] if a})
    assert x_reads == [BASES[1] + 1 * 24 * 4, BASES[1] + 6 * 24 * 4]


def test_depthwise_skips_pruned_positions():
    lib = Library()
    full = dw_instances(lib, np.array([0x1FF] * 2), 3, (1, 1), 8, 8, 10, 10, BASES)
    n_full = _fmla(lib, full)
    assert n_full == 2 * 8 * 2 * 9 * 4  # groups x rows x 4-px blocks x taps x 4 px
    lib2 = Library()
    half = dw_instances(lib2, np.array([0b000010011] * 2), 3, (1, 1), 8, 8, 10, 10, BASES)
    assert _fmla(lib2, half) == n_full * 3 // 9


@pytest.mark.parametrize("kind", ["hswish", "add", "mul", "gap"])
@pytest.mark.parametrize("channels,plane", [(3, 49), (8, 16), (1, 1), (5, 33)])
def test_elementwise_covers_every_element_once(kind, channels, plane):
    from simulator.mobile.streams import ew_instances

    lib = Library()
    inst = ew_instances(lib, kind, channels, plane, BASES)
    rows, toff = lib.arrays()
    names = {i: t.name for i, t in enumerate(lib.templates)}
    units = inst[[names[t].startswith(f"ew {kind} ") and names[t].split()[-1].isdigit() for t in inst[:, 0]]]
    lanes = np.array([int(names[t].split()[-1]) for t in units[:, 0]])
    n = channels * plane
    # every element is loaded once, padded to whole vectors per stream (tensor) or per plane
    pad = -(-n // 4) * 4 if kind in ("hswish", "add") else channels * (-(-plane // 4) * 4)
    assert lanes.sum() == pad
    starts = (units[:, 2] - BASES[1]) // 4
    assert len(set(starts.tolist())) == len(units) and starts.min() == 0 and starts.max() < n
    if kind in ("mul", "gap"):  # one prologue per channel (scale load or zeroed sums)
        assert sum("prologue" in names[t] for t in inst[:, 0]) == channels
    if kind == "gap":  # one sum stored per channel, at its own output word
        epi = inst[[names[t] == "ew gap epilogue" for t in inst[:, 0]]]
        assert sorted(((epi[:, 4] - BASES[3]) // 4).tolist()) == list(range(channels))
    if kind == "mul":  # the scale is read per channel from the second operand
        pro = inst[["prologue" in names[t] for t in inst[:, 0]]]
        assert ((pro[:, 5] - BASES[4]) // 4).tolist() == list(range(channels))
    if kind == "add":
        assert (units[:, 5] - BASES[4] == units[:, 2] - BASES[1]).all()
