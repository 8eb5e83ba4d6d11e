"""What runs on a worker (a local process or a Dask worker): one point in, one result row out.

Why errors become rows: a point the model rejects (say, a SMASH table too small for one row) is a
result of the sweep, not a crash of it. The row says ``status = "error"`` and carries the message;
the other points go on. Only failures of the machinery (a worker killed, a pool broken) surface as
exceptions to the driver, and those points stay unstored so ``--resume`` runs them again.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import threading
import time
from typing import Any

from simulator.common.block import get_block
from simulator.common.work import MAX_MAX_WORK, limits
from simulator.sweeps.blocks import load_workload
from simulator.sweeps.spec import Task

__all__ = ["run_point", "worker_version", "init_local_worker", "TABLE"]

#: the row key a kept per-row table travels under (taken off before the row is stored)
TABLE = "_table"


def run_point(task: Task) -> dict[str, Any]:
    """Run one point; never raises for a model error (see the module docstring)."""
    from simulator.common.version import __version__

    t0 = time.perf_counter()
    row: dict[str, Any] = {
        "key": task.key,
        "workload": task.workload,
        "baseline": task.baseline,
        "in_sweep": task.in_sweep,
        **task.axes,
    }
    block = get_block(task.block)
    try:
        cfg = block.config_from_dict(task.config)
        with limits(MAX_MAX_WORK, "off"):  # the driver checked the whole sweep's work; no bar per point
            result = block.run(load_workload(task.block, task.load), cfg, **block.run_params(task.params))
        row.update(result.totals)
        if task.keep_table:
            row[TABLE] = result.table
        row["status"], row["error"] = "ok", None
    except Exception as err:  # noqa: BLE001 - any model error is this point's result
        row["status"], row["error"] = "error", f"{type(err).__name__}: {err}"
    row["point_seconds"] = time.perf_counter() - t0
    row["worker"] = f"{socket.gethostname()}:{os.getpid()}"
    row["config"] = json.dumps(task.config, sort_keys=True)
    row["params"] = json.dumps(task.params, sort_keys=True)
    row["sparsim_version"] = __version__
    return row


def worker_version() -> str:
    """The sparsim version a worker imports (a mismatch would give different point keys)."""
    from simulator.common.version import __version__

    return __version__


def init_local_worker(driver_pid: int, workers: int = 1) -> None:
    """Local pool initializer. Ctrl-C and SIGTERM (a batch scheduler stopping the job's process
    group) are the driver's to handle (it lets running points finish),
    and a worker ends when its driver does, even one killed with SIGKILL that could not shut the
    pool down (the pool's fork server, not the driver, is the worker's parent, so the worker
    watches the driver's pid through a pidfd). Its thread pools get the cores over ``workers``
    (:mod:`simulator.common.threads`)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    from simulator.common.threads import configure_threads

    configure_threads(workers)  # workers x threads within the cores
    try:
        fd = os.pidfd_open(driver_pid)
    except (AttributeError, OSError):  # not Linux >= 5.3: fall back to polling
        fd = None

    def watch() -> None:
        import select

        if fd is not None:
            select.select([fd], [], [])
        else:
            while True:
                time.sleep(1.0)
                try:
                    os.kill(driver_pid, 0)
                except ProcessLookupError:
                    break
        os._exit(0)

    threading.Thread(target=watch, name="sparsim-driver-watch", daemon=True).start()
