"""The sweep driver with the serial and local executors: identical results, error rows, resume,
Ctrl-C and a driver killed with SIGKILL."""

from __future__ import annotations

import os
import signal

import pandas as pd
import pytest
import yaml

from simulator.common.errors import SparsimInputError
from simulator.common.outputs import mark_sweep_dir
from simulator.sweeps.run import run_sweep
from simulator.sweeps.store import read_points
from tests.simulator.sweeps.fixtures import (
    array_spec,
    canonical,
    kill_group,
    sparsim,
    start_sweep,
    wait_for_points,
    wait_group_gone,
)


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The small array sweep run serially in this process: the oracle for every other way."""
    d = tmp_path_factory.mktemp("ref")
    spec = array_spec(d, rows=(8, 16, 32), cols=(16, 32), sram=(32, 128))
    res = run_sweep(spec, d / "out", jobs=1, progress="off")
    assert (res.status, res.ran, res.ok, res.errors) == ("complete", 37, 37, 0)
    return spec, canonical(d / "out")


def test_reference_values_are_the_simulator_s(reference):
    """A stored row is what `simulate` gives for that config (no re-mapping on the way to Parquet)."""
    from simulator.nm_array.config import ArrayConfig, Buffers, Memory, PEArray
    from simulator.nm_array.fold import simulate_layers
    from workloads.zoo import load_zoo_trace

    _, df = reference
    r = df[(df["pe.rows"] == 32) & (df["pe.cols"] == 16) & (df.nm == "2:4") & (df["buffers.ifmap_kb"] == 128)].iloc[0]
    layers = load_zoo_trace("resnet18")
    weight = layers.op.isin(("conv", "gemm"))
    layers.loc[weight, ["nm_n", "nm_m"]] = (2, 4)
    cfg = ArrayConfig(
        pe=PEArray(rows=32, cols=16, supported_m=(1, 4)),
        buffers=Buffers(ifmap_kb=128),
        memory=Memory(bw_bytes_per_cycle=32),
    )
    assert r.cycles == simulate_layers(layers, cfg).cycles.sum()
    base = df[df.baseline == "dense16"].iloc[0]
    assert (base["pe.rows"], base["pe.cols"], base.nm) == (16, 16, "1:1")


def test_local_pool_gives_the_serial_results(reference, tmp_path):
    spec, ref = reference
    res = run_sweep(spec, tmp_path / "out", jobs=2, progress="off")
    assert res.ran == 37
    pd.testing.assert_frame_equal(canonical(tmp_path / "out"), ref)
    workers = set(read_points(tmp_path / "out").worker)
    assert len(workers) == 2  # really ran in two processes


def test_resume_skips_stored_points(reference, tmp_path):
    spec, ref = reference
    run_sweep(spec, tmp_path / "out", jobs=1, progress="off")
    res = run_sweep(spec, tmp_path / "out", jobs=2, resume=True, progress="off")
    assert (res.resumed, res.ran) == (37, 0)
    with pytest.raises(SparsimInputError, match="--resume"):
        run_sweep(spec, tmp_path / "out", jobs=1, progress="off")
    changed = array_spec(tmp_path, rows=(8,), cols=(16,), sram=(32,), name="arr")
    with pytest.raises(SparsimInputError, match="changed spec"):
        run_sweep(changed, tmp_path / "out", jobs=1, resume=True, progress="off")
    assert len(read_points(tmp_path / "out")) == 37


def test_a_point_that_raises_is_an_error_row_and_the_others_go_on(tmp_path):
    spec = tmp_path / "smash.yaml"
    spec.write_text(
        yaml.safe_dump(
            {
                "block": "spgemm",
                "base": {"cores": 2, "threads_per_core": 4},
                "axes": {"scratchpad_kb": [1, 64], "algorithm": ["smash_v1", "hash"]},
                "workloads": [{"matrix": "rmat9"}],
            }
        )
    )
    res = run_sweep(spec, tmp_path / "out", jobs=2, progress="off")
    df = read_points(tmp_path / "out")
    assert (res.ran, len(df)) == (4, 4)
    bad = df[df.status == "error"]
    assert len(bad) == 1
    assert (bad.iloc[0].scratchpad_kb, bad.iloc[0].algorithm) == (1, "smash_v1")
    assert "table_bytes" in bad.iloc[0].error and "too small for a window" in bad.iloc[0].error
    assert bad.cycles.isna().all()
    good = df[df.status == "ok"]
    assert good.error.isna().all() and (good.cycles > 0).all()
    # the dataset is readable as one Parquet dataset with one schema
    assert len(pd.read_parquet(tmp_path / "out" / "points")) == 4


def test_progress_bar_shows_rate_and_eta(reference, tmp_path):
    spec, _ = reference
    r = sparsim("sweep", spec, "--out", tmp_path / "o", "--jobs", "2", "--progress", "on")
    assert r.returncode == 0, r.stderr
    assert "37/37 points" in r.stderr and "pt/s" in r.stderr and "<" in r.stderr
    assert "sweep complete: 37 points (0 already stored, 37 run: 37 ok, 0 errors)" in r.stdout


@pytest.fixture(scope="module")
def big(tmp_path_factory):
    """240 points: long enough (a few seconds) to interrupt mid-way."""
    d = tmp_path_factory.mktemp("big")
    spec = array_spec(d, rows=(8, 16, 24, 32, 48, 64, 96, 128), cols=(8, 16, 32, 64, 128), sram=(32, 128))
    run_sweep(spec, d / "ref", jobs=1, progress="off")
    return spec, canonical(d / "ref")


def test_driver_killed_with_sigkill_then_resume_loses_and_duplicates_nothing(big, tmp_path):
    spec, ref = big
    out = tmp_path / "out"
    proc = start_sweep(spec, out, "--jobs", "2")
    wait_for_points(out, 60, proc)
    os.kill(proc.pid, signal.SIGKILL)  # the driver only
    proc.wait(timeout=30)
    # its pool workers notice and end by themselves (they are not left running orphaned)
    assert wait_group_gone(proc.pid), "pool workers outlived their killed driver"
    kill_group(proc)
    stored_before = len(read_points(out))
    assert stored_before < len(ref)
    r = sparsim("sweep", spec, "--out", out, "--resume", "--jobs", "2", "--progress", "off")
    assert r.returncode == 0, r.stderr
    got = canonical(out)
    assert got.key.is_unique and len(got) == len(ref)
    pd.testing.assert_frame_equal(got, ref)
    import json

    runs = json.loads((out / "sweep.json").read_text())["runs"]
    assert [r_["status"] for r_ in runs] == ["killed", "complete"]
    assert runs[1]["recovered_from_journal"] > 0 or stored_before > 0


@pytest.mark.parametrize("how", ["ctrl-c", "sigterm"])
def test_ctrl_c_keeps_finished_points_and_resume_completes(big, tmp_path, how):
    spec, ref = big
    out = tmp_path / "out"
    proc = start_sweep(spec, out, "--jobs", "2")
    wait_for_points(out, 40, proc)
    if how == "ctrl-c":
        os.killpg(proc.pid, signal.SIGINT)  # what a terminal's Ctrl-C does: the whole process group
    else:
        os.kill(proc.pid, signal.SIGTERM)  # a batch scheduler stopping the driver
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "interrupted" in err and "--resume" in err
    part = canonical(out)
    assert 40 <= len(part) < len(ref) and part.key.is_unique
    pd.testing.assert_frame_equal(part, ref[ref.key.isin(part.key)].reset_index(drop=True))
    res = run_sweep(spec, out, jobs=2, resume=True, progress="off")
    assert res.resumed == len(part)
    pd.testing.assert_frame_equal(canonical(out), ref)


def test_a_second_driver_on_the_same_results_is_refused(big, tmp_path):
    spec, _ = big
    out = tmp_path / "out"
    proc = start_sweep(spec, out, "--jobs", "1")
    try:
        wait_for_points(out, 5, proc)
        r = sparsim("sweep", spec, "--out", out, "--resume", "--progress", "off")
        assert r.returncode == 2 and "another sparsim run is writing this folder" in r.stderr
    finally:
        kill_group(proc)


def test_a_sweep_stopped_before_its_first_point_can_be_run_again(tmp_path):
    """Stopped between creating its directory and storing a point (Ctrl-C while a cluster
    started), a sweep leaves only its marker and an empty store: a plain rerun, --resume and
    --force all accept it; a foreign directory with the same files is still refused."""
    spec = array_spec(tmp_path, rows=(8,), cols=(8, 16), sram=(32,))
    for flags in ({}, {"resume": True}, {"force": True}):
        out = tmp_path / f"o{len(flags)}{next(iter(flags), '')}"
        (out / "points").mkdir(parents=True)
        mark_sweep_dir(out)
        res = run_sweep(spec, out, jobs=1, progress="off", **flags)
        assert res.status == "complete" and res.ok == res.points > 0
    foreign = tmp_path / "foreign"
    (foreign / "points").mkdir(parents=True)
    with pytest.raises(SparsimInputError, match="empty or new directory"):
        run_sweep(spec, foreign, jobs=1, progress="off")


def test_report_refuses_a_part_of_another_schema(tmp_path):
    """A part whose columns are not the sweep's (hand-edited, another sweep's) is named by file."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from reports.sweep_report import write_sweep_report

    spec = array_spec(tmp_path, rows=(8,), cols=(8, 16), sram=(32,))
    out = tmp_path / "o"
    run_sweep(spec, out, jobs=1, progress="off")
    pq.write_table(pa.table({"key": ["x"], "cycles": ["not a number"]}), out / "points" / "part-zzz.parquet")
    with pytest.raises(SparsimInputError, match="part-zzz.parquet"):
        write_sweep_report(out)


