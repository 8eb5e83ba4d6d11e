"""``sparsim reproduce dataflows``: WS, OS, IS and the mapper on the N:M array (issue 14).

Writes Markdown, PNG and CSV into one directory (committed as ``reports/reference/dataflows/``).
Every number in the text is computed here in the same run, from the fold model (exact against
SCALE-Sim v3 for plain WS/OS/IS, see ``tests/simulator/nm_array/test_scalesim_*.py``) and the
mapper (:mod:`dataflow.nm_array.mapper`).

The study (our choices, the SCALE-Sim v3 paper's exact setup is not available to us):

- networks: ResNet-18 and MobileNet-v2 (batch 1, 224x224) and one BERT-base encoder layer
  (sequence 128), from the committed zoo traces;
- arrays: 32x32 (128/128/256 KiB ifmap/filter/ofmap buffers) and 128x128 (512/512/1024 KiB);
- timing: SCALE-Sim's (no weight double buffering) and ours (double-buffered);
- memory: compute-only (unlimited DRAM bandwidth, SCALE-Sim's CALC mode) and with DRAM stalls at
  16 B/cycle (about one DDR4-2400 channel at 1 GHz);
- mappings: the plain schedules of WS, OS and IS, the mapper restricted to WS (tiling and loop
  order only) and the mapper over all three dataflows (a reconfigurable array), objective cycles.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd

from reports.figures import subplots
from reports.runs import fields_of, run_labelled
from simulator.common.bounds import utilization
from simulator.common.outputs import atomic_output_dir
from simulator.nm_array.config import ArrayConfig, Buffers, PEArray
from workloads.zoo import load_zoo_trace

__all__ = ["reproduce_dataflows", "ARRAYS", "run_study", "PAPER", "points", "workloads"]

ARRAYS = {
    "32x32": ArrayConfig(pe=PEArray(rows=32, cols=32, dataflows=("ws", "os", "is")),
                         buffers=Buffers(ifmap_kb=128, filter_kb=128, ofmap_kb=256), name="32x32"),
    "128x128": ArrayConfig(pe=PEArray(rows=128, cols=128, dataflows=("ws", "os", "is")),
                           buffers=Buffers(ifmap_kb=512, filter_kb=512, ofmap_kb=1024), name="128x128"),
}  # fmt: skip
DRAM_BW = 16.0
#: mapping label -> the settings it stands for (the mapper runs on an array restricted to its dataflows)
MAPPINGS = {
    "ws": {"mapping": "ws"},
    "os": {"mapping": "os"},
    "is": {"mapping": "is"},
    "mapper ws": {"pe.dataflow": "ws", "pe.dataflows": ["ws"], "mapping": "auto"},
    "mapper ws|os|is": {"pe.dataflow": "ws", "pe.dataflows": ["ws", "os", "is"], "mapping": "auto"},
}
TIMINGS = {"scalesim": False, "double-buffered": True}
MEMORIES = {"compute-only": None, "dram 16 B/cycle": DRAM_BW}
#: the SCALE-Sim v3 paper's headline dataflow comparison on ResNet-18 layers (from the issue)
PAPER = {"compute_only_ws_ahead_of_os": 0.21, "with_stalls_os_ahead_of_ws": 0.301}


def workloads(quick: bool = False) -> list[dict]:
    """The spec's workload entries: ResNet-18 and MobileNet-v2 from the zoo, and BERT-base's first
    encoder layer (its zoo trace up to ``blocks.0.ff2``) written out as a layer list."""
    bert = load_zoo_trace("bert_base")
    last = int(np.flatnonzero(bert["name"].to_numpy() == "blocks.0.ff2")[0])
    layer = bert.iloc[: last + 1]
    entries = [{"zoo": "resnet18"}, {"layers": layer.astype(object).where(layer.notna(), None).to_dict("records"),
                                     "name": "bert_base layer"}]  # fmt: skip
    if not quick:
        entries.append({"zoo": "mobilenet_v2"})
    return entries


def points(quick: bool = False) -> list[tuple[dict, dict]]:
    """(labels, settings) of every array x timing x memory x mapping."""
    arrays = {"32x32": ARRAYS["32x32"]} if quick else ARRAYS
    return [({"array": a, "timing": t, "memory": m, "mapping": mp},
             {**fields_of(cfg), "pe.weight_double_buffer": wdb, "memory.bw_bytes_per_cycle": bw, **over})
            for a, cfg in arrays.items() for t, wdb in TIMINGS.items() for m, bw in MEMORIES.items()
            for mp, over in MAPPINGS.items()]  # fmt: skip


def run_study(quick: bool = False) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(totals, per-layer rows) over networks x arrays x timing x memory x mappings."""
    totals, rows = run_labelled("nm_array", {}, points(quick), workloads(quick))
    labels = ["network", "array", "timing", "memory", "mapping"]
    pes = totals["array"].map({k: v.pes for k, v in ARRAYS.items()})
    per = rows.groupby(labels, sort=False).agg(
        psum=("dram_psum_read_bytes", "sum"), flows=("dataflow", lambda d: "/".join(sorted(set(d))))).reset_index()
    totals = totals.merge(per, on=labels, how="left", validate="one_to_one")
    tot = totals[[*labels, "cycles", "compute_cycles", "stall_cycles"]].assign(
        utilization=utilization(totals["dense_macs"], pes, totals["cycles"]),
        dram_mb=totals["dram_bytes"] / 1e6,
        psum_spill_mb=totals["psum"] / 1e6,
        energy_uj=totals["energy_pj"] / 1e6,
        dataflows_used=totals["flows"],
    )
    keep = ["name", "gemm_m", "gemm_k", "gemm_n", "count", "dataflow", "tile_p", "tile_k", "tile_n", "loop_order",
            "cycles", "stall_cycles", "dram_bytes", "energy_pj", "network", "array", "timing", "memory", "mapping"]
    ws = tot[tot.mapping == "ws"].set_index(["network", "array", "timing", "memory"])["cycles"]
    tot["vs_ws"] = tot.apply(lambda r: r.cycles / ws[(r["network"], r["array"], r["timing"], r["memory"])], axis=1)
    return tot, rows[keep]


