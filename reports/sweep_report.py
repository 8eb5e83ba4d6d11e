"""``sparsim report RESULTS``: one self-contained HTML page, Markdown and PNGs from a sweep's store.

What an architect reads first: the Pareto fronts (cycles vs area, energy vs cycles, and any pair the
spec asks for), how each axis moves the objective (sensitivity), where the good region lies for two
axes (heatmaps), the best points (top-k), the points that failed, and the provenance (spec,
versions, executors, wall time of every run). Derived metrics are computed here from stored raw
metrics, so a report can be rebuilt without re-running anything:

* ``speedup_vs_NAME``: the named baseline point's cycles over the point's, per workload;
* ``macs_per_cycle_per_mm2`` (``perf_per_area``): dense-equivalent MACs per cycle per mm^2 of the
  area model (:mod:`simulator.nm_array.area`);
* ``energy_per_mac_pj`` and ``edp_pj_cycles`` (``energy``): energy per dense-equivalent MAC and
  the energy-delay product.

The HTML embeds its images as data URIs and has no scripts: it renders from a mail attachment.
"""

from __future__ import annotations

import base64
import html
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.ticker import EngFormatter, LogLocator, NullFormatter

from reports.figures import subplots
from simulator.common.bounds import BOUND_FROM, point_bound
from simulator.common.errors import SparsimInputError
from simulator.common.outputs import atomic_output_dir, check_output_dir
from simulator.sweeps.store import read_points, read_provenance, schema_for

__all__ = ["load_results", "derive", "pareto_front", "write_sweep_report"]

#: substrings of metric (and cost-axis) names where smaller is better; everything else is maximised
_LOWER_IS_BETTER = (
    "cycles",
    "seconds",
    "ms",
    "energy",
    "area",
    "edp",
    "bytes",
    "misses",
    "stall",
    "_kb",
    "rows",
    "cols",
    "threads",
    "cores",
    "banks",
    "ways",
    "probes",
    "overflows",
    "instructions",
)


def lower_is_better(metric: str) -> bool:
    return any(w in metric for w in _LOWER_IS_BETTER)


def load_results(results: str | Path) -> tuple[dict, pd.DataFrame]:
    """(provenance, every stored point with derived metrics)."""
    root = Path(results)
    prov = read_provenance(root)
    if prov is None:
        raise SparsimInputError(
            str(root), "results", str(root), "a results directory of `sparsim sweep` (no sweep.json)"
        )
    schema = None
    if isinstance(prov.get("axis_types"), dict) and isinstance(prov.get("metric_types"), dict):
        try:
            schema = schema_for(prov["axis_types"], prov["metric_types"])
        except (KeyError, TypeError):
            meta = str(root / "sweep.json")
            raise SparsimInputError(meta, "axis_types", prov["axis_types"], "column types") from None
    df = read_points(root, schema)
    if df.empty:
        raise SparsimInputError(str(root), "points", 0, "at least one finished point (run or resume the sweep)")
    check_points(df, prov, str(root / "points"))
    return prov, derive(df, prov)


#: metrics that count or measure something, and so are never negative
_NON_NEGATIVE = ("cycles", "seconds", "bytes", "energy", "macs", "instructions", "uops", "loads", "stores",
                 "misses", "flops", "nnz", "probes", "accesses", "atomics", "area", "_ge", "utilization",
                 "share")  # fmt: skip


