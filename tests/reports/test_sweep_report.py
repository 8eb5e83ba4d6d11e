"""``sparsim report``: derived metrics, Pareto fronts, the files written, and the page as headless
Chromium renders it."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from reports.sweep_report import load_results, pareto_front, write_sweep_report
from simulator.sweeps.run import run_sweep
from tests.reports._chromium import chromium_path, inspect_page
from tests.simulator.sweeps.fixtures import array_spec, sparsim


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    d = tmp_path_factory.mktemp("rep")
    spec = array_spec(d, rows=(8, 16, 32), cols=(16, 32), sram=(32, 128))
    run_sweep(spec, d / "out", jobs=1, progress="off")
    return d / "out"


@pytest.fixture(scope="module")
def report(results):
    return write_sweep_report(results)


@given(st.lists(st.tuples(st.integers(0, 20), st.integers(0, 20)), min_size=1, max_size=40))
def test_pareto_front_is_exactly_the_non_dominated_points(pts):
    x = np.array([p[0] for p in pts], float)
    y = np.array([p[1] for p in pts], float)
    front = set(pareto_front(x, y).tolist())
    for i in range(len(pts)):
        dominated = any((x[j] <= x[i] and y[j] <= y[i]) and (x[j] < x[i] or y[j] < y[i]) for j in range(len(pts)))
        duplicate_first = any(x[j] == x[i] and y[j] == y[i] for j in range(i))
        assert (i in front) == (not dominated and not duplicate_first)


def test_derived_metrics(results):
    _, df = load_results(results)
    base = df[df.baseline == "dense16"].iloc[0]
    assert base.speedup_vs_dense16 == 1.0
    r = df.iloc[3]
    assert r.speedup_vs_dense16 == pytest.approx(base.cycles / r.cycles)
    assert r.macs_per_cycle_per_mm2 == pytest.approx(r.dense_macs / r.cycles / r.area_mm2)
    assert r.energy_per_mac_pj == pytest.approx(r.energy_pj / r.dense_macs)
    # 2:4 issues half the MACs (a little more: K padded to whole groups of 4, e.g. the stem's 147)
    same = df[(df["pe.rows"] == 16) & (df["pe.cols"] == 32) & (df["buffers.ifmap_kb"] == 32)].set_index("nm")
    assert 0.5 < same.loc["2:4", "macs"] / same.loc["1:1", "macs"] < 0.501
    assert same.loc["2:4", "dense_macs"] == same.loc["1:1", "dense_macs"]


def test_report_files_and_self_contained_html(report, results):
    names = {p.name for p in report.iterdir()}
    assert {
        "report.html",
        "report.md",
        "results.csv",
        "results.parquet",
        "top_k.csv",
        "sensitivity.png",
        "pareto_cycles_vs_area_mm2.png",
        "pareto_energy_pj_vs_cycles.png",
        "pareto_points.csv",
    } <= names
    assert any(n.startswith("heatmap_") for n in names)
    html = (report / "report.html").read_text()
    srcs = re.findall(r"src='([^']*)'", html)
    assert len(srcs) >= 4 and all(s.startswith("data:image/png;base64,") for s in srcs)
    assert "<script" not in html and "http" not in html
    md = (report / "report.md").read_text()
    assert "## Top points" in md and "## Runs" in md and "## Versions" in md and "```yaml" in md
    assert "37 of 37 points stored (37 ok, 0 errors)" in md
    top = pd.read_csv(report / "top_k.csv")
    assert len(top) == 10 and top.cycles.is_monotonic_increasing
    _, df = load_results(results)
    assert top.cycles.iloc[0] == df.cycles.min()


def test_report_of_a_non_sweep_directory_is_one_line(tmp_path):
    r = sparsim("report", tmp_path)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "sweep.json" in r.stderr


needs_chromium = pytest.mark.skipif(chromium_path() is None, reason="Debian chromium not installed")


@needs_chromium
def test_report_renders_in_headless_chromium(report):
    info = inspect_page(report / "report.html")
    assert info["problems"] == []
    assert info["h1"].startswith("Sweep report")
    assert len(info["images"]) >= 4 and all(i["ok"] and i["w"] > 100 for i in info["images"])
    assert info["tables"] >= 4 and info["height"] > 1000
    assert info["cut_tables"] == 0  # wide tables scroll in their own box, no column is cut off


@needs_chromium
def test_the_chromium_check_catches_a_broken_page(tmp_path):
    page = tmp_path / "bad.html"
    page.write_text(
        "<!DOCTYPE html><html><head><title>t</title></head><body><h1>x</h1>"
        "<img src='data:image/png;base64,AAAA'><script>console.error('boom')</script>"
        f"<table><tr>{'<td>a_rather_long_column_value</td>' * 60}</tr></table></body></html>"
    )
    info = inspect_page(page)
    assert info["cut_tables"] == 1
    assert [i["ok"] for i in info["images"]] == [False]
    assert any("boom" in p for p in info["problems"])


def test_bound_table_names_the_dram_bound_points():
    from reports.sweep_report import DRAM_BOUND_FROM, _bound_table

    ok = pd.DataFrame(
        {
            "workload": ["w"] * 3,
            "system.arrays": [1, 4, 16],
            "cycles": [100, 40, 30],
            "stall_cycles": [0, 20, 25],
            "dram_bound_share": [0.0, DRAM_BOUND_FROM, 0.9],
        }
    )
    tab, text = _bound_table(ok, ["system.arrays"], "cycles")
    assert tab.set_index("system.arrays")["bound"].to_dict() == {1: "compute", 4: "DRAM", 16: "DRAM"}
    assert tab.set_index("system.arrays")["stall_share"].to_dict() == pytest.approx({1: 0.0, 4: 0.5, 16: 25 / 30})
    assert text.startswith("2 of 3 points DRAM-bound")
    assert _bound_table(ok.drop(columns=["dram_bound_share"]), ["system.arrays"], "cycles")[0].empty
    by_energy, _ = _bound_table(ok.assign(energy_pj=[3.0, 1.0, 2.0]), ["system.arrays"], "energy_pj")
    assert by_energy["system.arrays"].tolist() == [4, 16, 1] and "energy_pj" in by_energy.columns


def test_report_says_what_bounds_each_point(report):
    md = (report / "report.md").read_text()
    assert "## What bounds each point" in md and (report / "bound.csv").is_file()


def test_a_short_log_axis_has_labels_that_do_not_collide():
    """Under two decades matplotlib labels every minor tick in full (3x10^6 beside 4x10^6); ours
    labels decades and 2x/5x in engineering notation, and no two labels overlap."""
    import numpy as np

    from reports.figures import subplots
    from reports.sweep_report import _log_scale

    fig, ax = subplots(figsize=(6.4, 4.4))
    y = pd.Series(np.geomspace(3e6, 6e7, 12))
    ax.scatter(np.arange(12), y)
    _log_scale(ax, "y", y)
    fig.canvas.draw()
    labels = [t for t in ax.get_yticklabels(minor=True) + ax.get_yticklabels()
              if t.get_text() and ax.get_ylim()[0] <= t.get_position()[1] <= ax.get_ylim()[1]]  # fmt: skip
    texts = sorted(t.get_text() for t in labels)
    assert texts == sorted(["5M", "10M", "20M", "50M"])
    boxes = sorted((t.get_window_extent() for t in labels), key=lambda b: b.y0)
    assert all(a.y1 <= b.y0 for a, b in zip(boxes, boxes[1:], strict=False))


def test_counts_and_a_front_of_equal_x_are_worded(tmp_path):
    from reports.sweep_report import _count, _pareto_figures

    assert _count(1, "point") == "1 point" and _count(2, "point") == "2 points" and _count(0, "error") == "0 errors"
    ok = pd.DataFrame({"workload": ["w"] * 3, "baseline": [""] * 3, "area_mm2": [2.0, 2.0, 2.0],
                       "cycles": [30, 10, 20], "energy_pj": [1.0, 3.0, 2.0]})  # fmt: skip
    prov = {"metrics": ["cycles", "energy_pj", "area_mm2"], "report": {}}
    figures, notes = _pareto_figures(ok, prov, [], "cycles", tmp_path)
    assert [f for f, *_ in figures] == ["pareto_energy_pj_vs_cycles.png"]  # no vertical line drawn
    assert notes == ["No cycles vs area_mm2 front: every point has the same area_mm2 (2), so the front is the "
                     "single best cycles, 10."]  # fmt: skip


def _tampered(results, tmp_path, change):
    """A copy of the results store whose points were rewritten by ``change(df) -> df``."""
    import shutil

    import pyarrow as pa
    import pyarrow.parquet as pq

    out = tmp_path / "tampered"
    shutil.copytree(results, out)
    parts = sorted((out / "points").glob("part-*.parquet"))
    table = pa.concat_tables([pq.read_table(p) for p in parts])
    for p in parts:
        p.unlink()
    df = change(table.to_pandas())
    pq.write_table(
        pa.Table.from_pandas(df, schema=table.schema, preserve_index=False), out / "points" / "part-0.parquet"
    )
    return out


@pytest.mark.parametrize(
    "change, needle",
    [
        (lambda df: df.assign(cycles=-df["cycles"]), "cycles = "),
        (lambda df: pd.concat([df, df.iloc[:1]], ignore_index=True), "unique: each point stored once"),
        (lambda df: df.assign(workload="w" * (8 << 20)), "8,388,608 characters"),
        (lambda df: df.assign(energy_pj=np.inf), "a finite count or measure"),
    ],
    ids=["negative-cycles", "duplicate-key", "8MB-string", "infinite-energy"],
)
def test_report_inputs_are_checked_for_physical_sense(results, tmp_path, change, needle):
    """Results edited or written by something else: one line naming the row and column, before
    anything is drawn (no report folder)."""
    bad = _tampered(results, tmp_path, change)
    r = sparsim("report", bad, "--out", tmp_path / "rep")
    assert r.returncode == 2 and r.stderr.count("\n") == 1, r.stderr
    assert needle in r.stderr and "Traceback" not in r.stderr, r.stderr
    assert not (tmp_path / "rep").exists()


def test_a_sweep_json_claiming_a_quadrillion_points_is_refused(results, tmp_path):
    import json

    bad = _tampered(results, tmp_path, lambda df: df)
    meta = json.loads((bad / "sweep.json").read_text())
    (bad / "sweep.json").write_text(json.dumps({**meta, "points": 10**15}))
    r = sparsim("report", bad)
    assert r.returncode == 2 and "points = 1000000000000000" in r.stderr, r.stderr
