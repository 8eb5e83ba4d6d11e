"""``sparsim reproduce memory``: WS, OS and IS on ResNet-18 and MobileNet-v2 with no DRAM limit,
the ``simple`` single-channel model, and the DRAM model (DDR4-3200, LPDDR4X-4266, HBM2; fold-level
form, and the per-request controller on DDR4-3200 as its check).

Why: SCALE-Sim v3's paper reports that counting DRAM stalls flips the dataflow ranking on
ResNet-18 (OS 30.1% fewer total cycles). Whether a ranking survives a real memory system is
what this report shows, on our 32x32 array (the dataflows report's, weight double-buffering on,
array clock 1 GHz), every number computed here.
"""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from reports.dataflows_report import ARRAYS, PAPER  # noqa: E402
from reports.sat_report import _md_table  # noqa: E402
from simulator.common.outputs import atomic_output_dir  # noqa: E402
from simulator.nm_array.fold import simulate_gemms  # noqa: E402
from workloads.lowering import lower_to_gemms  # noqa: E402
from workloads.zoo import load_zoo_trace  # noqa: E402

__all__ = ["reproduce_memory", "MEMORIES", "run_memory_study"]

#: label -> ArrayConfig overrides
MEMORIES = {
    "compute-only": {"dram_bw_bytes_per_cycle": None},
    "simple 16 B/cycle": {"dram_bw_bytes_per_cycle": 16.0},
    "ddr4-3200": {"memory": "ddr4-3200"},
    "ddr4-3200 per-request": {"memory": "ddr4-3200", "dram_mode": "request"},
    "lpddr4x-4266": {"memory": "lpddr4x-4266"},
    "hbm2": {"memory": "hbm2"},
}
DATAFLOWS = ("ws", "os", "is")


def run_memory_study(quick: bool = False) -> tuple[pd.DataFrame, pd.DataFrame]:
    nets = {"resnet18": load_zoo_trace("resnet18")}
    if not quick:
        nets["mobilenet_v2"] = load_zoo_trace("mobilenet_v2")
    base = dataclasses.replace(ARRAYS["32x32"], weight_double_buffer=True, dataflows=(), dram_bw_bytes_per_cycle=None)
    memories = {k: v for k, v in MEMORIES.items() if not quick or "per-request" not in k}
    totals, layers = [], []
    for net, table in nets.items():
        gemms = lower_to_gemms(table)
        for label, over in memories.items():
            for df in DATAFLOWS:
                cfg = dataclasses.replace(base, dataflow=df, **over)
                t0 = time.perf_counter()
                s = simulate_gemms(gemms, cfg)
                secs = time.perf_counter() - t0
                key = dict(network=net, memory=label, dataflow=df)
                totals.append(dict(key, cycles=int(s.cycles.sum()), compute_cycles=int(s.compute_cycles.sum()),
                                   stall_cycles=int(s.stall_cycles.sum()), dram_mb=float(s.dram_bytes.sum() / 1e6),
                                   seconds=round(secs, 3)))  # fmt: skip
                layers.append(s[["name", "cycles", "compute_cycles", "stall_cycles"]].assign(**key))
    tot = pd.DataFrame(totals)
    ws = tot[tot.dataflow == "ws"].set_index(["network", "memory"]).cycles
    tot["vs_ws"] = [r.cycles / ws[(r.network, r.memory)] for r in tot.itertuples()]
    return tot, pd.concat(layers, ignore_index=True)


