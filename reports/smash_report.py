"""``sparsim reproduce smash``: SpGEMM with atomic scratchpad hashing, against inner, outer and
row-wise baselines on the same PIUMA-like machine. Every number is computed by this module.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import pandas as pd

from reports.figures import subplots
from reports.sat_report import _md_table
from simulator.common.block import get_block
from simulator.common.outputs import atomic_output_dir
from simulator.spgemm.config import ALGORITHMS, PiumaConfig
from workloads.matrices import load_matrix

__all__ = ["MATRIX_PAIRS", "reproduce_smash"]

# (label, A, B): square matrices are squared; rectangular ones multiply by their partner
MATRIX_PAIRS = (
    ("rmat10", "rmat10", None),
    ("rmat12", "rmat12", None),
    ("er12", "er12", None),
    ("bar", "bar", None),
    ("local_disc_galerkin_diffusion", "local_disc_galerkin_diffusion", None),
    ("propack x propack^T", "propack", "propack^T"),
    ("minilm ffn_in x ffn_out", "minilm_ffn_in", "minilm_ffn_out"),
)
PUBLISHED = 9.4
BASELINES = ("inner", "outer", "gustavson_spa", "hash")
SMASH = ("smash_v1", "smash_v2", "smash_v3")


def _operands(a_name: str, b_name: str | None):
    a = load_matrix(a_name)
    if b_name is None:
        return a, a
    if b_name.endswith("^T"):
        return a, load_matrix(b_name[:-2]).T.tocsr()
    return a, load_matrix(b_name)


def _run(a, b, alg: str, machine: PiumaConfig) -> dict:
    """One product timed through the ``piuma`` block: its statistics."""
    block = get_block("spgemm")
    return dict(block.run((a, b), machine, algorithm=alg).totals)


def runs(pairs=MATRIX_PAIRS, machine: PiumaConfig = PiumaConfig()) -> pd.DataFrame:
    rows = []
    for label, a_name, b_name in pairs:
        a, b = _operands(a_name, b_name)
        for alg in ALGORITHMS:
            st = _run(a, b, alg, machine)
            rows.append({"matrix": label, "algorithm": alg, **st})
    return pd.DataFrame(rows)


def sensitivity(matrix: str = "rmat12", machine: PiumaConfig = PiumaConfig()) -> pd.DataFrame:
    a = load_matrix(matrix)
    rows = []
    for threads in (4, 8, 16, 33, 66, 128):
        m = dataclasses.replace(machine, threads_per_core=threads)
        for alg in ("hash", "smash_v2"):
            rows.append(
                {
                    "axis": "threads_per_core",
                    "value": threads,
                    "algorithm": alg,
                    "cycles": _run(a, a, alg, m)["cycles"],
                }
            )
    for kb in (256, 1024, 4096, 16384):
        m = dataclasses.replace(machine, scratchpad_kb=kb)
        for alg in ("smash_v1", "smash_v2", "smash_v3"):
            rows.append(
                {
                    "axis": "scratchpad_kb",
                    "value": kb,
                    "algorithm": alg,
                    "cycles": _run(a, a, alg, m)["cycles"],
                }
            )
    return pd.DataFrame(rows)


def _plot(sens: pd.DataFrame, out: Path, matrix: str) -> None:
    fig, axes = subplots(1, 2, figsize=(10, 3.8))
    for ax, axis, label in (
        (axes[0], "threads_per_core", "hardware threads per core"),
        (axes[1], "scratchpad_kb", "scratchpad per core (KiB)"),
    ):
        d = sens[sens.axis == axis]
        for alg, g in d.groupby("algorithm"):
            ax.plot(g.value, g.cycles / 1e6, marker="o", label=alg)
        ax.set_xscale("log", base=2)
        ax.set_xlabel(label)
        ax.set_ylabel("Mcycles")
        ax.legend(fontsize=8)
    fig.suptitle(f"sensitivity, C = A x A on {matrix}")
    fig.tight_layout()
    fig.savefig(out / "sensitivity.png", dpi=120)


def reproduce_smash(out_dir: str | Path, *, quick: bool = False) -> Path:
    t0 = time.perf_counter()
    pairs = MATRIX_PAIRS[:2] if quick else MATRIX_PAIRS
    res = runs(pairs)
    sens = sensitivity("rmat10" if quick else "rmat12")
    with atomic_output_dir(out_dir, "reproduce") as tmp:
        res.to_csv(tmp / "runs.csv", index=False)
        sens.to_csv(tmp / "sensitivity.csv", index=False)
        _plot(sens, tmp, "rmat10" if quick else "rmat12")
        (tmp / "README.md").write_text(_markdown(res, sens, quick))
    print(f"smash: {len(res) + len(sens)} runs in {time.perf_counter() - t0:.0f} s")
    return Path(out_dir)


def _markdown(res: pd.DataFrame, sens: pd.DataFrame, quick: bool) -> str:
    m = PiumaConfig()
    cyc = res.pivot(index="matrix", columns="algorithm", values="cycles")
    cyc = cyc.reindex(list(dict.fromkeys(res.matrix)))[list(ALGORITHMS)]
    best_smash = cyc[list(SMASH)].min(axis=1)
    sp_rows = []
    for mat in cyc.index:
        row = {"matrix": mat}
        for v in SMASH:
            for base in BASELINES:
                row[f"{v[-2:]} vs {base}"] = cyc.loc[mat, base] / cyc.loc[mat, v]
        sp_rows.append(row)
    speed = pd.DataFrame(sp_rows)
    best_vs = {base: (cyc[base] / best_smash) for base in BASELINES}
    best_vs_all = pd.concat(best_vs.values(), axis=1).min(axis=1)  # against the best baseline per matrix
    geo = float(best_vs_all.prod() ** (1 / len(best_vs_all)))
    geo_worst = float(pd.concat(best_vs.values(), axis=1).max(axis=1).prod() ** (1 / len(best_vs_all)))
    traffic = res.pivot(index="matrix", columns="algorithm", values="dram_read_bytes").reindex(cyc.index)
    traffic = traffic + res.pivot(index="matrix", columns="algorithm", values="dram_write_bytes").reindex(cyc.index)
    traffic = (traffic / 1e6).round(2)[list(ALGORITHMS)].reset_index()
    util = res.pivot(index="matrix", columns="algorithm", values="issue_utilization").reindex(cyc.index)
    util = util[list(ALGORITHMS)].reset_index()
    atom = (
        res[res.algorithm.isin(SMASH)]
        .pivot(index="matrix", columns="algorithm", values="sp_atomics")
        .reindex(cyc.index)
        .reset_index()
    )
    flops = res.groupby("matrix", sort=False)[["flops", "nnz_c"]].first().reset_index()
    cyc_t = cyc.reset_index()
    for c in ALGORITHMS:
        cyc_t[c] = cyc_t[c].astype(int)
    s_thr = sens[(sens.axis == "threads_per_core")].pivot(index="value", columns="algorithm", values="cycles")
    hide = s_thr["hash"].iloc[0] / s_thr["hash"].iloc[-1]
    hide_s = s_thr["smash_v2"].iloc[0] / s_thr["smash_v2"].iloc[-1]
    s_sp = sens[(sens.axis == "scratchpad_kb")].pivot(index="value", columns="algorithm", values="cycles")
    sp_gain = {v: s_sp[v].iloc[0] / s_sp[v].iloc[-1] for v in SMASH}
    return f"""# SMASH: atomic scratchpad hashing for SpGEMM, reproduction

