"""Which layers of the memory study moved when the DRAM controller got read and write queues
(issue 31), by how much, and why (run once, by hand; not run by CI).

Why a separate script: the single-queue controller it compares with is gone, so the "before"
numbers are the committed memory reference as it stood before the change (``git show
REV:reports/reference/memory/layers.csv``); the "after" numbers are a fresh ``sparsim reproduce
memory``. For every layer that moved by more than 2% it names the mechanism from the layer's own
DRAM request batches (read with today's code):

- drain: batches with more writes on a channel than the write queue's high watermark beside
  reads; the controller drains them while the reads wait (two more bus turnarounds, and where a
  bank's reads and writes want different rows, two more row switches);
- reads first: batches where a bank's writes go to another row than its reads; the controller
  serves the reads first (read mode), so the writes reopen their row after the reads instead of
  FR-FCFS serving them first as hits to the row the previous batch left open;
- bank chain (fold form): neither; the fold form's bank chain now counts tRP before the first
  activation of a bank that held a row (tRC-bound chains);
- writes wait for reads (per-request controller): neither; a batch's writes now wait until its
  reads have been activated (read mode), where one queue let them go as soon as they were legal.

Usage: python tools/controller_change.py --before OLD_layers.csv --after NEW_layers.csv --out CSV
(the committed one: reports/data/controller_change_issue31.csv, rendered by the memory report)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dataflow.nm_array.mapping import Mapping  # noqa: E402
from reports.memory_report import MEMORIES, _base  # noqa: E402
from simulator.dram.fl import bank_index, decode  # noqa: E402
from simulator.dram.fold import drain_threshold  # noqa: E402
from simulator.nm_array.dram_memory import step_requests  # noqa: E402
from simulator.nm_array.fold import layer_schedule  # noqa: E402
from simulator.nm_array.memory import step_traffic  # noqa: E402
from workloads.io import load_workload  # noqa: E402
from workloads.lowering import lower_to_gemms  # noqa: E402

KEYS = ["network", "memory", "dataflow", "name"]


def _mechanisms(network: str, memory: str, dataflow: str, layer: str) -> tuple[int, int, int]:
    """(batches, drain batches, reads-first batches) of one layer of the memory study."""
    arch = _base().replace({"pe.dataflow": dataflow, **MEMORIES[memory]})
    dram = arch.memory.dram_config()
    gemms = lower_to_gemms(load_workload(f"zoo:{network}"))
    r = next(g for g in gemms.itertuples(index=False) if g.name == layer)
    _, tiling, sched, _, m, _ = layer_schedule(r, arch, Mapping(dataflow))
    tr = step_traffic(sched, arch, tiling, ifmap_elems=int(r.ifmap_elems), nm_m=m)
    thr = drain_threshold(dram)
    batches = drains = first = 0
    for s in range(tr.windows.size):
        a, w = step_requests(tr, dram, s)
        if a.size == 0:
            continue
        batches += 1
        f = decode(dram, a)
        nw = np.bincount(f["ch"], weights=w, minlength=dram.channels)
        n = np.bincount(f["ch"], minlength=dram.channels)
        drains += bool(((nw > thr) & (nw < n)).any())
        cb = f["ch"] * dram.banks_per_channel + bank_index(dram, f)
        rd = {(b, ro) for b, ro in zip(cb[~w], f["ro"][~w], strict=True)}
        rd_banks = {b for b, _ in rd}
        first += any(b in rd_banks and (b, ro) not in rd for b, ro in zip(cb[w], f["ro"][w], strict=True))
    return batches, drains, first


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--before", required=True, type=Path)
    ap.add_argument("--after", required=True, type=Path)
    ap.add_argument("--out", required=True, type=Path, help="the CSV to write")
    args = ap.parse_args(argv)
    m = pd.read_csv(args.before).merge(pd.read_csv(args.after), on=KEYS, suffixes=("_before", "_after"))
    m["change_pct"] = 100 * (m.cycles_after / m.cycles_before - 1)
    moved = m[m.change_pct.abs() > 2].copy()
    why = []
    for r in moved.itertuples(index=False):
        b, d, f = _mechanisms(r.network, r.memory, r.dataflow, r.name)
        other = "writes wait for reads" if "per-request" in r.memory else "bank chain"
        mech = "drain" if d >= 0.1 * b else ("reads first" if f >= 0.1 * b else other)
        why.append({"batches": b, "drain_batches": d, "reads_first_batches": f, "why": mech})
    moved = pd.concat([moved.reset_index(drop=True), pd.DataFrame(why)], axis=1)
    cols = [*KEYS, "cycles_before", "cycles_after", "change_pct", "batches", "drain_batches", "reads_first_batches",
            "why"]  # fmt: skip
    order = ["network", "memory", "dataflow", "change_pct"]
    moved = moved[cols].sort_values(order, ascending=[True, True, True, False])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    moved.round({"change_pct": 2}).to_csv(args.out, index=False)
    summary = moved.groupby(["network", "memory", "why"]).size().rename("layers").reset_index()
    print(f"{len(m)} layers, {len(moved)} moved by more than 2%")
    print(summary.to_string(index=False))
    print(f"up: {(moved.change_pct > 0).sum()}, down: {(moved.change_pct < 0).sum()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
