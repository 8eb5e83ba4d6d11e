"""The sweep on a real Dask LocalCluster (separate worker processes): the same results as the local
pool, a worker killed mid-sweep, and a driver killed with SIGKILL then resumed."""

from __future__ import annotations

import os
import signal
import threading
import time

import pandas as pd
import pytest

from simulator.sweeps.run import run_sweep
from simulator.sweeps.store import read_points
from tests.simulator.sweeps.fixtures import (
    array_spec,
    canonical,
    journal_points,
    kill_group,
    sparsim,
    start_sweep,
    wait_for_points,
)

pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    d = tmp_path_factory.mktemp("ref")
    spec = array_spec(d, rows=(8, 16, 24, 32, 48, 64, 96, 128), cols=(8, 16, 32, 64, 128), sram=(32, 128))
    run_sweep(spec, d / "local", jobs=2, progress="off")
    return spec, canonical(d / "local")


def test_dask_local_cluster_gives_the_local_results(reference, tmp_path):
    spec, ref = reference
    res = run_sweep(spec, tmp_path / "out", executor="dask-local", jobs=2, progress="off")
    assert (res.status, res.ran, res.infra_failures) == ("complete", len(ref), 0)
    pd.testing.assert_frame_equal(canonical(tmp_path / "out"), ref)
    workers = read_points(tmp_path / "out").worker.unique()
    assert len(workers) == 2 and all(int(w.split(":")[1]) != os.getpid() for w in workers)


def test_a_worker_killed_mid_sweep_and_every_point_still_runs_exactly_once(reference, tmp_path):
    spec, ref = reference
    out = tmp_path / "out"
    killed: list[int] = []
    at_kill: list[int] = []

    def kill_one_worker(ex) -> None:
        pids = ex.client.run(os.getpid)  # worker address -> pid (separate processes)
        assert len(set(pids.values())) == 2 and os.getpid() not in pids.values()

        def later() -> None:
            deadline = time.monotonic() + 60
            while journal_points(out) < 30 and time.monotonic() < deadline:
                time.sleep(0.01)
            victim = sorted(pids.values())[0]
            os.kill(victim, signal.SIGKILL)
            killed.append(victim)
            at_kill.append(journal_points(out))

        threading.Thread(target=later, daemon=True).start()

    res = run_sweep(spec, out, executor="dask-local", jobs=2, progress="off", executor_hook=kill_one_worker)
    assert killed, "the worker was not killed"
    assert 30 <= at_kill[0] < len(ref)  # mid-sweep
    assert (res.status, res.infra_failures) == ("complete", 0)
    got = canonical(out)
    assert got.key.is_unique and len(got) == len(ref)
    pd.testing.assert_frame_equal(got, ref)
    # points ran on the victim before it died, and on its replacement (or the survivor) after
    assert any(w.endswith(f":{killed[0]}") for w in read_points(out).worker)


def test_driver_with_a_dask_cluster_killed_then_resumed(reference, tmp_path):
    spec, ref = reference
    out = tmp_path / "out"
    proc = start_sweep(spec, out, "--executor", "dask-local", "--jobs", "2")
    try:
        wait_for_points(out, 40, proc, timeout=180)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        kill_group(proc)  # the driver's orphaned cluster
    assert len(read_points(out)) < len(ref)
    r = sparsim(
        "sweep",
        str(spec),
        "--out",
        str(out),
        "--resume",
        "--executor",
        "dask-local",
        "--jobs",
        "2",
        "--progress",
        "off",
    )
    assert r.returncode == 0, r.stderr
    got = canonical(out)
    assert got.key.is_unique and len(got) == len(ref)
    pd.testing.assert_frame_equal(got, ref)


def test_unreachable_scheduler_is_one_line_and_nothing_is_written(reference, tmp_path):
    spec, _ = reference
    r = sparsim(
        "sweep",
        str(spec),
        "--out",
        str(tmp_path / "o"),
        "--executor",
        "dask",
        "--scheduler",
        "tcp://127.0.0.1:9",
        timeout=120,
    )
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "reachable Dask scheduler" in r.stderr, r.stderr
    assert not (tmp_path / "o").exists()
