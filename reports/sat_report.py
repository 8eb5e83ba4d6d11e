"""``sparsim reproduce sat``: the N:M training (BDWP + SAT) reproduction report.

Writes Markdown, PNG and CSV into one directory (committed as ``reports/reference/sat/``). Every
number in the text is computed by this module in the same run: simulated training steps of zoo
models on a SAT-like array, real training runs on scikit-learn's digits, and N:M statistics of
the real all-MiniLM-L6-v2 weights.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd

from reports.figures import subplots
from reports.runs import fields_of, run_labelled
from simulator.common.outputs import atomic_output_dir
from simulator.nm_array.config import ArrayConfig, Buffers, Memory, PEArray
from simulator.sat.config import OPTION_NAMES

__all__ = ["SAT_ARRAY", "MODELS", "PATTERNS", "reproduce_sat"]

# Our SAT-like array (the paper's FPGA configuration is not in what is available to us).
SAT_ARRAY = ArrayConfig(
    pe=PEArray(rows=32, cols=32, word_bytes=1, psum_bytes=4, supported_m=(1, 2, 4, 8), weight_double_buffer=True),
    buffers=Buffers(ifmap_kb=512, filter_kb=512, ofmap_kb=1024),
    memory=Memory(bw_bytes_per_cycle=None),
    clock_ghz=0.2,  # the 200 MHz the SAT paper's FPGA runs at
    name="sat_like_32x32",
)
MODELS = ("resnet18", "resnet50", "vgg16", "mobilenet_v2", "bert_base", "vit_b16")
PATTERNS = ((1, 4), (2, 4), (2, 8), (1, 8), (4, 8))
PUBLISHED_2_8 = 1.75
BATCH = 32


def ideal_bound(n: int, m: int) -> float:
    """Training-step speed-up if FF, BP, WU cost the same and FF, BP run at density N/M."""
    return 3.0 / (2.0 * n / m + 1.0)


ALL_ON = dict.fromkeys(OPTION_NAMES, True)


def _steps(models, cfg: ArrayConfig, labelled: list[tuple[dict, dict]]) -> pd.DataFrame:
    """Every (model, labelled training step) through one in-memory sweep of the ``sat`` block at
    batch :data:`BATCH`: its totals."""
    labelled = [(labels, {"batch": BATCH, **settings}) for labels, settings in labelled]
    totals, _ = run_labelled("sat", fields_of(cfg), labelled, [{"zoo": m} for m in models], workload_label="model")
    return totals


def _by_pass(s) -> dict[str, int]:
    return {p: int(s[f"cycles_{p.lower()}"]) for p in ("FF", "BP", "WU")}


def _step_label(scheme: str, n: int, m: int, options: str = "all") -> tuple[dict, dict]:
    opts = ALL_ON if options == "all" else _variants()[options]
    return ({"scheme": scheme, "nm": f"{n}:{m}", "options": options},
            {"scheme": scheme, "nm": f"{n}:{m}", **opts})  # fmt: skip


def _variants() -> dict[str, dict[str, bool]]:
    """All options, none, and each one off."""
    out = {"all": dict(ALL_ON), "none": dict.fromkeys(OPTION_NAMES, False)}
    for name in OPTION_NAMES:
        out[f"no {name}"] = {**ALL_ON, name: False}
    return out


def speedups(models=MODELS, patterns=PATTERNS, cfg: ArrayConfig = SAT_ARRAY) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Speed-up of a BDWP step over a dense step (all options on), and the per-pass breakdown."""
    steps = _steps(models, cfg, [_step_label("dense", 1, 1)] + [_step_label("bdwp", n, m) for n, m in patterns])
    rows, passes = [], []
    for model in models:
        mine = steps[steps.model == model]
        d = mine[mine.scheme == "dense"].iloc[0]
        for pass_, cyc in _by_pass(d).items():
            passes.append({"model": model, "scheme": "dense", "nm": "1:1", "pass": pass_, "cycles": cyc})
        for n, m in patterns:
            s = mine[(mine.scheme == "bdwp") & (mine.nm == f"{n}:{m}")].iloc[0]
            rows.append(
                {
                    "model": model,
                    "nm": f"{n}:{m}",
                    "dense_cycles": int(d["cycles"]),
                    "bdwp_cycles": int(s["cycles"]),
                    "speedup": d["cycles"] / s["cycles"],
                    "ideal_bound": ideal_bound(n, m),
                    "dense_energy_mj": d["energy_pj"] * 1e-9,
                    "bdwp_energy_mj": s["energy_pj"] * 1e-9,
                    "dense_gops_per_w": d["gops_per_watt"],
                    "bdwp_gops_per_w": s["gops_per_watt"],
                }
            )
            for pass_, cyc in _by_pass(s).items():
                passes.append({"model": model, "scheme": "bdwp", "nm": f"{n}:{m}", "pass": pass_, "cycles": cyc})
    return pd.DataFrame(rows), pd.DataFrame(passes)


