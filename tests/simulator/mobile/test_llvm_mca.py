"""Steady-state cycles per loop iteration: our core model against llvm-mca's Neoverse-N1 model."""

from __future__ import annotations

import pytest

from simulator.mobile.llvm_mca import KERNEL_BODIES, compare, find_llvm_mca, mca_cycles
from simulator.mobile.streams import Library, asm

MCA = find_llvm_mca()
needs_mca = pytest.mark.skipif(MCA is None, reason="llvm-mca >= 19 not installed (apt-get install llvm-19)")


@needs_mca
def test_every_kernel_within_15_percent_of_llvm_mca():
    table = compare(MCA, n=100)
    assert list(table.kernel) == list(KERNEL_BODIES)
    for row in table.itertuples():
        msg = f"{row.kernel}: ours {row.model_cycles_per_iter}, mca {row.mca_cycles_per_iter}"
        assert abs(row.rel_diff) <= 0.15, msg


@needs_mca
def test_llvm_mca_sees_what_we_emit():
    """The assembly is real: removing half of a body's FMLAs changes llvm-mca's answer."""
    lib = Library()
    t = lib.templates[lib.get(("gemm_unit", 3))]
    full = asm(t)
    lines = full.splitlines()
    fewer = "\n".join(ln for i, ln in enumerate(lines) if not (ln.startswith("fmla") and i % 2)) + "\n"
    assert mca_cycles(fewer, 200, MCA) < mca_cycles(full, 200, MCA)