def scalesim_own_totals(scalesim_dir: Path | None, golden_dir: Path | None) -> dict[str, int] | None:
    """SCALE-Sim 3.0.0's own ResNet-18 Total Cycles at 32x32 (its reports: WS from
    ``scalesim_dir``, OS and IS from our golden runs in ``golden_dir``), or None without them."""

    from simulator.nm_array.scalesim_reports import read_scalesim_csv

    def total(p: Path) -> int:
        return int(read_scalesim_csv(p)["Total Cycles"].sum())

    if scalesim_dir is None or golden_dir is None:
        return None
    paths = {
        "ws": Path(scalesim_dir) / "results" / "resnet18_ws32x32_COMPUTE_REPORT.csv",
        "os": Path(golden_dir) / "os32x32" / "COMPUTE_REPORT.csv",
        "is": Path(golden_dir) / "is32x32" / "COMPUTE_REPORT.csv",
    }
    if not all(p.is_file() for p in paths.values()):
        return None
    return {k: total(p) for k, p in paths.items()}


def _plot(tot: pd.DataFrame, out: Path) -> None:
    sel = tot[tot.timing == "double-buffered"]
    groups = list(dict.fromkeys(zip(sel.network, sel.array, sel.memory, strict=True)))
    fig, ax = subplots(figsize=(12, 4.5))
    width = 0.8 / len(MAPPINGS)
    for i, mp in enumerate(MAPPINGS):
        vals = [sel[(sel.network == n) & (sel.array == a) & (sel.memory == m) & (sel.mapping == mp)].vs_ws.item()
                for n, a, m in groups]  # fmt: skip
        ax.bar(np.arange(len(groups)) + i * width, vals, width, label=mp)
    ax.axhline(1.0, color="k", lw=0.8)
    ax.set_xticks(np.arange(len(groups)) + 0.4 - width / 2,
                  [f"{n}\n{a}\n{m}" for n, a, m in groups], fontsize=6)  # fmt: skip
    ax.set_ylabel("cycles / plain WS")
    ax.set_yscale("log")
    ax.set_title("dataflows and the mapper (double-buffered timing)")
    ax.legend(fontsize=7, ncol=5)
    fig.tight_layout()
    fig.savefig(out / "cycles_vs_ws.png", dpi=120)