def ablation(models=MODELS, nm=(2, 8), cfg: ArrayConfig = SAT_ARRAY) -> pd.DataFrame:
    """Step cycles with all options, each one off, and none; speed-up vs dense with the same options."""
    variants = list(_variants())
    steps = _steps(models, cfg, [_step_label(scheme, *(nm if scheme == "bdwp" else (1, 1)), options=v)
                                 for v in variants for scheme in ("bdwp", "dense")])  # fmt: skip
    rows = []
    for model in models:
        for label in variants:
            sel = steps[(steps.model == model) & (steps.options == label)]
            s, d = sel[sel.scheme == "bdwp"].iloc[0], sel[sel.scheme == "dense"].iloc[0]
            rows.append({"model": model, "options": label, "bdwp_cycles": int(s["cycles"]),
                         "dense_cycles": int(d["cycles"]), "speedup": d["cycles"] / s["cycles"]})  # fmt: skip
    return pd.DataFrame(rows)


def memory_bound(models=MODELS, nm=(2, 8), bw: float = 64.0) -> pd.DataFrame:
    cfg = SAT_ARRAY.replace({"memory.bw_bytes_per_cycle": bw})
    steps = _steps(models, cfg, [_step_label("bdwp", *nm), _step_label("dense", 1, 1)])
    rows = []
    for model in models:
        mine = steps[steps.model == model]
        s, d = mine[mine.scheme == "bdwp"].iloc[0], mine[mine.scheme == "dense"].iloc[0]
        rows.append({"model": model, "dram_bytes_per_cycle": bw, "speedup": d["cycles"] / s["cycles"]})
    return pd.DataFrame(rows)


def _plots(sp: pd.DataFrame, passes: pd.DataFrame, out: Path) -> None:
    fig, ax = subplots(figsize=(9, 4))
    models = list(dict.fromkeys(sp.model))
    pats = list(dict.fromkeys(sp.nm))
    width = 0.8 / len(pats)
    for i, nm in enumerate(pats):
        vals = [sp[(sp.model == mo) & (sp.nm == nm)].speedup.item() for mo in models]
        ax.bar(
            np.arange(len(models)) + i * width,
            vals,
            width,
            label=f"{nm} (ideal {ideal_bound(*map(int, nm.split(':'))):.2f})",
        )
    ax.axhline(PUBLISHED_2_8, color="k", ls="--", lw=1, label="published SAT 2:8 (1.75x)")
    ax.set_xticks(np.arange(len(models)) + 0.4 - width / 2, models)
    ax.set_ylabel("training-step speed-up over dense")
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(out / "speedup.png", dpi=120)

    fig, ax = subplots(figsize=(9, 4))
    sel = passes[(passes.scheme == "dense") | (passes.nm == "2:8")]
    labels, bottoms = [], None
    piv = sel.pivot_table(index=["model", "scheme"], columns="pass", values="cycles", aggfunc="sum").fillna(0)
    piv = piv.reindex([(mo, sch) for mo in models for sch in ("dense", "bdwp")])
    norm = piv.div(
        piv.xs("dense", level="scheme").reindex(piv.index.get_level_values(0)).sum(axis=1).to_numpy(), axis=0
    )
    bottoms = np.zeros(len(norm))
    for pass_ in ("FF", "BP", "WU"):
        ax.bar(range(len(norm)), norm[pass_], bottom=bottoms, label=pass_)
        bottoms += norm[pass_].to_numpy()
    labels = [f"{mo}\n{sch}" for mo, sch in norm.index]
    ax.set_xticks(range(len(norm)), labels, fontsize=6)
    ax.set_ylabel("step cycles / dense step")
    ax.set_title("per-pass breakdown, BDWP 2:8 vs dense")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "passes.png", dpi=120)


