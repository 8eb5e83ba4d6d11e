"""Threads sized to the machine: processes times threads never more than the cores.

Why: numpy's BLAS, numba's parallel kernels and torch each start one thread per core by
default. A sweep's worker processes (one per core) each doing so run cores^2 threads on cores
cores, and on a busy 2-core machine a reproduction that takes 4 minutes with one thread per
process did not finish in 25 (measured, issue 29). So sparsim gives each of ``processes``
processes ``cores // processes`` threads (at least one).

Override: set ``SPARSIM_THREADS`` (threads per process) or any of the libraries' own variables
(``OMP_NUM_THREADS``, ``OPENBLAS_NUM_THREADS``, ``MKL_NUM_THREADS``, ``NUMBA_NUM_THREADS``); a
variable the user set is never changed. The environment variables work only before the
libraries start, so :func:`configure_threads` also sets the running libraries' pools
(threadpoolctl for BLAS/OpenMP, ``numba.set_num_threads``, ``torch.set_num_threads``), each only
if that library is already imported (nothing is imported here).
"""

from __future__ import annotations

import os
import sys

__all__ = ["configure_threads", "threads_per_process", "THREAD_VARS"]

#: the libraries' own variables (set only when the user did not)
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def threads_per_process(processes: int = 1) -> int:
    """``SPARSIM_THREADS`` if set (a positive integer), else the cores over ``processes``."""
    given = os.environ.get("SPARSIM_THREADS", "").strip()
    if given.isdigit() and int(given) > 0:
        return int(given)
    return max(1, _cores() // max(1, processes))


def configure_threads(processes: int = 1) -> int:
    """Size this process's thread pools for ``processes`` processes sharing the machine; returns
    the threads per process. Safe to call again (a worker after its driver)."""
    n = threads_per_process(processes)
    user_set = {v for v in THREAD_VARS if v in os.environ and os.environ.get(f"_SPARSIM_SET_{v}") is None}
    for var in THREAD_VARS:
        if var not in user_set:
            os.environ[var] = str(n)
            os.environ[f"_SPARSIM_SET_{var}"] = "1"
    if "OMP_NUM_THREADS" in user_set and "SPARSIM_THREADS" not in os.environ:
        n = int(os.environ["OMP_NUM_THREADS"]) if os.environ["OMP_NUM_THREADS"].isdigit() else n
    if "numpy" in sys.modules:
        try:
            from threadpoolctl import threadpool_limits

            threadpool_limits(n)
        except Exception:  # noqa: BLE001 - threadpoolctl missing or a BLAS it cannot steer: env vars still apply
            pass
    numba = sys.modules.get("numba")
    if numba is not None and "NUMBA_NUM_THREADS" not in user_set:
        try:
            numba.set_num_threads(min(n, numba.config.NUMBA_NUM_THREADS))
        except Exception:  # noqa: BLE001 - numba's pool already fixed smaller
            pass
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(n)
    return n