def _plot(tot: pd.DataFrame, path: Path) -> None:
    fig, ax = plt.subplots(figsize=(9, 3.8))
    groups = list(dict.fromkeys(zip(tot.network, tot.memory, strict=True)))
    for j, df in enumerate(DATAFLOWS):
        vals = [float(tot[(tot.network == n) & (tot.memory == m) & (tot.dataflow == df)].cycles.iloc[0]) / 1e6
                for n, m in groups]  # fmt: skip
        ax.bar([i + (j - 1) * 0.27 for i in range(len(groups))], vals, 0.27, label=df.upper())
    ax.set_xticks(range(len(groups)))
    ax.set_xticklabels([f"{n}\n{m}" for n, m in groups], fontsize=6, rotation=30)
    ax.set_ylabel("cycles (millions)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def reproduce_memory(out: Path, quick: bool = False) -> None:
    t0 = time.perf_counter()
    tot, layers = run_memory_study(quick)
    wall = time.perf_counter() - t0
    with atomic_output_dir(out, "reproduce") as tmp:
        tot.to_csv(tmp / "totals.csv", index=False)
        layers.to_csv(tmp / "layers.csv", index=False)
        _plot(tot, tmp / "cycles.png")
        (tmp / "meta.json").write_text(json.dumps({"quick": quick, "wall_seconds": wall}, indent=2) + "\n")
        (tmp / "README.md").write_text(_markdown(tot, layers, wall, quick))


def _check_rows(layers: pd.DataFrame) -> pd.DataFrame:
    """Per network and dataflow: the fold-level DRAM form against the per-request controller."""
    rows = []
    for (net, df), g in layers[layers.memory.str.startswith("ddr4-3200")].groupby(["network", "dataflow"]):
        f = g[g.memory == "ddr4-3200"].set_index("name").cycles
        r = g[g.memory == "ddr4-3200 per-request"].set_index("name").cycles
        if r.empty:
            continue
        err = (f / r.reindex(f.index) - 1).abs()
        rows.append({"network": net, "dataflow": df, "network_error": f"{100 * (f.sum() / r.sum() - 1):+.2f}%",
                     "worst_layer_error": f"{100 * err.max():.1f}%", "worst_layer": err.idxmax()})  # fmt: skip
    return pd.DataFrame(rows)


def _markdown(tot: pd.DataFrame, layers: pd.DataFrame, wall: float, quick: bool) -> str:
    r18 = tot[tot.network == "resnet18"]

    def ahead(mem):
        w = float(r18[(r18.memory == mem) & (r18.dataflow == "ws")].cycles.iloc[0])
        o = float(r18[(r18.memory == mem) & (r18.dataflow == "os")].cycles.iloc[0])
        return 1 - o / w

    lines = [f"- {m}: OS {100 * ahead(m):.1f}% fewer cycles than WS" if ahead(m) >= 0 else
             f"- {m}: OS {-100 * ahead(m):.1f}% more cycles than WS" for m in dict.fromkeys(r18.memory)]  # fmt: skip
    mb = tot[tot.network == "mobilenet_v2"]
    mb_line = ""
    if not mb.empty:
        def mratio(mem):
            w = float(mb[(mb.memory == mem) & (mb.dataflow == "ws")].cycles.iloc[0])
            return float(mb[(mb.memory == mem) & (mb.dataflow == "os")].cycles.iloc[0]) / w

        mb_line = (
            f"MobileNet-v2 goes the other way: OS/WS cycles {mratio('compute-only'):.2f} compute-only, "
            f"{mratio('ddr4-3200'):.2f} on DDR4-3200, {mratio('hbm2'):.2f} on HBM2. Its depthwise layers "
            "(one output channel per group) give OS one-column tiles whose partial-sum rows are short "
            "row-major runs, each a partial burst and often a new DRAM row: the DRAM model charges "
            "them where the simple channel (OS/WS "
            f"{mratio('simple 16 B/cycle'):.2f}) charges bytes only; the extra stalls over the simple "
            "channel sit in the depthwise layers (layers.csv)."
        )
    chk = _check_rows(layers)
    chk_part = "Not in quick mode." if chk.empty else _md_table(chk)
    view = tot[["network", "memory", "dataflow", "cycles", "compute_cycles", "stall_cycles", "vs_ws", "dram_mb",
                "seconds"]]  # fmt: skip
    note = "\n**Quick mode** (tests): ResNet-18 only, no per-request run.\n" if quick else ""
    return f"""# Dataflows against the memory system: no limit, one channel, and a DRAM model
{note}
Regenerate with `sparsim reproduce memory` ({wall:.0f} s here). The dataflows report's 32x32
array (128 KiB ifmap and filter buffers, 256 KiB output buffer, weight double-buffering), array
clock 1 GHz, plain schedules (no mapper), batch 1. `simple 16 B/cycle` is the single analytical
channel; the DRAM rows run every SRAM step's transfers through the DRAM model
(`simulator/nm_array/dram_memory.py`: tile-major weights and ifmap, row-major outputs; the
fold-level form, and on DDR4-3200 also the per-request FR-FCFS controller).

## Totals

{_md_table(view)}

![cycles](cycles.png)

## The SCALE-Sim v3 paper's ranking flip (ResNet-18)

The paper: WS {100 * PAPER["compute_only_ws_ahead_of_os"]:.0f}% ahead on compute alone, OS
{100 * PAPER["with_stalls_os_ahead_of_ws"]:.1f}% fewer total cycles with DRAM stalls (Ramulator).
Ours, OS against WS:

{chr(10).join(lines)}

Our compute-only OS lead (not the paper's WS lead) is explained in the dataflows report
(SCALE-Sim 3.0.0's own reports agree with us on this array). With a memory system, the OS lead
grows where the memory is slow: OS fetches each weight tile once per output tile and keeps
partial sums in the PEs, so it moves fewer bytes per cycle of compute than WS, whose output
buffer traffic dominates ResNet-18's early layers. The DRAM presets order the rows the way their
sustained bandwidths do (LPDDR4X 31 GB/s, DDR4 24 GB/s, HBM2 230 GB/s in
`python benchmarks/bench_memory.py`); on HBM2 OS and IS are nearly compute-bound while WS still
stalls on its output traffic. The paper's 30.1% sits between our
compute-only and our single-channel figures; its DRAM (Ramulator behind SCALE-Sim's traces) and
buffer sizes are not the same as ours, so the size of the lead is not expected to match; the
direction (stalls widen OS's lead on ResNet-18) does.

{mb_line}

## Fold-level DRAM form against the per-request controller (DDR4-3200)

{chk_part}

The tested bound is 15% per layer on every layer of ResNet-18 and MobileNet-v2 for every
dataflow (`tests/simulator/nm_array/test_dram_memory.py`).

## Not in this report

Several arrays sharing the DRAM (1, 4 and 16 arrays) and banked operand SRAMs are not modelled
yet (issue 15 remains open for them).
"""