def reproduce_dataflows(out_dir: str | Path, *, quick: bool = False, scalesim_dir: Path | None = None,
                        golden_dir: Path | None = None) -> Path:
    """Run the study and write the report into ``out_dir`` (replaced atomically). SCALE-Sim's
    own totals are quoted when ``scalesim_dir`` (its reports, ``../shared/scalesim``) and
    ``golden_dir`` (our golden SCALE-Sim runs) are given."""
    t0 = time.perf_counter()
    tot, layers = run_study(quick)
    own = scalesim_own_totals(scalesim_dir, golden_dir)
    with atomic_output_dir(out_dir, "reproduce") as tmp:
        tot.to_csv(tmp / "totals.csv", index=False)
        layers.to_csv(tmp / "layers.csv", index=False)
        _plot(tot, tmp)
        (tmp / "README.md").write_text(_markdown(tot, layers, own, quick))
    print(f"dataflows: {len(tot)} runs in {time.perf_counter() - t0:.0f} s")
    return Path(out_dir)


def _md(df: pd.DataFrame) -> str:
    cols = list(df.columns)
    lines = ["| " + " | ".join(cols) + " |", "| " + " | ".join("---" for _ in cols) + " |"]
    for row in df.itertuples(index=False):
        cells = [f"{v:,.3f}" if isinstance(v, float) else (f"{v:,}" if isinstance(v, int) else str(v)) for v in row]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _pick(tot, **key) -> pd.Series:
    sel = tot
    for k, v in key.items():
        sel = sel[sel[k] == v]
    return sel.iloc[0]


def _per_layer_ws_os(layers: pd.DataFrame) -> tuple[int, int, float, list[str], float]:
    """ResNet-18, 32x32, SCALE-Sim timing, compute-only: layers where WS beats OS, layers in all,
    the geometric mean of OS/WS cycles per layer, the WS-ahead layers' names and OS's largest lead."""
    s = layers[(layers.network == "resnet18") & (layers.array == "32x32") & (layers.timing == "scalesim")
               & (layers.memory == "compute-only")]  # fmt: skip
    ws = s[s.mapping == "ws"].set_index("name").cycles
    os_ = s[s.mapping == "os"].set_index("name").cycles.reindex(ws.index)
    ahead = ws < os_
    return (int(ahead.sum()), len(ws), float(np.exp(np.log(os_ / ws).mean())), list(ws.index[ahead]),
            float((ws / os_).max()))  # fmt: skip


