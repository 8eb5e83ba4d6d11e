"""Work estimated before it runs, a cap on it, and a progress bar while it runs.

Why: a run's cost grows with things a user does not see in the command (a layer's folds at a
large batch, the DRAM requests of a memory-bound network, the mapper's and the partitioner's
candidates, the points of a sweep). A run that would take hours should say so before it starts,
and a run that takes more than a moment should show how far it is.

Every block's :meth:`~simulator.common.block.Block.estimate` returns a :class:`Work`: an amount in
the block's own unit (fold steps, DRAM requests, instructions, partial products) and the time it
expects on the machine sparsim was calibrated on (a 2-core x86 VM, one process; constants next to
each estimator, measured by ``benchmarks/bench_work_estimate.py``, which prints estimate against
measurement). The estimate is an order of magnitude, not a promise: its job is to refuse the run
that would take a day and let through the one that takes a minute.

The cap (:data:`DEFAULT_MAX_WORK`, one hour of estimated time) is per command: a sweep's estimate
is its points times the work per point. ``--max-work`` on the command line (``max_work=`` in
the API) raises or lowers it; ``--progress on|off|auto`` (``progress=``) shows the bar always,
never, or (default) when standard error is a terminal and the estimate is over
:data:`BAR_FROM_SECONDS`. Both are set for a block of code with :func:`limits` (a context
variable, so nothing is threaded through the models); the models report progress with
:func:`advance`, which does nothing when no bar is shown.
"""

from __future__ import annotations

import contextlib
import math
import re
import shutil
import sys
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from simulator.common.errors import SparsimInputError

__all__ = [
    "Work", "DEFAULT_MAX_WORK", "BAR_FROM_SECONDS", "PROGRESS_MODES", "limits", "current_limits",
    "parse_duration", "format_duration", "check_work", "progress", "advance", "quiet", "terminal_size",
    "stderr_is_terminal",
]  # fmt: skip

#: the default cap on a command's estimated time, seconds
DEFAULT_MAX_WORK = 3600.0
#: the largest cap a user may set (30 days): beyond it an estimate is no longer a plan
MAX_MAX_WORK = 30 * 86400.0
#: a run estimated to take at least this long shows a progress bar (in ``auto`` mode)
BAR_FROM_SECONDS = 2.0
PROGRESS_MODES = ("auto", "on", "off")


@dataclass(frozen=True)
class Work:
    """An estimate: ``amount`` of ``unit`` (what the block counts), ``seconds`` it is expected to
    take, and ``steps`` the progress bar counts in ``step_unit`` (layers, GEMMs, points)."""

    amount: float
    unit: str
    seconds: float
    steps: int = 0
    step_unit: str = "steps"

    def describe(self) -> str:
        return f"{_count(self.amount)} {self.unit} (about {format_duration(self.seconds)})"


def _count(x: float) -> str:
    return f"{x:,.0f}" if x < 1e9 else f"{x:.2e}"


def format_duration(seconds: float) -> str:
    """``0.4 s``, ``42 s``, ``12 min``, ``3.1 h``, ``4.2 days``."""
    if not math.isfinite(seconds):
        return "forever"
    if seconds < 10:
        return f"{seconds:.1f} s"
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 3 * 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


_UNITS = {"": 1.0, "s": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0, "d": 86400.0}
_DURATION = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*(s|m|min|h|d)?\s*$")


def parse_duration(value: Any, field: str = "max_work", source: str = "--max-work") -> float:
    """A duration: a number of seconds or ``90s``, ``30m``, ``2h``, ``1d``; positive, at most
    :data:`MAX_MAX_WORK`."""
    allowed = f"a duration such as 600, 30m, 2h or 1d (more than 0, at most {format_duration(MAX_MAX_WORK)})"
    if isinstance(value, bool):
        raise SparsimInputError(source, field, value, allowed)
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str) and (m := _DURATION.match(value)):
        seconds = float(m.group(1)) * _UNITS[m.group(2) or ""]
    else:
        raise SparsimInputError(source, field, value, allowed)
    if not math.isfinite(seconds) or not 0 < seconds <= MAX_MAX_WORK:
        raise SparsimInputError(source, field, value, allowed)
    return seconds