def reproduce_sat(out_dir: str | Path, *, quick: bool = False) -> Path:
    """Run everything and write the report into ``out_dir`` (replaced atomically)."""
    from workloads.train_digits import accuracy_table
    from workloads.weight_stats import load_safetensors, minilm_weights_path, nm_weight_stats

    t0 = time.perf_counter()
    models = MODELS[:2] if quick else MODELS
    sp, passes = speedups(models)
    abl = ablation(models)
    mem = memory_bound(models)
    acc = accuracy_table(seeds=(0,) if quick else (0, 1, 2), epochs=5 if quick else 40)
    stats = nm_weight_stats(load_safetensors(minilm_weights_path()))
    with atomic_output_dir(out_dir, "reproduce") as tmp:
        sp.to_csv(tmp / "speedup.csv", index=False)
        passes.to_csv(tmp / "passes.csv", index=False)
        abl.to_csv(tmp / "ablation.csv", index=False)
        mem.to_csv(tmp / "memory_bound.csv", index=False)
        acc.drop(columns=["train_seconds"]).to_csv(tmp / "accuracy.csv", index=False)  # no wall times
        stats.to_csv(tmp / "minilm_nm_stats.csv", index=False)
        _plots(sp, passes, tmp)
        (tmp / "README.md").write_text(_markdown(sp, passes, abl, mem, acc, stats, quick))
    print(f"sat: {len(sp) + len(abl) + len(mem)} comparisons in {time.perf_counter() - t0:.0f} s")
    return Path(out_dir)