def _markdown(tot: pd.DataFrame, layers: pd.DataFrame, own: dict | None, quick: bool) -> str:
    r18 = dict(network="resnet18", array="32x32", timing="scalesim")
    n_ahead, n_layers, geo, ahead_names, os_lead = _per_layer_ws_os(layers)
    c_ws = _pick(tot, **r18, memory="compute-only", mapping="ws").cycles
    c_os = _pick(tot, **r18, memory="compute-only", mapping="os").cycles
    s_ws = _pick(tot, **r18, memory="dram 16 B/cycle", mapping="ws").cycles
    s_os = _pick(tot, **r18, memory="dram 16 B/cycle", mapping="os").cycles
    s_ws_st = _pick(tot, **r18, memory="dram 16 B/cycle", mapping="ws").stall_cycles
    s_os_st = _pick(tot, **r18, memory="dram 16 B/cycle", mapping="os").stall_cycles
    os_vs_ws_c = 1 - c_os / c_ws
    os_vs_ws_s = 1 - s_os / s_ws
    agree = "The direction agrees with the paper's;" if os_vs_ws_s > 0 else "The paper has OS ahead;"
    mapper = tot[tot.mapping == "mapper ws|os|is"]
    plain = tot[tot.mapping.isin(["ws", "os", "is"])]
    best_plain = plain.groupby(["network", "array", "timing", "memory"]).cycles.min()
    gain = mapper.apply(lambda r: best_plain[(r["network"], r["array"], r["timing"], r["memory"])] / r.cycles, axis=1)
    cmax = mapper[mapper.memory == "compute-only"].psum_spill_mb.max()
    smax = mapper[mapper.memory != "compute-only"].psum_spill_mb.max()
    own_line = ""
    if own:
        own_line = (
            f"SCALE-Sim 3.0.0 itself, on its own ResNet-18 topology (no padding) at 32x32 with 64 KiB buffers, "
            f"reports {own['ws']:,} (WS), {own['os']:,} (OS) and {own['is']:,} (IS) Total Cycles: OS "
            f"{(1 - own['os'] / own['ws']) * 100:.1f}% fewer than WS. Our fold model reproduces those three "
            f"reports exactly, layer by layer (tests/simulator/nm_array/test_scalesim_*.py).\n"
        )
    view = tot[["network", "array", "timing", "memory", "mapping", "cycles", "vs_ws", "stall_cycles", "dram_mb",
                "psum_spill_mb", "energy_uj", "dataflows_used"]]  # fmt: skip
    return f"""# Dataflows and the mapper: WS, OS, IS and per-layer mapping on the N:M array

Generated by `sparsim reproduce dataflows{" --quick" if quick else ""}`. Every number
below comes from this run (CSV: `totals.csv`, per layer `layers.csv`; figure `cycles_vs_ws.png`).

## Set-up (ours)

Arrays 32x32 (128/128/256 KiB ifmap/filter/ofmap) and 128x128 (512/512/1024 KiB), 1-byte
operands, 4-byte partial sums. Timing: SCALE-Sim's (`scalesim`, no weight double buffering:
exactly its WS/OS/IS arithmetic) and ours (`double-buffered`). Memory: `compute-only` (unlimited
DRAM bandwidth, SCALE-Sim's CALC mode) and `dram 16 B/cycle` (our analytical double-buffered
memory model, stalls included). Networks: ResNet-18 and MobileNet-v2 at batch 1, one BERT-base
encoder layer at sequence 128 (zoo traces). Mappings: plain WS, OS, IS schedules (one array fold
per SRAM tile, SCALE-Sim's loop order), `mapper ws` (tiling and loop order only) and
`mapper ws|os|is` (dataflow too, per layer), objective cycles.

## The SCALE-Sim v3 paper's claim, and ours

The paper reports WS {PAPER["compute_only_ws_ahead_of_os"] * 100:.0f}% ahead of OS on compute-only ResNet-18
layers, and OS {PAPER["with_stalls_os_ahead_of_ws"] * 100:.1f}% ahead once DRAM stalls count.

- Compute-only, ResNet-18, 32x32, SCALE-Sim timing: WS {c_ws:,} cycles, OS {c_os:,}: OS is
  **{os_vs_ws_c * 100:.1f}% {"ahead of" if os_vs_ws_c > 0 else "behind"}** WS. We do not reproduce "WS 21% ahead".
  {own_line}
  Per layer the picture is mixed: WS is ahead on {n_ahead} of {n_layers} layers ({", ".join(ahead_names)}),
  the geometric mean of OS/WS cycles per layer is {geo:.3f}. Why: a WS fold costs 2R + C - 2 fill
  and drain plus T = Ho x Wo streamed rows, for each of ceil(K/R) x ceil(N/C) folds; an OS fold
  costs R + C - 2 plus the K reduction steps, for each of ceil(T/R) x ceil(N/C) output tiles. The
  early layers (T = 12,544 or 3,136 output pixels, K = 147 or 576) favour WS; the late ones
  (T = 49 or 196 with K = 2,304 to 4,608) favour OS by up to {os_lead:.1f}x, and they hold most of the cycles. The
  paper's exact layer selection and array are not in the material we have; a selection weighted
  to early layers would show WS ahead, the whole network does not (see `layers.csv`).
- With DRAM stalls (16 B/cycle), same array: WS {s_ws:,} cycles ({s_ws_st:,} stall), OS {s_os:,}
  ({s_os_st:,} stall): OS **{os_vs_ws_s * 100:.1f}% {"ahead of" if os_vs_ws_s > 0 else "behind"}** WS.
  {agree} the size differs because the memory models differ: SCALE-Sim v3 gets its stalls
  from Ramulator on its address traces; ours is an analytical double-buffered model
  (simulator/nm_array/memory.py) in which a plain WS schedule re-fetches the ifmap for every column
  fold and spills partial sums when a layer's accumulators exceed half the output buffer.

## The mapper

Over every case, the mapper over all three dataflows is never slower than the best plain dataflow
(it has all three plain schedules in its space) and is {gain.min():.2f}x to {gain.max():.2f}x faster than it
(median {gain.median():.2f}x). Its gains come from tiling (an SRAM tile holds many array folds, so an
operand fetched once is reused across them, and K tiles sized to keep partial sums on chip) and
from choosing the dataflow per layer (`dataflows_used`). Compute-only with SCALE-Sim timing the
gain is smallest: there only fold shapes matter, and tiling cannot shorten a fold. Compute-only,
a partial-sum spill costs no cycles, so the cycles objective may keep one (`psum_spill_mb`: at
most {cmax:.1f} MB here); with the DRAM channel it costs stalls, and the mapper's choices spill at
most {smax:.1f} MB. An objective that counts DRAM traffic (`--objective energy` or `dram_bytes`)
weighs spills in both modes.

## All totals

{_md(view)}
"""
