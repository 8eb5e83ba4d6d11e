"""Threads sized to the machine (simulator.common.threads)."""

from __future__ import annotations

import os
import subprocess
import sys

from simulator.common import threads


def _env_after(extra: dict[str, str], processes: int) -> dict[str, str]:
    """The thread variables a fresh process ends with after configure_threads(processes)."""
    code = (
        "import os, json; from simulator.common.threads import configure_threads, THREAD_VARS; "
        f"n = configure_threads({processes}); "
        "print(json.dumps({'n': n, **{v: os.environ[v] for v in THREAD_VARS}}))"
    )
    env = {k: v for k, v in os.environ.items() if k not in threads.THREAD_VARS and k != "SPARSIM_THREADS"}
    env = {k: v for k, v in env.items() if not k.startswith("_SPARSIM_SET_")}
    out = subprocess.run([sys.executable, "-c", code], env={**env, **extra}, capture_output=True, text=True,
                         check=True)  # fmt: skip
    import json

    return json.loads(out.stdout)


def test_processes_times_threads_fit_the_cores():
    cores = threads._cores()
    one = _env_after({}, 1)
    assert one["n"] == cores and all(one[v] == str(cores) for v in threads.THREAD_VARS)
    many = _env_after({}, 4 * cores)
    assert many["n"] == 1 and many["OMP_NUM_THREADS"] == "1"  # never zero threads


def test_a_users_setting_is_kept():
    got = _env_after({"OMP_NUM_THREADS": "3"}, 1)
    assert got["OMP_NUM_THREADS"] == "3" and got["n"] == 3
    got = _env_after({"SPARSIM_THREADS": "5"}, 8)
    assert got["n"] == 5 and got["NUMBA_NUM_THREADS"] == "5"
