"""Instruction streams of the mobile kernels: the work they describe is the layer's work."""

from __future__ import annotations

import numpy as np
import pytest

from simulator.mobile.config import CLASS_ID
from simulator.mobile.kernels import compress_blocks, compress_csr
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