@dataclass(frozen=True)
class Limits:
    max_work: float = DEFAULT_MAX_WORK
    progress: str = "auto"
    #: where the cap came from, for the message (``--max-work`` or ``max_work``)
    source: str = "--max-work"


_DEFAULT = Limits()
_LIMITS: ContextVar[Limits | None] = ContextVar("sparsim_limits", default=None)
_BAR: ContextVar[Any] = ContextVar("sparsim_bar", default=None)


def current_limits() -> Limits:
    return _LIMITS.get() or _DEFAULT


@contextlib.contextmanager
def limits(max_work: Any = None, progress: str | None = None, source: str = "--max-work") -> Iterator[Limits]:
    """Set the cap and the progress mode for the code inside (unset values keep the outer ones)."""
    outer = current_limits()
    cap = outer.max_work if max_work is None else parse_duration(max_work, "max_work", source)
    mode = outer.progress if progress is None else progress
    if mode not in PROGRESS_MODES:
        where = "--progress" if source.startswith("--") else "progress"
        raise SparsimInputError(where, "progress", mode, f"one of {', '.join(PROGRESS_MODES)}")
    token = _LIMITS.set(Limits(cap, mode, source))
    try:
        yield current_limits()
    finally:
        _LIMITS.reset(token)


def check_work(work: Work, what: str) -> None:
    """Refuse ``work`` over the cap: one line naming the estimate, the cap and how to raise it."""
    lim = current_limits()
    if work.seconds <= lim.max_work:
        return
    need = format_duration(min(MAX_MAX_WORK, 2 ** math.ceil(math.log2(max(work.seconds, 1.0)))))
    raise SparsimInputError(
        what, "estimated work", work.describe(),
        f"at most {format_duration(lim.max_work)} of estimated work per command; {lim.source} "
        f"{need.replace(' ', '')} raises the cap, or make the run smaller",
    )  # fmt: skip


def _bar_wanted(work: Work) -> bool:
    mode = current_limits().progress
    if mode == "off" or work.steps <= 0:
        return False
    if mode == "on":
        return True
    return stderr_is_terminal() and work.seconds >= BAR_FROM_SECONDS


def stderr_is_terminal() -> bool:
    """Is standard error a terminal (a replaced or closed stream counts as not)?"""
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


@contextlib.contextmanager
def progress(work: Work, desc: str) -> Iterator[Any]:
    """A progress bar over ``work.steps`` on standard error while the code inside runs (none when
    not wanted, see the module docstring, or when an outer bar is already shown: a sweep's bar
    counts points, not each point's layers). The code calls :func:`advance`."""
    if _BAR.get() is not None or not _bar_wanted(work):
        token = _BAR.set(_NoBar())  # an outer bar is not advanced by this work's steps
        try:
            yield None
        finally:
            _BAR.reset(token)
        return
    from tqdm import tqdm

    tqdm.monitor_interval = 0  # no monitor thread (worker pools fork after this)
    bar = tqdm(total=work.steps, desc=desc, unit=f" {work.step_unit}", file=sys.stderr, **terminal_size(),
               mininterval=0.25, leave=False, bar_format="{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt}"
               "{unit} [{elapsed}<{remaining}]")  # fmt: skip
    token = _BAR.set(bar)
    try:
        yield bar
    finally:
        _BAR.reset(token)
        bar.close()


def terminal_size() -> dict[str, int]:
    """``ncols``/``nrows`` for tqdm: the terminal's, or 100x20 when it reports 0 (a fresh
    pseudo-terminal, a scheduler's console); tqdm hides every bar below ``nrows`` rows, so a
    terminal of 0 rows would show none."""
    size = shutil.get_terminal_size((100, 20))
    return {"ncols": min(max(size.columns, 40), 120), "nrows": max(size.lines, 20)}


class _NoBar:
    def update(self, n: int = 1) -> None:
        pass


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """Inner work (a system's one-part runs) that must not advance the outer bar."""
    token = _BAR.set(_NoBar())
    try:
        yield
    finally:
        _BAR.reset(token)


def advance(n: int = 1) -> None:
    """One step (or ``n``) of the innermost running :func:`progress` done; nothing without one."""
    bar = _BAR.get()
    if bar is not None:
        bar.update(n)