def test_sweep_the_mapper_objective(tmp_path):
    """`mapping: auto` in base, the objective as an axis: each point wins on its own objective,
    and the mapper never loses to the plain schedule."""
    spec = tmp_path / "m.yaml"
    spec.write_text(yaml.safe_dump({
        "name": "mapper", "block": "nm_array",
        "base": {"pe.cols": 32, "memory.bw_bytes_per_cycle": 16, "mapping": "auto", "buffers.ofmap_kb": 256},
        "axes": {"pe.rows": [16, 32], "objective": ["cycles", "energy", "dram_bytes"]},
        "workloads": [{"zoo": "resnet18"}],
        "baselines": {"plain": {"pe.rows": 32, "mapping": "plain", "objective": "cycles"}},
    }, sort_keys=False))  # fmt: skip
    res = run_sweep(spec, tmp_path / "out", jobs=1, progress="off")
    assert (res.ok, res.errors) == (7, 0)
    df = read_points(tmp_path / "out")
    auto = df[df.baseline == ""]
    assert len(auto) == 6
    for _, g in auto.groupby("pe.rows"):
        by = g.set_index("objective")
        assert by["cycles"].min() == by.loc["cycles", "cycles"] < by.loc["energy", "cycles"]
        assert by["energy_pj"].min() == pytest.approx(by.loc["energy", "energy_pj"])
        assert by["dram_bytes"].min() == by.loc["dram_bytes", "dram_bytes"]
    plain = df[df.baseline == "plain"].iloc[0]
    auto32 = auto[(auto["pe.rows"] == 32) & (auto.objective == "cycles")].iloc[0]
    assert auto32.cycles < plain.cycles


@pytest.mark.parametrize("delay", [0.3, 0.6, 0.9, 1.2, 1.5, 1.8])
def test_ctrl_c_at_any_moment_of_the_start_is_one_line(tmp_path, delay):
    """Ctrl-C to the process group while the CLI imports its modules, while the pool's fork
    server imports its preloaded ones, or once points run: one line and exit 130, never a
    traceback (the fork server starts with SIGINT ignored; main catches it around everything)."""
    import signal
    import subprocess
    import sys
    import time

    spec = tmp_path / "s.yaml"
    spec.write_text("block: nm_array\nbase: {pe.rows: 8}\naxes:\n  pe.cols: [8, 16, 32, 64]\n"
                    "workloads: [{zoo: resnet18}]\n")  # fmt: skip
    p = subprocess.Popen([sys.executable, "-m", "simulator.cli", "sweep", str(spec), "--out", str(tmp_path / "o"),
                          "--jobs", "2", "--progress", "off"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True, start_new_session=True)  # fmt: skip
    time.sleep(delay)
    os.killpg(p.pid, signal.SIGINT)
    _, err = p.communicate(timeout=300)
    assert "Traceback" not in err, err
    assert p.returncode in (0, 130), (p.returncode, err)  # 0: it had finished before the signal