def check_points(df: pd.DataFrame, prov: dict, where: str) -> None:
    """Physical sense before anything is drawn: one row per point key, no negative count or
    measure, finite where a point finished, no string longer than a name may be (a results store
    edited or written by something else is refused with one line naming the row and column)."""
    from simulator.sweeps.spec import MAX_POINTS
    from simulator.sweeps.store import MAX_NAME

    if len(df) > 2 * MAX_POINTS:
        raise SparsimInputError(where, "points", f"{len(df):,} rows", f"at most {2 * MAX_POINTS:,}")
    if "key" not in df.columns:
        raise SparsimInputError(where, "key", "absent", "a key column (written by sparsim sweep)")
    dup = df["key"][df["key"].duplicated()]
    if len(dup):
        raise SparsimInputError(where, "key", str(dup.iloc[0])[:80], "unique: each point stored once")
    ok = df["status"] == "ok" if "status" in df.columns else pd.Series(True, index=df.index)
    for col in df.columns:
        values = df[col]
        if values.dtype == object or pd.api.types.is_string_dtype(values):
            long = values.map(lambda v: isinstance(v, str) and len(v) > MAX_NAME)
            if long.any():
                i = long.to_numpy().argmax()
                raise SparsimInputError(where, col, f"{len(values.iloc[i]):,} characters in point "
                                        f"{str(df['key'].iloc[i])[:16]}", f"at most {MAX_NAME:,}")  # fmt: skip
            continue
        if col not in prov.get("metrics", ()) or not pd.api.types.is_numeric_dtype(values):
            continue
        x = values[ok].to_numpy(dtype=np.float64)
        bad = np.isinf(x)  # NaN is allowed: a ratio of nothing (utilisation of zero cycles)
        if any(w in col for w in _NON_NEGATIVE):
            bad |= x < 0
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            key = str(df["key"][ok].iloc[i])[:16]
            raise SparsimInputError(where, col, f"{x[i]} in point {key}", "a finite count or measure, not negative")


def derive(df: pd.DataFrame, prov: dict) -> pd.DataFrame:
    """Add the spec's derived metrics (see the module docstring)."""
    df = df.copy()
    derived = prov.get("derived", {})
    ok = df["status"] == "ok"
    name = derived.get("speedup")
    if name:
        is_base = ok & df["baseline"].fillna("").str.split(",").apply(lambda names: name in names)
        base = df[is_base].groupby("workload")["cycles"].first()
        df[f"speedup_vs_{name}"] = df["workload"].map(base) / df["cycles"]
    if derived.get("perf_per_area"):
        df["macs_per_cycle_per_mm2"] = df["dense_macs"] / df["cycles"] / df["area_mm2"]
    if derived.get("energy"):
        df["energy_per_mac_pj"] = df["energy_pj"] / df["dense_macs"]
        df["edp_pj_cycles"] = df["energy_pj"] * df["cycles"]
    return df


