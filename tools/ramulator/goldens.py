"""Ramulator 2's cycle counts for sparsim's DRAM cross-check traces (not run by CI).

Why: the per-request controller (simulator/dram/cl.py) is checked trace by trace against
Ramulator 2, the DRAM simulator SCALE-Sim v3 and ONNXim use. This script runs every trace of
:func:`simulator.nm_array.dram_traces.golden_traces` through Ramulator with our completion driver
(driver.cpp: issue the trace once, tick until every request has completed) and writes the
goldens that tests/simulator/dram/test_ramulator_goldens.py and the memory report compare with.

It needs a Ramulator 2 checkout, built as a library (libramulator.so in its root), and driver.cpp
compiled against it; neither is in this repository. Usage:

    python tools/ramulator/goldens.py --ramulator DIR --driver PATH [--out CSV]

Each golden row records the trace's digest, so a test that regenerates the trace knows it is the
same one, and Ramulator's own wall time for the run (the driver times its tick loop only).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT))

from simulator.dram.config import load_dram  # noqa: E402
from simulator.dram.fl import decode  # noqa: E402
from simulator.nm_array.dram_traces import GOLDEN_DRAMS, golden_traces, trace_digest  # noqa: E402

#: Ramulator columns per sparsim burst: its column counts data-bus beats (DDR4 BL8, HBM2 BL4)
COLUMN_SCALE = {"ddr4-3200": 8, "hbm2": 4}


def _export(ramulator: Path, dram: str, out: Path) -> Path:
    env = {**os.environ, "PYTHONPATH": str(ramulator / "python")}
    subprocess.run([sys.executable, "-m", "ramulator", "export", str(HERE / "configs" / f"{dram}.py"), "-o", str(out)],
                   check=True, env=env, cwd=ramulator)  # fmt: skip
    return out


def _write_trace(path: Path, dram: str, arrive, addr, wr) -> None:
    cfg = load_dram(dram)
    f = decode(cfg, addr)
    pc = cfg.pseudo_channels
    ctrl, sub = f["ch"] // pc, (f["ch"] % pc if pc > 1 else f["ra"])
    cols = f["co"] * COLUMN_SCALE[dram]
    kind = np.where(wr, "W", "R")
    lines = [f"{a} {k} {x} {c} {s} {g} {b} {r} {co}" for a, k, x, c, s, g, b, r, co in
             zip(arrive, kind, addr, ctrl, sub, f["bg"], f["ba"], f["ro"], cols, strict=True)]  # fmt: skip
    path.write_text("\n".join(lines) + "\n")


def _stats(text: str) -> dict[str, float]:
    out = {"row_hits": 0, "row_misses": 0, "row_conflicts": 0}
    head = {}
    for line in text.splitlines():
        key, _, val = line.strip().partition(":") if ":" in line else line.strip().partition(" ")
        key, val = key.strip(), val.strip()
        if key in ("cycles", "requests", "wall_s") and key not in head:
            head[key] = float(val)
        elif key in out:
            out[key] += int(val)
    return {**head, **out}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ramulator", required=True, type=Path, help="Ramulator 2 checkout with libramulator.so")
    ap.add_argument("--driver", required=True, type=Path, help="driver.cpp compiled against it")
    ap.add_argument("--out", type=Path, default=ROOT / "simulator" / "dram" / "data" / "ramulator2_goldens.csv")
    args = ap.parse_args(argv)
    commit = subprocess.run(["git", "-C", str(args.ramulator), "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip() or "c5b1c3a"  # fmt: skip
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for dram in GOLDEN_DRAMS:
            cfg_yaml = _export(args.ramulator, dram, Path(tmp) / f"{dram}.yaml")
            burst = load_dram(dram).burst_bytes
            for name, (arrive, addr, wr) in golden_traces(dram).items():
                trace = Path(tmp) / f"{dram}-{name}.txt"
                _write_trace(trace, dram, arrive, addr, wr)
                run = subprocess.run([str(args.driver), str(cfg_yaml), str(trace), str(burst)], capture_output=True,
                                     text=True, check=True)  # fmt: skip
                s = _stats(run.stdout)
                assert int(s["requests"]) == addr.size, (name, s)
                rows.append({"dram": dram, "trace": name, "requests": addr.size, "writes": int(wr.sum()),
                             "digest": trace_digest(arrive, addr, wr), "ramulator_cycles": int(s["cycles"]),
                             "ramulator_row_hits": s["row_hits"], "ramulator_row_misses": s["row_misses"],
                             "ramulator_row_conflicts": s["row_conflicts"], "ramulator_wall_s": s["wall_s"],
                             "ramulator_commit": commit})  # fmt: skip
                print(f"{dram:10s} {name:22s} {addr.size:7d} requests {int(s['cycles']):9d} cycles "
                      f"{s['wall_s']:.3f} s")  # fmt: skip
    args.out.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows).to_csv(args.out, index=False)
    print(f"wrote {len(rows)} goldens to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