def _md_table(df: pd.DataFrame, floatfmt: str = ".2f") -> str:
    cols = list(df.columns)
    lines = ["| " + " | ".join(cols) + " |", "| " + " | ".join("---" for _ in cols) + " |"]
    for row in df.itertuples(index=False):
        cells = [
            format(v, floatfmt) if isinstance(v, float) else (f"{v:,}" if isinstance(v, int) else str(v)) for v in row
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _markdown(sp, passes, abl, mem, acc, stats, quick) -> str:
    cfg = SAT_ARRAY
    sram = f"{cfg.buffers.ifmap_kb:g}/{cfg.buffers.filter_kb:g}/{cfg.buffers.ofmap_kb:g}"
    sp_wide = sp.pivot(index="model", columns="nm", values="speedup").reindex(list(dict.fromkeys(sp.model)))
    sp_wide = sp_wide[[f"{n}:{m}" for n, m in PATTERNS]].reset_index()
    bound_row = pd.DataFrame(
        [{"model": "ideal bound 3/(2N/M+1)", **{f"{n}:{m}": ideal_bound(n, m) for n, m in PATTERNS}}]
    )
    sp_wide = pd.concat([sp_wide, bound_row], ignore_index=True)
    at28 = sp[sp.nm == "2:8"]
    mean28 = at28.speedup.mean()
    cnn = at28[at28.model.isin(["resnet18", "resnet50", "vgg16"])]
    cnn_text = f"{cnn.speedup.mean():.2f}x over the CNNs {', '.join(cnn.model)}" if len(cnn) else "no CNN in this run"
    pp = (
        passes[(passes.nm.isin(["1:1", "2:8"]))]
        .pivot_table(index=["model", "scheme"], columns="pass", values="cycles", aggfunc="sum")
        .reset_index()
    )
    for c in ("FF", "BP", "WU"):
        pp[c] = pp[c].astype(np.int64)
    abl_wide = abl.pivot(index="model", columns="options", values="speedup").reindex(list(dict.fromkeys(abl.model)))
    abl_cycles = abl.pivot(index="model", columns="options", values="bdwp_cycles").reindex(abl_wide.index)
    abl_rel = (abl_cycles.div(abl_cycles["all"], axis=0)).reset_index()
    energy = sp[sp.nm == "2:8"][["model", "dense_energy_mj", "bdwp_energy_mj", "dense_gops_per_w", "bdwp_gops_per_w"]]
    acc_sum = acc.groupby(["scheme", "nm"], sort=False).test_accuracy.agg(["mean", "std", "count"]).reset_index()
    acc_sum["mean"] *= 100
    acc_sum["std"] = (acc_sum["std"].fillna(0.0)) * 100
    dense_acc = acc_sum[acc_sum.scheme == "dense"]["mean"].item()
    b28 = acc_sum[(acc_sum.scheme == "bdwp") & (acc_sum.nm == "2:8")]["mean"].item()
    st = stats.groupby("nm")[["ff_kept", "bp_kept", "gaussian_kept"]].mean().reset_index()
    mem_note = ", ".join(f"{r.model} {r.speedup:.2f}x" for r in mem.itertuples())
    above = [r.model for r in mem.itertuples() if r.speedup > ideal_bound(2, 8)]
    mem_expl = (
        f"{', '.join(above)} exceed the compute-bound ideal of {ideal_bound(2, 8):.2f}x: their dense step stalls on "
        "weight traffic, which N:M compresses (values plus 3-bit indices), so sparsity also removes stall cycles."
        if above
        else "None exceeds the compute-bound ideal: activation traffic, which N:M does not compress, dominates."
    )
    diff = b28 - dense_acc
    spread = float(acc_sum[acc_sum.scheme.isin(["dense", "bdwp"]) & acc_sum.nm.isin(["1:1", "2:8"])]["std"].max())
    within = abs(diff) <= spread
    acc_text = (
        f"BDWP 2:8 is {abs(diff):.2f} points {'below' if diff < 0 else 'above'} dense "
        f"({b28:.2f}% vs {dense_acc:.2f}%), "
        + (f"within the seeds' spread (standard deviation up to {spread:.2f} points): no loss we can resolve"
           if within else f"more than the seeds' spread (standard deviation up to {spread:.2f} points)")
    )  # fmt: skip
    heavier = (st.ff_kept > st.gaussian_kept).all() and (st.bp_kept > st.gaussian_kept).all()
    weights_text = (
        "The trained weights keep more magnitude than Gaussian ones in both directions at every pattern: they are "
        "heavier-tailed, which favours magnitude N:M pruning."
        if heavier
        else "The trained weights do not keep more magnitude than Gaussian ones at every pattern."
    )
    abl_mem = ablation(list(dict.fromkeys(abl.model)), cfg=SAT_ARRAY.replace({"memory.bw_bytes_per_cycle": 64.0}))
    abl_mem_rel = abl_mem.pivot(index="model", columns="options", values="bdwp_cycles").reindex(abl_wide.index)
    abl_mem_rel = abl_mem_rel.div(abl_mem_rel["all"], axis=0).reset_index()
    return f"""# N:M sparse training (BDWP + SAT): reproduction

Regenerate with `sparsim reproduce sat`{" (quick mode)" if quick else ""}. Every number
below comes from that command: simulated training steps (FF, BP, WU of every layer) of the zoo
models at batch {BATCH} on our SAT-like array, real training runs on scikit-learn's digits, and the
real all-MiniLM-L6-v2 weights. CSVs beside this file hold the full tables.

**Array (ours; the paper's FPGA configuration is not available to us):** {cfg.rows}x{cfg.cols}
weight-stationary N:M array, M up to 8, weight double-buffering, SRAM {sram}
KiB (ifmap/filter/ofmap), unlimited DRAM bandwidth (compute-bound; a memory-bound
variant is below), all three dataflow options on (interleave mapping, weight pre-generation, offline
scheduling: our readings, documented in `simulator/sat/cl.py` and
`dataflow/nm_array/training.py`). BDWP: FF N:M along Cin*kh*kw, BP N:M along Cout, WU dense; every
conv/linear layer is pruned; attention's activation products stay dense.

## Training-step speed-up over dense

![speed-up](speedup.png)

{_md_table(sp_wide)}

**Published (SAT, abstract):** 1.75x over dense training at 2:8 on a Xilinx VCU1525, averaged over
its models; the ideal bound at 2:8 is 2.00x, so SAT reaches 87.5% of it. **Ours at 2:8:**
{mean28:.2f}x averaged over {len(at28)} models ({cnn_text}).

Why ours differs: (1) our CNN numbers are closer to the bound than SAT's because our model has no
FPGA overheads (clock-domain crossings, off-chip weight re-layout, host transfers) and the step is
compute-bound by construction; with a finite DRAM channel the picture changes (below). (2) Each
fold's fixed cost (weight load, skew and drain: {2 * cfg.rows + cfg.cols - 2} cycles on this array, partly hidden by
double-buffering) does not shrink with N:M, so layers with few streamed rows (late ResNet stages,
WU of small feature maps) gain less than N/M. (3) MobileNet-v2's depthwise layers (K = 9) and
transformers' attention products (no weights) cannot use weight sparsity, which caps their gain.
(4) The published figure averages models we do not know exactly.

## Per-pass breakdown (cycles), dense vs BDWP 2:8

![passes](passes.png)

{_md_table(pp)}

FF and BP shrink with N:M; WU stays dense and dominates the sparse step.

## Ablation of the dataflow options (BDWP 2:8)

Speed-up over a dense step run with the same options:

{_md_table(abl_wide.reset_index())}

BDWP step cycles relative to all options on (> 1: that option was saving time):

{_md_table(abl_rel, ".3f")}

The same with a 64 B/cycle DRAM channel:

{_md_table(abl_mem_rel, ".3f")}

Interleave mapping matters where a layer has many small independent GEMMs (depthwise convs,
attention heads); pre-generation matters when the pruning unit is slow relative to a layer;
offline scheduling hides per-pass prefetch and drain and reuses dY between BP and WU, which only
shows when DRAM bandwidth is limited.

## Memory-bound variant

With a {mem.dram_bytes_per_cycle.iloc[0]:g} B/cycle DRAM channel the 2:8 speed-ups become: {mem_note}.
{mem_expl}

## Energy per step (BDWP 2:8)

Energy table: Horowitz, ISSCC 2014 (45 nm), see `simulator/nm_array/energy.py`.

{_md_table(energy.reset_index(drop=True))}

## Accuracy: real training runs (scikit-learn digits)

Small CNN (`workloads/train_digits.py`), same seeds, split and epochs for every run; test accuracy
in % (mean and standard deviation over seeds):

{_md_table(acc_sum)}

{acc_text} on this small task. The published 0.56% average loss of SAT at 2:8 is on ImageNet-scale
models that we cannot train here; with three seeds on 360 test images one image is 0.28 points, so this
task can show a large loss (1:8 does) but not resolve one of half a point. Training runs on one torch
thread, so these numbers do not depend on the machine's thread count.

## Real weight statistics: all-MiniLM-L6-v2

Fraction of weight magnitude kept by the FF mask (groups along input features) and the BP mask
(groups along output features), mean over the 36+ linear layers, beside a Gaussian matrix of the
same shape:

{_md_table(st, ".3f")}

{weights_text} Per-layer values: `minilm_nm_stats.csv`.
"""
