"""``sparsim reproduce memory``: WS, OS and IS on ResNet-18 and MobileNet-v2 with no DRAM limit,
the ``simple`` single-channel model, and the DRAM model (DDR4-3200, LPDDR4X-4266, HBM2; fold-level
form, and the per-request controller on DDR4-3200 as its check).

Why: SCALE-Sim v3's paper reports that counting DRAM stalls flips the dataflow ranking on
ResNet-18 (OS 30.1% fewer total cycles). Whether a ranking survives a real memory system is
what this report shows, on our 32x32 array (the dataflows report's, weight double-buffering on,
array clock 1 GHz), every number computed here.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pandas as pd

from reports.dataflows_report import ARRAYS, PAPER
from reports.figures import subplots
from reports.runs import fields_of, run_labelled
from reports.sat_report import _md_table
from simulator.common.bounds import point_bound
from simulator.common.outputs import atomic_output_dir
from simulator.nm_array.config import ArrayConfig

__all__ = ["reproduce_memory", "MEMORIES", "run_memory_study", "run_scaleout_study", "explain_four_arrays",
           "run_banks_study", "LAYOUTS", "BANK_GEOMETRIES"]

#: label -> ArrayConfig overrides
MEMORIES = {
    "compute-only": {"memory.bw_bytes_per_cycle": None},
    "simple 16 B/cycle": {"memory.bw_bytes_per_cycle": 16.0},
    "ddr4-3200": {"memory.dram": "ddr4-3200"},
    "ddr4-3200 per-request": {"memory.dram": "ddr4-3200", "memory.mode": "request"},
    "lpddr4x-4266": {"memory.dram": "lpddr4x-4266"},
    "hbm2": {"memory.dram": "hbm2"},
}
DATAFLOWS = ("ws", "os", "is")
#: the scale-out study's memories (a subset of :data:`MEMORIES`) and system sizes
SCALEOUT_MEMORIES = ("compute-only", "simple 16 B/cycle", "ddr4-3200", "hbm2")
SYSTEM_SIZES = (1, 4, 16)
#: the banked-SRAM study's operand layouts (ifmap, filter, ofmap): NHWC-style for every dataflow,
#: or each operand contiguous along the dimension its dataflow reads (sparsim.nm_array.sram_banks)
LAYOUTS = {
    "nhwc": {"ws": ("k", "n", "n"), "os": ("k", "n", "n"), "is": ("k", "n", "n")},
    "per dataflow": {"ws": ("k", "n", "n"), "os": ("p", "n", "n"), "is": ("p", "k", "p")},
}
#: (banks, words per line): 0 banks is the conflict-free buffer
BANK_GEOMETRIES = ((0, 1), (8, 1), (16, 1), (32, 1), (37, 1), (64, 1), (8, 4))
BANK_MEMORIES = ("compute-only", "ddr4-3200")


def _base() -> ArrayConfig:
    return ARRAYS["32x32"].replace(
        {"pe.weight_double_buffer": True, "pe.dataflows": (), "memory.bw_bytes_per_cycle": None})  # fmt: skip


def run_memory_study(quick: bool = False) -> tuple[pd.DataFrame, pd.DataFrame]:
    nets = [{"zoo": "resnet18"}] + ([] if quick else [{"zoo": "mobilenet_v2"}])
    memories = {k: v for k, v in MEMORIES.items() if not quick or "per-request" not in k}
    labelled = [({"memory": label, "dataflow": df}, {"pe.dataflow": df, **over})
                for label, over in memories.items() for df in DATAFLOWS]  # fmt: skip
    totals, rows = run_labelled("nm_array", fields_of(_base()), labelled, nets)
    tot = totals[["network", "memory", "dataflow", "cycles", "compute_cycles", "stall_cycles"]].assign(
        dram_mb=totals["dram_bytes"] / 1e6)
    ws = tot[tot.dataflow == "ws"].set_index(["network", "memory"]).cycles
    tot["vs_ws"] = [r.cycles / ws[(r.network, r.memory)] for r in tot.itertuples()]
    return tot, rows[["name", "cycles", "compute_cycles", "stall_cycles", "network", "memory", "dataflow"]]


#: the address maps the map study compares: ours and Ramulator 2's two linear maps by name
MAPS = ("ro-ra-ba-co-bg-ch", "RoBaRaCoCh", "ChRaBaRoCo")


def run_map_study(quick: bool = False) -> pd.DataFrame:
    """ResNet-18 per DRAM, dataflow and address map (plain schedules, fold form): the map as a
    design choice, and the maps Ramulator users run."""
    mems = ("ddr4-3200",) if quick else ("ddr4-3200", "hbm2")
    labelled = [({"memory": m, "dataflow": df, "address_map": a},
                 {"pe.dataflow": df, "memory.dram": m, "memory.address_map": a})
                for m in mems for df in DATAFLOWS for a in MAPS]  # fmt: skip
    totals, _ = run_labelled("nm_array", fields_of(_base()), labelled, [{"zoo": "resnet18"}])
    out = totals[["memory", "dataflow", "address_map", "cycles", "stall_cycles"]].copy()
    ours = out[out.address_map == MAPS[0]].set_index(["memory", "dataflow"]).cycles
    out["vs_ours"] = [r.cycles / ours[(r.memory, r.dataflow)] for r in out.itertuples()]
    return out


def lpddr4x_check() -> pd.DataFrame:
    """LPDDR4X-4266 against its datasheet (JESD209-4-1), as Ramulator 2.1 has no LPDDR4 model:
    the controller's idle latencies and sustained sequential read against the timing sums and
    the peak, all from the preset (every value cited in its YAML)."""
    import numpy as np

    from simulator.api import replay_dram
    from simulator.dram.config import load_dram

    cfg = load_dram("lpddr4x-4266")
    ns = cfg.tck_ps / 1000
    stride = cfg.burst_bytes * cfg.channels * cfg.bankgroups  # the next column of the same bank (our map)
    other_row = cfg.row_bytes * cfg.banks_per_channel * cfg.channels

    def second(addr2: int) -> int:
        return int(replay_dram([0, addr2], arrive=[0, 1000], dram=cfg.name)["done_cycle"].iloc[1]) - 1000

    closed = int(replay_dram([0], dram=cfg.name)["done_cycle"].iloc[0])
    n = 64 * 1024
    done = replay_dram(np.arange(n, dtype=np.int64) * cfg.burst_bytes, dram=cfg.name)["done_cycle"].to_numpy()
    rows = [("read, bank closed", "tRCD + RL + BL/2", cfg.rcd + cfg.cl + cfg.bl, closed),
            ("read, row open", "RL + BL/2", cfg.cl + cfg.bl, second(stride)),
            ("read, other row open", "tRP + tRCD + RL + BL/2", cfg.rp + cfg.rcd + cfg.cl + cfg.bl, second(other_row))]
    out = pd.DataFrame([{"measure": m, "datasheet": f, "datasheet_ns": c * ns, "model_ns": v * ns}
                        for m, f, c, v in rows])  # fmt: skip
    stream = n * cfg.burst_bytes / (float(done.max()) * cfg.tck_ps / 1000)
    bw = pd.DataFrame([{"measure": "sequential read (GB/s)", "datasheet": "4,266 MT/s x 16 bit x 4 channels",
                        "datasheet_ns": cfg.peak_gbps, "model_ns": stream}])  # fmt: skip
    return pd.concat([out, bw], ignore_index=True)


def run_banks_study(quick: bool = False) -> pd.DataFrame:
    """ResNet-18 on the 32x32 array with banked operand buffers: every dataflow, layout, bank
    geometry and memory of the constants above (quick: fewer geometries)."""
    geoms = ((0, 1), (16, 1), (32, 1)) if quick else BANK_GEOMETRIES
    labelled = []
    for label in BANK_MEMORIES:
        for df in DATAFLOWS:
            for layout, per_df in LAYOUTS.items():
                xl, wl, yl = per_df[df]
                for banks, width in geoms:
                    if banks == 0 and layout != "nhwc":
                        continue  # conflict-free: the layout does not matter
                    labels = {"memory": label, "dataflow": df, "layout": "any" if banks == 0 else layout,
                              "banks": banks, "width_words": width}  # fmt: skip
                    labelled.append((labels, {"pe.dataflow": df, "buffers.banks": banks,
                                              "buffers.bank_width_words": width, "buffers.ifmap_layout": xl,
                                              "buffers.filter_layout": wl, "buffers.ofmap_layout": yl,
                                              **MEMORIES[label]}))  # fmt: skip
    totals, _ = run_labelled("nm_array", fields_of(_base()), labelled, [{"zoo": "resnet18"}])
    tot = totals[["network", "memory", "dataflow", "layout", "banks", "width_words", "cycles", "compute_cycles",
                  "sram_stall_cycles"]].assign(dram_stall_cycles=totals["stall_cycles"] - totals["sram_stall_cycles"],
                                               sram_bound_share=totals["sram_bound_share"],
                                               dram_bound_share=totals["dram_bound_share"])  # fmt: skip
    free = tot[tot.banks == 0].set_index(["memory", "dataflow"]).cycles
    tot["vs_conflict_free"] = [r.cycles / free[(r.memory, r.dataflow)] for r in tot.itertuples()]
    return tot


def _system(n: int, private: bool = False) -> dict:
    """Settings of ``n`` copies of the array sharing (or each with a copy of) its memory."""
    return {} if n == 1 else {"system.arrays": n, "system.partition": "auto",
                              **({"private_memory": True} if private else {})}  # fmt: skip


def run_scaleout_study(quick: bool = False) -> pd.DataFrame:
    """ResNet-18 on 1, 4 and 16 arrays for every dataflow and memory: totals and speed-ups."""
    memories = ("compute-only", "ddr4-3200") if quick else SCALEOUT_MEMORIES
    sizes = (1, 4) if quick else SYSTEM_SIZES
    dataflows = ("ws", "os") if quick else DATAFLOWS
    labelled = [({"memory": label, "dataflow": df, "arrays": n}, {"pe.dataflow": df, **MEMORIES[label], **_system(n)})
                for label in memories for df in dataflows for n in sizes]  # fmt: skip
    totals, rows = run_labelled("nm_array", fields_of(_base()), labelled, [{"zoo": "resnet18"}])
    keys = ["memory", "dataflow", "arrays"]
    per = rows.groupby(keys, sort=False).agg(  # systems' layer rows say how each layer was split
        split_m_layers=("partition", lambda p: int((p == "split_m").sum())),
        split_n_layers=("partition", lambda p: int((p == "split_n").sum())),
        mean_active=("active_arrays", "mean"),
    ).reset_index()
    tot = totals[["network", *keys, "cycles", "compute_cycles", "stall_cycles"]].assign(
        dram_mb=totals["dram_bytes"] / 1e6).merge(per, on=keys, how="left", validate="one_to_one")
    one = tot.arrays == 1
    tot.loc[one, ["split_m_layers", "split_n_layers"]] = 0
    tot.loc[one, "mean_active"] = 1.0
    tot = tot.astype({"split_m_layers": int, "split_n_layers": int, "mean_active": float})
    one_cycles = tot[one].set_index(["memory", "dataflow"]).cycles
    tot["speedup"] = [one_cycles[(r.memory, r.dataflow)] / r.cycles for r in tot.itertuples()]
    tot["efficiency"] = tot.speedup / tot.arrays
    return tot


#: the runs that explain a 4-array system layer by layer: label -> (memory label, arrays, private)
_FOUR_RUNS = {"one": ("ddr4-3200", 1, False), "four": ("ddr4-3200", 4, False), "private": ("ddr4-3200", 4, True),
              "ideal one": ("compute-only", 1, False), "ideal four": ("compute-only", 4, False)}


def explain_four_arrays(quick: bool = False, dataflows: tuple[str, ...] = ("os", "ws")) -> pd.DataFrame:
    """ResNet-50 (quick: ResNet-18) on 4 arrays against 1, DDR4-3200, layer by layer.

    Three runs separate the losses: compute-only (what the partition alone gives: ragged parts,
    idle arrays), each array with a private DDR4-3200 (partition plus four times the memory and
    four times the SRAM), and the real system (one shared DDR4-3200). ``contention`` is
    shared / private cycles; the layer's speed-up is ``private_speedup / contention``."""
    net = "resnet18" if quick else "resnet50"
    labelled = [({"dataflow": df, "run": run}, {"pe.dataflow": df, **MEMORIES[mem], **_system(n, private)})
                for df in dataflows for run, (mem, n, private) in _FOUR_RUNS.items()]  # fmt: skip
    _, layers = run_labelled("nm_array", fields_of(_base()), labelled, [{"zoo": net}])
    peak = _base().replace({"memory.dram": "ddr4-3200"}).memory.dram_config().peak_gbps / _base().clock_ghz
    rows = []
    for df in dataflows:
        run = {r: layers[(layers.dataflow == df) & (layers.run == r)].reset_index(drop=True) for r in _FOUR_RUNS}
        one, four, priv, c1, c4 = (run[r] for r in _FOUR_RUNS)
        for i in range(len(one)):
            t1, t4, tp = int(one.cycles.iloc[i]), int(four.cycles.iloc[i]), int(priv.cycles.iloc[i])
            rows.append(dict(
                network=net, dataflow=df, layer=int(one.layer.iloc[i]), name=one.name.iloc[i],
                gemm_m=int(one.gemm_m.iloc[i]), gemm_k=int(one.gemm_k.iloc[i]), gemm_n=int(one.gemm_n.iloc[i]),
                cycles_1=t1, cycles_4=t4, speedup=t1 / t4, partition=four.partition.iloc[i],
                active_arrays=int(four.active_arrays.iloc[i]), balance=float(four.balance.iloc[i]),
                stall_share_1=int(one.stall_cycles.iloc[i]) / t1, stall_share_4=int(four.stall_cycles.iloc[i]) / t4,
                partition_speedup=int(c1.cycles.iloc[i]) / int(c4.cycles.iloc[i]), private_speedup=t1 / tp,
                contention=t4 / tp, dram_mb_1=float(one.dram_bytes.iloc[i] / 1e6),
                dram_mb_4=float(four.dram_bytes.iloc[i] / 1e6),
                peak_share_1=_peak_share(one.iloc[i], peak), peak_share_4=_peak_share(four.iloc[i], peak),
            ))  # fmt: skip
    return pd.DataFrame(rows)


