"""Where points run: strategies behind one small protocol.

=============  ==============================================================================
``serial``     in the driver process (``--jobs 1``): simplest to debug and profile
``local``      a process pool on this machine (``--jobs N``, default: the CPU count); workers are
               started by a fork server that has imported the models once; they ignore Ctrl-C
               and end when their driver does
``dask``       an existing Dask distributed cluster (``--scheduler tcp://HOST:PORT``); workers
               need the same sparsim version installed (checked before submitting)
``dask-local`` a Dask ``LocalCluster`` of ``--jobs`` single-threaded worker processes, started and
               stopped with the sweep
=============  ==============================================================================

Why an existing engine for the distributed case: Dask already reschedules the tasks of a worker
that dies and never reports a task twice; each point is submitted under its content key, so the
cluster cannot compute the same point twice either. The driver alone writes the store.

The protocol: ``start()``, ``submit(task) -> future``, ``as_completed(futures)`` (futures with
``result()``, ``exception()``, ``cancel()``, ``cancelled()``, ``done()``), ``cancel_pending(futures)``
(queued points are dropped; running ones finish where the engine allows), ``shutdown(abandon)``.
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing as mp
import os
import sys
import threading
from collections.abc import Iterable, Iterator
from typing import Any

from simulator.common.errors import SparsimInputError
from simulator.sweeps.spec import Task
from simulator.sweeps.worker import init_local_worker, run_point, worker_version

__all__ = ["EXECUTORS", "make_executor", "SerialExecutor", "LocalExecutor", "DaskExecutor"]

EXECUTORS = ("local", "dask", "dask-local")


class SerialExecutor:
    """Runs each point when the driver asks for the next result."""

    name = "serial"
    workers = 1

    def start(self) -> None:
        self._queue: list[tuple[cf.Future, Task]] = []

    def submit(self, task: Task) -> cf.Future:
        f: cf.Future = cf.Future()
        self._queue.append((f, task))
        return f

    def as_completed(self, futures: Iterable[cf.Future]) -> Iterator[cf.Future]:
        wanted = set(futures)
        for f, task in self._queue:
            if f not in wanted or f.cancelled() or f.running():
                continue  # a running one was interrupted by Ctrl-C in this very process
            if not f.done():
                if not f.set_running_or_notify_cancel():
                    continue
                f.set_result(run_point(task))
            yield f

    def cancel_pending(self, futures: Iterable[Any]) -> None:
        for f in futures:
            f.cancel()

    def shutdown(self, abandon: bool = False) -> None:
        self._queue = []


def _start_forkserver_quietly() -> None:
    """Start the pool's fork server with SIGINT and SIGTERM ignored and its standard error on
    /dev/null. Why: it runs in the driver's process group, so Ctrl-C reaches it too, and while it
    imports the preloaded modules Python would print a KeyboardInterrupt traceback of its own (5
    of 10 tries, issue 29); and a worker it forks just as the interrupted driver removes the
    pool's semaphores prints a FileNotFoundError traceback. An ignored signal and the stderr
    stay with it across its exec and into its workers, which ignore SIGINT anyway
    (:func:`~simulator.sweeps.worker.init_local_worker`); a worker's failure still reaches the
    driver through the pool (one line, the traceback saved), so nothing a user needs is lost."""
    import signal
    from multiprocessing import forkserver

    main = threading.current_thread() is threading.main_thread()
    old = (
        (signal.signal(signal.SIGINT, signal.SIG_IGN), signal.signal(signal.SIGTERM, signal.SIG_IGN)) if main else None
    )
    saved = os.dup(2)
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        sys.stderr.flush()
        os.dup2(null, 2)
        forkserver.ensure_running()
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(null)
        if old is not None:
            signal.signal(signal.SIGINT, old[0])
            signal.signal(signal.SIGTERM, old[1])


class LocalExecutor:
    """A process pool (``concurrent.futures``), forkserver-started on POSIX."""

    name = "local"

    def __init__(self, jobs: int):
        self.workers = jobs

    def start(self) -> None:
        methods = mp.get_all_start_methods()
        ctx = mp.get_context("forkserver" if "forkserver" in methods else "spawn")
        if ctx.get_start_method() == "forkserver":
            ctx.set_forkserver_preload(
                ["simulator.sweeps.worker", "simulator.sweeps.blocks", "simulator.nm_array.fold"]
            )
        if ctx.get_start_method() == "forkserver":
            _start_forkserver_quietly()
        self._pool = cf.ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=ctx,
            initializer=init_local_worker,
            initargs=(os.getpid(), self.workers),
        )

    def submit(self, task: Task) -> cf.Future:
        return self._pool.submit(run_point, task)

    def as_completed(self, futures: Iterable[cf.Future]) -> Iterator[cf.Future]:
        return cf.as_completed(list(futures))

    def cancel_pending(self, futures: Iterable[cf.Future]) -> None:
        for f in futures:
            f.cancel()  # fails (harmlessly) for running points: they finish and are stored

    def shutdown(self, abandon: bool = False) -> None:
        if abandon:
            for p in mp.active_children():
                p.terminate()
        self._pool.shutdown(wait=not abandon, cancel_futures=True)


class DaskExecutor:
    """Dask distributed: an existing scheduler, or a LocalCluster started here."""

    def __init__(self, scheduler: str | None = None, local_workers: int | None = None):
        self.scheduler = scheduler
        self.local_workers = local_workers
        self.name = "dask" if scheduler else "dask-local"
        self.cluster = None
        self.client = None
        self.workers = local_workers or 0

    def start(self) -> None:
        import logging

        try:
            from distributed import Client, LocalCluster
        except ImportError:
            raise SparsimInputError(
                "--executor", "executor", self.name, 'needs Dask: pip install -e ".[dask]"'
            ) from None
        if self.scheduler:
            try:
                self.client = Client(self.scheduler, timeout="10s")
            except (OSError, TimeoutError) as err:
                raise SparsimInputError(
                    "--scheduler", "scheduler", self.scheduler, f"a reachable Dask scheduler ({err})"
                ) from None
            self.workers = len(self.client.scheduler_info()["workers"])
        else:
            self.cluster = LocalCluster(
                n_workers=self.local_workers,
                threads_per_worker=1,
                processes=True,
                # a free port: the default :8787 fails the whole sweep when another cluster holds it
                dashboard_address=":0",
                silence_logs=logging.ERROR,
            )
            self.client = Client(self.cluster)
        from simulator.common.version import __version__

        theirs = self.client.submit(worker_version, pure=False).result(timeout=120)
        if theirs != __version__:
            raise SparsimInputError(
                "--scheduler", "worker sparsim version", theirs, f"the driver's ({__version__}): keys would differ"
            )

    def submit(self, task: Task):
        return self.client.submit(run_point, task, key=f"sweep-point-{task.key}", pure=False)

    def as_completed(self, futures: Iterable[Any]) -> Iterator[Any]:
        from distributed import as_completed

        return iter(as_completed(list(futures)))

    def cancel_pending(self, futures: Iterable[Any]) -> None:
        pending = [f for f in futures if not f.done()]
        if pending:
            self.client.cancel(pending)

    def shutdown(self, abandon: bool = False) -> None:
        if self.client is not None:
            self.client.close()
        if self.cluster is not None:
            self.cluster.close()


def make_executor(kind: str, jobs: int | None, scheduler: str | None):
    """``local`` (``jobs`` 1 runs serially in the driver), ``dask`` or ``dask-local``."""
    if kind not in EXECUTORS:
        raise SparsimInputError("--executor", "executor", kind, f"allowed: {', '.join(EXECUTORS)}")
    jobs = jobs or os.cpu_count() or 1
    if kind == "dask":
        if not scheduler:
            raise SparsimInputError("--scheduler", "scheduler", scheduler, "tcp://HOST:PORT of a Dask scheduler")
        return DaskExecutor(scheduler=scheduler)
    if scheduler:
        raise SparsimInputError("--scheduler", "scheduler", scheduler, "only with --executor dask")
    if kind == "dask-local":
        return DaskExecutor(local_workers=jobs)
    return SerialExecutor() if jobs == 1 or not _main_importable() else LocalExecutor(jobs)


def _main_importable() -> bool:
    """Can worker processes start? forkserver and spawn re-run the parent's main module from its
    file; a program read from standard input (``python - <<EOF``) has none, and every worker would
    die on start. Such a program runs its points serially instead (a notebook's main module has no
    file either, and multiprocessing skips it, so notebooks keep their workers)."""
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    return path is None or os.path.exists(path)
