"""Work estimated before it runs, the cap on it and the progress bar (simulator.common.work)."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time

import pytest

from simulator.common.errors import SparsimInputError
from simulator.common.work import (
    DEFAULT_MAX_WORK,
    Work,
    advance,
    check_work,
    current_limits,
    format_duration,
    limits,
    parse_duration,
    progress,
)
from tests.conftest import REPO

ARCH = REPO / "examples" / "arch" / "nm_ws32x32.yaml"


@pytest.mark.parametrize(
    "text, seconds", [("600", 600), (90, 90), (1.5, 1.5), ("30m", 1800), ("2h", 7200), ("1d", 86400), ("45 s", 45)]
)
def test_durations(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("bad", ["", "soon", "0", 0, -1, "-5m", "1e400", "31d", True, None, [1], "nan", "2 hours"])
def test_bad_durations_are_one_line(bad):
    with pytest.raises(SparsimInputError) as err:
        parse_duration(bad)
    assert err.value.field == "max_work" and "a duration" in err.value.allowed


def test_format_duration():
    assert [format_duration(s) for s in (0.4, 42, 600, 4 * 3600, 5 * 86400)] == [
        "0.4 s", "42 s", "10 min", "4.0 h", "5.0 days",
    ]  # fmt: skip


def test_the_cap_refuses_with_the_estimate_and_how_to_raise_it():
    work = Work(3e9, "folds", 5 * 3600.0)
    with pytest.raises(SparsimInputError) as err:
        check_work(work, "nm_array")
    msg = str(err.value)
    assert "3.00e+09 folds (about 5.0 h)" in msg and "at most 60 min" in msg and "--max-work 9.1h" in msg
    with limits("6h"):
        check_work(work, "nm_array")  # raised: it runs
        assert current_limits().max_work == 6 * 3600
    assert current_limits().max_work == DEFAULT_MAX_WORK  # restored on exit


def test_a_bad_progress_mode_is_refused():
    with pytest.raises(SparsimInputError) as err, limits(progress="sometimes"):
        pass
    assert err.value.field == "progress"


def test_an_inner_bar_never_advances_an_outer_one(capsys):
    """A sweep's bar counts points: a point's own layers must not move it."""
    with limits(progress="on"):
        with progress(Work(10, "x", 100.0, 4, "points"), "outer") as outer:
            with progress(Work(10, "x", 100.0, 50, "layers"), "inner") as inner:
                assert inner is None
                advance(7)
            advance()
            assert outer.n == 1
    assert "outer" in capsys.readouterr().err


def test_no_bar_off_a_terminal_or_when_off(capsys):
    for mode in ("auto", "off"):
        with limits(progress=mode), progress(Work(1, "x", 1000.0, 3, "layers"), "run") as bar:
            assert bar is None  # pytest's stderr is not a terminal
            advance()
    assert capsys.readouterr().err == ""


def test_estimates_grow_with_the_work():
    """Every block's estimate moves the way its run does: batch, mapper, DRAM requests, MACs."""
    from simulator.api import load_arch, load_workload
    from simulator.common.block import get_block

    b = get_block("nm_array")
    cfg = load_arch(str(ARCH)).replace({"pe.dataflow": "os"})  # output-stationary: folds grow with the batch
    p = b.run_params(b.check_params({}))
    small = b.estimate(load_workload("zoo:resnet18", batch=1), cfg, **p)
    big = b.estimate(load_workload("zoo:resnet18", batch=64), cfg, **p)
    assert small.unit == "folds" and 0 < small.amount < big.amount and small.seconds < big.seconds
    auto = b.estimate(load_workload("zoo:resnet18", batch=64), cfg, **b.run_params(b.check_params({"mapping": "auto"})))
    assert auto.seconds > big.seconds and auto.steps == 2 * big.steps
    req = load_arch(str(ARCH)).replace(
        {"memory.dram": "ddr4-3200", "memory.bw_bytes_per_cycle": None, "memory.mode": "request"}
    )
    est = b.estimate(load_workload("zoo:resnet18"), req, **p)
    assert est.unit == "DRAM requests" and est.amount > 1000
    mob = get_block("mobile")
    from simulator.mobile.block import MobileModel
    from simulator.mobile.config import CoreConfig

    mp = mob.run_params(mob.check_params({}))
    m224 = mob.estimate(MobileModel("mobilenet_v2"), CoreConfig(), **mp)
    m448 = mob.estimate(MobileModel("mobilenet_v2", (3, 448, 448)), CoreConfig(), **mp)
    assert m224.unit == "MACs" and m448.amount == pytest.approx(4 * m224.amount, rel=1e-9)


def test_a_run_over_the_cap_is_refused_through_the_api_before_it_runs():
    from simulator import simulate

    t0 = time.perf_counter()
    with pytest.raises(SparsimInputError) as err:
        simulate("zoo:vgg16", str(ARCH), batch=1 << 16, mapping="auto", max_work="1m")
    assert err.value.field == "estimated work" and "max_work" in err.value.allowed
    assert time.perf_counter() - t0 < 60  # refused from the estimate, not after the work


def _under_pty(argv: list[str], timeout: float = 300) -> tuple[int, str]:
    """Run ``sparsim argv`` with standard error on a pseudo-terminal; its exit code and what it drew."""
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "simulator.cli", *argv], stdout=subprocess.DEVNULL,
                            stderr=slave, stdin=subprocess.DEVNULL)  # fmt: skip
    os.close(slave)
    chunks, t0 = [], time.monotonic()
    while time.monotonic() - t0 < timeout:
        ready, _, _ = select.select([master], [], [], 0.5)
        if ready:
            try:
                data = os.read(master, 65536)
            except OSError:  # the child closed the terminal
                break
            if not data:
                break
            chunks.append(data)
        elif proc.poll() is not None:
            break
    os.close(master)
    return proc.wait(timeout=60), b"".join(chunks).decode(errors="replace")


def test_a_long_run_shows_a_progress_bar_with_an_eta_on_a_terminal(tmp_path):
    """VGG-16 at batch 64 with the mapper: estimated over 2 s, so the bar is drawn (tqdm's
    ``[elapsed<remaining]``), and cleared at the end; ``--progress off`` draws none."""
    argv = ["simulate", "--arch", str(ARCH), "--workload", "zoo:vgg16", "--batch", "64", "--mapping", "auto"]
    rc, shown = _under_pty([*argv, "--out", str(tmp_path / "a")])
    assert rc == 0, shown
    assert "nm_array:" in shown and "GEMMs" in shown and "%|" in shown and "<" in shown, shown
    rc, shown = _under_pty([*argv, "--out", str(tmp_path / "b"), "--progress", "off"])
    assert rc == 0 and "%|" not in shown, shown
