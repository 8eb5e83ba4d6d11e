"""Cross-check of the core model's steady state against llvm-mca (LLVM's Neoverse-N1 model).

Why: llvm-mca is an independent model of the same core family (N1 derives from A76), built by
the compiler people from the vendor's optimisation guide. For each kernel's inner-loop body we
print the AArch64 assembly, ask ``llvm-mca -mtriple=aarch64 -mcpu=neoverse-n1`` for its cycles,
and run the same body through our engine with every access an L1 hit (llvm-mca's assumption).
Both are measured as a slope, (cycles at 2n iterations - cycles at n) / n, so start-up and drain
cancel. We need LLVM 19 or newer: older releases map A76 onto the Cortex-A57 model (anchors.md).
"""

from __future__ import annotations

import dataclasses
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from simulator.mobile.cl import CoreState
from simulator.mobile.config import CoreConfig
from simulator.mobile.streams import Library, asm

__all__ = ["find_llvm_mca", "mca_cycles", "model_cycles", "KERNEL_BODIES", "compare", "MCPU"]

#: kernel -> (description, template key)
KERNEL_BODIES = {
    "gemm": ("dense GEMM k-step, 8x12 tile", ("gemm_unit", 3)),
    "xnn": ("XNNPACK-style SpMM non-zero, 32 pixels", ("xnn_unit", 8)),
    "mnn": ("MNN-style 1x4 block, 16 pixels", ("blk_unit", 4)),
    "grp": ("group unit (ours), 24 pixels", ("blk_unit", 6)),
    "dw_s1": ("depthwise 3x3 stride 1, 4 px x 4 ch", ("dw_block", 0x1FF, 3, 1, 256)),
    "dw_s2": ("depthwise 3x3 stride 2, 4 px x 4 ch", ("dw_block", 0x1FF, 3, 2, 256)),
    "dw_group": ("depthwise 3x3, 4 of 9 taps kept (group)", ("dw_block", 0b100010011, 3, 1, 256)),
    "pack": ("im2col / panel packing, 12 pixels", ("pack", 3)),
}


def find_llvm_mca() -> str | None:
    """Path of an llvm-mca with a Neoverse-N1 model (version >= 19), or None."""
    for name in ("llvm-mca-19", "llvm-mca-20", "llvm-mca-21", "llvm-mca"):
        path = shutil.which(name)
        if not path:
            continue
        try:
            out = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=30).stdout
        except (OSError, subprocess.TimeoutExpired):
            continue
        m = re.search(r"LLVM version (\d+)", out)
        if m and int(m.group(1)) >= 19:
            return path
    return None


#: core preset -> the -mcpu whose LLVM scheduling model stands for it (LLVM 19 has no A73/A75 model
#: of its own: it maps both onto its Cortex-A57 model, so those rows compare with an A57, not the core)
MCPU = {"a76": "neoverse-n1", "a75": "cortex-a75", "a73": "cortex-a73", "a55": "cortex-a55"}


def mca_cycles(text: str, iterations: int, exe: str, mcpu: str = "neoverse-n1") -> int:
    with tempfile.TemporaryDirectory() as d:
        f = Path(d) / "body.s"
        f.write_text(text)
        out = subprocess.run(
            [exe, "-mtriple=aarch64", f"-mcpu={mcpu}", f"-iterations={iterations}", str(f)],
            capture_output=True, text=True, check=True, timeout=120,
        ).stdout  # fmt: skip
    return int(re.search(r"Total Cycles:\s+(\d+)", out).group(1))


def model_cycles(key: tuple, iterations: int, cfg: CoreConfig | None = None) -> int:
    cfg = dataclasses.replace(cfg or CoreConfig(), perfect_l1=True)
    lib = Library()
    tid = lib.get(key)
    rows, toff = lib.arrays()
    inst = np.zeros((iterations, 6), dtype=np.int64)
    inst[:, 0] = tid
    return CoreState(cfg).run(rows, toff, inst)


def compare(exe: str, n: int = 200, cfg: CoreConfig | None = None, mcpu: str = "neoverse-n1") -> pd.DataFrame:
    """One row per kernel body: cycles per iteration from our model (core ``cfg``) and from
    llvm-mca's ``mcpu`` model."""
    rows = []
    for name, (desc, key) in KERNEL_BODIES.items():
        lib = Library()
        text = asm(lib.templates[lib.get(key)])
        ours = (model_cycles(key, 2 * n, cfg) - model_cycles(key, n, cfg)) / n
        mca = (mca_cycles(text, 2 * n, exe, mcpu) - mca_cycles(text, n, exe, mcpu)) / n
        rows.append(
            {
                "kernel": name,
                "body": desc,
                "instructions": len(lib.templates[0].lines),
                "model_cycles_per_iter": ours,
                "mca_cycles_per_iter": mca,
                "rel_diff": ours / mca - 1.0,
            }
        )
    return pd.DataFrame(rows)