def _peak_share(layer: pd.Series, peak: float) -> float:
    """Share of the memory's peak rate a layer's traffic uses over its whole time: its cycles
    plus the exposed first fetch and last write-back, which ``cycles`` leaves out (the SCALE-Sim
    convention the fold model keeps) but the memory still serves."""
    t = int(layer["cycles"]) + int(layer["prefetch_cycles"]) + int(layer["drain_cycles"])
    return float(layer["dram_bytes"]) / (peak * t) if t else 0.0


def _plot_scaleout(tot: pd.DataFrame, path: Path) -> None:
    mems = list(dict.fromkeys(tot.memory))
    fig, axes = subplots(1, len(mems), figsize=(3 * len(mems), 3.2), sharey=True, squeeze=False)
    for ax, mem in zip(axes[0], mems, strict=True):
        for df in dict.fromkeys(tot.dataflow):
            g = tot[(tot.memory == mem) & (tot.dataflow == df)]
            ax.plot(g.arrays, g.speedup, marker="o", label=df.upper())
        ax.plot(sorted(set(tot.arrays)), sorted(set(tot.arrays)), ls=":", color="grey", label="ideal")
        ax.set_xscale("log", base=2)
        ax.set_yscale("log", base=2)
        ax.set_title(mem, fontsize=8)
        ax.set_xlabel("arrays")
    axes[0][0].set_ylabel("speed-up over 1 array")
    axes[0][0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def _plot(tot: pd.DataFrame, path: Path) -> None:
    fig, ax = subplots(figsize=(9, 3.8))
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


def reproduce_memory(out: Path, quick: bool = False) -> None:
    t0 = time.perf_counter()
    tot, layers = run_memory_study(quick)
    scale = run_scaleout_study(quick)
    four = explain_four_arrays(quick)
    banks = run_banks_study(quick)
    maps = run_map_study(quick)
    lp = lpddr4x_check()
    ram = ramulator_check()
    print(f"memory: {len(tot) + len(scale) + len(banks) + len(maps)} runs in {time.perf_counter() - t0:.0f} s")
    with atomic_output_dir(out, "reproduce") as tmp:
        tot.to_csv(tmp / "totals.csv", index=False)
        layers.to_csv(tmp / "layers.csv", index=False)
        scale.to_csv(tmp / "scaleout.csv", index=False)
        four.to_csv(tmp / "four_arrays_layers.csv", index=False)
        banks.to_csv(tmp / "banks.csv", index=False)
        maps.to_csv(tmp / "address_maps.csv", index=False)
        lp.to_csv(tmp / "lpddr4x.csv", index=False)
        ram.drop(columns=["wall_s", "ramulator_wall_s"]).to_csv(tmp / "ramulator.csv", index=False)
        _plot(tot, tmp / "cycles.png")
        _plot_scaleout(scale, tmp / "scaleout.png")
        (tmp / "meta.json").write_text(json.dumps({"quick": quick}, indent=2) + "\n")
        (tmp / "README.md").write_text(_markdown(tot, layers, quick) + _scaleout_markdown(scale, four, quick)
                                          + _banks_markdown(banks) + _maps_markdown(maps, lp)
                                          + _ramulator_markdown(ram) + _controller_change_markdown())


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


def _markdown(tot: pd.DataFrame, layers: pd.DataFrame, quick: bool) -> str:
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
    view = tot[["network", "memory", "dataflow", "cycles", "compute_cycles", "stall_cycles", "vs_ws", "dram_mb"]]
    note = "\n**Quick mode** (tests): ResNet-18 only, no per-request run.\n" if quick else ""
    return f"""# Dataflows against the memory system: no limit, one channel, and a DRAM model
{note}
Regenerate with `sparsim reproduce memory`. The dataflows report's 32x32
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

"""


def four_array_summary(four: pd.DataFrame) -> pd.DataFrame:
    """Per dataflow: the network's 4-array speed-up and the three runs that explain it."""
    rows = []
    for df, g in four.groupby("dataflow", sort=False):
        t1, t4 = int(g.cycles_1.sum()), int(g.cycles_4.sum())
        tp = float((g.cycles_1 / g.private_speedup).sum())
        bound, rest = g[g.peak_share_4 >= 0.8], g[g.peak_share_4 < 0.8]

        def ratio(part):
            return float(part.cycles_1.sum() / part.cycles_4.sum()) if len(part) else float("nan")

        rows.append(dict(
            dataflow=df, cycles_1=t1, cycles_4=t4, speedup=t1 / t4,
            partition_speedup=float(g.cycles_1.sum() / (g.cycles_1 / g.partition_speedup).sum()),
            private_speedup=t1 / tp, contention=t4 / tp,
            dram_mb_1=float(g.dram_mb_1.sum()), dram_mb_4=float(g.dram_mb_4.sum()),
            memory_bound_layers=len(bound), memory_bound_time_share=float(bound.cycles_4.sum() / t4),
            memory_bound_speedup=ratio(bound), other_speedup=ratio(rest),
        ))  # fmt: skip
    return pd.DataFrame(rows)


def _scaleout_markdown(scale: pd.DataFrame, four: pd.DataFrame, quick: bool) -> str:
    def sp(mem, df, n):
        g = scale[(scale.memory == mem) & (scale.dataflow == df) & (scale.arrays == n)]
        return float(g.speedup.iloc[0]) if len(g) else float("nan")

    def mb(mem, df, n):
        return float(scale[(scale.memory == mem) & (scale.dataflow == df) & (scale.arrays == n)].dram_mb.iloc[0])

    big = int(scale.arrays.max())
    dfs = list(dict.fromkeys(scale.dataflow))
    ideal_line = ", ".join(f"{d.upper()} {sp('compute-only', d, 4):.2f}x on 4 and {sp('compute-only', d, big):.2f}x "
                           f"on {big}" for d in dfs)  # fmt: skip
    act = scale[(scale.memory == "compute-only") & (scale.arrays == big)].set_index("dataflow").mean_active
    view = scale[["memory", "dataflow", "arrays", "cycles", "stall_cycles", "speedup", "efficiency", "dram_mb",
                  "split_m_layers", "split_n_layers", "mean_active"]]  # fmt: skip
    summ = four_array_summary(four)
    net = four.network.iloc[0]
    first = summ.iloc[0]
    d0 = first.dataflow
    cols = ["name", "gemm_m", "gemm_k", "gemm_n", "cycles_1", "cycles_4", "speedup", "partition", "active_arrays",
            "partition_speedup", "private_speedup", "contention", "peak_share_1", "peak_share_4", "dram_mb_1",
            "dram_mb_4"]  # fmt: skip
    table = four[four.dataflow == d0][cols]
    med1, med4 = float(table.peak_share_1.median()), float(table.peak_share_4.median())
    rest = first.memory_bound_layers < int((four.dataflow == d0).sum())
    others = f", the other layers {first.other_speedup:.2f}x" if rest else ""
    peak_gbps = _base().replace({"memory.dram": "ddr4-3200"}).memory.dram_config().peak_gbps
    ws_line = ""
    if "ws" in dfs:
        ws_line = (f"WS moves {mb('ddr4-3200', 'ws', 1):.1f} MB from DDR4-3200 on one array and "
                   f"{mb('ddr4-3200', 'ws', 4):.1f} MB on four: each array has its own 256 KiB output buffer, "
                   "so a quarter of a layer's outputs fits where the whole did not and fewer partial sums "
                   "spill to DRAM. That gain in SRAM, not in PEs, is why WS keeps most of its speed-up on "
                   "a shared memory, and why its private-memory speed-up below exceeds 4.")
    note = "\n**Quick mode**: ResNet-18 on 1 and 4 arrays, WS and OS, compute-only and DDR4-3200.\n" if quick else ""
    return f"""
## Scale-out: 1, 4 and {big} arrays sharing one memory
{note}
Each system is that many copies of the 32x32 array above, each with its own operand SRAMs, all
behind one memory (`simulator/nm_array/system.py`); the mapper splits every layer along M or N
over 1, 2, 4, ... or all of the arrays, whichever finishes the layer first
(`dataflow/nm_array/partition.py`; batch 1, so no layer pipeline). Decisions of ours: a layer
ends when its slowest array does (a barrier: the next layer reads all of its outputs); while a
layer runs, its active arrays share the memory fairly (each sees it `active` times slower), exact
when all stream at once and pessimistic for the part that finishes first.

{_md_table(view)}

![scale-out](scaleout.png)

**No memory limit**: {ideal_line}. What is lost is partitioning alone: a layer's M or N is cut
into tiles of whole array rows or columns, so a layer narrower than {big} tiles leaves arrays
idle (mean active arrays per layer on {big}: {", ".join(f"{d.upper()} {act[d]:.1f}" for d in dfs)}),
and ragged last tiles leave the critical array longer than the rest. On 4 arrays the loss is
under {100 * (1 - min(sp("compute-only", d, 4) for d in dfs) / 4):.0f}%;
`tests/simulator/nm_array/test_system.py` holds the exact ideal (one quarter of the cycles)
where the split is even.

**Shared memory**: the speed-up is what the memory lets through. A layer that keeps one array's
DRAM busy cannot go faster on four arrays sharing that DRAM unless its traffic shrinks; more
arrays then only add contention. {ws_line}

### {net}: 4 arrays against 1, layer by layer (DDR4-3200)

Three more runs split each layer's speed-up into its causes: the same layers with no memory
limit (`partition_speedup`: partitioning alone), with a private DDR4-3200 per array
(`private_speedup`: partitioning, four times the SRAM and four memories), and the real shared
one; `contention` = shared / private cycles, so `speedup = private_speedup / contention`.
`peak_share` is the share of the DDR4-3200 peak rate ({peak_gbps:.1f} GB/s) the layer's traffic uses over
its cycles plus its exposed first fetch and last write-back. Network totals:

{_md_table(summ)}

{first.dataflow.upper()}: {first.speedup:.2f}x on 4 arrays where partitioning alone would give
{first.partition_speedup:.2f}x and private memories {first.private_speedup:.2f}x; sharing one
DDR4-3200 costs a factor {first.contention:.2f}. {int(first.memory_bound_layers)} layers use at least 80% of the
peak rate on the shared memory ({100 * first.memory_bound_time_share:.0f}% of the 4-array time); they speed up
{first.memory_bound_speedup:.2f}x (from less traffic and from the single array's unused
headroom){others}. A single array already uses {100 * med1:.0f}% of the peak on the median
layer (`peak_share_1`; four arrays:
{100 * med4:.0f}%), so the shared DRAM, not the partition, is the limit: four arrays need a
memory about four times as fast (the HBM2 rows above) to approach their partitioned time.
Every {first.dataflow.upper()} layer (all dataflows in `four_arrays_layers.csv`):

{_md_table(table)}

## Not in this report

The fair-share memory model above is pessimistic for a layer's first-finishing part
and for latency-bound transfers; a per-request run of several arrays' interleaved streams
through one controller would remove that approximation.
"""


def _maps_markdown(maps: pd.DataFrame, lp: pd.DataFrame) -> str:
    """The address-map section and the LPDDR4X datasheet check, from the run's own numbers."""
    lines = ["", "## The DRAM address map", "",
             "ResNet-18, plain schedules, fold form, under our map and Ramulator 2's two linear maps by name "
             "(`simulator/dram/config.py: ADDRESS_MAPS`, fields from the most significant bit). `vs_ours`: cycles "
             "over ours; `memory.address_map` is a sweep axis (`examples/sweeps/nm_array_address_map.yaml` runs "
             "the same with the mapper).", "", _md_table(maps), ""]  # fmt: skip
    for name in MAPS[1:]:
        m = maps[maps.address_map == name]
        lines.append(f"- `{name}`: from {100 * (m.vs_ours.min() - 1):+.1f}% to {100 * (m.vs_ours.max() - 1):+.1f}% "
                     "cycles against ours.")  # fmt: skip
    lines += ["", "Ours puts consecutive bursts on alternating channels and bank groups below the column, so a tile's "
              "stream keeps every bank group's row open and never waits on tCCD_L; `ChRaBaRoCo` puts the channel on "
              "top, so a tile streams through one channel.", "",
              "## LPDDR4X-4266 against its datasheet", "",
              "Ramulator 2.1 has no LPDDR4 model, so LPDDR4X is checked against JESD209-4-1 instead: the per-request "
              "controller's idle latencies against the datasheet's timing sums, and a 64 Ki-burst sequential read "
              "against the peak (`tests/simulator/dram/test_controller.py` asserts the same).", "",
              _md_table(lp.rename(columns={"datasheet_ns": "datasheet (ns or GB/s)", "model_ns": "model"})),
              ""]  # fmt: skip
    return "\n".join(lines)


def ramulator_check() -> pd.DataFrame:
    """The per-request controller against Ramulator 2's committed goldens (through the library)."""
    from simulator.api import dram_against_ramulator

    return dram_against_ramulator()


def _ramulator_markdown(ram: pd.DataFrame) -> str:
    """Every golden trace side by side: cycles, bandwidth, row-hit rate, error (wall times vary
    from run to run, so they stay out of the committed table: benchmarks/bench_memory.py)."""
    t = ram.assign(ramulator_gbps=ram.ramulator_gbps.round(2), bandwidth_gbps=ram.bandwidth_gbps.round(2),
                   ramulator_row_hit_rate=ram.ramulator_row_hit_rate.round(3), row_hit_rate=ram.row_hit_rate.round(3),
                   error_pct=ram.error_pct.map(lambda v: f"{v:+.2f}%"))  # fmt: skip
    t = t.drop(columns=["wall_s", "ramulator_wall_s"])
    worst = ram.loc[ram.error_pct.abs().idxmax()]
    lines = ["", "## The per-request controller against Ramulator 2", "",
             f"{len(ram)} traces on DDR4-3200 and HBM2 (synthetic streams, and ResNet-18 layers under each dataflow "
             "from the array's own request streams), each run through Ramulator 2 (CMU-SAFARI/ramulator2, commit "
             "c5b1c3a; FR-FCFS row-hit-first, 32/32 read/write buffers, 0.2/0.8 write watermarks, all-bank refresh, "
             "the HBM12 controller for HBM2) by our completion driver (`tools/ramulator/driver.cpp`: the trace "
             "once, until every request has completed) with each request's decoded channel, rank or pseudo "
             "channel, bank group, bank and row, so both place it alike. Goldens: "
             "`simulator/dram/data/ramulator2_goldens.csv`; `tests/simulator/dram/test_ramulator_goldens.py` holds "
             "every trace within 3%.", "",
             f"Worst: {worst.dram} `{worst.trace}` at {worst.error_pct:+.2f}%; the median absolute error is "
             f"{ram.error_pct.abs().median():.2f}%. Where the two differ it is the schedulers' order within the "
             "queue: Ramulator's FRFCFS-RowHit issues the oldest ready command (an older request's ACT can go "
             "before a younger row hit), ours serves row hits first (activated requests first), and ours decides "
             "the read/write mode every cycle where Ramulator decides it when it reaches its read/write buffers.",
             "", _md_table(t), ""]  # fmt: skip
    return "\n".join(lines)


def _controller_change_markdown() -> str:
    """What the read/write-queue controller (issue 31) moved in this study, from the record made
    when it landed (reports/data/controller_change_issue31.csv, by tools/controller_change.py: the
    reference before the change against the one after; the single-queue controller is gone, so
    the record is data, not a rerun)."""
    from simulator.common.files import package_data

    ch = pd.read_csv(package_data("reports", "data", "controller_change_issue31.csv"))
    summary = ch.groupby(["network", "memory", "why"]).agg(layers=("name", "size"),
                                                          largest=("change_pct", "max")).reset_index()  # fmt: skip
    summary["largest"] = summary["largest"].map(lambda v: f"+{v:.1f}%")
    lines = ["", "## What the read/write-queue controller moved (issue 31)", "",
             "The per-request controller became Ramulator 2's kind (read and write queues, write draining between "
             "0.2 and 0.8 of the write queue, a request whose ACT has issued served first) and the fold form "
             "followed it. "
             f"{len(ch)} layer runs of this study moved by more than 2%, all of them up (slower): the single queue "
             "had been optimistic on write traffic (the within-3% Ramulator check above is on the new one). Why, "
             "read off each layer's own request batches:", "",
             "- **drain**: at least a tenth of its batches hold more writes on a channel than the high watermark "
             "beside reads; the controller drains them while the reads wait (two more bus turnarounds and, where a "
             "bank's reads and writes want different rows, two more row switches);",
             "- **reads first**: at least a tenth of its batches write a bank in another row than they read it; the "
             "reads go first (read mode), so the writes reopen their row afterwards instead of being served first "
             "as hits to the row the previous batch left open;",
             "- **bank chain** (fold form): the bank chain now counts tRP before the first activation of a bank "
             "that held a row;",
             "- **writes wait for reads** (per-request): a batch's writes wait until its reads are activated.", "",
             _md_table(summary), "",
             "Every moved layer (`change_pct`: cycles after over before; `batches`, `drain_batches`, "
             "`reads_first_batches`: the layer's DRAM batches and those showing each mechanism):", "",
             _md_table(ch), ""]  # fmt: skip
    return "\n".join(lines)


def _banks_markdown(b: pd.DataFrame) -> str:
    """The banked-SRAM section: cycles against conflict-free buffers, and what bounds each point."""
    b = b.copy()
    b["geometry"] = [("conflict-free" if r.banks == 0 else f"{r.banks}x{r.width_words}") for r in b.itertuples()]
    geoms = list(dict.fromkeys(b.geometry))
    tabs = []
    for mem, g in b.groupby("memory", sort=False):
        t = g.pivot_table(index=["dataflow", "layout"], columns="geometry", values="vs_conflict_free", sort=False)
        t = t.reindex(columns=[c for c in geoms if c in t.columns and c != "conflict-free"])
        free = g[g.banks == 0].set_index("dataflow").cycles
        view = t.reset_index()
        view = view[view.layout != "any"]
        for c in view.columns[2:]:
            view[c] = view[c].map(lambda v: f"{v:.2f}x")
        view.insert(2, "conflict-free cycles", [f"{free[d]:,}" for d in view.dataflow])
        tabs.append(f"**{mem}** (cycles relative to conflict-free buffers on the same memory; columns: banks x "
                    f"words per line):\n\n{_md_table(view)}\n")

    b["bound"] = point_bound(b.dram_bound_share, b.sram_bound_share)
    ddr = b[(b.memory == "ddr4-3200") & (b.banks > 0)]
    counts = ddr.bound.value_counts().to_dict()
    nhwc_os = b[(b.memory == "compute-only") & (b.dataflow == "os") & (b.layout == "nhwc") & (b.banks == 32)]
    fixed_os = b[(b.memory == "compute-only") & (b.dataflow == "os") & (b.layout == "per dataflow") & (b.banks == 32)]
    odd = b[(b.memory == "compute-only") & (b.dataflow == "os") & (b.layout == "nhwc") & (b.banks == 37)]
    mis = b[(b.memory == "compute-only") & (b.dataflow == "ws") & (b.banks == 8) & (b.width_words == 4)
            & (b.layout == "nhwc")]  # fmt: skip
    lines = [
        "",
        "## Banked operand SRAM",
        "",
        "Our model (`simulator/nm_array/sram_banks.py`): each operand buffer has `sram_banks` banks of",
        "`buffers.bank_width_words`-word lines with one port each; the array's edge makes one unskewed access per",
        "buffer per cycle (WS: a streamed row of X, a loaded row of W, a row of outputs; OS: a column of X",
        "per K position, a row of W; IS: a column of X per loaded K position, a column of W and of Y), an",
        "access costs the most lines it needs from one bank, and a fold waits for its slowest buffer. The",
        "layout names the contiguous dimension of each operand: `nhwc` stores X with K contiguous (an im2col",
        "row), W and Y with N contiguous, for every dataflow; `per dataflow` stores each operand along the",
        "dimension its dataflow reads (WS: k/n/n, OS: p/n/n, IS: p/k/p). ResNet-18, 32x32, every layer;",
        "`banks.csv` has every point.",
        "",
        *tabs,
        "",
    ]
    if not nhwc_os.empty and not fixed_os.empty:
        lines += [
            "OS on `nhwc` buffers reads a column of X whose 32 words are K apart; ResNet-18's K is a multiple of",
            "32 on every layer but the stem, so every word of a column is in the same bank and a 32-bank buffer",
            f"runs {nhwc_os.vs_conflict_free.iloc[0]:.2f}x slower than a conflict-free one. 37 banks (a prime: any",
            "stride that is not a multiple of 37 puts 32 words in 32 different banks, at the price of a modulo-37",
            f"bank decoder) bring it to {odd.vs_conflict_free.iloc[0]:.2f}x" if not odd.empty else "",
            f"and storing X P-contiguous (`per dataflow`) to {fixed_os.vs_conflict_free.iloc[0]:.2f}x. The",
            "conflict-free model's dataflow ranking holds only with a layout that suits each dataflow.",
            "",
        ]
    if not mis.empty:
        lines += [
            "WS on 8 banks of 4-word lines: a 32-word row of X needs 8 lines when it starts on a line boundary",
            "and 9 (two in one bank) when it does not; ResNet-18's stem (K = 147) misaligns most rows:",
            f"{mis.vs_conflict_free.iloc[0]:.3f}x.",
        ]
    lines += [
        "",
        f"On DDR4-3200 the {len(ddr)} banked points are " + ", ".join(f"{v} {k}-bound" for k, v in counts.items())
        + " (at least half of their cycles in layers bound by it; a layer is SRAM-bound when its bank-conflict",
        "stalls are at least its compute and more than its memory stalls). Bank-conflict stalls stretch the",
        "folds, so they also widen the memory's windows: a point's DRAM stalls fall as its SRAM stalls rise.",
        "",
        "Not modelled: SCALE-Sim v3's multi-dimensional intraline layouts (its `[layout]` keys are read and",
        "ignored), read-modify-write of partial sums, and conflicts in the per-cycle model and the RTL",
        "(both refuse `sram_banks > 0`).",
        "",
    ]
    return "\n".join(lines)