Regenerate with `sparsim reproduce smash`{" (quick mode)" if quick else ""}. C = A x B on
our PIUMA-like machine model (`simulator/spgemm/config.py`, `simulator/spgemm/cl.py`, one engine for every
algorithm, checked against its pure-Python twin `simulator/spgemm/twin.py`):
{m.cores} cores x {m.threads_per_core} hardware threads (fine-grained multithreading, round-robin among ready
threads), {m.cache_kb} KiB {m.cache_ways}-way cache and {m.scratchpad_kb // 1024} MiB scratchpad in {m.scratchpad_banks}
banks per core, one shared DRAM channel of {m.dram_bytes_per_cycle:g} B/cycle and {m.dram_latency_cycles} cycles latency
(PIUMA's published core, thread and memory sizes; the latencies are our assumptions). Every C is
checked against scipy.sparse. The algorithms and SMASH V1/V2/V3 are our documented readings
(`simulator/spgemm/fl.py`). CSVs beside this file hold every statistic.

## Matrices

{_md_table(flops)}

## Cycles of every algorithm on the same machine

{_md_table(cyc_t)}

## SMASH speed-ups over each baseline

{_md_table(speed)}

**Published (SMASH thesis, abstract):** 9.4x over competing approaches on (simulated) PIUMA.
**Ours:** the best SMASH version against the *best* baseline of each matrix gives a geometric mean of
{geo:.2f}x; against the *worst* baseline of each matrix, {geo_worst:.2f}x.

Why ours differs: (1) the thesis's "competing approaches" are, as far as the abstract says, inner-
and outer-product SpGEMM on PIUMA; our inner and outer numbers are the rows above, while our row-wise
baselines (Gustavson with a dense accumulator, software hashing) are stronger competitors that the
9.4x may not include. (2) Our inner product benefits from PIUMA's cache for the re-read rows of A on
these matrix sizes; on larger matrices its redundant fetches go to DRAM and the gap grows. (3) The
thesis simulates PIUMA in Sniper with its real latencies, NoC and memory system; ours is a
compact model with assumed latencies. (4) The matrices differ (ours ship inside packages).

## DRAM traffic (MB)

{_md_table(traffic)}

## Scratchpad atomics (SMASH)

{_md_table(atom)}

V1 issues two atomics per insertion (key, then value); V2's tokens need one; V3 splits the table in
per-bank fragments, which removes bank conflicts but makes windows smaller.

## Thread (issue-slot) utilisation

{_md_table(util)}

## Sensitivity

![sensitivity](sensitivity.png)

{_md_table(sens)}

More threads hide more latency: with {int(s_thr.index[-1])} instead of {int(s_thr.index[0])} threads per core, software
hashing runs {hide:.1f}x faster and SMASH V2 {hide_s:.1f}x. Growing the scratchpad from {int(s_sp.index[0])} KiB to
{int(s_sp.index[-1])} KiB (fewer, larger windows) speeds V1/V2/V3 up by {sp_gain["smash_v1"]:.2f}x /
{sp_gain["smash_v2"]:.2f}x / {sp_gain["smash_v3"]:.2f}x.
"""