def pareto_front(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Indices of the points no other point beats in both x and y (both minimised), by x."""
    order = np.lexsort((y, x))
    front, best = [], np.inf
    for i in order:
        if y[i] < best:
            front.append(i)
            best = y[i]
    return np.array(front, dtype=np.int64)


# ----------------------------------------------------------------------------- figures


def _colors(labels) -> dict:
    cmap = matplotlib.colormaps["tab10"]
    return {w: cmap(i % 10) for i, w in enumerate(labels)}


def _count(n: int, noun: str) -> str:
    """``1 point``, ``2 points``."""
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def _log_scale(ax, which: str, values: pd.Series) -> None:
    """A log axis whose labels never run into each other: engineering notation (3M, 40k), the
    decades labelled, and 2x and 5x a decade as well when the data span under two decades
    (matplotlib would otherwise label every minor tick of a short log axis in full, 3x10^6 beside
    4x10^6 beside 5x10^6)."""
    axis = ax.xaxis if which == "x" else ax.yaxis
    (ax.set_xscale if which == "x" else ax.set_yscale)("log")
    axis.set_major_locator(LogLocator(base=10))
    axis.set_major_formatter(EngFormatter(sep=""))
    span = np.log10(float(values.max()) / float(values.min()))
    subs = (2.0, 5.0) if span < 2 else tuple(float(k) for k in range(2, 10))
    axis.set_minor_locator(LogLocator(base=10, subs=subs))
    axis.set_minor_formatter(EngFormatter(sep="") if span < 2 else NullFormatter())


def _pareto_png(df: pd.DataFrame, x: str, y: str, path: Path) -> pd.DataFrame:
    fig, ax = subplots(figsize=(6.4, 4.4))
    fronts = []
    colors = _colors(df["workload"].unique())
    for w, g in df.groupby("workload", sort=False):
        g = g.dropna(subset=[x, y])
        if g.empty:
            continue
        ax.scatter(g[x], g[y], s=10, alpha=0.35, color=colors[w], label=f"{w} ({_count(len(g), 'point')})")
        sx = 1.0 if lower_is_better(x) else -1.0
        sy = 1.0 if lower_is_better(y) else -1.0
        idx = pareto_front(sx * g[x].to_numpy(float), sy * g[y].to_numpy(float))
        f = g.iloc[idx]
        ax.plot(f[x], f[y], "-o", ms=4, color=colors[w], label=f"{w} Pareto front ({len(f)})")
        fronts.append(f.assign(front=f"{x} vs {y}"))
        b = g[g["baseline"].fillna("") != ""]
        for r in b.itertuples(index=False):
            ax.scatter([getattr(r, x)], [getattr(r, y)], marker="*", s=120, color=colors[w], edgecolor="k", zorder=5)
            ax.annotate(
                f"baseline {r.baseline}",
                (getattr(r, x), getattr(r, y)),
                fontsize=7,
                xytext=(4, 4),
                textcoords="offset points",
            )
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    for which, col in (("x", x), ("y", y)):
        if (df[col] > 0).all() and df[col].max() / max(df[col].min(), 1e-300) > 20:
            _log_scale(ax, which, df[col])
    better = f"{'lower' if lower_is_better(x) else 'higher'} {x}, {'lower' if lower_is_better(y) else 'higher'} {y}"
    ax.set_title(f"Pareto front: {y} vs {x} (better: {better})", fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return pd.concat(fronts) if fronts else pd.DataFrame()


def _axis_order(values: pd.Series) -> list:
    vals = values.dropna().unique().tolist()
    try:
        return sorted(vals)
    except TypeError:
        return sorted(vals, key=str)


def _sensitivity_png(df: pd.DataFrame, axes: list[str], objective: str, path: Path) -> pd.DataFrame:
    """Per axis: the objective's median and best over all other axes, at each value of this one."""
    n = len(axes)
    cols = min(n, 3)
    rows = -(-n // cols)
    fig, axs = subplots(rows, cols, figsize=(4.2 * cols, 3.2 * rows), squeeze=False)
    colors = _colors(df["workload"].unique())
    best = "min" if lower_is_better(objective) else "max"
    table = []
    for k, a in enumerate(axes):
        ax = axs[k // cols][k % cols]
        order = _axis_order(df[a])
        pos = {v: i for i, v in enumerate(order)}
        for w, g in df.groupby("workload", sort=False):
            s = g.groupby(a)[objective].agg(["median", best])
            s = s.loc[[v for v in order if v in s.index]]
            xs = [pos[v] for v in s.index]
            ax.plot(xs, s["median"], "-o", ms=3, color=colors[w], label=f"{w} median")
            ax.plot(xs, s[best], "--", color=colors[w], alpha=0.6, label=f"{w} {best}")
            spread = s["median"].max() / s["median"].min() if s["median"].min() > 0 else float("nan")
            table.append({"axis": a, "workload": w, "values": len(s), "median_max_over_min": spread})
        ax.set_xticks(range(len(order)))
        ax.set_xticklabels([str(v) for v in order], rotation=45 if len(order) > 6 else 0, fontsize=7)
        ax.set_xlabel(a)
        ax.set_ylabel(objective)
        if (df[objective] > 0).all() and df[objective].max() / df[objective].min() > 20:
            _log_scale(ax, "y", df[objective])
        ax.grid(alpha=0.3)
    for k in range(n, rows * cols):
        axs[k // cols][k % cols].axis("off")
    axs[0][0].legend(fontsize=6)
    fig.suptitle(f"Sensitivity of {objective} to each axis (median and {best} over the other axes)", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return pd.DataFrame(table)


def _heatmap_png(g: pd.DataFrame, a: str, b: str, objective: str, workload: str, path: Path) -> None:
    best = "min" if lower_is_better(objective) else "max"
    piv = g.pivot_table(index=a, columns=b, values=objective, aggfunc=best)
    piv = piv.reindex(
        index=[v for v in _axis_order(g[a]) if v in piv.index],
        columns=[v for v in _axis_order(g[b]) if v in piv.columns],
    )
    fig, ax = subplots(figsize=(1.0 + 0.6 * len(piv.columns) + 1.5, 1.0 + 0.4 * len(piv.index) + 1.0))
    data = piv.to_numpy(float)
    im = ax.imshow(data, cmap="viridis_r" if best == "min" else "viridis", aspect="auto")
    ax.set_xticks(range(len(piv.columns)))
    ax.set_xticklabels([str(v) for v in piv.columns], rotation=45, fontsize=7)
    ax.set_yticks(range(len(piv.index)))
    ax.set_yticklabels([str(v) for v in piv.index], fontsize=7)
    ax.set_xlabel(b)
    ax.set_ylabel(a)
    if data.size <= 100:
        for i in range(data.shape[0]):
            for j in range(data.shape[1]):
                if np.isfinite(data[i, j]):
                    ax.text(j, i, f"{data[i, j]:.3g}", ha="center", va="center", fontsize=6, color="w")
    fig.colorbar(im, ax=ax, label=f"{best} {objective}")
    ax.set_title(f"{workload}: {best} {objective} over the other axes", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


# ----------------------------------------------------------------------------- tables and text


def _fmt(v) -> str:
    if v is None or (isinstance(v, float) and not np.isfinite(v)):
        return ""
    if isinstance(v, bool | np.bool_):
        return str(bool(v))
    if isinstance(v, int | np.integer):
        return f"{int(v):,}"
    if isinstance(v, float | np.floating):
        return f"{float(v):.4g}"
    return str(v)


def _md(df: pd.DataFrame) -> str:
    cols = list(df.columns)
    lines = ["| " + " | ".join(cols) + " |", "| " + " | ".join("---" for _ in cols) + " |"]
    for row in df.itertuples(index=False):
        lines.append("| " + " | ".join(_fmt(v).replace("|", "\\|") for v in row) + " |")
    return "\n".join(lines)


def _html_table(df: pd.DataFrame) -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in df.columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(_fmt(v))}</td>" for v in row) + "</tr>"
        for row in df.itertuples(index=False)
    )
    return f"<div class='wide'><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>"


_CSS = """body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1100px;color:#222}
table{border-collapse:collapse;font-size:12px;margin:.5em 0 1.5em}th,td{border:1px solid #ccc;padding:2px 6px;
text-align:right}th{background:#f2f2f2}td:first-child,th:first-child{text-align:left}img{max-width:100%;
border:1px solid #eee}pre{background:#f7f7f7;padding:.8em;overflow-x:auto;font-size:12px}h2{margin-top:1.6em}
.wide{max-width:100%;overflow-x:auto}"""


#: a point is DRAM- (SRAM-) bound when at least this share of its cycles is in layers bound by the
#: memory (by operand-buffer bank conflicts): :data:`simulator.nm_array.block.BOUND_FROM`
DRAM_BOUND_FROM = BOUND_FROM


def _bound_table(ok: pd.DataFrame, axes: list[str], objective: str) -> tuple[pd.DataFrame, str]:
    """Per point: compute-, SRAM- or DRAM-bound, from the block's ``dram_bound_share`` and
    ``sram_bound_share`` (the shares of its cycles in layers whose memory stalls, or bank-conflict
    stalls, are at least their compute; see :func:`simulator.nm_array.block.layer_bounds`)."""
    if ok.empty or "dram_bound_share" not in ok.columns or "stall_cycles" not in ok.columns:
        return pd.DataFrame(), ""
    key = objective if objective in ok.columns else "cycles"
    has_sram = "sram_bound_share" in ok.columns
    cols = ["workload", *axes, "cycles", key, "stall_cycles", "dram_bound_share"]
    cols += ["sram_stall_cycles", "sram_bound_share"] if has_sram else []
    t = ok[list(dict.fromkeys(cols))].copy()
    t["stall_share"] = t["stall_cycles"] / t["cycles"].where(t["cycles"] > 0)
    sram = t["sram_bound_share"] if has_sram else 0.0 * t["dram_bound_share"]
    t["bound"] = point_bound(t["dram_bound_share"], sram)
    t = t.sort_values(key, ascending=lower_is_better(key))
    n = {b: int((t["bound"] == b).sum()) for b in ("DRAM", "SRAM")}
    text = (
        f"{n['DRAM']} of {len(t)} points DRAM-bound (at least {DRAM_BOUND_FROM:.0%} of their cycles in layers "
        f"whose memory stalls are at least their compute), {n['SRAM']} SRAM-bound (the same share in layers "
        "whose operand-buffer bank conflicts stall them at least as long as they compute and longer than "
        "the memory does), the rest compute-bound; every point in `bound.csv`."
    )
    if not has_sram:
        text += " These results predate the banked-SRAM model: no point could be classed SRAM-bound."
    elif not (t["sram_stall_cycles"] > 0).any():
        text += (" No point has bank-conflict stalls: their operand buffers are conflict-free (`buffers.banks: 0`) "
                 "or wide enough.")  # fmt: skip
    return t.drop(columns=["stall_cycles"] + (["sram_stall_cycles"] if has_sram else [])), text


def write_sweep_report(results: str | Path, out: str | Path | None = None) -> Path:
    """Write ``report.html`` (self-contained), ``report.md``, PNGs and CSVs; returns the directory.

    The steps: read the store, then the Pareto figures, the sensitivity figure, the heatmaps, the
    top points, what bounds each point, and the provenance tables, each its own function below.
    """
    root = Path(results)
    out = Path(out) if out is not None else root / "report"
    check_output_dir(out, "report")  # before anything is read
    prov, df = load_results(root)
    axes = [a for a in prov["axes"] if a in df.columns]
    objective = prov.get("report", {}).get("objective", "cycles")
    top_k = int(prov.get("report", {}).get("top_k", 10))
    ok_all, errors = df[df["status"] == "ok"], df[df["status"] == "error"]
    ok = ok_all[ok_all["in_sweep"]]  # baselines outside the axes stay out of all but the fronts
    with atomic_output_dir(out, "report") as tmp:
        tidy = df.drop(columns=["config", "params"])
        tidy.to_csv(tmp / "results.csv", index=False)
        tidy.to_parquet(tmp / "results.parquet", index=False)
        figures, notes = _pareto_figures(ok_all, prov, axes, objective, tmp)
        sens = _sensitivity_figure(ok, axes, objective, tmp, figures)
        _heatmap_figures(ok, axes, prov, objective, tmp, figures)
        top = _top_points(ok, df, prov, axes, objective, top_k)
        top.to_csv(tmp / "top_k.csv", index=False)
        bound_tab, bound_text = _bound_table(ok, axes, objective)
        if len(bound_tab):
            bound_tab.to_csv(tmp / "bound.csv", index=False)
        runs, versions = _provenance_tables(prov)
        title = f"Sweep report: {prov['name']}"
        intro = _intro(prov, df, ok_all, errors, runs, axes, objective, root) + "".join(f" {n}" for n in notes)
        sections = [
            ("Top points", top, f"The {top_k} best points per workload by {objective} (baselines outside the axes "
             "excluded)."),
            ("Sensitivity per axis", sens, ""),
            *([("What bounds each point", bound_tab.head(60), bound_text)] if len(bound_tab) else []),
            ("Errors", errors[["workload", *axes, "error"]].head(50),
             "Points the model rejected (the sweep went on without them)." if len(errors) else "No point failed."),
            ("Runs", runs, "Every run of this sweep (resumed runs add rows)."),
            ("Versions", versions, ""),
        ]  # fmt: skip
        _write_md(tmp / "report.md", title, intro, figures, sections, prov)
        _write_html(tmp / "report.html", tmp, title, intro, figures, sections, prov)
    return out


def _pareto_pairs(ok: pd.DataFrame, prov: dict, objective: str) -> list[tuple[str, str]]:
    """The fronts to draw: area vs cycles and cycles vs energy when the block has them, the spec's
    pairs, or the objective against the next metric."""
    pairs = [p for p in (("area_mm2", "cycles"), ("cycles", "energy_pj")) if p[0] in ok and p[1] in ok]
    for p in prov.get("report", {}).get("pareto") or []:
        if tuple(p) not in pairs:
            pairs.append(tuple(p))
    metric_cols = [m for m in prov["metrics"] if m in ok.columns]
    if not pairs and len(metric_cols) >= 2 and objective in ok:
        pairs.append((objective, next(m for m in metric_cols if m != objective)))
    return pairs


def _pareto_figures(ok: pd.DataFrame, prov: dict, axes: list[str], objective: str, tmp: Path):
    """Every front as a PNG (and ``pareto_points.csv``), or, where every point has the same value
    of one side (one area for all), a sentence instead of a vertical line."""
    figures, notes, fronts = [], [], []
    for x, y in _pareto_pairs(ok, prov, objective):
        if x not in ok or y not in ok or ok.empty:
            continue
        same = next((c for c in (x, y) if ok[c].nunique(dropna=True) == 1), None)
        if same is not None:
            other = y if same == x else x
            best = ok[other].min() if lower_is_better(other) else ok[other].max()
            notes.append(f"No {y} vs {x} front: every point has the same {same} ({_fmt(ok[same].iloc[0])}), so the "
                         f"front is the single best {other}, {_fmt(best)}.")  # fmt: skip
            continue
        f = f"pareto_{y}_vs_{x}.png"
        fr = _pareto_png(ok, x, y, tmp / f)
        fronts.append(fr)
        figures.append((f, f"Pareto front: {y} vs {x}", f"{_count(len(fr), 'point')} on the fronts (per workload)."))
    front_df = pd.concat(fronts) if fronts else pd.DataFrame()
    if len(front_df):
        front_df[
            ["front", "workload", *axes, *[c for c in (objective, "area_mm2", "energy_pj") if c in front_df]]
        ].drop_duplicates().to_csv(tmp / "pareto_points.csv", index=False)
    return figures, notes


def _sensitivity_figure(ok: pd.DataFrame, axes: list[str], objective: str, tmp: Path, figures: list) -> pd.DataFrame:
    if not axes or ok.empty:
        return pd.DataFrame()
    sens = _sensitivity_png(ok, axes, objective, tmp / "sensitivity.png")
    figures.append(("sensitivity.png", f"Sensitivity of {objective}",
                    "Ratio of the largest to the smallest median over an axis's values, per workload, in the "
                    "table below."))  # fmt: skip
    return sens


def _heatmap_figures(ok: pd.DataFrame, axes: list[str], prov: dict, objective: str, tmp: Path, figures: list):
    """The spec's two heatmap axes (or the first two that vary), one map per workload (at most 4)."""
    heat = prov.get("report", {}).get("heatmap")
    multi = [a for a in axes if ok[a].nunique() > 1] if not ok.empty else []
    if not heat and len(multi) >= 2:
        heat = multi[:2]
    if not heat or ok.empty:
        return
    for i, (w, g) in enumerate(ok.groupby("workload", sort=False)):
        if i >= 4:
            break
        f = f"heatmap_{heat[0]}_{heat[1]}_{i}.png"
        _heatmap_png(g, heat[0], heat[1], objective, w, tmp / f)
        figures.append((f, f"Heatmap {heat[0]} x {heat[1]} ({w})", ""))


def _top_points(ok: pd.DataFrame, df: pd.DataFrame, prov: dict, axes: list[str], objective: str,
                top_k: int) -> pd.DataFrame:  # fmt: skip
    """The best ``top_k`` points per workload: the axes, the objective, at most four more metrics
    and the derived ones (the page is only so wide)."""
    derived = [c for c in df.columns if c.startswith(("speedup_vs_", "macs_per_cycle", "energy_per_mac", "edp_"))]
    metrics = [m for m in prov["metrics"] if m in df.columns and m != objective][:4]
    cols = list(dict.fromkeys(c for c in ["workload", *axes, objective, *metrics, *derived] if c in ok.columns))
    if ok.empty:
        return pd.DataFrame(columns=cols)
    return ok.sort_values(objective, ascending=lower_is_better(objective)).groupby("workload", sort=False).head(
        top_k)[cols]  # fmt: skip


_RUN_COLUMNS = ("run_id", "executor", "workers", "todo", "stored", "ok", "errors", "infra_failures", "wall_s", "status")


def _provenance_tables(prov: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    runs = pd.DataFrame(prov.get("runs", []))
    runs = runs[[c for c in _RUN_COLUMNS if c in runs.columns]] if len(runs) else runs
    versions = pd.DataFrame(sorted(prov.get("versions", {}).items()), columns=["package", "version"])
    return runs, versions


def _intro(prov, df, ok_all, errors, runs, axes, objective, root: Path) -> str:
    wall = float(runs["wall_s"].fillna(0).sum()) if "wall_s" in runs else 0.0
    counts = (f"{len(df):,} of {_count(prov['points'], 'point')} stored ({len(ok_all):,} ok, "
              f"{_count(len(errors), 'error')}); wall time over {_count(len(runs), 'run')}: {wall:.1f} s")  # fmt: skip
    journal = sum(j.read_bytes().count(b"\n") for j in (root / "points").glob(".journal-*.jsonl"))
    if journal:
        counts += (f"; {_count(journal, 'more point')} sit in a killed driver's journal: `sparsim sweep --resume` "
                   "folds them in")  # fmt: skip
    better = "lower" if lower_is_better(objective) else "higher"
    return (f"Block `{prov['block']}` (simulator `{prov['simulator']}`), workloads: "
            f"{', '.join(prov.get('workloads', []))}; axes: {', '.join(axes)}; objective: {objective} "
            f"({better} is better). {counts}.")  # fmt: skip


def _write_md(path: Path, title, intro, figures, sections, prov) -> None:
    lines = [f"# {title}", "", intro, ""]
    for f, t, cap in figures:
        lines += [f"## {t}", "", f"![{t}]({f})", "", cap, ""] if cap else [f"## {t}", "", f"![{t}]({f})", ""]
    for name, table, cap in sections:
        lines += [f"## {name}", ""]
        if cap:
            lines += [cap, ""]
        if len(table):
            lines += [_md(table), ""]
    lines += ["## Spec", "", "```yaml", prov.get("spec_text", "").rstrip(), "```", ""]
    path.write_text("\n".join(lines))


def _write_html(path: Path, tmp: Path, title, intro, figures, sections, prov) -> None:
    parts = [
        f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{html.escape(title)}</title>",
        f"<style>{_CSS}</style></head><body><h1>{html.escape(title)}</h1><p>{html.escape(intro)}</p>",
    ]
    for f, t, cap in figures:
        data = base64.b64encode((tmp / f).read_bytes()).decode()
        parts.append(f"<h2>{html.escape(t)}</h2><img alt='{html.escape(t)}' src='data:image/png;base64,{data}'>")
        if cap:
            parts.append(f"<p>{html.escape(cap)}</p>")
    for name, table, cap in sections:
        parts.append(f"<h2>{html.escape(name)}</h2>")
        if cap:
            parts.append(f"<p>{html.escape(cap)}</p>")
        if len(table):
            parts.append(_html_table(table))
    parts.append(f"<h2>Spec</h2><pre>{html.escape(prov.get('spec_text', ''))}</pre></body></html>")
    path.write_text("".join(parts))
