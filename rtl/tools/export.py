"""Verilog export of sparsim's Amaranth designs (through Amaranth's Yosys back-end).

Generated files are build outputs: written on demand into a build directory, never committed.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from amaranth.back import verilog

from rtl.nm_array.design import NMArray
from simulator.nm_array.config import ArrayConfig

__all__ = ["nm_array_verilog", "write_nm_array_verilog", "design_key"]

TOPLEVEL = "nm_array"


def design_key(cfg: ArrayConfig, m: int) -> str:
    """Short hash of everything that changes the generated RTL (for build caching)."""
    desc = {"rows": cfg.rows, "cols": cfg.cols, "m": m, "ob": cfg.pe.operand_bits, "acc": cfg.pe.acc_bits,
            "dataflow": cfg.pe.dataflow}  # fmt: skip
    return hashlib.sha256(json.dumps(desc, sort_keys=True).encode()).hexdigest()[:12]


def nm_array_verilog(cfg: ArrayConfig, m: int) -> str:
    """Verilog text of an ``R x C`` N:M array with ``m`` activation lanes per row."""
    return verilog.convert(NMArray(cfg, m), name=TOPLEVEL, emit_src=False)


def write_nm_array_verilog(cfg: ArrayConfig, m: int, out_dir: str | Path) -> Path:
    """Write ``nm_array.v`` into ``out_dir`` (created); return its path."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{TOPLEVEL}.v"
    text = nm_array_verilog(cfg, m)
    tmp = path.with_suffix(".v.tmp")
    tmp.write_text(text)
    tmp.replace(path)
    return path
